#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# compare_outputs.py - compares the .npy files a NiFi run of the nifi-medprep CXR flow wrote with those of the
# Python seed reference (tools/seed_pipeline.py).
#
# Files are paired by <label>/<name>.npy, ignoring any split folder above (NIFI_OUT/<split>/<label>/<name>.npy
# against SEED_OUT/<label>/<name>.npy or SEED_OUT/<split>/<label>/<name>.npy). For every pair:
#   * the NiFi array must be shape (SIZE, SIZE) (default 224) and dtype float32;
#   * for images that went through the 8-bit path (per SEED_OUT/seed_report.json "bits"; 8 when absent), the
#     fraction of pixels with |nifi - seed| < 1e-5 must be >= 0.999 (--min-identical): identical at the 8-bit stage;
#   * for every image, max |nifi - seed| <= (1/255)/std + 1e-5 (one 8-bit step after the z-score; --std 0.236).
#   16-bit images are held to the second bound only: OpenCV 4.9 (NiFi) and Debian's 4.6 (seed) round 16-bit
#   bilinear resize differently for about 0.3 % of pixels by one unit, and 16-bit CLAHE spreads such differences,
#   so bit-identical output is not expected there (the fraction is printed).
# A file present on only one side is a failure too (the flow dropped or added an image).
# With --splits, also checks that no patient (file-name rule of seed_pipeline.patient_from_name:
# person1234_bacteria_5678 -> person1234, IM-0115-0001 -> IM-0115, NORMAL2-IM-1427-0001 -> NORMAL2-IM-1427)
# appears under two different split folders of NIFI_OUT; each patient found in two is a failure.
# Prints each failure, then a last line exactly "compare: N passed, M failed".
# Exit status 1 if anything failed or nothing was compared, else 0.
#
# Usage: /usr/bin/python3 tools/compare_outputs.py NIFI_OUT SEED_OUT [--splits] [--std 0.236] [--size 224]
#            [--min-identical 0.999]

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seed_pipeline import patient_from_name  # noqa: E402


def index(root):
    """{'<label>/<name>': (path, split or None)} for every .npy under root."""
    out, dup = {}, []
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for f in sorted(files):
            if not f.endswith(".npy"):
                continue
            p = os.path.join(d, f)
            parts = os.path.relpath(p, root).split(os.sep)
            if len(parts) < 2:
                key, split = "/" + f[:-4], None
            else:
                key = parts[-2] + "/" + f[:-4]
                split = parts[-3] if len(parts) >= 3 else None
            if key in out:
                dup.append((key, out[key][0], p))
            out[key] = (p, split)
    return out, dup


def main():
    ap = argparse.ArgumentParser(description="Compare NiFi .npy outputs with the Python seed reference")
    ap.add_argument("nifi_out")
    ap.add_argument("seed_out")
    ap.add_argument("--splits", action="store_true", help="also check no patient is in two split folders")
    ap.add_argument("--std", type=float, default=0.236)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--min-identical", type=float, default=0.999)
    ap.add_argument("--tol", type=float, default=1e-5)
    a = ap.parse_args()
    for d in (a.nifi_out, a.seed_out):
        if not os.path.isdir(d):
            print("no such directory: %s" % d)
            print("compare: 0 passed, 1 failed")
            sys.exit(1)
    nifi, ndup = index(a.nifi_out)
    seed, sdup = index(a.seed_out)
    bits = {}
    report = os.path.join(a.seed_out, "seed_report.json")
    if os.path.exists(report):
        import json
        with open(report) as f:
            for w in json.load(f).get("written", []):
                parts = w["npy"].replace(os.sep, "/").split("/")
                bits["/".join(parts[-2:])[:-len(".npy")]] = w.get("bits", 8)
    max_allowed = (1.0 / 255) / a.std + a.tol
    passed = failed = 0
    for key, p1, p2 in ndup:
        print("FAIL %s: two NiFi files with this label/name: %s, %s" % (key, p1, p2))
        failed += 1
    for key, p1, p2 in sdup:
        print("WARN %s: two seed files with this label/name: %s, %s (last one used)" % (key, p1, p2))
    for key in sorted(set(nifi) | set(seed)):
        if key not in seed:
            print("FAIL %s: only in NiFi output (%s)" % (key, nifi[key][0]))
            failed += 1
            continue
        if key not in nifi:
            print("FAIL %s: missing from NiFi output (seed has %s)" % (key, seed[key][0]))
            failed += 1
            continue
        try:
            n = np.load(nifi[key][0], allow_pickle=False)
            s = np.load(seed[key][0], allow_pickle=False)
        except Exception as e:
            print("FAIL %s: cannot load: %s" % (key, e))
            failed += 1
            continue
        problems = []
        if n.shape != (a.size, a.size):
            problems.append("NiFi shape %s, expected (%d, %d)" % (n.shape, a.size, a.size))
        if n.dtype != np.float32:
            problems.append("NiFi dtype %s, expected float32" % n.dtype)
        if n.shape == s.shape:
            d = np.abs(n.astype(np.float64) - s.astype(np.float64))
            if not np.all(np.isfinite(d)):
                problems.append("non-finite values")
            else:
                frac = float(np.mean(d < a.tol))
                mx = float(d.max())
                if bits.get(key, 8) > 8:
                    print("INFO %s: %d-bit path, %.5f of pixels within %g, max |diff| %.3g" % (
                        key, bits[key], frac, a.tol, mx))
                elif frac < a.min_identical:
                    problems.append("only %.5f of pixels within %g (need %g)" % (frac, a.tol, a.min_identical))
                if mx > max_allowed:
                    problems.append("max |diff| %.6g > %.6g" % (mx, max_allowed))
        else:
            problems.append("shape %s differs from seed %s" % (n.shape, s.shape))
        if problems:
            print("FAIL %s: %s" % (key, "; ".join(problems)))
            failed += 1
        else:
            passed += 1
    if a.splits:
        where = {}
        for key, (p, split) in nifi.items():
            pid = patient_from_name(key.split("/", 1)[1] + ".npy")
            where.setdefault(pid, {}).setdefault(split, []).append(key)
        for pid in sorted(where):
            if len(where[pid]) > 1:
                print("FAIL patient %s is in %d split folders: %s" % (
                    pid, len(where[pid]),
                    "; ".join("%s: %s" % (sp, ", ".join(k)) for sp, k in sorted(where[pid].items(),
                                                                                 key=lambda t: str(t[0])))))
                failed += 1
        print("splits: %d patients, %s" % (len(where), ", ".join(
            "%s=%d" % (sp, sum(1 for v in nifi.values() if v[1] == sp))
            for sp in sorted({v[1] for v in nifi.values()}, key=str))))
    print("compare: %d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or passed == 0 else 0)


if __name__ == "__main__":
    main()
