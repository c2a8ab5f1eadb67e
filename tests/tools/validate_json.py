#!/usr/bin/python3 -S
"""validate_json.py SCHEMA FILE: validate FILE (JSON) against a JSON schema with python3-jsonschema.
Prints "valid" or the first errors with their JSON paths; exit status 0 or 1."""
import json, sys
try:
    import jsonschema
except ImportError:
    sys.path.extend(p for p in ["/usr/lib/python3/dist-packages"] if p not in sys.path)
    import jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
cls = jsonschema.validators.validator_for(schema)
v = cls(schema)
errors = sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path))
for e in errors[:10]:
    print("invalid at /%s: %s" % ("/".join(str(p) for p in e.absolute_path), e.message[:300]))
if errors:
    sys.exit(1)
print("valid")
