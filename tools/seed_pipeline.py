#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
#
# seed_pipeline.py - the Python + OpenCV reference ("seed") of nifi-medprep's chest X-ray flow:
#   ValidateImage -> ResizeWithPadding (letterbox 224x224, INTER_LINEAR, pad 0) -> Denoise (median 3)
#   -> ApplyCLAHE (clip 2.0, 8x8 tiles) -> Normalize (scale [0,1] by bit depth) -> Normalize (z-score,
#   fixed mean/std) -> [SplitByPatient] -> float32 .npy
# mirroring org.medprep.ops.{Letterbox,Denoise,Clahe,Intensity,Monochrome,PatientSplit} and
# org.medprep.nifi.shared.PatientPseudonym:
#   * input: JPEG/PNG read with cv2.IMREAD_GRAYSCALE | cv2.IMREAD_ANYDEPTH (the flow's ValidateImage has Color
#     Images = Convert to Grayscale: colour becomes the decoder's luma, 16-bit stays 16-bit); DICOM RGB becomes
#     cv2.cvtColor(RGB2GRAY);
#     DICOM (recognised by content: 'DICM' at byte 128) read with pydicom as stored values (pixel_array, no
#     Modality LUT); MONOCHROME1 is inverted first over the stored range: v' = (2^BitsStored - 1) - v
#     (unsigned), -1 - v (signed).
#   * ValidateImage defaults mirrored: at least 64 x 64; constant images and images whose display mean
#     (8-bit scale: uint8 over 0..255, wider types over their own minimum..99th percentile) is below 5 are invalid; DICOM needs PatientID, StudyInstanceUID, SeriesInstanceUID,
#     Modality; a JPEG without its end-of-image marker and a PNG without IEND are corrupt.
#   * letterbox: scale = min(H/h, W/w); nh, nw = int(h*scale), int(w*scale) (at least 1);
#     cv2.resize(INTER_LINEAR); pad 0 with top = (H-nh)//2, left = (W-nw)//2, rest bottom/right.
#   * cv2.medianBlur(3); CLAHE with ApplyCLAHE's default Histogram Bins "256 bins over the Bits Stored
#     range": uint16 of BitsStored b goes to its top 8 bits, v >> (b - 8) (v << (8 - b) below 8 bits; a
#     value above 2^b - 1 is rejected), uint8 as it is; then cv2.createCLAHE(2.0, (8, 8)).apply on the
#     uint8 bins - grayscale only (multi-channel input fails at ApplyCLAHE, as in the NiFi flow). After
#     CLAHE uint8 and uint16 input are uint8 with BitsStored 8 (int16 stays int16 in Java).
#   * scale by bit depth: float32(v * (1/(2^bits - 1)) + 0), unsigned input only (int16, e.g. CT, fails
#     at Normalize as in Java); z-score: float32(x * (1/std) + (-mean/std)) computed in float64 from the
#     float32 [0,1] image - exactly Intensity.affine's double arithmetic, rounded to float32 once per step.
#   * split (only with --salt): key = hex HMAC-SHA256(secret, patient id); u = first 53 bits
#     of SHA-256(salt || 0x00 || key) / 2^53; u < train -> train, < train+validation -> validation, else
#     test. Patient id: DICOM PatientID (stripped); other files: the file name cut at the first '_', then
#     a trailing '-<digits>.<ext>' removed (person1234_bacteria_5678.jpeg -> person1234,
#     IM-0115-0001.jpeg -> IM-0115, NORMAL2-IM-1427-0001.jpeg -> NORMAL2-IM-1427); the NiFi expression
#     for it is ${filename:substringBefore('_'):replaceAll('-[0-9]+\.[^.]+$', '')}.
#
# Usage (Debian's python3, which has python3-opencv 4.6, numpy, pydicom):
#   /usr/bin/python3 tools/seed_pipeline.py INDIR OUTDIR [--mean 0.482 --std 0.236] [--size 224]
#       [--salt SALT [--train 0.70 --validation 0.15]] [--stage8 DIR]
# With --salt the patient key secret comes from the environment variable MEDPREP_PATIENT_KEY_SECRET, as the flow's
# does (--secret S is still accepted, but a command line is visible in process lists).
# Writes OUTDIR/<label>/<name>.npy (label = parent folder name, name = file name without extension), or
# OUTDIR/<split>/<label>/<name>.npy with --salt (the NiFi flow's layout). --stage8 DIR also writes
# the after-CLAHE image as a lossless PNG, DIR/<label>/<name>.png (uint8).
# Files that cannot be processed are listed with the reason (not fatal); a JSON summary is written to
# OUTDIR/seed_report.json. Exit status 0 unless INDIR is missing.

import argparse
import hashlib
import hmac
import json
import os
import re
import shutil
import sys

import cv2
import numpy as np

MIN_SIZE = 64
BLANK_MEAN = 5.0
REQUIRED_DICOM = ("PatientID", "StudyInstanceUID", "SeriesInstanceUID", "Modality")
PICTURE_EXT = (".jpeg", ".jpg", ".png")


class Rejected(Exception):
    """A file the flow would route to failure / quarantine; the message says which step and why."""


# ----------------------------------------------------------------------------------------------- reading

def sniff(data):
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if len(data) >= 132 and data[128:132] == b"DICM":
        return "DICOM"
    return None


def read_image(path):
    """Returns (pixels, meta) with pixels a 2D (h, w) or 3D (h, w, c) uint8/uint16/int16 array of stored
    values and meta {format, photometric, bits, signed, patient_id}. Raises Rejected."""
    with open(path, "rb") as f:
        data = f.read()
    if not data:
        raise Rejected("ValidateImage: empty file")
    fmt = sniff(data)
    if fmt is None:
        raise Rejected("ValidateImage: not a PNG, JPEG or DICOM file")
    if fmt == "DICOM":
        return read_dicom(path)
    if fmt == "JPEG" and b"\xff\xd9" not in data[-64:]:
        raise Rejected("ValidateImage: JPEG damaged or truncated (no end-of-image marker)")
    if fmt == "PNG" and b"IEND" not in data[-16:]:
        raise Rejected("ValidateImage: PNG damaged or truncated (no IEND)")
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE | cv2.IMREAD_ANYDEPTH)
    if img is None:
        raise Rejected("ValidateImage: %s could not be decoded" % fmt)
    bits = 8 if img.dtype == np.uint8 else 16
    photometric = "RGB" if img.ndim == 3 else "MONOCHROME2"
    return img, {"format": fmt, "photometric": photometric, "bits": bits, "signed": False, "patient_id": None}


def read_dicom(path):
    import pydicom
    try:
        ds = pydicom.dcmread(path)
    except Exception as e:
        raise Rejected("ValidateImage: DICOM header unreadable: %s" % e)
    for kw in REQUIRED_DICOM:
        v = ds.get(kw)
        if v is None or str(v).strip() == "":
            raise Rejected("ValidateImage: required DICOM attribute %s missing or empty" % kw)
    try:
        arr = ds.pixel_array
    except Exception as e:
        raise Rejected("ValidateImage: DICOM pixel data not decodable: %s" % e)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip()
    if frames > 1:
        raise Rejected("seed reference: multi-frame DICOM not handled (the flow works slice by slice)")
    if arr.dtype.byteorder == ">":
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    bits = int(ds.get("BitsStored", arr.dtype.itemsize * 8))
    signed = int(ds.get("PixelRepresentation", 0)) == 1
    if arr.ndim == 3 and arr.shape[2] == 3:      # Color Images = Convert to Grayscale: BT.601 luma
        arr, photometric = cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_RGB2GRAY), "MONOCHROME2"
    return np.ascontiguousarray(arr), {"format": "DICOM", "photometric": photometric, "bits": bits,
                                       "signed": signed, "patient_id": str(ds.PatientID).strip()}


# ------------------------------------------------------------------------------------------- validation

def validate(img, meta):
    h, w = img.shape[:2]
    if w < MIN_SIZE or h < MIN_SIZE:
        raise Rejected("ValidateImage: %d x %d is below the minimum %d x %d" % (w, h, MIN_SIZE, MIN_SIZE))
    mn, mx = float(img.min()), float(img.max())
    if mn == mx:
        raise Rejected("ValidateImage: constant image")
    mean = float(img.mean(dtype=np.float64))
    if img.dtype == np.uint8:                   # 8-bit: its own 0..255 display scale
        mean8 = mean
    else:                                       # wider: its own range, minimum -> 0, 99th percentile -> 255
        p99 = float(np.percentile(img, 99))
        mean8 = min(255.0, (mean - mn) / (p99 - mn) * 255) if p99 > mn else 0.0
    if meta["photometric"] == "MONOCHROME1":
        mean8 = 255 - mean8
    if mean8 < BLANK_MEAN:
        raise Rejected("ValidateImage: display mean %.2f below %.1f (nearly black)" % (mean8, BLANK_MEAN))


# ----------------------------------------------------------------------------------------------- ops

def to_monochrome2(img, meta):
    if meta["photometric"] != "MONOCHROME1":
        return img
    bits = max(1, min(meta["bits"], img.dtype.itemsize * 8))
    if meta["signed"]:
        total = -(1 << (bits - 1)) + (1 << (bits - 1)) - 1
    else:
        total = (1 << bits) - 1
    out = (total - img.astype(np.int64)).astype(img.dtype)
    meta["photometric"] = "MONOCHROME2"
    return out


def letterbox(img, width, height, pad=0, interpolation=cv2.INTER_LINEAR):
    h, w = img.shape[:2]
    scale = min(height / h, width / w)
    nh, nw = max(1, int(h * scale)), max(1, int(w * scale))
    resized = cv2.resize(img, (nw, nh), interpolation=interpolation)
    top, left = (height - nh) // 2, (width - nw) // 2
    return cv2.copyMakeBorder(resized, top, height - nh - top, left, width - nw - left,
                              cv2.BORDER_CONSTANT, value=pad)


def clahe(img, meta, clip=2.0, tiles=(8, 8)):
    """ApplyCLAHE's default (Histogram Bins = 256 bins over the Bits Stored range): bin, then 8-bit CLAHE."""
    if img.ndim != 2:
        raise Rejected("ApplyCLAHE: CLAHE is applied to grayscale images; this one has %d channels"
                       % img.shape[2])
    if img.dtype == np.uint16:
        bits = max(1, min(16, meta["bits"]))
        top = (1 << bits) - 1
        if int(img.max()) > top:
            raise Rejected("ApplyCLAHE: a sample value %d is above the BitsStored %d range 0 to %d, so CLAHE's 256 "
                           "bins over that range cannot hold it" % (int(img.max()), bits, top))
        v = img.astype(np.uint32)
        img = (v >> (bits - 8) if bits >= 8 else v << (8 - bits)).astype(np.uint8)
    elif img.dtype != np.uint8:
        # Java bins int16/float32 over their own range and maps the result back in their type; the flow then
        # fails at Normalize (signed input).
        raise Rejected("Normalize: scaling by bit depth needs unsigned 8- or 16-bit samples; this image is %s"
                       % img.dtype)
    out = cv2.createCLAHE(clipLimit=clip, tileGridSize=tiles).apply(img)
    meta["bits"] = 8
    return out


def scale_by_bit_depth(img, meta):
    if img.dtype == np.uint8:
        bits = 8
    elif img.dtype == np.uint16:
        bits = max(1, min(16, meta["bits"]))
    else:
        raise Rejected("Normalize: scaling by bit depth needs unsigned samples, not %s" % img.dtype)
    return (img.astype(np.float64) * (1.0 / ((1 << bits) - 1)) + 0.0).astype(np.float32)


def z_score(x, mean, std):
    d = max(std, 1e-8)
    return (x.astype(np.float64) * (1.0 / d) + (-mean / d)).astype(np.float32)


def process(path, mean=0.482, std=0.236, size=224, stage=None):
    """Full seed pipeline for one file: returns (float32 (size, size) array, meta). Raises Rejected.
    stage, if a dict, receives stage['clahe'] = the after-CLAHE image."""
    img, meta = read_image(path)
    validate(img, meta)
    img = to_monochrome2(img, meta)
    if img.dtype not in (np.uint8, np.uint16, np.int16):
        raise Rejected("ResizeWithPadding: unsupported sample type %s" % img.dtype)
    img = letterbox(img, size, size)
    img = cv2.medianBlur(img, 3)
    img = clahe(img, meta)
    if stage is not None:
        stage["clahe"] = img
    x = scale_by_bit_depth(img, meta)
    return z_score(x, mean, std), meta


# ----------------------------------------------------------------------------------------------- split

_ID_TAIL = re.compile(r"-[0-9]+\.[^.]+$")


def patient_from_name(filename):
    """person1234_bacteria_5678.jpeg -> person1234; IM-0115-0001.jpeg -> IM-0115;
    NORMAL2-IM-1427-0001.jpeg -> NORMAL2-IM-1427."""
    return _ID_TAIL.sub("", filename.split("_", 1)[0])


def pseudonym(secret, identifier):
    return hmac.new(secret.encode("utf-8"), identifier.strip().encode("utf-8"), hashlib.sha256).hexdigest()


def split_position(salt, key):
    d = hashlib.sha256(salt.encode("utf-8") + b"\x00" + key.encode("utf-8")).digest()
    return (int.from_bytes(d[:8], "big") >> 11) / float(1 << 53)


def assign_split(salt, key, train=0.70, validation=0.15):
    u = split_position(salt, key)
    if u < train:
        return "train"
    return "validation" if u < train + validation else "test"


# ----------------------------------------------------------------------------------------------- main

def list_files(indir):
    out = []
    for root, dirs, files in os.walk(indir):
        dirs.sort()
        for f in sorted(files):
            if not f.startswith("."):
                out.append(os.path.join(root, f))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description="Seed (Python + OpenCV) reference of the nifi-medprep CXR flow")
    ap.add_argument("indir")
    ap.add_argument("outdir")
    ap.add_argument("--mean", type=float, default=0.482)
    ap.add_argument("--std", type=float, default=0.236)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--secret")
    ap.add_argument("--salt")
    ap.add_argument("--train", type=float, default=0.70)
    ap.add_argument("--validation", type=float, default=0.15)
    ap.add_argument("--stage8", metavar="DIR")
    a = ap.parse_args(argv)
    if not os.path.isdir(a.indir):
        sys.exit("no such directory: %s" % a.indir)
    if a.salt is not None and a.secret is None:
        # the secret belongs in the environment, not on a command line (process lists show arguments)
        a.secret = os.environ.get("MEDPREP_PATIENT_KEY_SECRET") or None
        if a.secret is None:
            sys.exit("--salt needs the patient key secret: set MEDPREP_PATIENT_KEY_SECRET (or give --secret)")
    if (a.secret is None) != (a.salt is None):
        sys.exit("--secret and --salt go together")
    written, rejected, seen = [], [], {}
    for path in list_files(a.indir):
        label = os.path.basename(os.path.dirname(path))
        fname = os.path.basename(path)
        name = os.path.splitext(fname)[0]
        rel = os.path.relpath(path, a.indir)
        stage = {}
        try:
            arr, meta = process(path, a.mean, a.std, a.size, stage)
        except Rejected as e:
            rejected.append({"file": rel, "reason": str(e)})
            print("REJECTED %s: %s" % (rel, e))
            continue
        except Exception as e:  # unexpected decoder error: listed, not fatal
            rejected.append({"file": rel, "reason": "error: %r" % e})
            print("REJECTED %s: error: %r" % (rel, e))
            continue
        key = label + "/" + name
        if key in seen:
            print("WARNING %s: %s also produced by %s (overwritten)" % (rel, key, seen[key]))
        seen[key] = rel
        parts = [a.outdir]
        split = None
        if a.secret is not None:
            pid = meta["patient_id"] if meta["patient_id"] else patient_from_name(fname)
            split = assign_split(a.salt, pseudonym(a.secret, pid), a.train, a.validation)
            parts.append(split)
        parts += [label, name + ".npy"]
        out = os.path.join(*parts)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        np.save(out, arr)
        if a.stage8:
            p = os.path.join(a.stage8, label, name + ".png")
            os.makedirs(os.path.dirname(p), exist_ok=True)
            cv2.imwrite(p, stage["clahe"])
        written.append({"file": rel, "npy": os.path.relpath(out, a.outdir), "split": split,
                        "bits": int(stage["clahe"].dtype.itemsize * 8)})
    os.makedirs(a.outdir, exist_ok=True)
    with open(os.path.join(a.outdir, "seed_report.json"), "w") as f:
        json.dump({"written": written, "rejected": rejected, "mean": a.mean, "std": a.std,
                   "cv2": cv2.__version__}, f, indent=1)
    print("seed_pipeline: %d written, %d rejected -> %s" % (len(written), len(rejected), a.outdir))


if __name__ == "__main__":
    main()
