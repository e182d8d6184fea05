#!/usr/bin/python3
# Licensed under the Apache License, Version 2.0 (see LICENSE).
"""Prints a DICOM file's image size attributes as pydicom reads them (JSON): Rows, Columns, SamplesPerPixel,
BitsStored. Usage: dicom_header_reference.py FILE"""
import json
import sys

import pydicom

ds = pydicom.dcmread(sys.argv[1], stop_before_pixels=True)
print(json.dumps({k: int(ds.get(k)) for k in ("Rows", "Columns", "SamplesPerPixel", "BitsStored")}))
