#!/usr/bin/python3
# Reference for ops.MetalDetection with pydicom + NumPy + SciPy.
# usage: metal_reference.py INPUT THRESHOLD_HU
#   INPUT: one DICOM file, or a folder of the slices of one series (stacked in order of ImagePositionPatient
#   projected on the slice normal, the cross product of the ImageOrientationPatient rows).
#   HU = pydicom's apply_modality_lut; metal = HU > THRESHOLD; regions = scipy.ndimage.label with a structure of
#   ones (26-connected in 3D, 8-connected in 2D).
# Prints {"voxels", "regions", "fraction", "shape"} as JSON.
import json, os, sys
import numpy as np
import pydicom
from pydicom.pixel_data_handlers.util import apply_modality_lut
from scipy import ndimage

src, threshold = sys.argv[1], float(sys.argv[2])
if os.path.isdir(src):
    dss = [pydicom.dcmread(os.path.join(src, f)) for f in sorted(os.listdir(src))]
    iop = np.array(dss[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    dss.sort(key=lambda d: float(np.dot(np.array(d.ImagePositionPatient, dtype=float), normal)))
    hu = np.stack([apply_modality_lut(d.pixel_array, d).astype(np.float64) for d in dss])
else:
    d = pydicom.dcmread(src)
    hu = apply_modality_lut(d.pixel_array, d).astype(np.float64)
mask = hu > threshold
_, regions = ndimage.label(mask, structure=np.ones((3,) * mask.ndim, dtype=int))
print(json.dumps({'voxels': int(mask.sum()), 'regions': int(regions), 'fraction': float(mask.sum() / mask.size),
                  'shape': list(mask.shape)}))
