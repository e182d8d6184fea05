#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Writes a synthetic but CT-like int16 volume as NIfTI-1, for the resampling benchmark (tools/bench_resample.sh).

usage: make_ct_volume.py OUT.nii [NX=512 NY=512 NZ=300] [--spacing 0.7,0.7,2.5]

A chest-abdomen phantom in Hounsfield units, stored as int16 HU (scl_slope 1, scl_inter 0), deterministic
(seed 7): air -1000 outside; a patient table (300 HU plate); an elliptical body whose size varies along z
(soft tissue 40 HU, 12 mm subcutaneous fat -100 HU); in the upper 55 % of the slices two lungs (-850 HU with
+-60 HU texture), the heart (40 HU) and the contrast-filled aorta (250 HU) between them; below them the liver
(60 HU); a spine of vertebral bodies (cancellous 250 HU, cortical rim 900 HU) with 80 HU discs every 25 mm;
ribs (700 HU arcs, every 30 mm) around the lungs; a hip-prosthesis-like metal rod (3000 HU) in the lowest
15 % of slices; Gaussian noise sigma 12 HU everywhere. Geometry: spacing as given (default 0.7 x 0.7 x 2.5 mm),
direction identity in LPS, the first voxel's centre at (-(NX-1)/2*sx, -(NY-1)/2*sy, -NZ*sz) mm LPS.
Prints one JSON line: path, shape (x, y, z), spacing, min, max, bytes.
"""
import json, sys
import numpy as np
import nibabel as nib

args = [a for a in sys.argv[1:] if not a.startswith('--')]
spacing = (0.7, 0.7, 2.5)
if '--spacing' in sys.argv:
    spacing = tuple(float(v) for v in sys.argv[sys.argv.index('--spacing') + 1].split(','))
    args = [a for a in args if a != sys.argv[sys.argv.index('--spacing') + 1]]
out = args[0]
nx, ny, nz = (int(v) for v in (args[1:4] if len(args) >= 4 else (512, 512, 300)))
sx, sy, sz = spacing
rng = np.random.default_rng(7)

x = (np.arange(nx) - (nx - 1) / 2) * sx            # mm, left-right
y = (np.arange(ny) - (ny - 1) / 2) * sy            # mm, anterior (<0) - posterior (>0)
X, Y = np.meshgrid(x, y)                           # (y, x)
vol = np.empty((nz, ny, nx), dtype=np.int16)       # C order z, y, x
for k in range(nz):
    zf = k / max(1, nz - 1)                        # 0 = feet end, 1 = head end
    zmm = k * sz
    a = 165 + 15 * np.sin(np.pi * zf)              # body half-axes (mm)
    b = 115 + 10 * np.sin(np.pi * zf)
    r = (X / a) ** 2 + (Y / b) ** 2
    hu = np.full(X.shape, -1000.0)
    hu[(Y > b + 8) & (Y < b + 18) & (np.abs(X) < 200)] = 300          # table
    body = r <= 1
    hu[body] = -100                                                    # fat
    inner = (X / (a - 12)) ** 2 + (Y / (b - 12)) ** 2 <= 1
    hu[inner] = 40                                                     # soft tissue
    chest = zf > 0.45
    if chest:
        for side in (-1, 1):
            lung = ((X - side * 0.5 * a) / (0.36 * a)) ** 2 + ((Y + 0.05 * b) / (0.7 * b)) ** 2 <= 1
            hu[lung] = -850 + 60 * np.sin(X[lung] / 3.1) * np.cos(Y[lung] / 2.3)
        heart = ((X + 15) / 55) ** 2 + ((Y + 20) / 45) ** 2 <= 1
        hu[heart] = 40
        hu[(X - 5) ** 2 + (Y - 35) ** 2 <= 14 ** 2] = 250                 # aorta
        if (zmm % 30) < 8:                                             # ribs
            ring = (r <= 0.86) & (r >= 0.78) & (Y > -0.8 * b)
            hu[ring] = 700
    else:
        liver = ((X + 40) / 90) ** 2 + ((Y + 10) / 70) ** 2 <= 1
        hu[liver] = 60
    spine_r = (X ** 2 + (Y - (b - 45)) ** 2)
    if (zmm % 25) < 4:
        hu[spine_r <= 18 ** 2] = 80                                    # disc
    else:
        hu[spine_r <= 18 ** 2] = 900
        hu[spine_r <= 15.5 ** 2] = 250
    if zf < 0.15:
        hu[(X - 70) ** 2 + (Y - 20) ** 2 <= 9 ** 2] = 3000             # metal
    hu += rng.normal(0, 12, hu.shape)
    vol[k] = np.clip(np.rint(hu), -1024, 3071).astype(np.int16)

# LPS -> RAS for the NIfTI affine: x and y negated
origin_lps = np.array([x[0], y[0], -nz * sz])
affine = np.diag([-sx, -sy, sz, 1.0])
affine[:3, 3] = origin_lps * np.array([-1, -1, 1])
img = nib.Nifti1Image(np.ascontiguousarray(vol.transpose(2, 1, 0)), affine)   # nibabel wants (x, y, z)
img.header.set_data_dtype(np.int16)
img.header.set_xyzt_units('mm')
img.header.set_qform(affine, code=1)
img.header.set_sform(affine, code=1)
img.header['scl_slope'] = 1
img.header['scl_inter'] = 0
nib.save(img, out)
import os
print(json.dumps({'path': out, 'shape': [nx, ny, nz], 'spacing': [sx, sy, sz], 'min': int(vol.min()),
                  'max': int(vol.max()), 'bytes': os.path.getsize(out)}))
