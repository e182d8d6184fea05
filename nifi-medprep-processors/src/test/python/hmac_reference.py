#!/usr/bin/python3
# usage: hmac_reference.py SECRET TEXT   prints hex HMAC-SHA256(SECRET, TEXT) as a JSON string (Python's hmac module).
import hashlib, hmac, json, sys
print(json.dumps(hmac.new(sys.argv[1].encode(), sys.argv[2].encode(), hashlib.sha256).hexdigest()))
