#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# make_mr_set.py - the default input of the MRI flow: REAL MR images shipped by Debian packages, laid out as a
# folder of patients (one folder per patient; a NIfTI file's patient is its folder's name, a DICOM file's its
# PatientID), and a manifest of what each item should become, written OUTSIDE the folder.
#
#   MP-MR-0001/ch2.nii.gz          mricron-data's Colin27 T1 (181 x 217 x 181, 1 mm, uint8): a valid volume
#   MP-MR-0001/dicom/<random>.dcm  the same real T1 written as an axial MR DICOM series (181 slices of 181 x 217,
#                                  MR Image Storage, uint16, geometry from the NIfTI affine, PatientID MP-MR-0001,
#                                  files shuffled): the DICOM-series path with real MR voxels. Same patient as the
#                                  NIfTI above (the folder name equals the PatientID), so both land in one split
#   MP-MR-0002/anatomical.nii      nibabel's test T1 (33 x 41 x 25, 2.0 x 2.0 x 2.2 mm, LAS): a valid volume
#   pydicom/MR700/<7 slices>       pydicom's real MR700 localizer: 7 single slices in 7 orientations -> refused
#                                  (mixed orientation)
#   pydicom/MR_small.dcm           pydicom's real one-slice MR -> refused (1 slice, below Minimum Slices 3)
#
# Usage: /usr/bin/python3 tools/make_mr_set.py OUTDIR [--seed 7] [--manifest PATH]
# (manifest default: OUTDIR/../<OUTDIR name>.manifest.json). OUTDIR is deleted and recreated. Needs python3-nibabel,
# python3-pydicom, python3-numpy and the Debian package mricron-data.
import argparse
import json
import os
import random
import shutil
import sys

import nibabel as nib
import numpy as np
import pydicom
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
CH2 = "/usr/share/mricron/templates/ch2.nii.gz"
ANATOMICAL = os.path.join(os.path.dirname(nib.__file__), "tests", "data", "anatomical.nii")
PYDICOM_TEST_FILES = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
MR700 = os.path.join(PYDICOM_TEST_FILES, "dicomdirtests", "98892003", "MR700")


def write_dicom_series(nifti_path, out_dir, patient_id, rng, seed):
    """Writes the NIfTI volume as axial single-frame MR slices. Voxel (i, j, k) of the NIfTI is column i, row j of
    slice k; the DICOM geometry (LPS) is the NIfTI affine (RAS) with x and y negated, so the world position of every
    voxel is kept."""
    img = nib.load(nifti_path)
    data = np.asarray(img.dataobj)
    a = img.affine.copy()
    a[:2, :] *= -1  # RAS -> LPS
    zooms = img.header.get_zooms()[:3]
    row_cos = a[:3, 0] / zooms[0]
    col_cos = a[:3, 1] / zooms[1]
    study, series, frame = (generate_uid(entropy_srcs=[str(seed), patient_id, t]) for t in ("study", "series", "for"))
    nx, ny, nz = data.shape
    order = list(range(nz))
    rng.shuffle(order)
    names = []
    for k in order:
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = MR_IMAGE_STORAGE
        meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[str(seed), patient_id, "sop", str(k)])
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        name = "%08X.dcm" % rng.getrandbits(32)
        ds = FileDataset(name, {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SOPClassUID = MR_IMAGE_STORAGE
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.PatientID, ds.PatientName = patient_id, "COLIN27^T1"
        ds.Modality, ds.SeriesDescription = "MR", "T1 Colin27 (mricron-data ch2) as DICOM"
        ds.StudyDate, ds.SeriesNumber, ds.InstanceNumber = "20261123", 2, k + 1
        ds.ImageOrientationPatient = [float(round(v, 6)) for v in list(row_cos) + list(col_cos)]
        ds.ImagePositionPatient = [float(round(v, 6)) for v in (a @ np.array([0, 0, k, 1.0]))[:3]]
        ds.PixelSpacing = [float(zooms[1]), float(zooms[0])]  # row spacing (y), column spacing (x)
        ds.SliceThickness = float(zooms[2])
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.Rows, ds.Columns = ny, nx
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.PixelData = np.ascontiguousarray(data[:, :, k].T.astype("<u2")).tobytes()  # rows = j, columns = i
        ds.is_little_endian, ds.is_implicit_VR = True, False
        ds.save_as(os.path.join(out_dir, name), write_like_original=False)
        names.append(name)
    return series, sorted(names), [nx, ny, nz]


def start_set(script, sources, packages):
    """The common start of a set generator: arguments OUTDIR [--seed 7] [--manifest PATH] (default
    OUTDIR/../<OUTDIR name>.manifest.json), the SOURCES checked (else exit naming the Debian PACKAGES), OUTDIR
    deleted. Returns (args, absolute OUTDIR, manifest path, random.Random(seed))."""
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--manifest")
    args = ap.parse_args()
    for f in sources:
        if not os.path.exists(f):
            sys.exit(f"{script}: {f} is missing (Debian packages {packages}).")
    out = os.path.abspath(args.outdir)
    manifest_path = args.manifest or os.path.join(os.path.dirname(out), os.path.basename(out) + ".manifest.json")
    shutil.rmtree(out, ignore_errors=True)
    return args, out, manifest_path, random.Random(args.seed)


def write_manifest(path, generator, seed, input_dir, items, shown):
    """Writes the manifest of a generated input set (its items, each with its files and expected outcome) and prints
    a summary of it: per item the keys SHOWN and the number of files."""
    manifest = {"generator": generator, "seed": seed, "input_dir": input_dir,
                "files": sum(len(i["files"]) for i in items), "items": items}
    with open(path, "w") as f:
        json.dump(manifest, f, indent=1)
    print(json.dumps({"manifest": path, "files": manifest["files"],
                      "items": [{k: i.get(k) for k in shown} | {"files": len(i["files"])} for i in items]}, indent=1))


def main():
    args, out, manifest_path, rng = start_set("make_mr_set.py", (CH2, ANATOMICAL, MR700),
                                              "mricron-data, python3-nibabel, python3-pydicom")
    items = []

    def copy(src, rel, **info):
        dst = os.path.join(out, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(src, dst)
        items.append(dict(files=[rel], source=src, **info))

    copy(CH2, "MP-MR-0001/ch2.nii.gz", kind="NIfTI", patient="MP-MR-0001", size=[181, 217, 181], expected="valid",
         expected_reason=None)
    os.makedirs(os.path.join(out, "MP-MR-0001", "dicom"))
    uid, names, size = write_dicom_series(CH2, os.path.join(out, "MP-MR-0001", "dicom"), "MP-MR-0001", rng, args.seed)
    items.append(dict(kind="DICOM series", series_uid=uid, patient="MP-MR-0001", size=size, source=CH2,
                      files=["MP-MR-0001/dicom/" + n for n in names], expected="valid", expected_reason=None))
    copy(ANATOMICAL, "MP-MR-0002/anatomical.nii", kind="NIfTI", patient="MP-MR-0002", size=[33, 41, 25],
         expected="valid", expected_reason=None)
    mr700 = []
    for f in sorted(os.listdir(MR700)):
        rel = "pydicom/MR700/%08X" % rng.getrandbits(32)
        os.makedirs(os.path.dirname(os.path.join(out, rel)), exist_ok=True)
        shutil.copyfile(os.path.join(MR700, f), os.path.join(out, rel))
        mr700.append(rel)
    items.append(dict(kind="DICOM series", series_uid=str(pydicom.dcmread(os.path.join(MR700, "4467")).SeriesInstanceUID),
                      files=mr700, source=MR700, expected="invalid",
                      expected_reason="mixed orientations (a localizer: 7 slices in 7 orientations)"))
    copy(os.path.join(PYDICOM_TEST_FILES, "MR_small.dcm"), "pydicom/MR_small.dcm", kind="DICOM series",
         series_uid=str(pydicom.dcmread(os.path.join(PYDICOM_TEST_FILES, "MR_small.dcm")).SeriesInstanceUID),
         expected="invalid", expected_reason="The volume has 1 slice, fewer than the minimum 3.")
    write_manifest(manifest_path, "tools/make_mr_set.py", args.seed, out, items, ("kind", "expected"))


if __name__ == "__main__":
    main()
