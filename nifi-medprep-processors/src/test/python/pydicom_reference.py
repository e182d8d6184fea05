"""Reference for DicomReaderPydicomTest: pydicom's pixel_array of every DICOM file under a folder.

Usage: pydicom_reference.py ROOT
Prints JSON {"files": [{"path", "status", ...}]} where status is
  "ok"         pixel_array decoded: shape (frames, rows, cols[, samples]) as pydicom gives it, dtype,
               sha256 of the C-order little-endian bytes, sum, min, max, transfer syntax, photometric
  "nopixels"   pydicom reads the file but it has no Pixel Data
  "unreadable" pydicom cannot parse the file at all
  "nodecode"   pydicom parses it but cannot decode the pixel data (error text in "error")
"""
import hashlib
import json
import os
import sys
import warnings

import numpy as np
import pydicom

warnings.simplefilter("ignore")


def describe(path):
    rec = {"path": path}
    try:
        ds = pydicom.dcmread(path, force=True)
    except Exception as e:  # noqa: BLE001 - any parse failure counts as unreadable
        rec.update(status="unreadable", error=type(e).__name__ + ": " + str(e)[:200])
        return rec
    try:
        has_pixels = "PixelData" in ds
    except Exception as e:  # noqa: BLE001
        rec.update(status="unreadable", error=type(e).__name__ + ": " + str(e)[:200])
        return rec
    if not has_pixels:
        rec.update(status="nopixels")
        return rec
    ts = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    rec["transferSyntax"] = str(ts) if ts is not None else None
    rec["photometric"] = str(ds.get("PhotometricInterpretation", ""))
    try:
        arr = ds.pixel_array
    except Exception as e:  # noqa: BLE001
        rec.update(status="nodecode", error=type(e).__name__ + ": " + str(e)[:200])
        return rec
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    spp = int(ds.get("SamplesPerPixel", 1) or 1)
    # normalize to (frames, rows, cols, samples)
    shape = (frames, int(ds.Rows), int(ds.Columns), spp)
    if arr.size != int(np.prod(shape)):
        rec.update(status="nodecode", error="pixel_array size %d != %s" % (arr.size, shape))
        return rec
    arr = np.ascontiguousarray(arr.reshape(shape))
    le = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
    rec.update(status="ok", shape=list(shape), dtype=str(arr.dtype.name),
               sha256=hashlib.sha256(le.tobytes(order="C")).hexdigest(),
               sum=int(arr.astype(np.int64).sum()), min=int(arr.min()), max=int(arr.max()))
    return rec


def main():
    root = sys.argv[1]
    out = []
    for dirpath, _dirs, files in os.walk(root):
        for name in sorted(files):
            p = os.path.join(dirpath, name)
            if name.endswith((".json", ".txt", ".dump", ".gz", ".py")) or name in ("DICOMDIR",):
                continue
            out.append(describe(p))
    out.sort(key=lambda r: r["path"])
    json.dump({"files": out}, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
