#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Shell-level test of `./medprep apply` (run by ./medprep test after the end-to-end flow tests; no NiFi server).

Runs the launcher as a user would and checks the result with pydicom, nibabel and numpy only (not our code):
  - `apply ClipHU --set "Minimum HU=-200" --set "Maximum HU=300" CT_small.dcm out.nii` (pydicom's real CT slice,
    INPUT and OUTPUT relative to the caller's directory): exit 0, stdout exactly one line
    "ClipHU -> success (N ms)"; out.nii opens in nibabel; its voxels equal clip(stored x RescaleSlope +
    RescaleIntercept, -200, 300) from pydicom (float32, 1e-3); its affine has the slice's pixel spacing and
    ImagePositionPatient (LPS -> RAS); the sidecar out.json holds medprep.history as nested JSON with one ClipHU step,
    its parameters and an integer ms, and medprep.width;
  - the same with Output Format given by display name ("NIfTI gzip") writes a gzipped NIfTI with the same voxels and
    its sidecar next to it (out.nii.gz -> out.json);
  - an unknown processor and an unknown property: exit 2, one line on stderr naming the valid ones;
  - ValidateImage on a truncated copy of the slice: exit 1, "ValidateImage -> invalid (N ms): reason", the reason
    in the sidecar; the patient key secret reaches it through MEDPREP_PATIENT_KEY_SECRET only.
usage: apply_test.py [--work DIR]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys

import nibabel as nib
import numpy as np
import pydicom

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
MEDPREP = os.path.join(REPO, "medprep")
CT_SMALL = "/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm"
SECRET = "apply-test-patient-key-secret-0123456789"


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"apply test FAILED: {what}", flush=True)
        return ok


def apply(work, *args):
    """./medprep apply ARGS in the directory work; the patient key secret in the environment, as users give it."""
    print("apply test: $ ./medprep apply " + " ".join(repr(a) if " " in a else a for a in args), flush=True)
    env = dict(os.environ, MEDPREP_PATIENT_KEY_SECRET=SECRET)
    return subprocess.run([MEDPREP, "apply", *args], cwd=work, env=env, capture_output=True, text=True)


def hounsfield(path, lo, hi):
    ds = pydicom.dcmread(path)
    hu = ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    return ds, np.clip(hu, lo, hi)


def check_volume(c, path, ds, expected, what):
    img = nib.load(path)
    data = np.asarray(img.dataobj)
    c.check(data.shape[:2] == expected.shape[::-1], f"{what}: shape {data.shape}, expected (x, y) {expected.shape[::-1]}")
    if data.shape[:2] != expected.shape[::-1]:
        return
    got = data.reshape(data.shape[0], data.shape[1]).T  # NIfTI (x, y) -> (rows, columns)
    c.check(data.dtype == np.float32, f"{what}: voxel type {data.dtype}, expected float32 (HU)")
    diff = float(np.max(np.abs(got.astype(np.float64) - expected)))
    c.check(diff <= 1e-3, f"{what}: voxels differ from pydicom's clipped HU by up to {diff}")
    zooms = img.header.get_zooms()
    rows, cols = (float(v) for v in ds.PixelSpacing)
    c.check(abs(zooms[0] - cols) < 1e-4 and abs(zooms[1] - rows) < 1e-4,
            f"{what}: pixel spacing {zooms[:2]} != DICOM (columns, rows) {cols, rows}")
    ipp = [float(v) for v in ds.ImagePositionPatient]
    origin = img.affine[:3, 3]
    c.check(np.allclose(origin, [-ipp[0], -ipp[1], ipp[2]], atol=1e-3),
            f"{what}: affine origin {origin} != ImagePositionPatient in RAS {[-ipp[0], -ipp[1], ipp[2]]}")


def check_sidecar(c, path, processor, parameters):
    try:
        with open(path) as f:
            side = json.load(f)
    except (OSError, ValueError) as e:
        c.check(False, f"sidecar {path} unreadable: {e}")
        return {}
    history = side.get("medprep.history")
    c.check(isinstance(history, list) and len(history) == 1,
            f"{path}: medprep.history is not nested JSON with one step: {history!r}")
    if isinstance(history, list) and history:
        step = history[-1]
        c.check(step.get("processor") == processor, f"{path}: step processor {step.get('processor')}")
        c.check(isinstance(step.get("ms"), int) and step["ms"] >= 0, f"{path}: step ms {step.get('ms')!r}")
        for k, v in parameters.items():
            c.check(str(step.get("parameters", {}).get(k)) == v,
                    f"{path}: parameter {k} = {step.get('parameters', {}).get(k)!r}, expected {v}")
    c.check("uuid" not in side and "filename" not in side, f"{path}: core attributes in the sidecar")
    return side


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default=os.path.join(REPO, "work", "apply-test"))
    work = os.path.abspath(ap.parse_args().work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    shutil.copy(CT_SMALL, os.path.join(work, "CT_small.dcm"))
    c = Checks()
    ds, expected = hounsfield(CT_SMALL, -200.0, 300.0)

    r = apply(work, "ClipHU", "--set", "Minimum HU=-200", "--set", "Maximum HU=300", "CT_small.dcm", "out.nii")
    c.check(r.returncode == 0, f"ClipHU exit {r.returncode}, stderr: {r.stderr.strip()}")
    c.check(re.fullmatch(r"ClipHU -> success \(\d+ ms\)\n", r.stdout) is not None,
            f"ClipHU stdout is not one line 'ClipHU -> success (N ms)': {r.stdout!r}")
    if c.check(os.path.isfile(os.path.join(work, "out.nii")), "out.nii not written (relative to the caller's directory)"):
        check_volume(c, os.path.join(work, "out.nii"), ds, expected, "out.nii")
        side = check_sidecar(c, os.path.join(work, "out.json"), "ClipHU", {"Minimum HU": "-200.0", "Maximum HU": "300.0"})
        c.check(side.get("medprep.width") == str(expected.shape[1]), f"out.json: medprep.width {side.get('medprep.width')!r}")

    gz = os.path.join(work, "gz")
    r = apply(work, "ClipHU", "--set", "Minimum HU=-200", "--set", "Maximum HU=300", "--set", "Output Format=NIfTI gzip",
              "CT_small.dcm", "gz/out.nii.gz")
    c.check(r.returncode == 0, f"ClipHU (NIfTI gzip) exit {r.returncode}, stderr: {r.stderr.strip()}")
    if c.check(os.path.isfile(os.path.join(gz, "out.nii.gz")), "gz/out.nii.gz not written"):
        with open(os.path.join(gz, "out.nii.gz"), "rb") as f:
            c.check(f.read(2) == b"\x1f\x8b", "gz/out.nii.gz is not gzip")
        check_volume(c, os.path.join(gz, "out.nii.gz"), ds, expected, "gz/out.nii.gz")
        check_sidecar(c, os.path.join(gz, "out.json"), "ClipHU", {"Minimum HU": "-200.0", "Output Format": "NIfTI gzip"})

    r = apply(work, "ClipHounsfield", "CT_small.dcm", "x.nii")
    c.check(r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "ClipHU" in r.stderr
            and "ValidateImage" in r.stderr, f"unknown processor: exit {r.returncode}, stderr {r.stderr!r}")
    r = apply(work, "ClipHU", "--set", "Lower HU=-200", "CT_small.dcm", "x.nii")
    c.check(r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Minimum HU" in r.stderr,
            f"unknown property: exit {r.returncode}, stderr {r.stderr!r}")
    c.check(not os.path.exists(os.path.join(work, "x.nii")), "x.nii written despite a usage error")

    with open(CT_SMALL, "rb") as f:
        data = f.read()
    with open(os.path.join(work, "truncated.dcm"), "wb") as f:
        f.write(data[:len(data) // 2])
    r = apply(work, "ValidateImage", "truncated.dcm", "checked.dcm")
    c.check(r.returncode == 1, f"ValidateImage on a truncated file: exit {r.returncode}, stderr {r.stderr.strip()}")
    m = re.fullmatch(r"ValidateImage -> invalid \(\d+ ms\): (.+)\n", r.stdout)
    if c.check(m is not None, f"ValidateImage stdout: {r.stdout!r}"):
        try:
            with open(os.path.join(work, "checked.json")) as f:
                reason = json.load(f).get("medprep.invalid.reason", "")
        except (OSError, ValueError):
            reason = ""
        c.check(" ".join(reason.split()) == " ".join(m.group(1).split()), f"reason on stdout {m.group(1)!r} != sidecar's {reason!r}")

    print(f"apply test: {c.passed} passed, {c.failed} failed", flush=True)
    return 1 if c.failed or not c.passed else 0


if __name__ == "__main__":
    sys.exit(main())
