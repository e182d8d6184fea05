# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# skimage_gray.py - loads a real sample image shipped by Debian's python3-skimage as single-channel 8-bit
# grayscale (colour converted with OpenCV's BGR2GRAY, alpha dropped), for the dataset scripts in tools/.

import os

import cv2

SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"


def skimage_gray(name):
    img = cv2.imread(os.path.join(SKIMAGE, name), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise SystemExit("cannot read %s/%s (python3-skimage installed?)" % (SKIMAGE, name))
    if img.ndim == 3:
        img = cv2.cvtColor(img[:, :, :3], cv2.COLOR_BGR2GRAY)
    return img
