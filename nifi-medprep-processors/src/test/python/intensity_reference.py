#!/usr/bin/python3
# Reference for ops.Intensity with NumPy on the same real file.
# usage: intensity_reference.py INPUT OUT.raw OP ARGS...   (INPUT: PNG via cv2, else DICOM stored values via pydicom)
#   OP: bitdepth BITS | minmax | zscore FOREGROUND(0/1) | zfixed MEAN STD | percentile LOW HIGH
# Writes float32 little-endian C-order to OUT.raw; prints {"shape"} as JSON.
import json, sys
import numpy as np

src, out_path, op, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
if src.lower().endswith('.png'):
    import cv2
    img = cv2.imread(src, cv2.IMREAD_UNCHANGED)
else:
    import pydicom
    img = pydicom.dcmread(src).pixel_array
x = img.astype(np.float64)
if op == 'bitdepth':
    res = x / (2 ** int(args[0]) - 1)
elif op == 'minmax':
    res = (x - x.min()) / (x.max() - x.min())
elif op == 'zscore':
    sel = x[x > 0] if args[0] == '1' else x
    res = (x - sel.mean()) / max(sel.std(), 1e-8)
elif op == 'zfixed':
    res = (x - float(args[0])) / max(float(args[1]), 1e-8)
elif op == 'percentile':
    lo, hi = np.percentile(x, [float(args[0]), float(args[1])])
    res = (np.clip(x, lo, hi) - lo) / (hi - lo)
else:
    sys.exit('unknown op ' + op)
np.ascontiguousarray(res.astype('<f4')).tofile(out_path)
print(json.dumps({'shape': list(res.shape)}))
