#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# make_sample_set.py - a small, deterministic chest-X-ray-shaped sample set for the nifi-medprep flow, built
# only from REAL images shipped by Debian packages (no downloads), laid out and named like the Kaggle
# "Chest X-Ray Images (Pneumonia)" set:
#   OUTDIR/{train,val,test}/{NORMAL,PNEUMONIA}/
#     PNEUMONIA: person<N>_bacteria_<M>.jpeg, person<N>_virus_<M>.jpeg
#     NORMAL:    IM-XXXX-YYYY.jpeg, NORMAL2-IM-XXXX-YYYY.jpeg
# Contents:
#   * single-channel 8-bit JPEGs (cv2.imwrite, quality 95) from python3-skimage's data folder: grayscale
#     photographs and textures (camera, moon, coins, page, text, brick, grass, gravel, cell, clock_motion,
#     microaneurysms) and grayscale conversions (cv2.COLOR_BGR2GRAY) of colour photographs (astronaut,
#     chelsea, coffee, rocket, retina, hubble_deep_field); some are scaled up to X-ray-like sizes of
#     1000-2000 px with cv2.resize (INTER_CUBIC);
#   * several images per patient for some patients, and one patient (person3) deliberately present in both
#     train/ and test/ folders, as Kaggle's own folders do not keep patients apart - SplitByPatient must;
#   * one 16-bit grayscale PNG (NORMAL2-IM-9002-0001.png, moon * 257 upscaled) for the uint16 path;
#   * real DICOM from python3-pydicom's test data: three CR MONOCHROME1 12-bit images (16 x 16, below the
#     64 x 64 minimum: quarantined by ValidateImage) as IM-9001-000{1,2,3}.dcm and a CT (CT_small.dcm, int16,
#     128 x 128, valid, but "scale by bit depth" rejects signed samples: failure at Normalize) as
#     IM-9003-0001.dcm;
#   * corrupt files that must end in quarantine: a JPEG truncated at 60 % of its bytes, a zero-byte file, and
#     skimage's own truncated.jpg; and a second corrupt file named like the zero-byte one in another folder
#     (val/NORMAL/IM-0125-0001.jpeg and test/NORMAL/IM-0125-0001.jpeg): the quarantine must keep both;
#   * colour files made from the same real grayscale sources, as about 5 % of the real Kaggle JPEGs are stored
#     with three (YCbCr) channels: three 3-channel JPEGs (cv2.imwrite of a BGR image whose channels differ
#     slightly, quality 95, so the decoded luma equals none of the channels), one RGB PNG, one RGBA PNG and
#     one palette (indexed-colour) PNG (written with Pillow, as OpenCV writes no palette PNGs); the flow's
#     ValidateImage (Color Images = Convert to Grayscale) turns them gray, so they are outputs.
# About 40 files, a few MB. Idempotent: OUTDIR is deleted and recreated. Prints every file written.
#
# Usage: /usr/bin/python3 tools/make_sample_set.py OUTDIR

import os
import shutil
import sys

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from skimage_gray import SKIMAGE, skimage_gray  # noqa: E402
PYDICOM = "/usr/lib/python3/dist-packages/pydicom/data/test_files"




def upscale(img, long_side):
    h, w = img.shape[:2]
    s = long_side / max(h, w)
    return cv2.resize(img, (int(round(w * s)), int(round(h * s))), interpolation=cv2.INTER_CUBIC)


# (folder, label, file name, source, long side after scaling or None, horizontal flip)
PLAN = [
    ("train", "NORMAL", "IM-0115-0001.jpeg", "camera.png", 1400, False),
    ("train", "NORMAL", "IM-0115-0002.jpeg", "camera.png", None, True),
    ("train", "NORMAL", "IM-0117-0001.jpeg", "moon.png", 1600, False),
    ("train", "NORMAL", "IM-0119-0001.jpeg", "brick.png", None, False),
    ("train", "NORMAL", "NORMAL2-IM-1427-0001.jpeg", "coins.png", 1200, False),
    ("train", "NORMAL", "NORMAL2-IM-1427-0002.jpeg", "coins.png", None, True),
    ("train", "NORMAL", "NORMAL2-IM-1430-0001.jpeg", "cell.png", None, False),
    ("train", "PNEUMONIA", "person1_bacteria_1.jpeg", "astronaut.png", 1300, False),
    ("train", "PNEUMONIA", "person1_bacteria_2.jpeg", "astronaut.png", None, True),
    ("train", "PNEUMONIA", "person1_virus_6.jpeg", "chelsea.png", None, False),
    ("train", "PNEUMONIA", "person3_bacteria_10.jpeg", "grass.png", 1100, False),
    ("train", "PNEUMONIA", "person3_bacteria_11.jpeg", "gravel.png", None, False),
    ("train", "PNEUMONIA", "person7_virus_13.jpeg", "retina.jpg", 1800, False),
    ("train", "PNEUMONIA", "person8_bacteria_14.jpeg", "coffee.png", None, False),
    ("val", "NORMAL", "NORMAL2-IM-1431-0001.jpeg", "page.png", 1000, False),
    ("val", "NORMAL", "IM-0121-0001.jpeg", "clock_motion.png", None, False),
    ("val", "PNEUMONIA", "person12_virus_22.jpeg", "rocket.jpg", 1500, False),
    ("val", "PNEUMONIA", "person12_virus_23.jpeg", "rocket.jpg", None, True),
    ("test", "NORMAL", "IM-0001-0001.jpeg", "text.png", None, False),
    ("test", "NORMAL", "IM-0003-0001.jpeg", "microaneurysms.png", None, False),
    ("test", "NORMAL", "NORMAL2-IM-0005-0001.jpeg", "hubble_deep_field.jpg", 2000, False),
    ("test", "PNEUMONIA", "person3_bacteria_12.jpeg", "gravel.png", 1200, True),
    ("test", "PNEUMONIA", "person20_bacteria_64.jpeg", "moon.png", None, True),
    ("test", "PNEUMONIA", "person20_bacteria_65.jpeg", "cell.png", 1000, True),
]


# (folder, label, file name, grayscale source, long side after scaling or None, kind)
COLOUR = [
    ("train", "PNEUMONIA", "person40_bacteria_190.jpeg", "camera.png", 1200, "jpeg"),
    ("val", "NORMAL", "IM-0130-0001.jpeg", "moon.png", None, "jpeg"),
    ("test", "PNEUMONIA", "person41_virus_80.jpeg", "coins.png", 1000, "jpeg"),
    ("train", "NORMAL", "NORMAL2-IM-1440-0001.png", "page.png", None, "rgb"),
    ("test", "NORMAL", "IM-0140-0001.png", "brick.png", None, "rgba"),
    ("val", "PNEUMONIA", "person42_bacteria_200.png", "cell.png", None, "palette"),
]


def tinted(gray):
    """BGR image whose channels differ slightly from the gray source (B -6, G as is, R +10, clipped), so that the
    luma a reader computes (0.299 R + 0.587 G + 0.114 B, about G + 2) equals none of the channels."""
    g = gray.astype(np.int16)
    return np.dstack([np.clip(g - 6, 0, 255), g, np.clip(g + 10, 0, 255)]).astype(np.uint8)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_sample_set.py OUTDIR")
    out = sys.argv[1]
    if os.path.isdir(out):
        shutil.rmtree(out)
    for split in ("train", "val", "test"):
        for label in ("NORMAL", "PNEUMONIA"):
            os.makedirs(os.path.join(out, split, label))
    written = []

    def record(path, note):
        written.append(path)
        print("%-55s %9d B  %s" % (os.path.relpath(path, out), os.path.getsize(path), note))

    for split, label, name, src, side, flip in PLAN:
        img = skimage_gray(src)
        if side:
            img = upscale(img, side)
        if flip:
            img = cv2.flip(img, 1)
        p = os.path.join(out, split, label, name)
        if not cv2.imwrite(p, img, [cv2.IMWRITE_JPEG_QUALITY, 95]):
            sys.exit("cannot write " + p)
        record(p, "%s %dx%d gray8 JPEG" % (src, img.shape[1], img.shape[0]))

    # 16-bit grayscale PNG (uint16 path: CLAHE 65536 bins, then / 65535).
    moon16 = upscale(skimage_gray("moon.png").astype(np.uint16) * 257, 1024)
    p = os.path.join(out, "train", "NORMAL", "NORMAL2-IM-9002-0001.png")
    cv2.imwrite(p, moon16)
    record(p, "moon.png x257 1024x1024 gray16 PNG")

    # Real DICOM: CR MONOCHROME1 16x16 (too small -> quarantine) and CT_small (int16 -> Normalize failure).
    for i, cr in enumerate(("dicomdirtests/77654033/CR1/6154", "dicomdirtests/77654033/CR2/6247",
                            "dicomdirtests/77654033/CR3/6278"), start=1):
        p = os.path.join(out, "train", "NORMAL", "IM-9001-%04d.dcm" % i)
        shutil.copyfile(os.path.join(PYDICOM, cr), p)
        record(p, "pydicom %s CR MONOCHROME1 16x16 (expect: quarantine, too small)" % cr)
    p = os.path.join(out, "test", "NORMAL", "IM-9003-0001.dcm")
    shutil.copyfile(os.path.join(PYDICOM, "CT_small.dcm"), p)
    record(p, "pydicom CT_small.dcm int16 128x128 (valid; expect: Normalize failure, signed)")

    # Corrupt files.
    src = os.path.join(out, "train", "PNEUMONIA", "person1_bacteria_1.jpeg")
    data = open(src, "rb").read()
    p = os.path.join(out, "train", "PNEUMONIA", "person30_bacteria_150.jpeg")
    with open(p, "wb") as f:
        f.write(data[:int(len(data) * 0.6)])
    record(p, "person1_bacteria_1.jpeg truncated at 60 % (expect: quarantine)")
    p = os.path.join(out, "val", "NORMAL", "IM-0125-0001.jpeg")
    open(p, "wb").close()
    record(p, "zero-byte file (expect: quarantine)")
    p = os.path.join(out, "test", "PNEUMONIA", "person31_virus_70.jpeg")
    shutil.copyfile(os.path.join(SKIMAGE, "truncated.jpg"), p)
    record(p, "skimage truncated.jpg (expect: quarantine)")

    p = os.path.join(out, "test", "NORMAL", "IM-0125-0001.jpeg")
    data = open(os.path.join(out, "test", "NORMAL", "IM-0001-0001.jpeg"), "rb").read()
    with open(p, "wb") as f:
        f.write(data[:len(data) // 2])
    record(p, "IM-0001-0001.jpeg truncated at 50 %, same name as val/NORMAL/IM-0125-0001.jpeg (expect: "
              "quarantine, both kept)")

    # Colour files from real grayscale sources (3-channel JPEG as in ~5 % of the Kaggle set, RGB/RGBA/palette PNG).
    for split, label, name, src, side, ext in COLOUR:
        bgr = tinted(skimage_gray(src))
        if side:
            bgr = upscale(bgr, side)
        p = os.path.join(out, split, label, name)
        if ext == "jpeg":
            ok = cv2.imwrite(p, bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
            note = "3-channel (YCbCr) JPEG"
        elif ext == "rgb":
            ok = cv2.imwrite(p, bgr)
            note = "RGB PNG"
        elif ext == "rgba":
            alpha = np.full(bgr.shape[:2], 255, np.uint8)
            alpha[:, :alpha.shape[1] // 8] = 128  # a partly transparent band, so alpha is not constant
            ok = cv2.imwrite(p, np.dstack([bgr, alpha]))
            note = "RGBA PNG"
        else:
            Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)).quantize(colors=256).save(p)
            ok = Image.open(p).mode == "P"
            note = "palette PNG"
        if not ok:
            sys.exit("cannot write " + p)
        record(p, "%s %dx%d %s (made from gray; expect: output, ValidateImage converts it to gray)"
               % (src, bgr.shape[1], bgr.shape[0], note))

    total = sum(os.path.getsize(w) for w in written)
    print("make_sample_set: %d files, %d bytes (%.2f MB) in %s" % (len(written), total, total / 1e6, out))


if __name__ == "__main__":
    main()
