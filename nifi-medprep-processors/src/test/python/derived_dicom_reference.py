#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Reference check of a derived DICOM object written by nifi-medprep.

Usage: derived_dicom_reference.py OUT.dcm REFERENCE.nii

Reads OUT.dcm with pydicom (pixel_array, then the Modality LUT: stored x RescaleSlope + RescaleIntercept) and the
same step's NIfTI output with nibabel (get_fdata, axes x, y, z), and prints one JSON object: the largest absolute
difference of the values (arrays compared as (z, y, x)), the slope, the identity, UID and derivation attributes,
the functional-group geometry, and dciodvfy's error lines (dicom3tools; "dciodvfy": null when it is absent).
"""
import json
import shutil
import subprocess
import sys

import nibabel
import numpy
import pydicom


def main():
    out, ref = sys.argv[1], sys.argv[2]
    ds = pydicom.dcmread(out)
    stored = ds.pixel_array.astype(numpy.float64)
    slope = float(getattr(ds, "RescaleSlope", 1))
    intercept = float(getattr(ds, "RescaleIntercept", 0))
    values = stored * slope + intercept
    frames = int(getattr(ds, "NumberOfFrames", 1))
    if ds.SamplesPerPixel == 1:
        values = values.reshape(frames, ds.Rows, ds.Columns)
    else:
        values = values.reshape(frames, ds.Rows, ds.Columns, ds.SamplesPerPixel)
    nii = nibabel.load(ref)
    raw = numpy.asarray(nii.dataobj)
    if raw.dtype.names:  # RGB24: a structured array of R, G, B
        expected = numpy.stack([raw[name] for name in raw.dtype.names], axis=-1).astype(numpy.float64)
    else:
        expected = nii.get_fdata()
    # nibabel: (x, y[, z][, t, c]); NIfTI RGB is a structured dtype read as x, y, z with 3 channels last.
    if ds.SamplesPerPixel == 1:
        expected = expected.reshape(ds.Columns, ds.Rows, frames, order="F").transpose(2, 1, 0)
    else:
        expected = expected.reshape(ds.Columns, ds.Rows, frames, 3, order="F").transpose(2, 1, 0, 3)
    shared = ds.SharedFunctionalGroupsSequence[0]
    positions = [[float(v) for v in f.PlanePositionSequence[0].ImagePositionPatient]
                 for f in ds.PerFrameFunctionalGroupsSequence]
    errors = None
    if shutil.which("dciodvfy"):
        run = subprocess.run(["dciodvfy", out], capture_output=True, text=True)
        errors = [line for line in (run.stdout + run.stderr).splitlines() if line.startswith("Error")]
    source = ds.get("SourceImageSequence")
    print(json.dumps({
        "max_abs_diff": float(numpy.max(numpy.abs(values - expected))),
        "slope": slope,
        "intercept": intercept,
        "sop_class": ds.SOPClassUID.name,
        "sop_instance_uid": ds.SOPInstanceUID,
        "study_uid": ds.StudyInstanceUID,
        "series_uid": ds.SeriesInstanceUID,
        "patient_id": str(ds.PatientID),
        "patient_name": str(ds.PatientName),
        "identity_removed": str(ds.PatientIdentityRemoved),
        "image_type": list(ds.ImageType),
        "derivation": str(ds.DerivationDescription),
        "source_sop_instance_uid": source[0].ReferencedSOPInstanceUID if source else None,
        "source_sop_class_uid": source[0].ReferencedSOPClassUID if source else None,
        "modality": ds.Modality,
        "rescale_type": str(getattr(ds, "RescaleType", "")),
        "frames": frames,
        "pixel_spacing": [float(v) for v in shared.PixelMeasuresSequence[0].PixelSpacing],
        "slice_thickness": float(shared.PixelMeasuresSequence[0].SliceThickness),
        "orientation": [float(v) for v in shared.PlaneOrientationSequence[0].ImageOrientationPatient],
        "positions": positions,
        "dciodvfy_errors": errors,
    }))


if __name__ == "__main__":
    main()
