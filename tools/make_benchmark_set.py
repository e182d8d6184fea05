#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# make_benchmark_set.py - N chest-X-ray-sized images for timing the nifi-medprep flow and the Python seed:
# 8-bit JPEGs (single-channel unless --color-share; cv2.imwrite, quality 95), width and height each drawn in
# [1300, 2100] px, made from real 2D images shipped by Debian's python3-skimage (grayscale photographs/textures, and grayscale
# conversions of its colour photographs): for each output a source is picked, a random crop (50-100 % of each
# side) is taken, resized with cv2.INTER_CUBIC or INTER_LINEAR to the drawn size, optionally flipped
# horizontally, and gamma-adjusted (0.8-1.25) so no two files are alike. Fully deterministic (fixed
# numpy RandomState seed): the same N gives byte-identical files.
# Layout and names follow the Kaggle "Chest X-Ray Images (Pneumonia)" set:
#   OUTDIR/{train,val,test}/{NORMAL,PNEUMONIA}/ with about 80/5/15 % of files and 73 % PNEUMONIA;
#   PNEUMONIA person<N>_bacteria_<M>.jpeg / person<N>_virus_<M>.jpeg, NORMAL IM-XXXX-YYYY.jpeg or
#   NORMAL2-IM-XXXX-YYYY.jpeg, 1-3 images per patient.
# Idempotent: OUTDIR is deleted and recreated. Prints a summary (files, bytes, size range).
#
# --color-share F stores a share F of the files as 3-channel JPEG (the gray image with its B/R channels shifted
# by +3/-2, so luma differs from every channel), as about 5 % of the real Kaggle set is stored.
# Usage: /usr/bin/python3 tools/make_benchmark_set.py OUTDIR [N=300] [--color-share 0.05]

import argparse
import os
import shutil
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from skimage_gray import SKIMAGE, skimage_gray  # noqa: E402
SOURCES = ["camera.png", "moon.png", "coins.png", "page.png", "text.png", "brick.png", "grass.png",
           "gravel.png", "cell.png", "clock_motion.png", "astronaut.png", "chelsea.png", "coffee.png",
           "rocket.jpg", "retina.jpg", "hubble_deep_field.jpg", "motorcycle_left.png", "ihc.png"]
SEED = 20261121




def main():
    ap = argparse.ArgumentParser(description="CXR-sized benchmark JPEGs in the Kaggle layout")
    ap.add_argument("outdir")
    ap.add_argument("n", nargs="?", type=int, default=300)
    ap.add_argument("--color-share", type=float, default=0.0,
                    help="share of files stored as 3-channel (YCbCr) JPEG, as about 5 %% of the Kaggle set is")
    a = ap.parse_args()
    out, n = a.outdir, a.n
    color_rng = np.random.RandomState(SEED + 1)   # separate stream: the gray files stay byte-identical
    if os.path.isdir(out):
        shutil.rmtree(out)
    for split in ("train", "val", "test"):
        for label in ("NORMAL", "PNEUMONIA"):
            os.makedirs(os.path.join(out, split, label))
    cv2.setRNGSeed(SEED)
    rng = np.random.RandomState(SEED)
    pool = [skimage_gray(s) for s in SOURCES]
    lut_x = np.arange(256) / 255.0
    written, sizes, total, colored = 0, [], 0, 0
    person, im, counter = 0, 0, 0
    while written < n:
        # One patient: label, Kaggle folder, 1-3 images.
        label = "PNEUMONIA" if rng.rand() < 0.73 else "NORMAL"
        r = rng.rand()
        split = "train" if r < 0.80 else ("val" if r < 0.85 else "test")
        k = min(n - written, 1 + rng.randint(3))
        if label == "PNEUMONIA":
            person += 1
            kind = "bacteria" if rng.rand() < 0.65 else "virus"
        else:
            im += 1
            prefix = "NORMAL2-IM-%04d" % (1000 + im) if rng.rand() < 0.5 else "IM-%04d" % im
        for j in range(1, k + 1):
            counter += 1
            src = pool[rng.randint(len(pool))]
            h0, w0 = src.shape
            ch, cw = int(h0 * rng.uniform(0.5, 1.0)), int(w0 * rng.uniform(0.5, 1.0))
            y, x = rng.randint(h0 - ch + 1), rng.randint(w0 - cw + 1)
            crop = src[y:y + ch, x:x + cw]
            W, H = int(rng.randint(1300, 2101)), int(rng.randint(1300, 2101))
            interp = cv2.INTER_CUBIC if rng.rand() < 0.5 else cv2.INTER_LINEAR
            img = cv2.resize(crop, (W, H), interpolation=interp)
            if rng.rand() < 0.5:
                img = cv2.flip(img, 1)
            gamma = rng.uniform(0.8, 1.25)
            img = cv2.LUT(img, np.clip(np.round(255 * lut_x ** gamma), 0, 255).astype(np.uint8))
            if label == "PNEUMONIA":
                name = "person%d_%s_%d.jpeg" % (person, kind, counter)
            else:
                name = "%s-%04d.jpeg" % (prefix, j)
            p = os.path.join(out, split, label, name)
            if color_rng.rand() < a.color_share:   # gray stored as colour: channels differ slightly, luma != any
                g = img.astype(np.int16)
                img = np.dstack([np.clip(g + 3, 0, 255), g, np.clip(g - 2, 0, 255)]).astype(np.uint8)
                colored += 1
            if not cv2.imwrite(p, img, [cv2.IMWRITE_JPEG_QUALITY, 95]):
                sys.exit("cannot write " + p)
            written += 1
            sizes.append((W, H))
            total += os.path.getsize(p)
    ws, hs = [s[0] for s in sizes], [s[1] for s in sizes]
    print("make_benchmark_set: %d JPEG files (q95; %d of them 3-channel), %d bytes (%.1f MB), width %d-%d, "
          "height %d-%d, %d PNEUMONIA patients, %d NORMAL patients -> %s"
          % (written, colored, total, total / 1e6, min(ws), max(ws), min(hs), max(hs), person, im, out))


if __name__ == "__main__":
    main()
