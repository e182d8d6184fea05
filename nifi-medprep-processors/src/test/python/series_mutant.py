"""Makes a modified copy of a real DICOM series folder for DicomSeriesZipReaderTest (nothing else is changed).

Usage: series_mutant.py SRC_FOLDER OUT_FOLDER [--tilt DEGREES] [--gantry-tag DEGREES] [--move FILE MM]
                        [--pixel-spacing FILE VALUE] [--position FILE TEXT] [--scale-positions FACTOR]
  --tilt        each slice's ImagePositionPatient is shifted along the column direction (the column cosine of
                ImageOrientationPatient) by (its position along the slice normal - the first slice's) x
                tan(DEGREES): how a tilted gantry places the slices of an axially reconstructed series, a
                sheared stack
  --gantry-tag  GantryDetectorTilt (0018,1120) is set to DEGREES
  --move        the slice in FILE is moved MM along the slice normal
  --pixel-spacing  the slice in FILE gets PixelSpacing VALUE\\VALUE (any text, e.g. Infinity: pydicom warns)
  --position    the slice in FILE gets ImagePositionPatient TEXT, three values separated by backslashes (any
                text, e.g. Infinity\\0\\0)
  --scale-positions  every ImagePositionPatient is multiplied by FACTOR (the slice spacing with it)
Files keep their names. Prints JSON: {"files": n, "maxShiftMm": largest in-plane shift}.
"""
import argparse
import json
import math
import os

import numpy as np
import pydicom


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--tilt", type=float, default=0.0)
    ap.add_argument("--gantry-tag", type=float)
    ap.add_argument("--move", nargs=2)
    ap.add_argument("--pixel-spacing", nargs=2)
    ap.add_argument("--position", nargs=2)
    ap.add_argument("--scale-positions", type=float)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    datasets = [(name, pydicom.dcmread(os.path.join(a.src, name))) for name in sorted(os.listdir(a.src))]
    iop = np.array([float(v) for v in datasets[0][1].ImageOrientationPatient])
    col = iop[3:]
    normal = np.cross(iop[:3], col)
    along = [float(np.dot([float(v) for v in ds.ImagePositionPatient], normal)) for _, ds in datasets]
    first = min(along)
    shift = 0.0
    for (name, ds), z in zip(datasets, along):
        d = (z - first) * math.tan(math.radians(a.tilt))
        shift = max(shift, abs(d))
        p = np.array([float(v) for v in ds.ImagePositionPatient]) + d * col
        if a.move and a.move[0] == name:
            p = p + float(a.move[1]) * normal
        if a.tilt or a.move:
            ds.ImagePositionPatient = [f"{v:.6f}" for v in p]
        if a.scale_positions is not None:
            ds.ImagePositionPatient = [f"{v * a.scale_positions:.6g}" for v in p]
        if a.position and a.position[0] == name:
            ds.ImagePositionPatient = a.position[1].split("\\")
        if a.pixel_spacing and a.pixel_spacing[0] == name:
            ds.PixelSpacing = [a.pixel_spacing[1], a.pixel_spacing[1]]
        if a.gantry_tag is not None:
            ds.GantryDetectorTilt = f"{a.gantry_tag:g}"
        ds.save_as(os.path.join(a.out, name))
    print(json.dumps({"files": len(datasets), "maxShiftMm": shift}))


if __name__ == "__main__":
    main()
