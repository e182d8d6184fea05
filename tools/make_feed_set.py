#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# make_feed_set.py - the default input of the hospital-feed flow: a folder of REAL DICOM files of mixed modalities,
# as a PACS export or a modality would send them (./medprep run --flow hospital-feed sends each file with storescu
# to the flow's DICOM listener), and a manifest of where each should end up, written OUTSIDE the folder.
#
#   CR/<3 files>        python3-pydicom's real CR images (dicomdirtests/77654033/CR1..3: MONOCHROME1, rescaled,
#                       16 x 16) -> routed to the chest-xray group, refused there (smaller than 64 x 64)
#   DX/<3 files>        digitally reconstructed radiographs written with pydicom: mean-intensity projections of
#                       mricron-data's real Colin27 volumes (ch2: AP and lateral, 1 mm; ch2better: AP, 0.5 mm),
#                       12-bit MONOCHROME2, Digital X-Ray Image Storage, two patients
#                       -> routed to the chest-xray group: 3 .npy outputs
#   CT/<5 files>        pydicom's real CT series CT5N (5 slices) -> routed to ct: one volume
#   CT/CT_small.dcm     pydicom's real one-slice CT -> routed to ct, refused there (1 slice, fewer than 3)
#   MR/<181 files>      mricron-data's real Colin27 T1 as an axial MR series (tools/make_mr_set.py writes it)
#                       -> routed to mri: one volume
#   MR/MR_small.dcm     pydicom's real one-slice MR -> routed to mri, refused there (1 slice)
#   other/NM.dcm        pydicom's JPEG2000.dcm (Modality NM, JPEG 2000) -> no route: quarantined by the feed itself
#   other/OT.dcm        pydicom's SC_rgb_rle.dcm (Modality OT, RLE) -> no route: quarantined by the feed itself
#   other/US.dcm        pydicom's ExplVR_BigEnd.dcm (Modality US, no PatientID) -> refused by the feed's validation
#   other/NM-jpeg12.dcm pydicom's JPEG-lossy.dcm (JPEG extended, 12 bit) -> failure at the feed's validation: this
#                       build has no decoder for it
#
# Usage: /usr/bin/python3 tools/make_feed_set.py OUTDIR [--seed 7] [--manifest PATH]
# (manifest default: OUTDIR/../<OUTDIR name>.manifest.json). OUTDIR is deleted and recreated.
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
from pydicom.dataset import FileDataset, FileMetaDataset  # noqa: E402
from pydicom.uid import ExplicitVRLittleEndian, generate_uid  # noqa: E402
from make_mr_set import CH2, PYDICOM_TEST_FILES, start_set, write_dicom_series, write_manifest  # noqa: E402

CH2BETTER = "/usr/share/mricron/templates/ch2better.nii.gz"
DX_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.1.1"   # Digital X-Ray Image Storage - For Presentation

CR_DIR = os.path.join(PYDICOM_TEST_FILES, "dicomdirtests", "77654033")
CT5N = os.path.join(PYDICOM_TEST_FILES, "dicomdirtests", "98892001", "CT5N")


def write_radiograph(nifti_path, view, path, patient_id, seed):
    """Writes a digitally reconstructed radiograph of a NIfTI volume as a DX instance: the mean of the voxels along
    the beam (view "AP": along the volume's second axis, posterior-anterior; "LAT": along its first axis), superior
    at the top, scaled to 0..4095 (12 bits stored in 16). Pixel spacing is the volume's in-plane voxel size (mm)."""
    img = nib.load(nifti_path)
    data = np.asarray(img.dataobj, dtype=np.float64)
    zooms = img.header.get_zooms()[:3]
    axis = 1 if view == "AP" else 0
    projection = data.mean(axis=axis)[:, ::-1].T          # rows = superior..inferior, columns = the other axis
    pixels = np.round(projection / projection.max() * 4095).astype("<u2")
    column_mm = zooms[0] if axis == 1 else zooms[1]
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = DX_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[str(seed), patient_id, view, "sop"])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(os.path.basename(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = DX_IMAGE_STORAGE, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid(entropy_srcs=[str(seed), patient_id, "study"])
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=[str(seed), patient_id, view, "series"])
    ds.PatientID, ds.PatientName, ds.PatientBirthDate = patient_id, "COLIN27^DRR", "19700101"
    ds.Modality, ds.ImageType, ds.ViewPosition = "DX", ["ORIGINAL", "PRIMARY"], view if view == "AP" else "LL"
    ds.SeriesDescription = f"{view} projection of {os.path.basename(nifti_path)} (mricron-data)"
    ds.StudyDate, ds.SeriesNumber, ds.InstanceNumber = "20261207", 1, 1
    ds.PixelSpacing = ds.ImagerPixelSpacing = [float(zooms[2]), float(column_mm)]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PresentationLUTShape = "IDENTITY"
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    ds.is_little_endian, ds.is_implicit_VR = True, False
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ds.save_as(path, write_like_original=False)


def main():
    args, out, manifest_path, rng = start_set("make_feed_set.py", (CH2, CH2BETTER, CR_DIR, CT5N),
                                              "mricron-data, python3-pydicom")
    items = []

    def copy(src, rel):
        dst = os.path.join(out, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(src, dst)
        return rel

    crs = [copy(os.path.join(CR_DIR, d, f), f"CR/{d}-{f}.dcm") for d in ("CR1", "CR2", "CR3")
           for f in os.listdir(os.path.join(CR_DIR, d))]
    items.append(dict(files=crs, modality="CR", group="chest-xray", expected="quarantined",
                      reason="smaller than the minimum 64 x 64"))
    dxs = []
    for source, view, patient in ((CH2, "AP", "MP-DX-0001"), (CH2, "LAT", "MP-DX-0001"),
                                  (CH2BETTER, "AP", "MP-DX-0002")):
        dxs.append("DX/%08X.dcm" % rng.getrandbits(32))
        write_radiograph(source, view, os.path.join(out, dxs[-1]), patient, args.seed)
    items.append(dict(files=dxs, modality="DX", group="chest-xray", expected="outputs", outputs=len(dxs)))
    ct = [copy(os.path.join(CT5N, f), "CT/%08X" % rng.getrandbits(32)) for f in sorted(os.listdir(CT5N))]
    items.append(dict(files=ct, modality="CT", group="ct", expected="outputs", outputs=1))
    items.append(dict(files=[copy(os.path.join(PYDICOM_TEST_FILES, "CT_small.dcm"), "CT/CT_small.dcm")],
                      modality="CT", group="ct", expected="quarantined", reason="1 slice"))
    os.makedirs(os.path.join(out, "MR"))
    _, names, _ = write_dicom_series(CH2, os.path.join(out, "MR"), "MP-MR-0001", rng, args.seed)
    items.append(dict(files=["MR/" + n for n in names], modality="MR", group="mri", expected="outputs", outputs=1))
    items.append(dict(files=[copy(os.path.join(PYDICOM_TEST_FILES, "MR_small.dcm"), "MR/MR_small.dcm")],
                      modality="MR", group="mri", expected="quarantined", reason="1 slice"))
    for src, name, modality, reason in (
            ("JPEG2000.dcm", "NM", "NM", "modality NM has no route"),
            ("SC_rgb_rle.dcm", "OT", "OT", "modality OT has no route"),
            ("ExplVR_BigEnd.dcm", "US", "US", "The required DICOM attribute PatientID is missing"),
            ("JPEG-lossy.dcm", "NM-jpeg12", "NM", "which this build cannot decode")):
        items.append(dict(files=[copy(os.path.join(PYDICOM_TEST_FILES, src), f"other/{name}.dcm")],
                          modality=modality, group="hospital-feed", expected="quarantined", reason=reason))
    write_manifest(manifest_path, "tools/make_feed_set.py", args.seed, out, items, ("modality", "group", "expected"))


if __name__ == "__main__":
    main()
