#!/usr/bin/python3
# Reference for ops.WhiteStripe, ops.NyulStandardization and Intensity.zScoreInMask, written with NumPy/SciPy
# from the papers (not from our Java):
#   WhiteStripe: Shinohara et al., NeuroImage: Clinical 6:9-19, 2014 (Sec. 2.4); smoothing and mode rules as the
#     intensity-normalization package documents them (Gaussian KDE, bandwidth max/80, 80 grid points, cut 3,
#     values linearly binned onto the grid; T1: last local maximum of the values <= 96th percentile; T2/FLAIR:
#     the highest density), stripe = {v : |F(v) - F(mode)| < width} (the paper's definition).
#   nnU-Net z-score with use_mask_for_norm: mask = binary_fill_holes(image != 0); mean/std over the mask;
#     outside the mask 0.
#   Nyul-Udupa (IEEE TMI 19(2), 2000): foreground percentiles mapped piecewise linearly onto the standard
#     landmarks, the end segments extended.
# usage: mr_normalization_reference.py INPUT OUT.raw OP ARGS...
#   INPUT: a NIfTI file (nibabel, stored values) or a single DICOM file (pydicom pixel_array)
#   OP: whitestripe CONTRAST(t1|t2|flair) WIDTH FOREGROUND(above_mean|nonzero)
#       zscore_fg
#       nyul PERCENTILES(comma list) LANDMARKS(comma list) FOREGROUND
# Writes float32 little-endian in C order of (z, y, x) (the Java Image layout) to OUT.raw and prints JSON facts.
import json
import sys
import warnings

import numpy as np
from scipy import ndimage, signal

warnings.simplefilter("ignore")


def load(path):
    if path.endswith(".nii") or path.endswith(".nii.gz"):
        import nibabel as nib
        img = nib.load(path)
        arr = img.dataobj.get_unscaled() if hasattr(img.dataobj, "get_unscaled") else np.asanyarray(img.dataobj)
        arr = np.asarray(arr)
        arr = arr.reshape(arr.shape + (1,) * (3 - arr.ndim))
        return arr.transpose(2, 1, 0).astype(np.float64)   # (x, y, z) -> (z, y, x)
    import pydicom
    return pydicom.dcmread(path).pixel_array.astype(np.float64)[np.newaxis]


def foreground(x, kind):
    if kind == "above_mean":
        return x > x.mean()
    if kind == "nonzero":
        return ndimage.binary_fill_holes(x != 0)
    sys.exit("unknown foreground " + kind)


def smoothed_histogram(values, grid_points=80, cut=3.0):
    h = values.max() / 80.0
    a, b = values.min() - cut * h, values.max() + cut * h
    grid = np.linspace(a, b, grid_points)
    step = grid[1] - grid[0]
    pos = (values - a) / step
    j = np.floor(pos).astype(np.int64)
    f = pos - j
    w = np.bincount(j, weights=1 - f, minlength=grid_points) + np.bincount(j + 1, weights=f, minlength=grid_points)
    kernel = np.exp(-0.5 * ((grid[:, None] - grid[None, :]) / h) ** 2)
    binned = kernel @ w[:grid_points] / (values.size * h * np.sqrt(2 * np.pi))
    # The exact KDE on the same grid (no binning), to show what the binning costs.
    u, counts = np.unique(values, return_counts=True)
    exact = np.array([(counts * np.exp(-0.5 * ((g - u) / h) ** 2)).sum() for g in grid]) \
        / (values.size * h * np.sqrt(2 * np.pi))
    return grid, binned, exact


def whitestripe(x, contrast, width, fg_kind):
    mask = foreground(x, fg_kind)
    voi = x[mask]
    if contrast == "t1":
        data = voi[voi <= np.percentile(voi, 96)]
    else:
        data = voi
    grid, pdf, exact = smoothed_histogram(data)

    def pick(density):
        if contrast == "t1":
            maxima = signal.argrelmax(density)[0]
            return grid[maxima[-1]] if maxima.size else grid[np.argmax(density)]
        return grid[np.argmax(density)]

    mode, mode_exact = pick(pdf), pick(exact)
    # Omega_tau = {v : |F(v) - F(mode)| < tau}, F the empirical CDF of the foreground values (fraction <= v).
    sorted_voi = np.sort(voi)
    cdf = lambda v: np.searchsorted(sorted_voi, v, side="right") / voi.size
    stripe = mask & (np.abs(cdf(x) - cdf(mode)) < width)
    lo, hi = x[stripe].min(), x[stripe].max()
    mean, sd = x[stripe].mean(), x[stripe].std()
    res = (x - mean) / max(sd, 1e-8)
    return res, {"mode": float(mode), "mode_exact_kde": float(mode_exact), "grid_step": float(grid[1] - grid[0]),
                 "lower": float(lo), "upper": float(hi), "mean": float(mean), "sd": float(sd),
                 "stripe_voxels": int(stripe.sum()), "foreground_voxels": int(mask.sum())}


def zscore_fg(x):
    mask = ndimage.binary_fill_holes(x != 0)
    res = np.zeros_like(x)
    mean, sd = x[mask].mean(), x[mask].std()
    res[mask] = (x[mask] - mean) / max(sd, 1e-8)
    return res, {"mean": float(mean), "sd": float(sd), "mask_voxels": int(mask.sum())}


def nyul(x, percentiles, standard, fg_kind):
    mask = foreground(x, fg_kind)
    m = np.percentile(x[mask], percentiles)
    res = np.interp(x, m, standard)
    below, above = x < m[0], x > m[-1]
    res[below] = standard[0] + (x[below] - m[0]) * (standard[1] - standard[0]) / (m[1] - m[0])
    res[above] = standard[-1] + (x[above] - m[-1]) * (standard[-1] - standard[-2]) / (m[-1] - m[-2])
    return res, {"landmarks": m.tolist()}


def floats(text):
    return [float(v) for v in text.split(",")]


def main():
    src, out_path, op, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    x = load(src)
    if op == "whitestripe":
        res, facts = whitestripe(x, args[0], float(args[1]), args[2])
    elif op == "zscore_fg":
        res, facts = zscore_fg(x)
    elif op == "nyul":
        res, facts = nyul(x, floats(args[0]), floats(args[1]), args[2])
    else:
        sys.exit("unknown op " + op)
    np.ascontiguousarray(res.astype("<f4")).tofile(out_path)
    facts["shape"] = list(res.shape)
    print(json.dumps(facts))


if __name__ == "__main__":
    main()
