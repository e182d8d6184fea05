#!/usr/bin/python3
# Learns the standard-scale landmarks of Nyul-Udupa histogram standardization (L. G. Nyul, J. K. Udupa, X. Zhang,
# "New variants of a method of MRI scale standardization", IEEE TMI 19(2):143-150, 2000) from the TRAINING split
# only, for Normalize's "Nyul Histogram Standardization" (property Standard Landmarks).
#
# usage: learn_nyul_landmarks.py TRAIN_DIR [--percentiles 1,10,20,30,40,50,60,70,80,90,99]
#                                [--scale 1,100] [--mask above-mean|nonzero] [--output FILE]
#                                [--allow-any-folder]
#
# For every NIfTI (.nii / .nii.gz) under TRAIN_DIR (recursively; sidecars and other files are ignored):
#   1. the foreground: voxels above the image mean (--mask above-mean, Normalize's default "Above Image Mean")
#      or voxels != 0 with holes filled (--mask nonzero, "Nonzero", scipy.ndimage.binary_fill_holes);
#   2. its landmarks m_k: the foreground percentiles (NumPy's linear interpolation) at --percentiles
#      (pc1, the deciles, pc2);
#   3. m_k mapped linearly so that [m_first, m_last] becomes the standard range [s1, s2] (--scale).
# The standard landmarks are the mean of the mapped landmarks over the images (the first is s1, the last s2).
# Values are the stored voxel values (scl_slope/scl_inter not applied), what Normalize reads.
#
# Output (FILE, else standard output): comment lines starting with '#', then one line of comma-separated
# landmarks. Give Normalize that line, or the file's path, as Standard Landmarks, with the same Landmark
# Percentiles and Foreground Mask.
#
# Leakage: run it on the training split only (e.g. <output>/train/ of a flow run). A TRAIN_DIR with a path
# component named val, validation or test is refused unless --allow-any-folder is given.
# The learned landmarks do not change when each training image is first rescaled by its own positive affine map
# (v -> a*v + b, a > 0: WhiteStripe, z-score per image, min-max, scale by bit depth), since each image's
# [m_first, m_last] is mapped onto [s1, s2] (with --mask above-mean; nonzero needs b = 0). So they can be learned
# from the outputs of a first run whose Normalize step used such a method.
import argparse
import os
import sys

import nibabel as nib
import numpy as np
from scipy import ndimage


def stored_values(path):
    img = nib.load(path)
    arr = img.dataobj.get_unscaled() if hasattr(img.dataobj, "get_unscaled") else np.asanyarray(img.dataobj)
    return np.asarray(arr, dtype=np.float64)


def foreground(x, kind):
    if kind == "above-mean":
        return x > x.mean()
    return ndimage.binary_fill_holes(x != 0)


def main():
    ap = argparse.ArgumentParser(description="Learn Nyul-Udupa standard landmarks from a training split.")
    ap.add_argument("train_dir")
    ap.add_argument("--percentiles", default="1,10,20,30,40,50,60,70,80,90,99")
    ap.add_argument("--scale", default="1,100", help="standard range s1,s2 (default 1,100)")
    ap.add_argument("--mask", choices=["above-mean", "nonzero"], default="above-mean")
    ap.add_argument("--output")
    ap.add_argument("--allow-any-folder", action="store_true")
    a = ap.parse_args()

    pcs = [float(v) for v in a.percentiles.split(",")]
    s1, s2 = (float(v) for v in a.scale.split(","))
    if len(pcs) < 2 or any(not (0 <= p <= 100) for p in pcs) or any(b <= c for c, b in zip(pcs, pcs[1:])):
        sys.exit("learn_nyul_landmarks: percentiles must increase strictly within 0..100: " + a.percentiles)
    if not s1 < s2:
        sys.exit("learn_nyul_landmarks: the standard range needs s1 < s2: " + a.scale)
    root = os.path.abspath(a.train_dir)
    parts = {p.lower() for p in root.split(os.sep)}
    if parts & {"val", "validation", "test"} and not a.allow_any_folder:
        sys.exit("learn_nyul_landmarks: %s looks like a validation or test split; learn landmarks from the "
                 "training split only (or pass --allow-any-folder)" % root)
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs
                   if f.endswith(".nii") or f.endswith(".nii.gz"))
    if not files:
        sys.exit("learn_nyul_landmarks: no .nii or .nii.gz file under " + root)

    mapped = []
    for f in files:
        x = stored_values(f)
        m = np.percentile(x[foreground(x, a.mask)], pcs)
        if not np.all(np.diff(m) > 0):
            sys.exit("learn_nyul_landmarks: %s has landmarks that are not distinct: %s" % (f, m.tolist()))
        mapped.append(s1 + (m - m[0]) / (m[-1] - m[0]) * (s2 - s1))
    standard = np.mean(mapped, axis=0)

    lines = [
        "# Nyul-Udupa standard landmarks (Nyul, Udupa & Zhang, IEEE TMI 19(2), 2000), tools/learn_nyul_landmarks.py",
        "# training images: %d under %s" % (len(files), root),
        "# Landmark Percentiles: %s" % ",".join("%g" % p for p in pcs),
        "# Foreground Mask: %s; standard range %g..%g" % ("Above Image Mean" if a.mask == "above-mean" else "Nonzero",
                                                         s1, s2),
        ",".join(repr(float(v)) for v in standard),
    ]
    text = "\n".join(lines) + "\n"
    if a.output:
        with open(a.output, "w") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
