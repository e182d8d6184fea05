#!/usr/bin/python3
# Reference for the OpenCV-backed ops: Debian's python3-opencv applied to the same real file.
# usage: opencv_reference.py INPUT OUT.raw OP ARGS...
#   INPUT: an image cv2.imread(IMREAD_UNCHANGED) reads, or a DICOM file (stored values via pydicom pixel_array)
#   OP:    letterbox W H PAD INTERP | median K | gaussian SX SY | bilateral D SCOLOR SSPACE
#          | nlmeans H TEMPLATE SEARCH | clahe CLIP TX TY
# Writes the result as raw little-endian samples (C order) to OUT.raw; prints {"shape", "dtype", "cv2"} as JSON.
import json, sys
import cv2
import numpy as np

src, out_path, op, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
if src.lower().endswith(('.png', '.jpg', '.jpeg', '.tif', '.tiff')):
    img = cv2.imread(src, cv2.IMREAD_UNCHANGED)
else:
    import pydicom
    img = pydicom.dcmread(src).pixel_array

INTERP = {'LINEAR': cv2.INTER_LINEAR, 'AREA': cv2.INTER_AREA, 'CUBIC': cv2.INTER_CUBIC,
          'NEAREST': cv2.INTER_NEAREST}

if op == 'letterbox':
    W, H, pad, interp = int(args[0]), int(args[1]), float(args[2]), INTERP[args[3]]
    h, w = img.shape[:2]
    scale = min(H / h, W / w)
    nh, nw = int(h * scale), int(w * scale)
    resized = cv2.resize(img, (nw, nh), interpolation=interp)
    res = np.full((H, W) + img.shape[2:], pad, dtype=img.dtype)
    top, left = (H - nh) // 2, (W - nw) // 2
    res[top:top + nh, left:left + nw] = resized
elif op == 'median':
    res = cv2.medianBlur(img, int(args[0]))
elif op == 'gaussian':
    res = cv2.GaussianBlur(img, (0, 0), sigmaX=float(args[0]), sigmaY=float(args[1]))
elif op == 'bilateral':
    d, sc, ss = int(args[0]), float(args[1]), float(args[2])
    if img.dtype in (np.uint16, np.int16):
        f = cv2.bilateralFilter(img.astype(np.float32), d, sc, ss)
        info = np.iinfo(img.dtype)
        res = np.clip(np.rint(f), info.min, info.max).astype(img.dtype)
    else:
        res = cv2.bilateralFilter(img, d, sc, ss)
elif op == 'nlmeans':
    h, t, s = float(args[0]), int(args[1]), int(args[2])
    if img.dtype == np.uint16:
        res = cv2.fastNlMeansDenoising(img, None, [h], t, s, cv2.NORM_L1)
    else:
        res = cv2.fastNlMeansDenoising(img, None, h, t, s)
elif op == 'clahe':
    res = cv2.createCLAHE(clipLimit=float(args[0]), tileGridSize=(int(args[1]), int(args[2]))).apply(img)
else:
    sys.exit('unknown op ' + op)

res = np.ascontiguousarray(res)
res.astype(res.dtype.newbyteorder('<')).tofile(out_path)
print(json.dumps({'shape': list(res.shape), 'dtype': str(res.dtype), 'cv2': cv2.__version__}))
