"""Reference for DicomSeriesZipReaderTest: dcm2niix geometry and pydicom voxels of one DICOM series folder.

Usage: series_reference.py FOLDER WORKDIR
Runs `dcm2niix -z n -o WORKDIR FOLDER`, loads the NIfTI with nibabel and prints JSON:
  shape, zooms       of the NIfTI (dcm2niix's voxel order)
  cornersRas         world positions (mm, RAS) of the 8 corner voxel centres, from the NIfTI affine
  sha256             of pydicom's pixel_arrays stacked in order of ImagePositionPatient projected on the
                     slice normal (row cosine x column cosine), C order (z, y, x), little-endian
  positions          the sorted projected positions (mm)
"""
import glob
import hashlib
import itertools
import json
import os
import subprocess
import sys
import warnings

import nibabel as nib
import numpy as np
import pydicom

warnings.simplefilter("ignore")


def main():
    folder, work = sys.argv[1], sys.argv[2]
    subprocess.run(["dcm2niix", "-z", "n", "-o", work, folder], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    niis = sorted(glob.glob(os.path.join(work, "*.nii")))
    if len(niis) != 1:
        raise SystemExit("dcm2niix wrote %d NIfTI files: %s" % (len(niis), niis))
    img = nib.load(niis[0])
    a = img.affine
    shape = img.shape[:3]
    corners = []
    for idx in itertools.product(*[(0, n - 1) for n in shape]):
        corners.append([float(v) for v in (a @ np.array([*idx, 1.0]))[:3]])

    dss = [pydicom.dcmread(os.path.join(folder, f)) for f in sorted(os.listdir(folder))]
    iop = np.array(dss[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    keyed = sorted(((float(np.dot(np.array(d.ImagePositionPatient, dtype=float), normal)), d) for d in dss),
                   key=lambda t: t[0])
    stack = np.stack([d.pixel_array for _, d in keyed])
    le = stack.astype(stack.dtype.newbyteorder("<"), copy=False)
    json.dump({"shape": list(shape), "zooms": [float(z) for z in img.header.get_zooms()[:3]],
               "cornersRas": corners, "dtype": stack.dtype.name,
               "sha256": hashlib.sha256(le.tobytes(order="C")).hexdigest(),
               "positions": [k for k, _ in keyed]}, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
