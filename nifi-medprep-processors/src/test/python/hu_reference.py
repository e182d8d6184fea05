#!/usr/bin/python3
# Reference for ops.HounsfieldWindow / ClipHU with pydicom + NumPy on the same real DICOM file.
# usage: hu_reference.py INPUT OUT.raw clip MIN MAX OUTPUT
#        hu_reference.py INPUT OUT.raw window CENTER WIDTH OUTPUT
#          OUTPUT: hu_f32 | hu_i16 | unit.  HU = pydicom's apply_modality_lut (PS3.3 C.11.1.1.2).
#          Writes the result C-order little-endian (<f4 or <i2) to OUT.raw; prints {"shape", "dtype", "min", "max"}.
#        hu_reference.py INPUT OUT.dcm variant CHANGE     (a modified copy for failure tests)
#          CHANGE: drop-lut (delete RescaleSlope/Intercept) | rescale-type=XX | modality=XX
import json, sys
import numpy as np
import pydicom
from pydicom.pixel_data_handlers.util import apply_modality_lut

src, out_path, mode, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
ds = pydicom.dcmread(src)

if mode == 'variant':
    change = args[0]
    if change == 'drop-lut':
        del ds.RescaleSlope
        del ds.RescaleIntercept
    elif change.startswith('rescale-type='):
        ds.RescaleType = change.split('=', 1)[1]
    elif change.startswith('modality='):
        ds.Modality = change.split('=', 1)[1]
    else:
        sys.exit('unknown change ' + change)
    ds.save_as(out_path)
    print(json.dumps({'written': out_path}))
    sys.exit(0)

hu = apply_modality_lut(ds.pixel_array, ds).astype(np.float64)
output = args[2]
if mode == 'clip':
    lo, hi = float(args[0]), float(args[1])
    v = np.clip(hu, lo, hi)
    if output == 'unit':
        v = (v - lo) / (hi - lo)
elif mode == 'window':
    c, w = float(args[0]), float(args[1])
    if output == 'unit':
        # DICOM PS3.3 C.11.2.1.2, linear function, y_min = 0, y_max = 1
        lower = c - 0.5 - (w - 1) / 2
        upper = c - 0.5 + (w - 1) / 2
        v = np.where(hu <= lower, 0.0, np.where(hu > upper, 1.0, (hu - (c - 0.5)) / (w - 1) + 0.5))
    else:
        v = np.clip(hu, c - w / 2, c + w / 2)
else:
    sys.exit('unknown mode ' + mode)
res = np.rint(v).astype('<i2') if output == 'hu_i16' else v.astype('<f4')
np.ascontiguousarray(res).tofile(out_path)
print(json.dumps({'shape': list(res.shape), 'dtype': res.dtype.str, 'min': float(res.min()),
                  'max': float(res.max())}))
