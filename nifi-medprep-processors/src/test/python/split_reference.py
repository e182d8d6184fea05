#!/usr/bin/python3
# Reference for ops.PatientSplit: SHA-256(salt || 0x00 || key), first 53 bits / 2^53, then ratio thresholds.
# usage: split_reference.py SALT TRAIN VALIDATION KEY...   prints {key: split} as JSON
import hashlib, json, sys
salt, train, val, keys = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
out = {}
for k in keys:
    d = hashlib.sha256(salt.encode() + b'\x00' + k.encode()).digest()
    u = (int.from_bytes(d[:8], 'big') >> 11) / 2 ** 53
    out[k] = 'train' if u < train else ('validation' if u < train + val else 'test')
print(json.dumps(out))
