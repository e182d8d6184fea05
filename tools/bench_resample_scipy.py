#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Times scipy.ndimage resampling of a NIfTI volume onto the grid of org.medprep.ops.Resample, for
tools/bench_resample.sh.

usage: bench_resample_scipy.py IN.nii SX,SY,SZ ORDERS [RUNS=3]      e.g. ... 1,1,1 1,3 3

The volume is read by nibabel (stored values, made C-contiguous in (z, y, x) order) before timing. Per resampled
axis n' = max(1, floor(n*s/t + 0.5)) and output i samples the continuous input index (i + 0.5)*(t/s) - 0.5, as
Resample does. Timed: scipy.ndimage.affine_transform with the diagonal matrix t/s and offset 0.5*(t/s) - 0.5
(scipy's zoom_shift path, which computes the positions on the fly; map_coordinates would need 3 float64
coordinates per output voxel, 2.3 GB for 358 x 358 x 750), order 1 or 3, mode='mirror' (our boundary),
prefilter=True (the cubic B-spline prefilter, included in the time), output float32. scipy.ndimage runs on one
thread. Prints one JSON line per order: order, size (x, y, z), seconds (wall time) and cpu_seconds (process CPU
time) of each run.
"""
import json, sys, time, warnings
import numpy as np
import nibabel as nib
from scipy import ndimage

warnings.filterwarnings('ignore', message='The behavior of affine_transform')  # 1-D matrix = diagonal
img = nib.load(sys.argv[1])
vol = np.ascontiguousarray(np.asarray(img.dataobj.get_unscaled()).transpose(2, 1, 0))   # (z, y, x)
target = [float(v) for v in sys.argv[2].split(',')]
orders = [int(v) for v in sys.argv[3].split(',')]
runs = int(sys.argv[4]) if len(sys.argv) > 4 else 3
spacing = [float(v) for v in img.header.get_zooms()[:3]]                                   # x, y, z
n = [vol.shape[2], vol.shape[1], vol.shape[0]]
n2 = [max(1, int(np.floor(n[a] * spacing[a] / target[a] + 0.5))) for a in range(3)]
ratio = [target[a] / spacing[a] for a in range(3)]
matrix = np.array([ratio[2], ratio[1], ratio[0]])                                          # z, y, x
offset = 0.5 * matrix - 0.5
for order in orders:
    seconds, cpu = [], []
    for _ in range(runs):
        c0 = time.process_time()
        t0 = time.perf_counter()
        out = ndimage.affine_transform(vol, matrix, offset=offset, output_shape=(n2[2], n2[1], n2[0]),
                                       output=np.float32, order=order, mode='mirror', prefilter=True)
        seconds.append(round(time.perf_counter() - t0, 3))
        cpu.append(round(time.process_time() - c0, 3))
        del out
    print(json.dumps({'order': order, 'size': n2, 'seconds': seconds, 'cpu_seconds': cpu}), flush=True)
