#!/usr/bin/python3
# Reference for the OpenCV-backed ops: Debian's python3-opencv applied to the same real file.
# usage: opencv_reference.py INPUT OUT.raw OP ARGS...
#   INPUT: an image cv2.imread(IMREAD_UNCHANGED) reads, a NumPy .npy file, or a DICOM file (stored values via
#          pydicom pixel_array)
#   OP:    letterbox W H PAD INTERP | median K | gaussian SX SY | bilateral D SCOLOR SSPACE
#          | nlmeans H TEMPLATE SEARCH | clahe CLIP TX TY | clahe256 CLIP TX TY [export8]
#   clahe256: ApplyCLAHE's default "256 bins over the Bits Stored range", written from its definition: unsigned
#          input with b = BitsStored (DICOM tag; else the dtype's bits) is shifted to its top 8 bits (v >> (b - 8),
#          or v << (8 - b) below 8 bits); int16 and float32 are cut into 256 equal bins over their own [min, max];
#          then cv2.createCLAHE(...).apply on the uint8 bins; int16/float32 levels are mapped back onto [min, max]. With export8 the input is first exported to 8 bits by
#          the same shift (what a 12-bit image's 8-bit PNG/JPEG export holds) and then processed as an 8-bit image.
# Writes the result as raw little-endian samples (C order) to OUT.raw; prints {"shape", "dtype", "cv2"} as JSON.
import json, sys
import cv2
import numpy as np

src, out_path, op, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
bits = None
if src.lower().endswith(('.png', '.jpg', '.jpeg', '.tif', '.tiff')):
    img = cv2.imread(src, cv2.IMREAD_UNCHANGED)
elif src.lower().endswith('.npy'):
    img = np.load(src)
else:
    import pydicom
    ds = pydicom.dcmread(src)
    img = ds.pixel_array
    bits = int(ds.BitsStored)
if bits is None:
    bits = img.dtype.itemsize * 8


def top8(v, b):
    # unsigned values of b significant bits -> their 8 most significant bits (bin index 0..255)
    v = v.astype(np.uint32)
    return (v >> (b - 8) if b >= 8 else v << (8 - b)).astype(np.uint8)

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
elif op == 'clahe256':
    if img.dtype == np.uint16:
        b = min(16, max(1, bits))
        assert int(img.max()) < (1 << b), 'value above the BitsStored range'
        if len(args) > 3 and args[3] == 'export8':
            img = top8(img, b)   # the 8-bit export; then an 8-bit image: its values are its bins
            b = 8
        binned = top8(img, b) if img.dtype == np.uint16 else img
    elif img.dtype == np.uint8:
        binned = img
    elif img.dtype == np.int16:
        lo, hi = int(img.min()), int(img.max())
        binned = ((img.astype(np.int64) - lo) * 256 // (hi - lo + 1)).astype(np.uint8)
    elif img.dtype == np.float32:
        lo, hi = float(img.min()), float(img.max())
        width = hi - lo
        binned = (np.zeros(img.shape, np.uint8) if width == 0 else
                  np.minimum(255, np.floor((img.astype(np.float64) - lo) * 256 / width)).astype(np.uint8))
    else:
        sys.exit('clahe256: unsupported dtype %s' % img.dtype)
    res = cv2.createCLAHE(clipLimit=float(args[0]), tileGridSize=(int(args[1]), int(args[2]))).apply(binned)
    if img.dtype == np.int16:     # levels k back onto [min, max]: min + round(k (max - min) / 255), halves up
        res = (lo + (2 * res.astype(np.int64) * (hi - lo) + 255) // 510).astype(np.int16)
    elif img.dtype == np.float32:
        res = (lo + res.astype(np.float64) * (hi - lo) / 255).astype(np.float32)
else:
    sys.exit('unknown op ' + op)

res = np.ascontiguousarray(res)
res.astype(res.dtype.newbyteorder('<')).tofile(out_path)
print(json.dumps({'shape': list(res.shape), 'dtype': str(res.dtype), 'cv2': cv2.__version__}))
