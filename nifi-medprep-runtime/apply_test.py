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
    in the sidecar; the patient key secret reaches it through MEDPREP_PATIENT_KEY_SECRET only;
  - same bytes as the flow: when the chest-xray end-to-end test has left its output (work/e2e, as ./medprep test
    does just before), two of its .npy outputs are remade from their input files by chaining `./medprep apply` over
    the medprep processors of flows/medprep/chest-xray.json's main path (ValidateImage ... Normalize; SplitByPatient
    only routes), each with the properties and parameter values the committed flow gives it, and compared byte for
    byte;
  - the issue's N4 acceptance: `apply CorrectBiasField --set "Shrink Factor=4" --set "Maximum Iterations=50,50,50,50"
    --set "Convergence Threshold=0.0000001" --set "Mask=Otsu" --set "Output Format=NIfTI" in.nii.gz out.nii` on
    ch2.nii.gz against ITK 5.2's N4 (tools/n4ref) run with `4 50x50x50x50` on the same file: log-bias r >= 0.99 and
    median relative difference <= 2 % inside an Otsu foreground.
usage: apply_test.py [--work DIR] [--e2e DIR]
"""
import argparse
import glob
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
CH2 = "/usr/share/mricron/templates/ch2.nii.gz"  # Debian mricron-data: Colin27 T1
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


FLOW = os.path.join(REPO, "flows", "medprep", "chest-xray.json")
E2E_SALT = "e2e-salt"  # the split.salt e2e_test.py runs the flow with (it only routes; no content depends on it)


def flow_chain(flow_file, overrides):
    """[(processor simple name, {property: value})] of the medprep processors on the flow's main path, from the one
    fed by FetchFile along valid/success, up to (not including) SplitByPatient; #{parameters} substituted,
    sensitive properties left out (apply takes them from the environment)."""
    with open(flow_file) as f:
        flow = json.load(f)
    group = flow["flowContents"]
    params = {p["name"]: p.get("value") for ctx in flow["parameterContexts"].values() for p in ctx["parameters"]}
    params.update(overrides)
    procs = {p["identifier"]: p for p in group["processors"]}
    nxt = {}
    for conn in group["connections"]:
        if set(conn["selectedRelationships"]) & {"success", "valid"}:
            nxt.setdefault(conn["source"]["id"], []).append(conn["destination"]["id"])
    start = [d for s_, ds in nxt.items() for d in ds
             if procs.get(s_, {}).get("type", "").endswith(".FetchFile") and procs[d]["type"].startswith("org.medprep.")]
    chain, node = [], start[0] if start else None
    while node is not None and procs[node]["type"].startswith("org.medprep.") \
            and not procs[node]["type"].endswith(".SplitByPatient"):
        p = procs[node]
        sensitive = {k for k, d in p.get("propertyDescriptors", {}).items() if d.get("sensitive")}
        props = {}
        for k, v in p["properties"].items():
            if v is None or k in sensitive:
                continue
            props[k] = re.sub(r"#\{([^}]+)\}", lambda m: params[m.group(1)] or "", v)
        chain.append((p["type"].rsplit(".", 1)[1], props))
        node = next((d for d in nxt.get(node, []) if procs[d]["type"].startswith("org.medprep.")), None)
    return chain


def check_flow_bytes(c, work, e2e):
    outputs = sorted(p for p in glob.glob(os.path.join(e2e, "output", "*", "*", "*.npy"))
                     if os.sep + "quarantine" + os.sep not in p)
    if not outputs:
        print("apply test: no chest-xray flow output in work/e2e (e2e_test.py not run): flow-bytes check skipped")
        return
    chain = flow_chain(FLOW, {"split.salt": E2E_SALT})
    names = [n for n, _ in chain]
    c.check(names[:1] == ["ValidateImage"] and len(names) >= 3, f"chest-xray main path not found: {names}")
    for out in outputs[:2]:
        stem, label = os.path.splitext(os.path.basename(out))[0], os.path.basename(os.path.dirname(out))
        inputs = [p for p in glob.glob(os.path.join(e2e, "input", "*", label, stem + ".*"))]
        if not c.check(len(inputs) == 1, f"input of {out} not found uniquely: {inputs}"):
            continue
        current = inputs[0]
        for i, (name, props) in enumerate(chain):
            target = os.path.join(work, "chain", f"{stem}-{i + 1}-{name}" + (".npy" if i == len(chain) - 1 else ".nii"))
            args = [a for k, v in props.items() for a in ("--set", f"{k}={v}")]
            r = apply(work, name, *args, current, target)
            if not c.check(r.returncode == 0, f"{name} on {current}: exit {r.returncode}: {r.stdout.strip()} {r.stderr.strip()}"):
                break
            current = target
        else:
            with open(current, "rb") as a, open(out, "rb") as b:
                c.check(a.read() == b.read(), f"./medprep apply chain {' -> '.join(names)} on {inputs[0]} does not give "
                                              f"the bytes of the flow's {out}")


def check_n4_against_itk(c, work):
    """The issue's acceptance command: apply CorrectBiasField (shrink 4, 50,50,50,50, convergence 1e-7, Otsu) on
    mricron-data's ch2.nii.gz and ITK 5.2's N4 (tools/n4ref, `4 50x50x50x50`, its convergence 1e-7 and Otsu mask)
    on the same file: inside an Otsu foreground (skimage's threshold_otsu, not our code) the log bias fields
    log(input / corrected) correlate r >= 0.99 and the corrected intensities differ by <= 2 % (median absolute
    relative difference)."""
    n4ref = os.path.join(REPO, "tools", "n4ref", "build", "N4Ref")
    if not c.check(os.access(n4ref, os.X_OK), f"the ITK N4 reference {n4ref} is missing: run tools/n4ref/build.sh "
                                              f"(./medprep test builds it)"):
        return
    from skimage.filters import threshold_otsu
    d = os.path.join(work, "n4")
    os.makedirs(d, exist_ok=True)
    shutil.copyfile(CH2, os.path.join(d, "in.nii.gz"))
    r = apply(d, "CorrectBiasField", "--set", "Shrink Factor=4", "--set", "Maximum Iterations=50,50,50,50",
              "--set", "Convergence Threshold=0.0000001", "--set", "Mask=Otsu", "--set", "Output Format=NIfTI",
              "in.nii.gz", "out.nii")
    c.check(r.returncode == 0 and r.stdout.startswith("CorrectBiasField -> success"),
            f"apply CorrectBiasField: exit {r.returncode}: {r.stdout.strip()} {r.stderr.strip()}")
    t = subprocess.run([n4ref, os.path.join(d, "in.nii.gz"), os.path.join(d, "itk.nii.gz"), "4", "50x50x50x50"],
                       capture_output=True, text=True)
    if not c.check(t.returncode == 0 and os.path.isfile(os.path.join(d, "out.nii")),
                   f"N4Ref exit {t.returncode}: {t.stderr.strip()[-300:]}"):
        return
    x = np.asarray(nib.load(os.path.join(d, "in.nii.gz")).dataobj, dtype=np.float64)
    ours = np.asarray(nib.load(os.path.join(d, "out.nii")).dataobj, dtype=np.float64)
    itk = np.asarray(nib.load(os.path.join(d, "itk.nii.gz")).dataobj, dtype=np.float64)
    mask = (x > threshold_otsu(x)) & (ours > 0) & (itk > 0)
    r_log = float(np.corrcoef(np.log(x[mask] / ours[mask]), np.log(x[mask] / itk[mask]))[0, 1])
    rel = float(np.median(np.abs(ours[mask] - itk[mask]) / itk[mask]))
    c.check(r_log >= 0.99, f"CorrectBiasField vs ITK N4 on ch2.nii.gz: log-bias r = {r_log:.5f} < 0.99")
    c.check(rel <= 0.02, f"CorrectBiasField vs ITK N4 on ch2.nii.gz: median relative difference {rel:.4%} > 2 %")
    print(f"apply test: CorrectBiasField vs ITK N4 on ch2.nii.gz ({mask.sum()} foreground voxels): log-bias r = "
          f"{r_log:.6f}, median |ours - ITK| / ITK = {rel:.2e}; {r.stdout.strip()}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default=os.path.join(REPO, "work", "apply-test"))
    ap.add_argument("--e2e", default=os.path.join(REPO, "work", "e2e"), help="work directory of e2e_test.py")
    args = ap.parse_args()
    work = os.path.abspath(args.work)
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

    check_flow_bytes(c, work, os.path.abspath(args.e2e))
    check_n4_against_itk(c, work)

    print(f"apply test: {c.passed} passed, {c.failed} failed", flush=True)
    return 1 if c.failed or not c.passed else 0


if __name__ == "__main__":
    sys.exit(main())
