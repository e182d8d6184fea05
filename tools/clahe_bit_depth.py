#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# clahe_bit_depth.py - the figures of docs/clahe-bit-depth.md: ApplyCLAHE's two Histogram Bins modes on real
# 12-bit DICOM images and on their 8-bit exports.
#
# For each image, two paths through the chest X-ray recipe's steps (ResizeWithPadding 224 x 224 INTER_LINEAR,
# Denoise median 3, ApplyCLAHE clip 2.0 / 8 x 8 tiles, Normalize "Scale by Bit Depth"), written in Python + OpenCV
# exactly as tools/seed_pipeline.py and the Java ops do them (the unit tests hold Java to python3-opencv on each
# step):
#   DICOM path:  stored values (pydicom pixel_array; MONOCHROME1 inverted once, v' = 2^b - 1 - v), BitsStored b;
#   export path: the same image exported to 8 bits as v >> (b - 8) (what an 8-bit PNG/JPEG export by bit depth
#                holds), then processed as an 8-bit image;
# each in two modes:
#   "256 bins over the Bits Stored range" (default): v >> (b - 8), then cv2's 8-bit CLAHE; result / 255;
#   "OpenCV native": cv2's CLAHE on the stored type (65,536 bins for 16-bit words); result / (2^16 - 1) for the
#                    DICOM path (BitsStored 16 afterwards), / 255 for the 8-bit export.
# Printed per image and mode: mean of each path's [0, 1] result and the mean absolute difference between them,
# also for CLAHE alone at the image's own size (no resize, no median), where the default mode must give 0.
# Also: a "window export" (the image's own min..max stretched to 0..255, as a viewer's export often is), which
# no bin rule can make identical; its differences are printed for comparison.
# With --png FILE, writes a side-by-side picture (uint8 PNG, the [0, 1] results x 255): per image one row of
# [DICOM native | export native | DICOM default | export default], 224 px each, CR1 and NM only.
#
# Usage: /usr/bin/python3 tools/clahe_bit_depth.py [--png docs/clahe-bit-depth.png] [--json FILE]

import argparse
import json
import sys

import cv2
import numpy as np
import pydicom

PYDICOM = "/usr/lib/python3/dist-packages/pydicom/data/test_files/"
IMAGES = [
    ("CR1", PYDICOM + "dicomdirtests/77654033/CR1/6154",
     "real CR (cervical spine, MONOCHROME1, 12-bit, 16 x 16 px) from python3-pydicom's DICOMDIR test set"),
    ("CR2", PYDICOM + "dicomdirtests/77654033/CR2/6247", "the same study's second CR view (16 x 16 px)"),
    ("CR3", PYDICOM + "dicomdirtests/77654033/CR3/6278", "the same study's third CR view (16 x 16 px)"),
    ("NM", PYDICOM + "JPEG-lossy.dcm",
     "real NM whole-body bone scan (12-bit JPEG extended, stored values 0..264, 256 x 1024 px) from python3-pydicom"),
]
CLIP, TILES, SIZE = 2.0, (8, 8), 224


def stored_monochrome2(path):
    ds = pydicom.dcmread(path)
    img = ds.pixel_array
    bits = int(ds.BitsStored)
    assert img.dtype == np.uint16 and int(ds.PixelRepresentation) == 0, "unsigned 16-bit words expected"
    if str(ds.PhotometricInterpretation).strip() == "MONOCHROME1":
        img = ((1 << bits) - 1 - img.astype(np.int64)).astype(np.uint16)
    return np.ascontiguousarray(img), bits


def letterbox_median(img):
    h, w = img.shape
    scale = min(SIZE / h, SIZE / w)
    nh, nw = max(1, int(h * scale)), max(1, int(w * scale))
    resized = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
    top, left = (SIZE - nh) // 2, (SIZE - nw) // 2
    boxed = cv2.copyMakeBorder(resized, top, SIZE - nh - top, left, SIZE - nw - left, cv2.BORDER_CONSTANT, value=0)
    return cv2.medianBlur(boxed, 3)


def clahe01(img, bits, mode):
    """ApplyCLAHE then Normalize "Scale by Bit Depth": float64 on [0, 1]."""
    c = cv2.createCLAHE(clipLimit=CLIP, tileGridSize=TILES)
    if img.dtype == np.uint8:
        return c.apply(img) / 255.0                      # both modes: 8-bit values are their own bins
    if mode == "default":
        bins = (img.astype(np.uint32) >> (bits - 8)).astype(np.uint8)
        return c.apply(bins) / 255.0
    return c.apply(img) / 65535.0                          # native: 65,536 bins, BitsStored 16 afterwards


def shift_export(img, bits):
    return (img.astype(np.uint32) >> (bits - 8)).astype(np.uint8)


def window_export(img):
    lo, hi = int(img.min()), int(img.max())
    return np.round((img.astype(np.float64) - lo) * 255.0 / (hi - lo)).astype(np.uint8)


def main(argv=None):
    ap = argparse.ArgumentParser(description="ApplyCLAHE histogram-bin modes on real 12-bit DICOM and 8-bit exports")
    ap.add_argument("--png")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    report, rows = [], []
    print("clip %.1f, tiles %d x %d, recipe size %d; cv2 %s" % (CLIP, TILES[0], TILES[1], SIZE, cv2.__version__))
    for name, path, what in IMAGES:
        img, bits = stored_monochrome2(path)
        export = shift_export(img, bits)
        window = window_export(img)
        print("\n%s: %s; BitsStored %d, stored %d..%d" % (name, what, bits, img.min(), img.max()))
        row = []
        for mode in ("native", "default"):
            own_dicom, own_export = clahe01(img, bits, mode), clahe01(export, 8, mode)
            dicom = clahe01(letterbox_median(img), bits, mode)
            exp = clahe01(letterbox_median(export), 8, mode)
            win = clahe01(letterbox_median(window), 8, mode)
            r = {"image": name, "mode": mode, "mean_dicom": dicom.mean(), "mean_export": exp.mean(),
                 "mad_export": np.abs(dicom - exp).mean(), "mad_export_own_size": np.abs(own_dicom - own_export).mean(),
                 "max_export_own_size": np.abs(own_dicom - own_export).max(),
                 "mean_window_export": win.mean(), "mad_window_export": np.abs(dicom - win).mean()}
            report.append({k: (round(float(v), 4) if not isinstance(v, str) else v) for k, v in r.items()})
            print("  %-7s mean DICOM %.3f  8-bit export %.3f  mean |diff| %.4f  (CLAHE alone: %.4f, max %.4f)"
                  "  | window export mean %.3f, mean |diff| %.4f"
                  % (mode, r["mean_dicom"], r["mean_export"], r["mad_export"], r["mad_export_own_size"],
                     r["max_export_own_size"], r["mean_window_export"], r["mad_window_export"]))
            row += [dicom, exp]
        if name in ("CR1", "NM"):
            rows.append(np.hstack([np.round(x * 255).astype(np.uint8) for x in row]))
    if a.png:
        gap = np.full((4, rows[0].shape[1]), 255, np.uint8)
        picture = np.vstack([p for r in rows for p in (r, gap)][:-1])
        cv2.imwrite(a.png, picture, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        print("\nwrote %s (%d x %d)" % (a.png, picture.shape[1], picture.shape[0]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
