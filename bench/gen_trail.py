#!/usr/bin/env python3
"""Builds a large CloudTrail trail for the `kumomori detect` benchmark: gzipped delivery files
({"Records":[...]}) laid out as S3 holds them (AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/),
plus one digest file per account, region and hour (AWSLogs/<account>/CloudTrail-Digest/...), which
detect must recognise and skip.

The records are real ones, read at generation time from ../shared/corpora/cloudtrail (nothing is
copied into the repository): the background is the invictus-ir trail (its events without the
Stratus Red Team user agent) and the OTRF dataset; a small share (--attack-rate) is drawn from the
attack records (Stratus detonation logs, the Stratus part of the invictus trail, Panther's test
events). Each copy is re-stamped: eventTime (spread over --days, in order), eventID, requestID,
account id (every occurrence, three accounts), and the region (every occurrence; us-east-1,
eu-west-1 or ap-northeast-1 for regional services, us-east-1 for global ones such as IAM, as
CloudTrail logs them; this also replaces the made-up regions of the anonymised Stratus logs). Output is deterministic for the same corpora,
arguments and Python 3 (seeded PRNG, gzip mtime 0).

usage: gen_trail.py [--events N] [--out DIR] [--corpora DIR] [--seed S] [--days D]
                    [--attack-rate R]
A stamp file (DIR/MANIFEST) records the arguments and totals; when it matches, nothing is redone.
"""
import argparse
import datetime
import glob
import gzip
import json
import os
import random
import re
import shutil
import sys

ACCOUNTS = [("111122223333", 0.6), ("444455556666", 0.3), ("777788889999", 0.1)]
REGIONS = [("us-east-1", 0.6), ("eu-west-1", 0.25), ("ap-northeast-1", 0.15)]
# Global services log in us-east-1 whatever the caller's region: never re-stamp their region.
GLOBAL_SOURCES = {"iam.amazonaws.com", "sts.amazonaws.com", "signin.amazonaws.com",
                  "organizations.amazonaws.com", "cloudfront.amazonaws.com", "route53.amazonaws.com",
                  "health.amazonaws.com", "support.amazonaws.com", "account.amazonaws.com"}
PLACEHOLDER = re.compile(r"@@(TIME|EID|RID|ACCT|REGION)@@")
START = datetime.datetime(2024, 3, 4, tzinfo=datetime.timezone.utc)
FILE_SECONDS = 300  # CloudTrail delivers about every five minutes


def load_corpus(corpora):
    ct = os.path.join(corpora, "cloudtrail")
    background, attack = [], []
    files = sorted(glob.glob(os.path.join(ct, "invictus-sigma-aws", "CloudTrail", "*.json")))
    if not files:
        sys.exit("gen_trail.py: no CloudTrail corpus under %s (set --corpora)" % ct)
    for f in files:
        for r in json.load(open(f, encoding="utf-8"))["Records"]:
            (attack if "stratus" in (r.get("userAgent") or "").lower() else background).append(r)
    for f in sorted(glob.glob(os.path.join(ct, "otrf-security-datasets", "*.jsonl"))):
        for line in open(f, encoding="utf-8"):
            if line.strip():
                background.append(json.loads(line))
    for f in sorted(glob.glob(os.path.join(ct, "stratus-red-team", "detonation-logs", "*.json"))):
        attack.extend(json.load(open(f, encoding="utf-8")))
    tests = os.path.join(ct, "panther-analysis", "panther_cloudtrail_tests.jsonl")
    if os.path.exists(tests):
        for line in open(tests, encoding="utf-8"):
            log = json.loads(line).get("log")
            if isinstance(log, dict) and "eventName" in log and "eventSource" in log:
                attack.append(log)
    return background, attack


def template(rec):
    """The record as compact JSON text with placeholders where it is re-stamped."""
    d = {k: v for k, v in rec.items() if not k.startswith("p_") and not k.startswith("@")}
    acct = d.get("recipientAccountId") or (d.get("userIdentity") or {}).get("accountId")
    region = d.get("awsRegion") or "us-east-1"
    d["eventTime"] = "@@TIME@@"
    d["eventID"] = "@@EID@@"
    if "requestID" in d:
        d["requestID"] = "@@RID@@"
    d["recipientAccountId"] = "@@ACCT@@"
    regional = d.get("eventSource") not in GLOBAL_SOURCES
    d["awsRegion"] = "@@REGION@@"
    text = json.dumps(d, separators=(",", ":"), ensure_ascii=False)
    if acct and re.fullmatch(r"\d{12}", str(acct)):
        text = text.replace(str(acct), "@@ACCT@@")
    if region:
        text = text.replace('"%s"' % region, '"@@REGION@@"').replace(":%s:" % region, ":@@REGION@@:")
    parts = PLACEHOLDER.split(text)  # literal, key, literal, key, ..., literal
    # The Stratus logs are anonymised with made-up regions; global services log in us-east-1.
    return parts, (None if regional else "us-east-1")


def uuid4(rnd):
    h = "%032x" % rnd.getrandbits(128)
    return "%s-%s-4%s-%s%s-%s" % (h[:8], h[8:12], h[13:16], "89ab"[int(h[16], 16) & 3], h[17:20], h[20:32])


def pick(rnd, weighted):
    x, acc = rnd.random(), 0.0
    for v, w in weighted:
        acc += w
        if x < acc:
            return v
    return weighted[-1][0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--out", default=os.path.join(here, "out", "trail"))
    ap.add_argument("--corpora", default=os.environ.get("KUMOMORI_CORPORA",
                                                       os.path.join(here, "..", "..", "shared", "corpora")))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--days", type=float, default=7.0)
    ap.add_argument("--attack-rate", type=float, default=0.002)
    a = ap.parse_args()

    stamp = "gen_trail v2 events=%d seed=%d days=%g attack-rate=%g" % (a.events, a.seed, a.days, a.attack_rate)
    manifest = os.path.join(a.out, "MANIFEST")
    if os.path.exists(manifest) and open(manifest).readline().strip() == stamp:
        print(open(manifest).read().strip())
        return
    if os.path.exists(a.out):
        shutil.rmtree(a.out)
    os.makedirs(a.out)

    background, attack = load_corpus(a.corpora)
    bg_t = [template(r) for r in background]
    at_t = [template(r) for r in attack]
    rnd = random.Random(a.seed)
    span = a.days * 86400.0
    step = span / max(a.events, 1)
    nfiles = nbytes = nraw = 0
    open_files = {}  # (account, region) -> list of record texts for the current window

    def flush(window_start):
        nonlocal nfiles, nbytes, nraw
        t = START + datetime.timedelta(seconds=window_start)
        for (acct, region), recs in sorted(open_files.items()):
            d = os.path.join(a.out, "AWSLogs", acct, "CloudTrail", region, t.strftime("%Y/%m/%d"))
            os.makedirs(d, exist_ok=True)
            suffix = "".join(rnd.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
                             for _ in range(16))
            name = "%s_CloudTrail_%s_%sZ_%s.json.gz" % (acct, region, t.strftime("%Y%m%dT%H%M"), suffix)
            raw = ('{"Records":[' + ",".join(recs) + "]}").encode("utf-8")
            data = gzip.compress(raw, compresslevel=6, mtime=0)
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
            nfiles += 1
            nbytes += len(data)
            nraw += len(raw)
        open_files.clear()

    def digests(hour_start):
        nonlocal nfiles, nbytes, nraw
        t = START + datetime.timedelta(seconds=hour_start)
        for acct, _ in ACCOUNTS:
            for region, _ in REGIONS:
                d = os.path.join(a.out, "AWSLogs", acct, "CloudTrail-Digest", region, t.strftime("%Y/%m/%d"))
                os.makedirs(d, exist_ok=True)
                body = {"awsAccountId": acct, "digestStartTime": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "digestEndTime": (t + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "digestS3Bucket": "trail-%s" % acct, "digestS3Object": "", "logFiles": [],
                        "digestPublicKeyFingerprint": "%032x" % rnd.getrandbits(128),
                        "digestSignatureAlgorithm": "SHA256withRSA", "newestEventTime": None,
                        "oldestEventTime": None, "previousDigestS3Bucket": None,
                        "previousDigestS3Object": None, "previousDigestHashValue": None,
                        "previousDigestHashAlgorithm": None, "previousDigestSignature": None}
                name = "%s_CloudTrail-Digest_%s_trail_%s_%sZ.json.gz" % (acct, region, region,
                                                                          t.strftime("%Y%m%dT%H%M%S"))
                raw = json.dumps(body, separators=(",", ":")).encode()
                data = gzip.compress(raw, compresslevel=6, mtime=0)
                with open(os.path.join(d, name), "wb") as f:
                    f.write(data)
                nfiles += 1
                nbytes += len(data)
                nraw += len(raw)

    window = 0
    hour = -1
    n_attack = 0
    for i in range(a.events):
        secs = i * step + rnd.random() * step
        w = int(secs // FILE_SECONDS) * FILE_SECONDS
        if w != window:
            flush(window)
            window = w
        h = int(secs // 3600) * 3600
        if h != hour:
            digests(h)
            hour = h
        is_attack = rnd.random() < a.attack_rate
        n_attack += is_attack
        parts, fixed_region = rnd.choice(at_t if is_attack else bg_t)
        acct = pick(rnd, ACCOUNTS)
        region = fixed_region or pick(rnd, REGIONS)
        t = START + datetime.timedelta(seconds=secs)
        vals = {"TIME": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "EID": uuid4(rnd), "RID": uuid4(rnd),
                "ACCT": acct, "REGION": region}
        text = "".join(p if k % 2 == 0 else vals[p] for k, p in enumerate(parts))
        open_files.setdefault((acct, region), []).append(text)
    flush(window)

    summary = ("%s\nrecords %d (attack-pool records %d)\nfiles %d (with %d digests)\n"
               "gzip_bytes %d\nuncompressed_bytes %d\ncorpus background %d attack %d\n"
               % (stamp, a.events, n_attack, nfiles, (hour // 3600 + 1) * len(ACCOUNTS) * len(REGIONS),
                  nbytes, nraw, len(bg_t), len(at_t)))
    with open(manifest, "w") as f:
        f.write(summary)
    print(summary.strip())


if __name__ == "__main__":
    main()
