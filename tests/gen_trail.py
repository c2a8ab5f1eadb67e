#!/usr/bin/env python3
"""Build a signed CloudTrail trail mirror for tests, then (optionally) tamper with it.

    python3 tests/gen_trail.py OUT [--tamper NAME]

Writes OUT/kumomori-test-trail/ (a mirror of the bucket, as `aws s3 sync` lays it out, with a
D.sig sidecar next to each digest D), OUT/keys.json (the two trail keys as
`aws cloudtrail list-public-keys` prints them) and OUT/keys-attacker.json (another key only).

This generator is independent of the C code under test: digests are built here from the
CloudTrail documentation's format, hashed with Python's hashlib and signed with the `openssl`
command line tool (RSA PKCS#1 v1.5, SHA-256) over the documented string to sign. The keys in
tests/data/TEST-ONLY-trail-key-*.pem are TEST keys made for this purpose and nothing else.
Everything is deterministic (fixed keys, gzip mtime 0), so expected outputs can be exact.

The trail: account 111122223333, trail "kumomori_test-trail" (home region us-east-1).
  us-east-1 standard digests, hours 0-3 (key A, PKCS#1 DER in keys.json; hour 2 is an empty
  period with no logs), no digests in hours 4-5 (validation off), a restarted chain in hours 6-8
  (key B, X.509 DER: key rotation); backfill digests for hours 4-5 (key B, head-object JSON
  sidecars); us-west-2 digests hours 0-1 (a multi-region trail: delivering region differs from
  the home region).
"""
import argparse
import base64
import datetime as dt
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(TOP, "tests", "data")
BUCKET = "kumomori-test-trail"
ACCT = "111122223333"
TRAIL = "kumomori_test-trail"
HOME = "us-east-1"
T0 = dt.datetime(2026, 1, 15, 0, 17, 42, tzinfo=dt.timezone.utc)
BACKFILL_TS = "2026-01-15T12:00:00Z"
BUCKET2 = "kumomori-test-trail-2"
PREFIX = ""  # --prefix: every key starts with PREFIX/

TAMPERS = [
    "none", "log-byte", "log-deleted", "log-unlisted", "digest-deleted", "digest-changed",
    "forged-signature", "wrong-key", "reordered", "digest-moved", "log-truncated",
    "digest-resigned", "sig-missing", "newest-sig-missing", "log-two-members", "bad-json-digest",
    "empty-log", "oldest-expired",
]


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def key_path(name):
    return os.path.join(DATA, "TEST-ONLY-trail-key-%s.pem" % name)


def der(name, pkcs1):
    args = ["openssl", "rsa", "-in", key_path(name), "-outform", "DER"]
    args.append("-RSAPublicKey_out" if pkcs1 else "-pubout")
    return subprocess.run(args, check=True, capture_output=True).stdout


def sign(name, msg):
    out = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key_path(name)], input=msg,
                         check=True, capture_output=True).stdout
    return out.hex()


def gz(data):
    return gzip.compress(data, compresslevel=6, mtime=0)


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def rand16(seed):
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    h = hashlib.sha256(seed.encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in h[:16])


def digest_key(region, end, backfill=False):
    return PREFIX + "AWSLogs/%s/CloudTrail-Digest/%s/%s/%s_CloudTrail-Digest_%s_%s_%s_%s%s.json.gz" % (
        ACCT, region, end.strftime("%Y/%m/%d"), ACCT, region, TRAIL, HOME,
        end.strftime("%Y%m%dT%H%M%SZ"), "_backfill" if backfill else "")


def log_key(region, when, n):
    return PREFIX + "AWSLogs/%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_%s.json.gz" % (
        ACCT, region, when.strftime("%Y/%m/%d"), ACCT, region, when.strftime("%Y%m%dT%H%MZ"),
        rand16("%s%s%d" % (region, when, n)))


def log_body(region, when, n):
    ev = {"eventVersion": "1.09", "eventTime": iso(when), "eventSource": "s3.amazonaws.com",
          "eventName": ["GetObject", "DeleteObject", "PutBucketVersioning"][n % 3],
          "awsRegion": region, "sourceIPAddress": "198.51.100.%d" % (n + 7),
          "userIdentity": {"type": "IAMUser", "accountId": ACCT, "userName": "alice"},
          "requestParameters": {"bucketName": "data-bucket", "key": "reports/%d.csv" % n},
          "eventID": rand16("ev%s%s%d" % (region, when, n)), "recipientAccountId": ACCT}
    return json.dumps({"Records": [ev]}, separators=(",", ":")).encode()


def dumps_digest(d):
    # compact, with "\/" as CloudTrail writes it; the hash is over these exact bytes
    return json.dumps(d, separators=(",", ":")).replace("/", "\\/").encode()


def string_to_sign(d, sha_hex):
    prev = d["previousDigestSignature"]
    return ("%s\n%s/%s\n%s\n%s" % (d["digestEndTime"], d["digestS3Bucket"], d["digestS3Object"],
                                   sha_hex, prev if prev is not None else "null")).encode()


class Trail:
    def __init__(self, out):
        self.out = out
        self.root = os.path.join(out, BUCKET)
        self.fp = {}
        self.ders = {}
        for name, pkcs1 in (("a", True), ("b", False), ("attacker", True)):
            b = der(name, pkcs1)
            self.ders[name] = b
            self.fp[name] = hashlib.md5(b).hexdigest()
        self.digests = {}  # key -> (dict, raw bytes, signature hex, signer)
        self.logs = {}     # key -> raw bytes

    def path(self, key, bucket=BUCKET):
        return os.path.join(self.out, bucket, key)

    def add_digest(self, region, hour, signer, prev, logs, backfill=False, bucket=BUCKET):
        start = T0 + dt.timedelta(hours=hour)
        end = start + dt.timedelta(hours=1)
        key = digest_key(region, end, backfill)
        files = []
        for i, when in enumerate(logs):
            lk = log_key(region, when, hour * 10 + i)
            body = log_body(region, when, hour * 10 + i)
            self.logs[lk] = body
            write(self.path(lk, bucket), gz(body))
            files.append({"s3Bucket": bucket, "s3Object": lk,
                          "hashValue": hashlib.sha256(body).hexdigest(), "hashAlgorithm": "SHA-256",
                          "newestEventTime": iso(when), "oldestEventTime": iso(when)})
        d = {"awsAccountId": ACCT, "digestStartTime": iso(start), "digestEndTime": iso(end),
             "digestS3Bucket": bucket, "digestS3Object": key,
             "digestPublicKeyFingerprint": self.fp[signer], "digestSignatureAlgorithm": "SHA256withRSA",
             "newestEventTime": iso(max(logs)) if logs else None,
             "oldestEventTime": iso(min(logs)) if logs else None,
             "previousDigestS3Bucket": self.digests[prev][4] if prev else None,
             "previousDigestS3Object": prev if prev else None,
             "previousDigestHashValue": self.digests[prev][3] if prev else None,
             "previousDigestHashAlgorithm": "SHA-256" if prev else None,
             "previousDigestSignature": self.digests[prev][2] if prev else None,
             "logFiles": files}
        self.store(key, d, signer, backfill, bucket)
        return key

    def store(self, key, d, signer, backfill, bucket):
        raw = dumps_digest(d)
        sha = hashlib.sha256(raw).hexdigest()
        sig = sign(signer, string_to_sign(d, sha))
        self.digests[key] = (d, raw, sig, sha, bucket)
        write(self.path(key, bucket), gz(raw))
        if backfill:
            meta = {"AcceptRanges": "bytes", "ContentLength": 0, "ContentType": "application/x-gzip",
                    "Metadata": {"signature": sig, "signature-algorithm": "SHA256withRSA",
                                 "backfill-generation-timestamp": BACKFILL_TS}}
            write(self.path(key, bucket) + ".sig", (json.dumps(meta, indent=4) + "\n").encode())
        else:
            write(self.path(key, bucket) + ".sig", (sig + "\n").encode())

    def keys_file(self, names, path):
        validity = {"a": ("2026-01-01T00:00:00Z", "2026-01-15T06:00:00Z"),
                    "b": ("2026-01-15T04:00:00Z", "2026-02-15T00:00:00Z"),
                    "attacker": ("2026-01-01T00:00:00Z", "2026-02-15T00:00:00Z")}
        lst = [{"Value": base64.b64encode(self.ders[n]).decode(), "ValidityStartTime": validity[n][0],
                "ValidityEndTime": validity[n][1], "Fingerprint": self.fp[n]} for n in names]
        write(path, (json.dumps({"PublicKeyList": lst}, indent=4) + "\n").encode())


def hours(h, *minutes):
    return [T0 + dt.timedelta(hours=h, minutes=m) for m in minutes]


def build(out, second_bucket=False):
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    t = Trail(out)
    e = "us-east-1"
    k = [None] * 9
    k[0] = t.add_digest(e, 0, "a", None, hours(0, 10, 35))
    k[1] = t.add_digest(e, 1, "a", k[0], hours(1, 5, 40))
    k[2] = t.add_digest(e, 2, "a", k[1], [])
    k[3] = t.add_digest(e, 3, "a", k[2], hours(3, 12, 30))
    if second_bucket:
        # the trail moved to another bucket after hour 3; its chain continues across buckets
        k[4] = t.add_digest(e, 4, "a", k[3], hours(4, 20), bucket=BUCKET2)
        k[5] = t.add_digest(e, 5, "b", k[4], hours(5, 15), bucket=BUCKET2)
    else:
        bf4 = t.add_digest(e, 4, "b", None, hours(4, 20), backfill=True)
        t.add_digest(e, 5, "b", bf4, hours(5, 15), backfill=True)
    b2 = BUCKET2 if second_bucket else BUCKET
    k[6] = t.add_digest(e, 6, "b", k[5] if second_bucket else None, hours(6, 8, 44), bucket=b2)
    k[7] = t.add_digest(e, 7, "b", k[6], hours(7, 3, 33), bucket=b2)
    k[8] = t.add_digest(e, 8, "b", k[7], hours(8, 25), bucket=b2)
    w0 = t.add_digest("us-west-2", 0, "a", None, hours(0, 22))
    t.add_digest("us-west-2", 1, "a", w0, hours(1, 50))
    t.keys_file(["a", "b"], os.path.join(out, "keys.json"))
    t.keys_file(["attacker"], os.path.join(out, "keys-attacker.json"))
    t.k = k
    return t


def redo_digest(t, key, d, signer, new_key=None):
    """Re-serialise d, sign it with signer and write it at new_key (default: key)."""
    raw = dumps_digest(d)
    sha = hashlib.sha256(raw).hexdigest()
    sig = sign(signer, string_to_sign(d, sha))
    dest = t.path(new_key or key)
    write(dest, gz(raw))
    write(dest + ".sig", (sig + "\n").encode())


def tamper(t, name):
    k = t.k
    d1 = t.digests[k[1]][0]
    log1 = d1["logFiles"][0]["s3Object"]
    log3 = t.digests[k[3]][0]["logFiles"][1]["s3Object"]
    if name == "log-byte":
        body = t.logs[log1].replace(b"alice", b"alicf")
        write(t.path(log1), gz(body))
    elif name == "log-deleted":
        os.remove(t.path(log3))
    elif name == "log-unlisted":
        when = T0 + dt.timedelta(hours=1, minutes=20)
        lk = log_key("us-east-1", when, 99)
        write(t.path(lk), gz(log_body("us-east-1", when, 99)))
    elif name == "digest-deleted":
        os.remove(t.path(k[1]))
        os.remove(t.path(k[1]) + ".sig")
    elif name == "digest-changed":
        raw = t.digests[k[1]][1]
        d = json.loads(raw)
        del d["logFiles"][1]  # hide a log; the signature is left as it was
        write(t.path(k[1]), gz(dumps_digest(d)))
    elif name == "forged-signature":
        write(t.path(k[1]) + ".sig", (sign("a", b"something else") + "\n").encode())
    elif name == "wrong-key":
        d = json.loads(t.digests[k[7]][1])
        del d["logFiles"][0]
        d["digestPublicKeyFingerprint"] = t.fp["attacker"]
        redo_digest(t, k[7], d, "attacker")
    elif name == "reordered":
        a, b = t.path(k[1]), t.path(k[2])
        for suffix in ("", ".sig"):
            os.rename(a + suffix, a + suffix + ".tmp")
            os.rename(b + suffix, a + suffix)
            os.rename(a + suffix + ".tmp", b + suffix)
    elif name == "digest-moved":
        # the same digest under a later time stamp in its key (and the original key gone)
        moved = k[1].replace("T021742Z", "T021900Z")
        assert moved != k[1]
        os.rename(t.path(k[1]), t.path(moved))
        os.rename(t.path(k[1]) + ".sig", t.path(moved) + ".sig")
    elif name == "log-truncated":
        with open(t.path(log3), "rb") as f:
            data = f.read()
        write(t.path(log3), data[:40])
    elif name == "digest-resigned":
        # a digest rewritten and validly signed (a stolen signing key): its own signature
        # verifies, as aws-cli would accept; the newer digest's record of it does not match
        d = json.loads(t.digests[k[1]][1])
        del d["logFiles"][1]
        redo_digest(t, k[1], d, "a")
    elif name == "sig-missing":
        os.remove(t.path(k[1]) + ".sig")
    elif name == "newest-sig-missing":
        os.remove(t.path(k[8]) + ".sig")
    elif name == "log-two-members":
        with open(t.path(log1), "ab") as f:
            f.write(gz(b"{}"))
    elif name == "bad-json-digest":
        raw = t.digests[k[1]][1]
        write(t.path(k[1]), gz(raw[:100]))
    elif name == "oldest-expired":
        # what a lifecycle rule does: the oldest hour's digest and logs are gone
        for lf in t.digests[k[0]][0]["logFiles"]:
            os.remove(t.path(lf["s3Object"]))
        os.remove(t.path(k[0]))
        os.remove(t.path(k[0]) + ".sig")
    elif name == "empty-log":
        write(t.path(log3), b"")
    elif name != "none":
        sys.exit("unknown tampering %s (one of %s)" % (name, ", ".join(TAMPERS)))


AGENTS = ["aws-cli/2.15.30 Python/3.11.8 Linux/6.1 exe/x86_64.amzn.2023", "Boto3/1.34.69 md/Botocore#1.34.69",
          "console.amazonaws.com", "aws-sdk-go-v2/1.25.3 os/linux lang/go#1.22.1", "cloudtrail.amazonaws.com",
          "AWS Internal", "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.661]"]
EVENTS = [("s3.amazonaws.com", "GetObject"), ("s3.amazonaws.com", "PutObject"), ("ec2.amazonaws.com", "DescribeInstances"),
          ("sts.amazonaws.com", "AssumeRole"), ("kms.amazonaws.com", "Decrypt"), ("iam.amazonaws.com", "ListRoles"),
          ("logs.amazonaws.com", "PutLogEvents"), ("lambda.amazonaws.com", "Invoke"), ("s3.amazonaws.com", "DeleteObject")]


def bench_record(rnd, when):
    src, name = EVENTS[rnd.randrange(len(EVENTS))]
    h = "%032x" % rnd.getrandbits(128)
    return {"eventVersion": "1.09", "userIdentity": {
                "type": "AssumedRole", "principalId": "AROA%016X:session-%d" % (rnd.getrandbits(64), rnd.randrange(500)),
                "arn": "arn:aws:sts::%s:assumed-role/app-role-%d/session-%d" % (ACCT, rnd.randrange(40), rnd.randrange(500)),
                "accountId": ACCT, "accessKeyId": "ASIA%016X" % rnd.getrandbits(64),
                "sessionContext": {"attributes": {"creationDate": iso(when), "mfaAuthenticated": "false"}}},
            "eventTime": iso(when), "eventSource": src, "eventName": name, "awsRegion": "us-east-1",
            "sourceIPAddress": "%d.%d.%d.%d" % (rnd.randrange(1, 224), rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)),
            "userAgent": AGENTS[rnd.randrange(len(AGENTS))],
            "requestParameters": {"bucketName": "data-%d" % rnd.randrange(30), "key": "obj/%s/%d.parquet" % (h[:12], rnd.randrange(10**6))},
            "responseElements": None, "requestID": h[:16].upper(), "eventID": "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:]),
            "readOnly": name.startswith(("Get", "Describe", "List")), "eventType": "AwsApiCall", "managementEvent": src != "s3.amazonaws.com",
            "recipientAccountId": ACCT, "eventCategory": "Data" if src == "s3.amazonaws.com" else "Management",
            "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": "%s" % src}}


def build_bench(out, mb, nhours=24, log_kb=4096):
    """A trail of nhours hourly digests whose logs (of about log_kb KiB each) hold about mb MiB
    of uncompressed CloudTrail records."""
    import random
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    t = Trail(out)
    rnd = random.Random(20260115)
    per_log = log_kb << 10
    nlogs = max(nhours, (mb << 20) // per_log)
    prev = None
    done = 0
    for hour in range(nhours):
        start = T0 + dt.timedelta(hours=hour)
        end = start + dt.timedelta(hours=1)
        key = digest_key("us-east-1", end)
        files = []
        count = nlogs // nhours + (1 if hour < nlogs % nhours else 0)
        for i in range(count):
            when = start + dt.timedelta(minutes=1 + i * 55 // max(count, 1))
            recs, size = [], 0
            while size < per_log:
                r = json.dumps(bench_record(rnd, when), separators=(",", ":"))
                recs.append(r)
                size += len(r) + 1
            body = ('{"Records":[' + ",".join(recs) + "]}").encode()
            lk = log_key("us-east-1", when, hour * 1000 + i)
            write(t.path(lk), gz(body))
            done += len(body)
            files.append({"s3Bucket": BUCKET, "s3Object": lk, "hashValue": hashlib.sha256(body).hexdigest(),
                          "hashAlgorithm": "SHA-256", "newestEventTime": iso(when), "oldestEventTime": iso(when)})
        d = {"awsAccountId": ACCT, "digestStartTime": iso(start), "digestEndTime": iso(end), "digestS3Bucket": BUCKET,
             "digestS3Object": key, "digestPublicKeyFingerprint": t.fp["a"], "digestSignatureAlgorithm": "SHA256withRSA",
             "newestEventTime": iso(end), "oldestEventTime": iso(start),
             "previousDigestS3Bucket": BUCKET if prev else None, "previousDigestS3Object": prev,
             "previousDigestHashValue": t.digests[prev][3] if prev else None,
             "previousDigestHashAlgorithm": "SHA-256" if prev else None,
             "previousDigestSignature": t.digests[prev][2] if prev else None, "logFiles": files}
        t.store(key, d, "a", False, BUCKET)
        prev = key
    keys = {"a": ("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z")}
    lst = [{"Value": base64.b64encode(t.ders["a"]).decode(), "ValidityStartTime": keys["a"][0],
            "ValidityEndTime": keys["a"][1], "Fingerprint": t.fp["a"]}]
    write(os.path.join(out, "keys.json"), (json.dumps({"PublicKeyList": lst}, indent=4) + "\n").encode())
    print("%d log files, %.1f MiB uncompressed" % (nlogs, done / 1048576.0))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--tamper", default="none", choices=TAMPERS)
    ap.add_argument("--prefix", default="", help="a key prefix for the whole trail")
    ap.add_argument("--second-bucket", action="store_true",
                    help="hours 4-8 go to a second bucket, the chain crossing over")
    ap.add_argument("--bench-mb", type=int, default=0, help="instead: a trail with this many MiB of logs")
    ap.add_argument("--bench-hours", type=int, default=24, help="with --bench-mb: hourly digests")
    ap.add_argument("--bench-log-kb", type=int, default=4096, help="with --bench-mb: size of each log")
    a = ap.parse_args()
    if a.bench_mb:
        build_bench(a.out, a.bench_mb, a.bench_hours, a.bench_log_kb)
        return
    global PREFIX
    PREFIX = a.prefix.strip("/") + "/" if a.prefix.strip("/") else ""
    t = build(a.out, a.second_bucket)
    tamper(t, a.tamper)


if __name__ == "__main__":
    main()
