"""Reference for picture tests: what OpenCV's imread decodes.

Usage: picture_ref.py IMAGE RAW_OUT [unchanged|gray|cvtgray]
  unchanged (default): cv2.imread(IMREAD_UNCHANGED), colour converted from OpenCV's BGR(A) to RGB with alpha
                       dropped (the Java Image layout);
  gray:                cv2.imread(IMREAD_GRAYSCALE | IMREAD_ANYDEPTH) (what Color Images = Convert to Grayscale
                       must give for PNG and JPEG);
  cvtgray:             cv2.cvtColor(RGB image read as 'unchanged', COLOR_RGB2GRAY) (BT.601 luma of OpenCV).
Writes the decoded samples to RAW_OUT in C order (y, x[, channel]) little-endian and prints JSON {shape, dtype}.
"""
import json
import sys

import cv2
import numpy as np

mode = sys.argv[3] if len(sys.argv) > 3 else "unchanged"
if mode == "gray":
    a = cv2.imread(sys.argv[1], cv2.IMREAD_GRAYSCALE | cv2.IMREAD_ANYDEPTH)
else:
    a = cv2.imread(sys.argv[1], cv2.IMREAD_UNCHANGED)
if a is None:
    print(json.dumps({"shape": None}))
    sys.exit(0)
if mode != "gray" and a.ndim == 3:
    a = a[:, :, 2::-1] if a.shape[2] >= 3 else a[:, :, :1]
if mode == "cvtgray" and a.ndim == 3:
    a = cv2.cvtColor(np.ascontiguousarray(a), cv2.COLOR_RGB2GRAY)
a = np.ascontiguousarray(a)
with open(sys.argv[2], "wb") as f:
    f.write(a.astype(a.dtype.newbyteorder("<")).tobytes())
print(json.dumps({"shape": list(a.shape), "dtype": a.dtype.name}))
