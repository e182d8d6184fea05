#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""What the ct flow must produce for one DICOM series, computed with pydicom, numpy and scipy only (not our code).

  series(files)                 -> the slices grouped and sorted as a CT engineer would: by ImagePositionPatient
                                   projected on the slice normal (row cosine x column cosine), never InstanceNumber
  hounsfield(slices)            -> float64 HU volume (z, y, x): stored value x RescaleSlope + RescaleIntercept
  metal(hu, threshold)          -> (voxels > threshold, 26-connected regions) by scipy.ndimage.label
  resample(vol, spacing, target)-> Gaussian anti-aliasing on axes whose spacing grows (sigma (s'/s - 1)/2), then
                                   cubic B-spline with prefilter (scipy map_coordinates order 3, mode 'mirror') at
                                   ITK voxel-centre positions (i + 1/2) s'/s - 1/2 per axis, size floor(n s/s' + 1/2)
  extent_corners(affine, shape) -> the 8 outer corners (voxel edges, not centres) of a NIfTI volume in world mm
  corner_offsets(a, b, affine)  -> per corner, the distance to the other volume's nearest corner in output voxels
Usable as a module (the e2e test) or from the command line: ct_reference.py DIR prints each series' summary.
"""
import json
import sys

import numpy as np
import pydicom
from scipy import ndimage


def read_series(paths):
    """{SeriesInstanceUID: [datasets]} of the CT image files among paths (others are skipped)."""
    out = {}
    for p in paths:
        try:
            ds = pydicom.dcmread(p)
        except Exception:  # not DICOM: the flow quarantines it, the reference has no series for it
            continue
        if "PixelData" not in ds:
            continue
        ds.filename = p
        out.setdefault(str(ds.SeriesInstanceUID), []).append(ds)
    return out


def normal(ds):
    iop = [float(v) for v in ds.ImageOrientationPatient]
    return np.cross(iop[:3], iop[3:])


def sort_slices(slices):
    """Slices ascending along the normal, and their positions along it (mm)."""
    n = normal(slices[0])
    along = [float(np.dot([float(v) for v in s.ImagePositionPatient], n)) for s in slices]
    order = np.argsort(along, kind="stable")
    return [slices[i] for i in order], [along[i] for i in order]


def missing_slices(along):
    """Number of slices missing in the middle, judged from gaps of about k times the median gap (k >= 2)."""
    if len(along) < 3:
        return 0
    gaps = np.diff(along)
    med = float(np.median(gaps))
    return int(sum(max(0, round(g / med) - 1) for g in gaps if g > 1.5 * med))


def hounsfield(slices):
    vol = np.stack([s.pixel_array.astype(np.float64) for s in slices])
    slope = float(slices[0].get("RescaleSlope", 1))
    intercept = float(slices[0].get("RescaleIntercept", 0))
    return vol * slope + intercept


def spacing(slices, along):
    """x, y, z spacing in mm: PixelSpacing is (row spacing = y, column spacing = x); z from the positions."""
    ps = [float(v) for v in slices[0].PixelSpacing]
    z = (along[-1] - along[0]) / (len(along) - 1) if len(along) > 1 else float(slices[0].get("SliceThickness", 1))
    return [ps[1], ps[0], z]


def metal(hu, threshold=3000.0):
    mask = hu > threshold
    _, regions = ndimage.label(mask, structure=np.ones((3, 3, 3), dtype=int))
    return int(mask.sum()), int(regions)


def resample(vol, sp, target, order=3, anti_aliasing=True):
    """vol (z, y, x); sp and target x, y, z in mm (target None keeps the axis; z kept for one slice). With
    anti_aliasing, an axis whose spacing grows is first smoothed by a Gaussian of sigma (s'/s - 1)/2 input voxels
    (skimage.transform.resize's rule; scipy gaussian_filter1d, mode 'mirror', truncate 4)."""
    coords = []
    for axis, (n, s, t) in enumerate(zip(vol.shape, sp[::-1], target[::-1])):
        if t is None or (axis == 0 and n == 1):
            coords.append(np.arange(n, dtype=np.float64))
            continue
        if anti_aliasing and t > s:
            vol = ndimage.gaussian_filter1d(vol, (t / s - 1) / 2, axis=axis, mode="mirror", truncate=4.0)
        n2 = max(1, int(np.floor(n * s / t + 0.5)))
        coords.append((np.arange(n2) + 0.5) * (t / s) - 0.5)
    grid = np.meshgrid(*coords, indexing="ij")
    return ndimage.map_coordinates(vol, grid, order=order, mode="mirror", prefilter=True)


def extent_corners(affine, shape):
    """World positions (mm, the affine's space) of the 8 outer corners of a volume of shape (i, j, k)."""
    corners = []
    for i in (-0.5, shape[0] - 0.5):
        for j in (-0.5, shape[1] - 0.5):
            for k in (-0.5, shape[2] - 0.5):
                corners.append((affine @ np.array([i, j, k, 1.0]))[:3])
    return np.array(corners)


def corner_distance(a, b):
    """Largest distance from a corner of a to the nearest corner of b (mm): 0 when the extents coincide."""
    return float(max(np.min(np.linalg.norm(b - p, axis=1)) for p in a))


def corner_offsets(a, b, affine):
    """For each corner of a, the offset to the nearest corner of b in voxels of the grid of affine, per axis
    (absolute values, shape (8, 3))."""
    inv = np.linalg.inv(affine[:3, :3])
    out = []
    for p in a:
        q = b[np.argmin(np.linalg.norm(b - p, axis=1))]
        out.append(np.abs(inv @ (q - p)))
    return np.array(out)


def main():
    import os
    paths = [os.path.join(d, f) for d, _, fs in os.walk(sys.argv[1]) for f in fs]
    out = {}
    for uid, slices in read_series(paths).items():
        slices, along = sort_slices(slices)
        hu = hounsfield(slices)
        out[uid] = {"slices": len(slices), "missing": missing_slices(along), "spacing": spacing(slices, along),
                    "hu": [float(hu.min()), float(hu.max())], "metal": metal(hu)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
