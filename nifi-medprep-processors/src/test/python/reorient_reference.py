#!/usr/bin/python3
# Reference for ops.Reorient: nibabel's orientation functions on a real NIfTI file.
# usage: reorient_reference.py make   IN.nii VARIANT OUT.nii
#          writes a reoriented copy of IN.nii (same world positions) to test other start orientations:
#          VARIANT permuted = axes (x,y,z) -> (z,-x,-y) via nibabel as_reoriented; oblique = the affine rotated
#          20 degrees about the scanner z axis and 10 about x (voxels unchanged), then permuted.
#        reorient_reference.py orient IN.nii TARGET OUT.raw
#          TARGET RAS: nibabel.as_closest_canonical(img); LPS: img.as_reoriented(ornt_transform(
#          io_orientation(affine), axcodes2ornt('LPS'))). Writes the voxels (unscaled stored values) as <f8 in
#          C order (z, y, x) and prints {"shape" (z, y, x), "affine" (RAS, 4x4), "ornt"}.
import json, sys
import numpy as np
import nibabel as nib
from nibabel import orientations as no


def load(path):
    img = nib.load(path)
    return nib.Nifti1Image(np.asarray(img.dataobj.get_unscaled()), img.affine, img.header)


if sys.argv[1] == 'make':
    img = load(sys.argv[2])
    variant = sys.argv[3]
    if variant == 'oblique':
        a, b = np.deg2rad(20), np.deg2rad(10)
        rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
        rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
        aff = img.affine.copy()
        aff[:3, :3] = rx @ rz @ aff[:3, :3]
        img = nib.Nifti1Image(np.asarray(img.dataobj), aff, img.header)
    out = img.as_reoriented(np.array([[1, -1], [2, -1], [0, 1]]))
    out.set_qform(out.affine, code=1)
    out.set_sform(out.affine, code=1)
    nib.save(out, sys.argv[4])
    print(json.dumps({'shape': list(out.shape)}))
elif sys.argv[1] == 'orient':
    img = load(sys.argv[2])
    target = sys.argv[3]
    if target == 'RAS':
        out = nib.as_closest_canonical(img)
        ornt = no.io_orientation(img.affine)
    else:
        ornt = no.ornt_transform(no.io_orientation(img.affine), no.axcodes2ornt(tuple(target)))
        out = img.as_reoriented(ornt)
    vol = np.asarray(out.dataobj, dtype=np.float64)
    np.ascontiguousarray(np.transpose(vol, (2, 1, 0))).astype('<f8').tofile(sys.argv[4])
    print(json.dumps({'shape': [vol.shape[2], vol.shape[1], vol.shape[0]], 'affine': out.affine.tolist(),
                      'ornt': ornt.tolist(), 'codes': list(nib.aff2axcodes(out.affine))}))
else:
    sys.exit('unknown mode')
