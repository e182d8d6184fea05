"""Reference for .npy tests: what numpy.load reads.

Usage: npy_ref.py FILE
Prints JSON {shape, dtype (with byte order, e.g. '<u2'), sha256 of the array's bytes in C order little-endian}.
"""
import hashlib
import json
import sys

import numpy as np

a = np.load(sys.argv[1], allow_pickle=False)
c = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<"))
print(json.dumps({"shape": list(a.shape), "dtype": a.dtype.str, "fortran": bool(np.isfortran(a)) and a.ndim > 1,
                  "sha256": hashlib.sha256(c.tobytes()).hexdigest()}))
