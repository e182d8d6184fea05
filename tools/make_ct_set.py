#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# make_ct_set.py - a deterministic, hospital-like CT export of SYNTHETIC patients for the nifi-medprep CT flow:
# DICOM slices of several axial CT series, written as a PACS or a CD export would hand them over.
#
# Anatomy (Hounsfield units, drawn in millimetres so every resolution shows the same body): air outside the
# body (-1000) and outside the reconstruction circle (padding), a patient table, a body ellipse of
# subcutaneous fat (about -100) around soft tissue/muscle (about 40), two lungs (about -850) with vessels
# (tubes of blood, about 40) running through the slices, heart and aorta, liver, bowel gas, a spine of
# vertebrae (cortical shell about 1200, cancellous about 250, discs about 80, spinal canal), ribs (300-1200),
# pelvis and femoral heads; one series carries a metal hip prosthesis (about 6000-8000 HU) with streaks.
# Gaussian noise (sigma about 10 HU) on top. 12-bit series are clipped at 3071 HU as scanners do.
#
# Export realism: CT Image Storage objects (explicit VR little endian) with unique, deterministic UIDs
# (pydicom.uid.generate_uid with entropy from --seed), fake PatientID/PatientName, Study/Series/SOP/Frame of
# Reference UIDs, ImagePositionPatient/ImageOrientationPatient, PixelSpacing, SliceThickness, SliceLocation,
# KVP, Manufacturer, ConvolutionKernel, window presets; RescaleSlope 1 and RescaleIntercept -1024 with uint16
# (PixelRepresentation 0) for some series, int16 (PixelRepresentation 1) with intercept 0 or -1024 for others,
# RescaleType HU or absent; InstanceNumber shuffled (not matching position) in one series; random file names
# (some with .dcm, some without); written in shuffled order into patient subfolders (default) or one flat
# folder (--flat). Several patients, one with two series, and ONE series with a missing slice (a gap).
#
# Default set: 3 patients, 4 series (512 x 512 x 120, 512 x 512 x 80 with metal, 384 x 384 x 150, 512 x 512 x 60
# with one slice missing): 409 files, 175 MB, about 15 s here. --small: 2 patients, 3 series of 128 x 128 x 24-40
# slices (95 files, 3.5 MB, about 1.5 s) for tests.
# --with-real: also copies python3-pydicom's real CT series (dicomdirtests/98892001/CT5N, 5 slices) and
# CT_small.dcm (one slice) in, under random names.
#
# The manifest (JSON: each series' UID, folder, files, size, spacing, pixel encoding, HU ranges, expected
# outcome and its reason) is written OUTSIDE the export: to --manifest, else to OUTDIR's parent as
# <OUTDIR name>.manifest.json, so a flow reading OUTDIR never sees it. The manifest is also printed.
# Idempotent: OUTDIR is deleted and recreated. Same --seed -> same bytes.
#
# Usage: /usr/bin/python3 tools/make_ct_set.py OUTDIR [--seed 7] [--small] [--flat] [--with-real]
#                                              [--manifest PATH]

import argparse
import datetime
import json
import math
import os
import shutil
import sys
import time
from decimal import Decimal, ROUND_HALF_UP

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
PYDICOM_TEST_FILES = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")

# One entry per series. z_top/z_step: position (mm, LPS z = towards the head) of the first slice and the step
# (negative: the scanner moves feet-wards, the usual head-first acquisition). region: which anatomy the body
# coordinate s (mm, 0 = hip joints, about 420 = lung apex) covers; s = z + offset.
DEFAULT_SERIES = [
    dict(patient=0, key="chest", description="THORAX 2.5mm B30f", body_part="CHEST", size=512, fov=400.0,
         slices=120, step=2.5, s_top=420.0, encoding="uint16", intercept=-1024, bits=12, rescale_type="HU",
         instance="descending", metal=False, gap=False, kernel="B30f", manufacturer="SIEMENS"),
    dict(patient=0, key="pelvis", description="PELVIS 3mm HIP", body_part="PELVIS", size=512, fov=420.0,
         slices=80, step=3.0, s_top=120.0, encoding="int16", intercept=-1024, bits=16, rescale_type="HU",
         instance="ascending", metal=True, gap=False, kernel="B40f", manufacturer="SIEMENS"),
    dict(patient=1, key="chest_abdomen", description="CHEST ABD 1.25mm STANDARD", body_part="CHEST", size=384,
         fov=380.0, slices=150, step=1.25, s_top=330.0, encoding="int16", intercept=0, bits=16,
         rescale_type=None, instance="shuffled", metal=False, gap=False, kernel="STANDARD",
         manufacturer="GE MEDICAL SYSTEMS", padding=-2000),
    dict(patient=2, key="abdomen_gap", description="ABDOMEN 5mm", body_part="ABDOMEN", size=512, fov=440.0,
         slices=60, step=5.0, s_top=300.0, encoding="uint16", intercept=-1024, bits=12, rescale_type="HU",
         instance="descending", metal=False, gap=True, kernel="B", manufacturer="Philips"),
]

SMALL_SERIES = [
    dict(DEFAULT_SERIES[0], size=128, slices=32, step=5.0, fov=400.0),
    dict(DEFAULT_SERIES[1], size=128, slices=24, step=5.0, s_top=90.0, instance="shuffled"),
    dict(DEFAULT_SERIES[3], patient=1, size=128, slices=40, step=5.0, s_top=320.0),
]

PATIENTS = [
    dict(id="MP-PH-0001", name="PHANTOM^ALPHA", sex="F", birth="19580312", age="067Y", weight=71.0),
    dict(id="MP-PH-0002", name="PHANTOM^BRAVO", sex="M", birth="19690927", age="056Y", weight=88.0),
    dict(id="MP-PH-0003", name="PHANTOM^CHARLIE", sex="M", birth="19800101", age="045Y", weight=79.0),
]


def mm(v):
    """Millimetres as DicomSeriesZipReader prints them: at most 3 decimals, half-up, trailing zeros dropped."""
    d = Decimal(repr(float(v))).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP).normalize()
    s = format(d, "f")
    return "0" if s in ("-0", "0") else s


class Phantom:
    """HU of one axial slice at body coordinate s (mm) on an in-plane grid (x right->left, y anterior->posterior,
    both mm, LPS). The vessel tree and rib layout are drawn once per patient from the seeded generator."""

    def __init__(self, rng, metal):
        self.metal = metal
        self.vessels = []  # (side, x0 mm, y0 mm, dx/ds, dy/ds, radius mm)
        for side in (-1, 1):
            for _ in range(40):
                self.vessels.append((side, rng.uniform(-45, 45), rng.uniform(-70, 70), rng.uniform(-0.25, 0.25),
                                     rng.uniform(-0.25, 0.25), rng.uniform(0.8, 3.5)))
        self.gas = [(rng.uniform(-90, 90), rng.uniform(-80, 20), rng.uniform(4, 14), rng.uniform(0, 300))
                    for _ in range(14)]
        self.tissue_phase = rng.uniform(0, 2 * math.pi, size=4)

    @staticmethod
    def ellipse(x, y, cx, cy, a, b):
        return ((x - cx) / a) ** 2 + ((y - cy) / b) ** 2 <= 1.0

    def slice(self, x, y, s):
        hu = np.full(x.shape, -1000.0)
        # patient table (carbon fibre, about -300 HU core with denser skins), below the body
        table = (y > 150) & (y < 162) & (np.abs(x) < 230)
        hu[table] = -300.0
        hu[table & ((y < 152) | (y > 160))] = 200.0
        # body: shoulders wider near the top, hips wider at the pelvis
        a = 165 + 18 * math.tanh((s - 330) / 40.0) + 10 * math.exp(-((s - 20) / 60.0) ** 2)
        b = 115 + 8 * math.sin(s / 150.0)
        body = self.ellipse(x, y, 0, 10, a, b)
        hu[body] = -100.0  # subcutaneous fat
        inner = self.ellipse(x, y, 0, 10, a - 14, b - 12)
        # soft tissue with a gentle texture (organs differ by a few HU)
        tex = 6 * np.sin(x / 23.0 + self.tissue_phase[0]) * np.cos(y / 31.0 + self.tissue_phase[1])
        hu[inner] = 40.0 + tex[inner]
        # abdomen: liver on the patient's right (x < 0 in LPS is right), bowel gas
        if 60 < s < 260:
            liver = self.ellipse(x, y, -60, 0, 75, 70) & inner
            hu[liver] = 60.0 + tex[liver] * 0.5
        if -20 < s < 230:
            for gx, gy, r, s0 in self.gas:
                if abs(s - s0) < r * 2:
                    rr = r * math.sqrt(max(0.0, 1 - ((s - s0) / (2 * r)) ** 2))
                    if rr > 1:
                        g = self.ellipse(x, y, gx, gy, rr, rr * 0.8) & inner
                        hu[g] = -900.0
        # thorax: lungs with vessels, heart, ribs
        if 220 < s < 430:
            grow = min(1.0, (430 - s) / 50.0) * min(1.0, (s - 220) / 30.0)
            for side in (-1, 1):
                lung = self.ellipse(x, y, side * 72, 5, 55 * grow + 5, 82 * grow + 5) & inner
                hu[lung] = -850.0
                for vs, x0, y0, dx, dy, r in self.vessels:
                    if vs != side:
                        continue
                    cx = side * 72 + x0 * grow + dx * (s - 330)
                    cy = 5 + y0 * grow + dy * (s - 330)
                    v = lung & (((x - cx) ** 2 + (y - cy) ** 2) <= r * r)
                    hu[v] = 40.0
            if s < 330:
                heart = self.ellipse(x, y, 18, -15, 55, 48) & inner
                hu[heart] = 45.0
            if int(s // 12) % 2 == 0:  # ribs cut obliquely: present in bands
                for k in range(12):
                    ang = math.pi * (0.12 + 0.76 * k / 11)
                    for side in (-1, 1):
                        cx = side * abs((a - 22) * math.sin(ang))
                        cy = 10 - (b - 18) * math.cos(ang)
                        rib = self.ellipse(x, y, cx, cy, 9, 5)
                        hu[rib] = 1200.0
                        hu[self.ellipse(x, y, cx, cy, 6, 3)] = 300.0
        # aorta (descending, left of the spine), above the pelvis
        if s > 60:
            hu[self.ellipse(x, y, 22, 45, 12, 12) & inner] = 45.0
        # spine: vertebral bodies 25 mm high, discs 6 mm; pelvis below s = 100
        if s > 80:
            in_disc = (s % 31.0) < 6.0
            vb = self.ellipse(x, y, 0, 75, 20, 16)
            hu[vb] = 80.0 if in_disc else 1200.0
            if not in_disc:
                hu[self.ellipse(x, y, 0, 75, 17, 13)] = 250.0
            arch = self.ellipse(x, y, 0, 100, 16, 14)
            hu[arch] = 1100.0
            hu[self.ellipse(x, y, 0, 99, 9, 8)] = 10.0  # spinal canal (CSF)
        else:
            for side in (-1, 1):
                if s > -40:  # iliac wings
                    wing = self.ellipse(x, y, side * 85, 55, 40, 22)
                    hu[wing] = 1000.0
                    hu[self.ellipse(x, y, side * 85, 55, 34, 16)] = 280.0
                if -70 < s < 30:  # femoral heads and necks
                    r = 24 * math.sqrt(max(0.0, 1 - (s / 50.0) ** 2)) + 10
                    head = self.ellipse(x, y, side * 95, 20, r, r)
                    hu[head] = 1200.0
                    hu[self.ellipse(x, y, side * 95, 20, r - 4, r - 4)] = 320.0
            hu[self.ellipse(x, y, 0, 95, 30, 14)] = 1100.0  # sacrum
            hu[self.ellipse(x, y, 0, 95, 24, 9)] = 260.0
        if self.metal and -75 < s < 40:
            # hip prosthesis in the left hip (x > 0): cobalt-chrome head and titanium stem
            r = 20.0 if s > -20 else 8.0
            cx, cy = 95.0, 20.0
            metal = self.ellipse(x, y, cx, cy, r, r)
            dist = np.sqrt((x - cx) ** 2 + (y - cy) ** 2)
            ang = np.arctan2(y - cy, x - cx)
            streak = np.exp(-np.maximum(dist - r, 0) / 70.0) * np.cos(14 * ang) ** 9
            hu += np.where(body & ~metal, 260.0 * streak, 0.0)
            dark = np.exp(-np.maximum(dist - r, 0) / 25.0) * (np.abs(np.sin(ang)) < 0.25)
            hu -= np.where(body & ~metal, 300.0 * dark, 0.0)
            hu[metal] = 7000.0 if s > -20 else 5000.0
        return hu


def write_series(spec, series_index, patient, study, rng, out_dir, layout, seed):
    """Writes one series; returns its manifest entry."""
    size, fov, n = spec["size"], spec["fov"], spec["slices"]
    px = fov / size
    # pixel centres (mm): x from -fov/2 + px/2; y likewise, table below
    coords = (np.arange(size) + 0.5) * px - fov / 2.0
    x, y = np.meshgrid(coords, coords)
    fov_circle = x ** 2 + y ** 2 <= (fov / 2.0) ** 2
    phantom = Phantom(np.random.default_rng([seed, series_index, 1]), spec["metal"])
    noise_rng = np.random.default_rng([seed, series_index, 2])
    offset = -300.0 - 40.0 * patient["index"]  # z of s = 0 for this patient (table position)
    positions = [round(spec["s_top"] + offset - k * spec["step"], 4) for k in range(n)]
    kept = list(range(n))
    missing = None
    if spec["gap"]:
        missing = n // 2 + 3
        kept.remove(missing)
    if spec["instance"] == "ascending":
        numbers = {k: n - k for k in range(n)}  # feet-first numbering: 1 at the lowest slice
    elif spec["instance"] == "descending":
        numbers = {k: k + 1 for k in range(n)}
    else:
        perm = rng.permutation(n)
        numbers = {k: int(perm[k]) + 1 for k in range(n)}
    series_uid = generate_uid(entropy_srcs=[str(seed), "series", str(series_index)])
    frame_uid = generate_uid(entropy_srcs=[str(seed), "frame", str(patient["index"])])
    signed = spec["encoding"] == "int16"
    intercept = spec["intercept"]
    bits = spec["bits"]
    hu_max = 3071.0 if bits == 12 else (32767 + intercept if signed else 65535 + intercept)
    padding = spec.get("padding")
    files = []
    hu_min_seen, hu_max_seen = math.inf, -math.inf
    stored_min, stored_max = math.inf, -math.inf
    acq = datetime.datetime(2025, 3, 4, 9, 12, 0) + datetime.timedelta(days=17 * patient["index"],
                                                                      minutes=7 * series_index)
    for k in kept:
        z = positions[k]
        s = z - offset
        hu = phantom.slice(x, y, s)
        hu = hu + noise_rng.normal(0.0, 10.0, size=hu.shape)
        hu = np.clip(np.rint(hu), -1024, hu_max)
        if padding is not None:
            hu = np.where(fov_circle, hu, padding)
            stored = (hu - intercept)
        else:
            hu = np.where(fov_circle, hu, -1024)
            stored = hu - intercept
        stored = stored.astype(np.int16 if signed else np.uint16)
        stored_min, stored_max = min(stored_min, int(stored.min())), max(stored_max, int(stored.max()))
        real = hu[fov_circle]
        hu_min_seen, hu_max_seen = min(hu_min_seen, float(real.min())), max(hu_max_seen, float(real.max()))

        sop_uid = generate_uid(entropy_srcs=[str(seed), "sop", str(series_index), str(k)])
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
        meta.MediaStorageSOPInstanceUID = sop_uid
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        meta.ImplementationClassUID = generate_uid(entropy_srcs=["medprep make_ct_set"])
        meta.ImplementationVersionName = "MEDPREP_CTSET"
        ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
        ds.is_little_endian = True
        ds.is_implicit_VR = False
        t = acq + datetime.timedelta(seconds=0.5 * k)
        ds.SpecificCharacterSet = "ISO_IR 100"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.SOPClassUID = CT_IMAGE_STORAGE
        ds.SOPInstanceUID = sop_uid
        ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = acq.strftime("%Y%m%d")
        ds.StudyTime = (acq - datetime.timedelta(minutes=7 * series_index)).strftime("%H%M%S")
        ds.SeriesTime = acq.strftime("%H%M%S")
        ds.AcquisitionTime = ds.ContentTime = t.strftime("%H%M%S.%f")[:13]
        ds.AccessionNumber = study["accession"]
        ds.Modality = "CT"
        ds.Manufacturer = spec["manufacturer"]
        ds.InstitutionName = "Medprep Synthetic Hospital"
        ds.ReferringPhysicianName = "REFERRER^SYNTHETIC"
        ds.StationName = "CTSIM01"
        ds.StudyDescription = study["description"]
        ds.SeriesDescription = spec["description"]
        ds.ManufacturerModelName = "Phantom CT (synthetic, make_ct_set.py)"
        ds.PatientName = patient["name"]
        ds.PatientID = patient["id"]
        ds.PatientBirthDate = patient["birth"]
        ds.PatientSex = patient["sex"]
        ds.PatientAge = patient["age"]
        ds.PatientWeight = patient["weight"]
        ds.PatientIdentityRemoved = "NO"
        ds.BodyPartExamined = spec["body_part"]
        ds.SliceThickness = f"{abs(spec['step']):g}"
        ds.KVP = "120"
        ds.DataCollectionDiameter = "500"
        ds.ReconstructionDiameter = f"{fov:g}"
        ds.GantryDetectorTilt = "0"
        ds.TableHeight = "160"
        ds.RotationDirection = "CW"
        ds.ExposureTime = "500"
        ds.XRayTubeCurrent = str(180 + int(40 * math.sin(k / 9.0)))
        ds.Exposure = "90"
        ds.FilterType = "FLAT"
        ds.GeneratorPower = "24"
        ds.FocalSpots = "1.2"
        ds.ConvolutionKernel = spec["kernel"]
        ds.PatientPosition = "HFS"
        ds.StudyInstanceUID = study["uid"]
        ds.SeriesInstanceUID = series_uid
        ds.StudyID = study["id"]
        ds.SeriesNumber = str(2 + series_index)
        ds.AcquisitionNumber = "1"
        ds.InstanceNumber = str(numbers[k])
        ds.ImagePositionPatient = [f"{coords[0]:.4f}", f"{coords[0]:.4f}", f"{z:.4f}"]
        ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
        ds.FrameOfReferenceUID = frame_uid
        ds.PositionReferenceIndicator = ""
        ds.SliceLocation = f"{z:.4f}"
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows = size
        ds.Columns = size
        ds.PixelSpacing = [f"{px:.6g}", f"{px:.6g}"]
        ds.BitsAllocated = 16
        ds.BitsStored = bits
        ds.HighBit = bits - 1
        ds.PixelRepresentation = 1 if signed else 0
        if padding is not None:
            ds.PixelPaddingValue = int(padding - intercept)
        if spec["body_part"] == "CHEST":
            ds.WindowCenter = ["-600", "40"]
            ds.WindowWidth = ["1500", "400"]
            ds.WindowCenterWidthExplanation = ["LUNG", "MEDIASTINUM"]
        else:
            ds.WindowCenter = "40"
            ds.WindowWidth = "400"
        ds.RescaleIntercept = str(intercept)
        ds.RescaleSlope = "1"
        if spec["rescale_type"]:
            ds.RescaleType = spec["rescale_type"]
        ds.PixelData = stored.tobytes()
        name = "%08X" % int(rng.integers(0, 2 ** 32))
        if rng.random() < 0.5:
            name += ".dcm"
        rel = name if layout["flat"] else os.path.join(layout["folders"][patient["index"]], name)
        files.append((rel, ds))
    order = rng.permutation(len(files))
    for i in order:
        rel, ds = files[i]
        path = os.path.join(out_dir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        ds.save_as(path, write_like_original=False)

    spacing_z = abs(spec["step"])
    entry = dict(
        series_uid=series_uid, study_uid=study["uid"], patient_id=patient["id"], description=spec["description"],
        files=sorted(rel for rel, _ in files), slices=len(kept), planned_slices=n,
        size=[size, size, len(kept)], spacing_mm=[round(px, 6), round(px, 6), spacing_z],
        pixel_representation=1 if signed else 0, bits_stored=bits, rescale_intercept=intercept,
        rescale_type=spec["rescale_type"], pixel_padding_value=padding, instance_numbers=spec["instance"],
        metal=spec["metal"], stored_range=[stored_min, stored_max], hu_range_in_fov=[hu_min_seen, hu_max_seen])
    if missing is not None:
        above, below = positions[missing - 1], positions[missing + 1]
        entry["missing_slice_position_mm"] = positions[missing]
        entry["expected"] = "invalid"
        entry["expected_reason"] = ("The series has 1 slice missing between positions %s and %s mm along the slice normal "
                                    "(spacing %s mm)." % (mm(below), mm(above), mm(spacing_z)))
        entry["size"] = None
    else:
        entry["expected"] = "valid"
        entry["expected_reason"] = None
    return entry


def copy_real(out_dir, layout, rng):
    """python3-pydicom's real CT series and CT_small.dcm under random names; manifest entries."""
    entries = []
    ct5n = os.path.join(PYDICOM_TEST_FILES, "dicomdirtests", "98892001", "CT5N")
    small = os.path.join(PYDICOM_TEST_FILES, "CT_small.dcm")
    folder = "" if layout["flat"] else "%08X" % int(rng.integers(0, 2 ** 32))
    for src_files, note in ((sorted(os.path.join(ct5n, f) for f in os.listdir(ct5n)), "CT5N"), ([small], "CT_small")):
        ds0 = pydicom.dcmread(src_files[0], stop_before_pixels=True)
        rels = []
        for src in src_files:
            rel = os.path.join(folder, "%08X" % int(rng.integers(0, 2 ** 32)))
            os.makedirs(os.path.dirname(os.path.join(out_dir, rel)) or out_dir, exist_ok=True)
            shutil.copyfile(src, os.path.join(out_dir, rel))
            rels.append(rel)
        e = dict(series_uid=str(ds0.SeriesInstanceUID), study_uid=str(ds0.StudyInstanceUID),
                 patient_id=str(ds0.PatientID), description="real: python3-pydicom " + note, files=sorted(rels),
                 slices=len(src_files), size=[int(ds0.Columns), int(ds0.Rows), len(src_files)], real=True)
        if note == "CT5N":
            e.update(expected="valid", expected_reason=None,
                     note="a regular 5-slice series, 2.5 mm apart; 16 x 16 pixels, so ValidateImage's default "
                          "Minimum Width/Height (64) refuses it unless lowered")
        else:
            e.update(expected="invalid", expected_reason="The volume has 1 slice, fewer than the minimum 3.",
                     note="one slice: as a series ZIP it is below ValidateImage's default Minimum Slices (3); "
                          "as a single DICOM file it is a valid 2D image")
        entries.append(e)
    return entries


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--small", action="store_true", help="3 series of 128 x 128 x 24-40 slices")
    ap.add_argument("--flat", action="store_true", help="all files in one folder (default: patient subfolders)")
    ap.add_argument("--with-real", action="store_true", help="also copy pydicom's real CT5N series and CT_small")
    ap.add_argument("--manifest", help="manifest path (default: OUTDIR/../<OUTDIR name>.manifest.json)")
    a = ap.parse_args()
    started = time.time()
    out_dir = os.path.abspath(a.outdir)
    manifest_path = os.path.abspath(a.manifest) if a.manifest else out_dir.rstrip("/") + ".manifest.json"
    if os.path.commonpath([manifest_path, out_dir]) == out_dir:
        sys.exit("the manifest must not be inside OUTDIR (the flow would read it): " + manifest_path)
    if os.path.exists(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    rng = np.random.default_rng(a.seed)
    specs = SMALL_SERIES if a.small else DEFAULT_SERIES
    layout = dict(flat=a.flat, folders=["%08X" % int(rng.integers(0, 2 ** 32)) for _ in PATIENTS])
    studies = {}
    entries = []
    for i, spec in enumerate(specs):
        patient = dict(PATIENTS[spec["patient"]], index=spec["patient"])
        if spec["patient"] not in studies:
            p = spec["patient"]
            studies[p] = dict(uid=generate_uid(entropy_srcs=[str(a.seed), "study", str(p)]),
                              accession="ACC%06d" % (1000 + 37 * p), id=str(4100 + p),
                              description="CT SYNTHETIC PHANTOM")
        entries.append(write_series(spec, i, patient, studies[spec["patient"]], rng, out_dir, layout, a.seed))
    if a.with_real:
        entries.extend(copy_real(out_dir, layout, rng))
    manifest = dict(generator="tools/make_ct_set.py", seed=a.seed, small=a.small, flat=a.flat,
                    with_real=a.with_real, input_dir=out_dir,
                    files=sum(len(e["files"]) for e in entries), series=entries)
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=1)
    summary = {e["series_uid"]: dict(slices=e["slices"], expected=e["expected"], reason=e["expected_reason"])
               for e in entries}
    print(json.dumps(dict(manifest=manifest_path, files=manifest["files"], series=summary,
                          seconds=round(time.time() - started, 1)), indent=1))


if __name__ == "__main__":
    main()
