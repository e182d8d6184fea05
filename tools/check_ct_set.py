#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# check_ct_set.py - checks a CT export written by make_ct_set.py against two references:
#   * dcm2niix (Debian package dcm2niix): each series' files, copied into a folder of their own, must convert
#     to exactly one NIfTI volume of the manifest's size (columns x rows x slices); for a series the manifest
#     expects to be refused, dcm2niix's own warnings are quoted (it converts what it can and warns);
#   * pydicom: HU = stored x RescaleSlope + RescaleIntercept, inside the reconstruction circle, must lie in
#     the intended ranges: minimum about -1024 (air), a share of voxels in each tissue band (air/lung, fat,
#     soft tissue, bone), 12-bit series at most 3071, the metal series above 3000; PixelRepresentation must
#     match the stored dtype.
# Prints one line per series and check, then "check: N passed, M failed"; exits 1 on any failure.
#
# Usage: /usr/bin/python3 tools/check_ct_set.py MANIFEST

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings

import nibabel as nib
import numpy as np
import pydicom

warnings.simplefilter("ignore")

BANDS = [("air/lung", -1024, -700), ("fat", -150, -50), ("soft tissue", 0, 100), ("bone", 250, 1500),
         ("metal", 3000, 40000)]


def dcm2niix(root, files, renumber=False):
    """Converts the files (copied into a folder of their own) with dcm2niix; returns (NIfTI shapes, the lines
    of its output that warn or complain)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "dicom")
        out = os.path.join(tmp, "nifti")
        os.makedirs(src)
        os.makedirs(out)
        if renumber:
            dss = [pydicom.dcmread(os.path.join(root, f)) for f in files]
            dss.sort(key=lambda d: float(d.ImagePositionPatient[2]))
            for i, ds in enumerate(dss):
                ds.InstanceNumber = str(i + 1)
                ds.save_as(os.path.join(src, "%05d" % i))
        else:
            for i, f in enumerate(files):
                shutil.copyfile(os.path.join(root, f), os.path.join(src, "%05d" % i))
        r = subprocess.run(["dcm2niix", "-z", "n", "-b", "n", "-f", "%s_%p", "-o", out, src],
                           capture_output=True, text=True)
        niftis = sorted(f for f in os.listdir(out) if f.endswith(".nii"))
        shapes = [tuple(int(v) for v in nib.load(os.path.join(out, f)).shape) for f in niftis]
        said = [l for l in r.stdout.splitlines() + r.stderr.splitlines()
                if re.search(r"warning|error|missing|equidistant|skipped|varies", l, re.I)]
        return shapes, said


def main():
    manifest = json.load(open(sys.argv[1]))
    root = manifest["input_dir"]
    passed = failed = 0

    def report(ok, series, what):
        nonlocal passed, failed
        passed += ok
        failed += not ok
        print(("PASS" if ok else "FAIL"), series, what)

    for e in manifest["series"]:
        name = e["description"]
        shapes, said = dcm2niix(root, e["files"])
        if e["expected"] == "valid" and e.get("instance_numbers") == "shuffled":
            # dcm2niix orders slices by InstanceNumber and skips what is not sequential: quote it, then convert
            # a copy renumbered in position order, which must give the expected volume
            print("INFO", name, "dcm2niix (InstanceNumber shuffled): %s; it says: %s"
                  % (shapes, " | ".join(said) or "(nothing)"))
            shapes, said = dcm2niix(root, e["files"], renumber=True)
            report(len(shapes) == 1 and list(shapes[0]) == e["size"], name,
                   "dcm2niix after renumbering InstanceNumber by position: %s (expected one volume %s)"
                   % (shapes, e["size"]))
        elif e["expected"] == "valid" and not e.get("real"):
            report(len(shapes) == 1 and list(shapes[0]) == e["size"], name,
                   "dcm2niix: %s (expected one volume %s)" % (shapes, e["size"]))
        elif e["expected"] == "valid":
            report(len(shapes) == 1, name, "dcm2niix: %s" % shapes)
        else:
            print("INFO", name, "dcm2niix: %s; it says: %s" % (shapes, " | ".join(said) or "(nothing)"))
            if e.get("missing_slice_position_mm") is not None:
                report(any(re.search(r"equidistant|missing|varies", l, re.I) for l in said), name,
                       "dcm2niix reports the missing slice")
        if e.get("real"):
            continue
        z = sorted(float(pydicom.dcmread(os.path.join(root, f), stop_before_pixels=True).ImagePositionPatient[2])
                   for f in e["files"])
        gaps = np.round(np.diff(z), 4)
        expected_gaps = {e["spacing_mm"][2]} | ({2 * e["spacing_mm"][2]} if e.get("missing_slice_position_mm") is not None else set())
        report(set(gaps.tolist()) == expected_gaps and len(z) == e["slices"], name,
               "pydicom: %d slices, gaps along z %s mm" % (len(z), sorted(set(gaps.tolist()))))
        hus, signed_ok, max_12bit = [], True, True
        for f in e["files"]:
            ds = pydicom.dcmread(os.path.join(root, f))
            a = ds.pixel_array
            signed_ok &= (a.dtype.kind == "i") == (ds.PixelRepresentation == 1)
            hu = a.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
            n = hu.shape[0]
            yy, xx = np.mgrid[:n, :n]
            inside = (xx - (n - 1) / 2) ** 2 + (yy - (n - 1) / 2) ** 2 <= ((n - 2) / 2) ** 2
            hus.append(hu[inside][::7])
            if ds.BitsStored == 12:
                max_12bit &= hu.max() <= 3071
        hu = np.concatenate(hus)
        shares = {b: float(np.mean((hu >= lo) & (hu <= hi))) for b, lo, hi in BANDS}
        report(signed_ok, name, "dtype matches PixelRepresentation %d" % e["pixel_representation"])
        report(max_12bit, name, "12-bit series at most 3071 HU")
        report(-1030 <= hu.min() <= -1000, name, "minimum HU in the reconstruction circle %.0f (air)" % hu.min())
        report(all(shares[b] > 0.001 for b in ("air/lung", "fat", "soft tissue", "bone")), name,
               "tissue bands present: " + ", ".join("%s %.1f %%" % (b, 100 * s) for b, s in shares.items()))
        if e["metal"]:
            report(hu.max() >= 3000, name, "metal: maximum %.0f HU" % hu.max())
        else:
            report(shares["metal"] == 0, name, "no metal (maximum %.0f HU)" % hu.max())
    print("check: %d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or not passed else 0)


if __name__ == "__main__":
    main()
