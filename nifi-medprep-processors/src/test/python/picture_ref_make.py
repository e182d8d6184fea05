"""Writes a gray picture as a 3-channel JPEG the way an RGB export of a gray X-ray is made.

Usage: picture_ref_make.py GRAY_IMAGE OUT.jpeg
The gray image is read with OpenCV, its three BGR channels are made slightly different (B + 3, R - 2, saturated)
so that luma differs from every channel, and written with cv2.imwrite at quality 95 (YCbCr 4:2:0).
Prints JSON {shape} of what was written.
"""
import json
import sys

import cv2
import numpy as np

g = cv2.imread(sys.argv[1], cv2.IMREAD_GRAYSCALE).astype(np.int16)
bgr = np.dstack([np.clip(g + 3, 0, 255), g, np.clip(g - 2, 0, 255)]).astype(np.uint8)
assert cv2.imwrite(sys.argv[2], bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
print(json.dumps({"shape": list(bgr.shape)}))
