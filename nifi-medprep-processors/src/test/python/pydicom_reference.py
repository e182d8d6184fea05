"""Reference for DicomReaderPydicomTest: pydicom's pixel_array of every DICOM file under a folder.

Usage: pydicom_reference.py ROOT [RAWDIR]
With RAWDIR, each decoded pixel_array is also written there as raw little-endian C-order bytes ("raw" in the
record), so a test can measure differences where hashes disagree.
Prints JSON {"files": [{"path", "status", ...}]} where status is
  "ok"         pixel_array decoded: shape (frames, rows, cols[, samples]) as pydicom gives it, dtype,
               sha256 of the C-order little-endian bytes, sum, min, max, transfer syntax, photometric
  "nopixels"   pydicom reads the file but it has no Pixel Data
  "unreadable" pydicom cannot parse the file at all
  "nodecode"   pydicom parses it but cannot decode the pixel data (error text in "error")
For 3-sample images "sha256Rgb" is the hash of pixel_array converted YBR_FULL -> RGB (pydicom's
convert_color_space), the values a codec gives that converts JPEG YCbCr to RGB while decoding.
"""
import hashlib
import json
import os
import sys
import warnings

import numpy as np
import pydicom
from pydicom.pixel_data_handlers.util import convert_color_space

warnings.simplefilter("ignore")


def describe(path, rawdir=None, index=0):
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
    if spp == 3 and arr.dtype == np.uint8:
        rgb = np.ascontiguousarray(convert_color_space(arr, "YBR_FULL", "RGB"))
        rec["sha256Rgb"] = hashlib.sha256(rgb.tobytes(order="C")).hexdigest()
    if rawdir:
        raw = os.path.join(rawdir, "%04d.raw" % index)
        le.tofile(raw)
        rec["raw"] = raw
    return rec


def main():
    root = sys.argv[1]
    rawdir = sys.argv[2] if len(sys.argv) > 2 else None
    out = []
    for dirpath, _dirs, files in os.walk(root):
        for name in sorted(files):
            p = os.path.join(dirpath, name)
            if name.endswith((".json", ".txt", ".dump", ".gz", ".py")) or name in ("DICOMDIR",):
                continue
            out.append(describe(p, rawdir, len(out)))
    out.sort(key=lambda r: r["path"])
    json.dump({"files": out}, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
