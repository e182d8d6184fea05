#!/usr/bin/python3
# Reference values for ValidateImageTest, computed by pydicom and Python's hmac (not by our code).
# usage: validate_reference.py SECRET FILE...
#   prints JSON {file: {sha256, spacing, patient_key, series_key, study_key, instance_key, sop_class, modality, ...}}
import hashlib, hmac, json, sys
import pydicom

secret = sys.argv[1].encode()


def key(keyword, ds):
    """HMAC-SHA256 of 'Keyword:' + the UID, as ValidateImage's medprep.study.key / medprep.instance.key."""
    value = str(ds.get(keyword, '')).strip()
    return hmac.new(secret, (keyword + ':' + value).encode(), hashlib.sha256).hexdigest() if value else None


out = {}
for path in sys.argv[2:]:
    ds = pydicom.dcmread(path)
    px = ds.pixel_array
    le = px.astype(px.dtype.newbyteorder('<'))
    pid = str(ds.get('PatientID', '')).strip()
    uid = str(ds.get('SeriesInstanceUID', '')).strip()
    out[path] = {
        'sha256': hashlib.sha256(le.tobytes(order='C')).hexdigest(),
        'rows': int(ds.Rows), 'columns': int(ds.Columns),
        'spacing': [float(v) for v in ds.get('PixelSpacing', [1, 1])],
        'modality': str(ds.get('Modality', '')),
        'patient_key': hmac.new(secret, pid.encode(), hashlib.sha256).hexdigest() if pid else None,
        'series_key': hmac.new(secret, ('SeriesInstanceUID:' + uid).encode(), hashlib.sha256).hexdigest()
        if uid else None,
        'study_key': key('StudyInstanceUID', ds),
        'instance_key': key('SOPInstanceUID', ds),
        'sop_class': str(ds.get('SOPClassUID', '')),
    }
print(json.dumps(out))
