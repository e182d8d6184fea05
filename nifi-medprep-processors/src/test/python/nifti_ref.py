"""Reference for NIfTI tests: what nibabel reads from a .nii/.nii.gz file.

Usage: nifti_ref.py FILE
Prints JSON (NaN voxels ignored in sum/min/max): shape (nibabel order x, y, z, ...), dtype (stored dtype, no byte order), sha256 of the stored
values in C order of (z, y, x[, channel]) little-endian (RGB24 and 5D vector images get a trailing
channel axis) (the Java Image layout), sum/min/max, affine (img.affine),
qform, sform (RAS, 4x4) and their codes.
"""
import hashlib
import json
import sys

import nibabel as nib
import numpy as np

img = nib.load(sys.argv[1])
# stored values, before scl_slope/scl_inter (as our reader returns them)
arr = img.dataobj.get_unscaled() if hasattr(img.dataobj, "get_unscaled") else np.asanyarray(img.dataobj)
out = {"shape": list(arr.shape), "dtype": arr.dtype.newbyteorder("=").name if arr.dtype.names is None else "rgb"}
if arr.dtype.names is not None:  # RGB24: structured (R, G, B) -> trailing channel axis
    arr = np.stack([arr[n] for n in arr.dtype.names], axis=-1)
elif arr.ndim == 5 and arr.shape[3] == 1:  # vector image (x, y, z, 1, c) -> (x, y, z, c)
    arr = arr[:, :, :, 0, :]
if arr.ndim <= 3 or (arr.ndim == 4 and (out["dtype"] == "rgb" or len(out["shape"]) == 5)):
    a = arr.reshape(arr.shape + (1,) * (3 - arr.ndim)) if arr.ndim < 3 else arr
    a = a.transpose(2, 1, 0) if a.ndim == 3 else a.transpose(2, 1, 0, 3)
    c = np.ascontiguousarray(a).astype(arr.dtype.newbyteorder("<"))
    out["sha256"] = hashlib.sha256(c.tobytes()).hexdigest()
    out["sum"] = float(np.nansum(arr.astype(np.float64)))
    out["min"] = float(np.nanmin(arr))
    out["max"] = float(np.nanmax(arr))
hdr = img.header
q, qcode = hdr.get_qform(coded=True)
s, scode = hdr.get_sform(coded=True)
out["affine"] = img.affine.tolist()
out["qform"] = None if q is None else q.tolist()
out["sform"] = None if s is None else s.tolist()
out["qform_code"] = int(qcode)
out["sform_code"] = int(scode)
# nibabel moves scl_slope/scl_inter from the loaded header into the array proxy
out["slope"] = float(getattr(img.dataobj, "slope", 1.0))
out["inter"] = float(getattr(img.dataobj, "inter", 0.0))
print(json.dumps(out))
