"""Reference for picture tests: what OpenCV's imread(IMREAD_UNCHANGED) decodes.

Usage: picture_ref.py IMAGE RAW_OUT
Writes the decoded samples to RAW_OUT in C order (y, x[, channel]) little-endian, colour converted from
OpenCV's BGR(A) to RGB with alpha dropped (the Java Image layout), and prints JSON {shape, dtype}.
"""
import json
import sys

import cv2
import numpy as np

a = cv2.imread(sys.argv[1], cv2.IMREAD_UNCHANGED)
if a is None:
    print(json.dumps({"shape": None}))
    sys.exit(0)
if a.ndim == 3:
    a = a[:, :, 2::-1] if a.shape[2] >= 3 else a[:, :, :1]
a = np.ascontiguousarray(a)
with open(sys.argv[2], "wb") as f:
    f.write(a.astype(a.dtype.newbyteorder("<")).tobytes())
print(json.dumps({"shape": list(a.shape), "dtype": a.dtype.name}))
