#!/usr/bin/env python3
"""Eight Sigma rules with |windash (every dash form, contains, startswith, endswith, cased, all,
neq, base64, wide|base64offset) and 480 CloudTrail records whose userAgent mutates their values
(dashes swapped for each windash form or for non-dashes, letters upper-cased), to compare the
alerts of two kumomori binaries (docs/performance.md, section 7). Seeded: the same files each run.

usage: python3 bench/load/gen_windash.py OUTDIR   (writes OUTDIR/rules/*.yml, OUTDIR/records.json)
"""
import base64
import json
import os
import random
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "bench/out/windash"
os.makedirs(os.path.join(out, "rules"), exist_ok=True)
random.seed(7)
DASHES = ["-", "/", "\u2013", "\u2014", "\u2015", "+", "_", "\u2012", ""]
SPECS = [
    ("userAgent|windash|endswith", "x -a -b /c -d -e"),
    ("userAgent|windash|contains|cased", "-A /b"),
    ("userAgent|windash", "a-b*c/d?e"),
    ("userAgent|windash|startswith", "/enc -Ps"),
    ("userAgent|windash|contains|all", ["-a b", "/c-d"]),
    ("userAgent|windash|neq", "-q-"),
    ("userAgent|windash|base64|contains", "-ab/"),
    ("userAgent|windash|wide|base64offset|contains", "-p -x"),
]
for i, (key, v) in enumerate(SPECS):
    val = json.dumps(v) if isinstance(v, list) else "'" + v + "'"
    with open(os.path.join(out, "rules", "r%d.yml" % i), "w") as f:
        f.write("title: wd%d\nid: 6b0f3c1e-5a7d-4b8e-9c2f-0a1b2c3d5%03d\nlogsource:\n    product: aws\n"
                "    service: cloudtrail\ndetection:\n    selection:\n        %s: %s\n    condition: selection\n"
                "level: high\n" % (i, i, key, val))


def mutate(s):
    return "".join(random.choice(DASHES) if ch in "-/" and random.random() < 0.8
                   else (ch.upper() if random.random() < 0.2 else ch) for ch in s)


recs = []
for key, v in SPECS:
    vs = v if isinstance(v, list) else [v]
    for _ in range(60):
        ua = random.choice(["", "pre ", "x "]) + " ".join(mutate(x.replace("*", "zz").replace("?", "q")) for x in vs) \
            + random.choice(["", " post"])
        if "base64" in key:
            enc = "utf-16le" if "wide" in key else "utf-8"
            ua = "zz" + base64.b64encode((random.choice(["", " ", "  "]) + ua).encode(enc)).decode() + "zz"
        recs.append({"eventVersion": "1.08", "eventTime": "2025-03-10T01:02:03Z", "eventSource": "s3.amazonaws.com",
                     "eventName": "ListBuckets", "awsRegion": "us-east-1", "userAgent": ua,
                     "userIdentity": {"type": "Root", "arn": "arn:aws:iam::1:root", "accountId": "111122223333"},
                     "recipientAccountId": "111122223333", "eventID": "e%d" % (len(recs) + 1)})
with open(os.path.join(out, "records.json"), "w") as f:
    json.dump({"Records": recs}, f)
