#!/usr/bin/python3
# Reference for ops.Resample / ResampleSpacing: scipy.ndimage.map_coordinates on the same real volume at the
# sample positions of ITK's voxel-centre convention, physical extent kept.
# usage: resample_reference.py nifti IN.nii            TARGET ORDER OUT.raw
#        resample_reference.py raw   IN.raw NX,NY,NZ SX,SY,SZ OX,OY,OZ D0,..,D8 TARGET ORDER OUT.raw
#   nifti: the volume and its geometry are read by nibabel (unscaled stored values; RAS affine turned into LPS).
#   raw:   IN.raw holds <f8 samples in C order (z, y, x); geometry as given (mm, LPS, direction x axis first).
#   TARGET: x,y,z in mm, each a number or keep (z of a depth-1 image is kept).  ORDER: 0 | 1 | 3 | nnunet.
#   Optional last argument AA: 1 = anti-aliasing: before interpolating, every resampled axis whose spacing grows
#   (t > s) is smoothed by gaussian_filter1d(sigma=(t/s - 1)/2, mode='mirror', truncate=4.0) (skimage's resize
#   anti_aliasing rule with t/s as the scale).
#   nnunet: nnU-Net's get_do_separate_z / get_lowres_axis (threshold 3, on the input spacing, else on the output
#   spacing; none when the largest spacing is shared): with a low-resolution axis L, every slice across L is
#   resampled by map_coordinates(order=3) in-plane, then the stack by map_coordinates(order=0) along L (identity
#   in-plane); without one, order 3 in 3D. Same positions and mirror boundary as the other orders.
#   Rule: per resampled axis n' = max(1, floor(n*s/t + 0.5)), s' = t, origin' = origin + axis*(t - s)/2;
#   output index i samples input continuous index (i + 0.5)*(t/s) - 0.5 (= (origin' + i*s' - origin)/s along
#   the axis). map_coordinates(order, mode='mirror', prefilter=True), float64.
#   Writes the result C order (z, y, x) as <f8 to OUT.raw; prints {"shape", "spacing", "origin", "min", "max",
#   "in_min", "in_max"} (shape z, y, x; spacing and origin x, y, z).
import json, sys
import numpy as np
from scipy import ndimage

mode = sys.argv[1]
if mode == 'nifti':
    import nibabel as nib
    img = nib.load(sys.argv[2])
    vol = np.asarray(img.dataobj.get_unscaled(), dtype=np.float64)    # (i, j, k) = (x, y, z)
    while vol.ndim > 3:
        vol = vol[..., 0]
    vol = np.transpose(vol, (2, 1, 0)) if vol.ndim == 3 else vol.T[None]
    zooms = np.array(img.header.get_zooms()[:3], dtype=np.float64)
    flip = np.diag([-1.0, -1.0, 1.0])
    a = img.affine[:3, :3]
    origin = flip @ img.affine[:3, 3]
    direction = [(flip @ a[:, c]) / np.linalg.norm(a[:, c]) for c in range(3)]
    spacing = zooms
    target, order, out = sys.argv[3], sys.argv[4], sys.argv[5]
    aa = len(sys.argv) > 6 and sys.argv[6] == '1'
elif mode == 'raw':
    n = [int(v) for v in sys.argv[3].split(',')]
    spacing = np.array([float(v) for v in sys.argv[4].split(',')])
    origin = np.array([float(v) for v in sys.argv[5].split(',')])
    d = [float(v) for v in sys.argv[6].split(',')]
    direction = [np.array(d[3 * c:3 * c + 3]) for c in range(3)]
    vol = np.fromfile(sys.argv[2], dtype='<f8').reshape(n[2], n[1], n[0])
    target, order, out = sys.argv[7], sys.argv[8], sys.argv[9]
    aa = len(sys.argv) > 10 and sys.argv[10] == '1'
else:
    sys.exit('unknown mode ' + mode)

size = [vol.shape[2], vol.shape[1], vol.shape[0]]                      # x, y, z
t = [None if v.strip().lower() == 'keep' else float(v) for v in target.split(',')]
if size[2] == 1:
    t[2] = None
new_size, new_spacing, new_origin, coords = [], [], np.array(origin, dtype=np.float64), []
for ax in range(3):
    n, s = size[ax], float(spacing[ax])
    if t[ax] is None:
        new_size.append(n)
        new_spacing.append(s)
        coords.append(np.arange(n, dtype=np.float64))
        continue
    n2 = max(1, int(np.floor(n * s / t[ax] + 0.5)))
    new_size.append(n2)
    new_spacing.append(t[ax])
    new_origin = new_origin + direction[ax] * (t[ax] - s) / 2
    x = (np.arange(n2, dtype=np.float64) + 0.5) * (t[ax] / s) - 0.5
    coords.append(x)
# the same positions from the origin form of the rule, along each resampled axis
for ax in range(3):
    if t[ax] is not None:
        shift = float(np.dot(new_origin - origin, direction[ax]))
        alt = (shift + np.arange(new_size[ax]) * new_spacing[ax]) / spacing[ax]
        assert np.max(np.abs(alt - coords[ax])) < 1e-9, 'position rule mismatch'

src = vol
if aa and order in ('1', '3'):
    for ax in range(3):
        if t[ax] is not None and t[ax] > spacing[ax]:
            sigma = max(0.0, (t[ax] / float(spacing[ax]) - 1) / 2)
            src = ndimage.gaussian_filter1d(src, sigma, axis=2 - ax, mode='mirror', truncate=4.0,
                                            output=np.float64)


def lowres_axis(sp, axes):
    # nnunetv2 get_do_separate_z (max/min > 3) and get_lowres_axis (where max/sp == 1), one axis only
    sp = np.array(sp[:axes], dtype=np.float64)
    if not np.max(sp) / np.min(sp) > 3:
        return None
    axis = np.where(max(sp) / sp == 1)[0]
    return int(axis[0]) if len(axis) == 1 else -1


low = None
if order == 'nnunet':
    axes = 2 if size[2] == 1 else 3
    low = lowres_axis(list(spacing), axes)
    if low is None:
        low = lowres_axis(new_spacing, axes)
    low = None if low in (None, -1) else low
if low is not None:
    d = 2 - low                                              # numpy axis of the low-resolution axis
    inplane = [2 - a for a in range(3) if a != low]           # numpy axes of the in-plane axes
    inplane.sort()
    grids = np.meshgrid(*[coords[2 - a] for a in inplane], indexing='ij')
    slices = [ndimage.map_coordinates(np.take(src, k, axis=d), grids, order=3, mode='mirror', prefilter=True,
                                      output=np.float64) for k in range(src.shape[d])]
    stack = np.stack(slices, axis=d)
    full = [np.arange(stack.shape[a], dtype=np.float64) for a in range(3)]
    full[d] = coords[low]
    g3 = np.meshgrid(*full, indexing='ij')
    res = ndimage.map_coordinates(stack, g3, order=0, mode='mirror', prefilter=False, output=np.float64)
else:
    o = 3 if order == 'nnunet' else int(order)
    zz, yy, xx = np.meshgrid(coords[2], coords[1], coords[0], indexing='ij')
    res = ndimage.map_coordinates(src, [zz, yy, xx], order=o, mode='mirror', prefilter=True,
                                  output=np.float64)
np.ascontiguousarray(res).astype('<f8').tofile(out)
print(json.dumps({'shape': list(res.shape), 'spacing': [float(v) for v in new_spacing],
                  'origin': [float(v) for v in new_origin], 'min': float(res.min()), 'max': float(res.max()),
                  'in_min': float(vol.min()), 'in_max': float(vol.max()),
                  'lowres_axis': -1 if low is None else low}))
