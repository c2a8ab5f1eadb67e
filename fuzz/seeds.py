#!/usr/bin/env python3
"""Seed corpus for one fuzz target, built at run time from the project's own data (tests/data,
rules/, examples/, checks/) and from ../shared/corpora when present; nothing is copied into the
repository: the seeds go to the folder given (under build/).

usage: seeds.py TARGET OUTDIR

Each target's input format is described in its fuzz/fuzz_<target>.c header; this script writes
seeds in that format (a leading flags byte 0 where the target takes one)."""
import gzip, hashlib, json, os, sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPORA = os.environ.get("KUMOMORI_CORPORA") or os.path.join(TOP, "..", "shared", "corpora")
MAX_SEED = 64 * 1024
MAX_SEEDS = 1500


def files(*roots, ext=()):
    for root in roots:
        root = os.path.join(TOP, root) if not os.path.isabs(root) else root
        if os.path.isfile(root):
            yield root
            continue
        for d, subs, names in os.walk(root):
            subs.sort()
            for n in sorted(names):
                if not ext or n.endswith(ext):
                    yield os.path.join(d, n)


def corpora(*sub):
    p = os.path.join(CORPORA, *sub)
    return [p] if os.path.exists(p) else []


def read(path):
    try:
        with open(path, "rb") as f:
            b = f.read(8 * MAX_SEED + 1)
        if path.endswith(".gz"):
            b = gzip.decompress(b)
        return b
    except (OSError, EOFError, gzip.BadGzipFile):
        return None


def jsonl(path, limit=300):
    b = read(path)
    if b is None:
        return
    for i, line in enumerate(b.splitlines()):
        if i >= limit:
            break
        try:
            yield json.loads(line)
        except ValueError:
            continue


def records(path):
    """CloudTrail records of a delivery file, JSON-lines file or array."""
    b = read(path)
    if not b:
        return
    try:
        v = json.loads(b)
        if isinstance(v, dict) and isinstance(v.get("Records"), list):
            yield from v["Records"][:50]
        elif isinstance(v, list):
            yield from v[:50]
        elif isinstance(v, dict):
            yield v
        return
    except ValueError:
        pass
    for i, line in enumerate(b.splitlines()):
        if i >= 100:
            break
        try:
            yield json.loads(line)
        except ValueError:
            continue


def dumps(v):
    return json.dumps(v, separators=(",", ":")).encode()


def gen_json():
    for p in files("rules", "checks", "tests/data", "examples/snapshot", *corpora("audit", "synthetic"),
                   *corpora("integrity"), *corpora("audit", "awscli-examples"), ext=(".json", ".jsonl")):
        b = read(p)
        if b:
            yield b"\0" + b


def trail_files():
    return files("examples/trail", "tests/data/detect", *corpora("cloudtrail", "stratus-red-team"),
                 *corpora("cloudtrail", "invictus-sigma-aws"), *corpora("cloudtrail", "otrf-security-datasets"),
                 ext=(".json", ".jsonl", ".json.gz"))


def gen_match_event():
    for p in trail_files():
        if "Digest" in p:
            continue
        for r in records(p):
            yield b"\0" + dumps(r)
    for p in corpora("patterns", "cases.jsonl"):
        for c in jsonl(p, 2000):
            if isinstance(c.get("event"), str):
                yield b"\0" + c["event"].encode()


def gen_extract():
    for seed in gen_match_event():
        yield seed[1:]


def gen_pattern():
    for p in files("rules", "tests/data/detect/rules", ext=(".json",)):
        try:
            v = json.loads(read(p))
        except (ValueError, TypeError):
            continue
        if isinstance(v, dict) and "pattern" in v:
            yield dumps(v["pattern"])
    for p in corpora("patterns", "cases.jsonl") + corpora("patterns", "probes-both-peers.jsonl") + \
            corpora("cloudtrail", "eventbridge-patterns-localstack", "eventbridge_pattern_cases.jsonl"):
        for c in jsonl(p, 3000):
            if isinstance(c.get("pattern"), str):
                yield c["pattern"].encode()


def gen_rule():
    for p in files("rules", "tests/data/detect/rules", ext=(".json",)):
        b = read(p)
        if b:
            yield b


def gen_sigma():
    for p in files("rules", "tests/data/detect/rules", *corpora("cloudtrail", "sigma"),
                   *corpora("cloudtrail", "invictus-sigma-aws"), ext=(".yml", ".yaml")):
        b = read(p)
        if b:
            yield b


def gen_reader():
    for p in trail_files():
        b = read(p)
        if b:
            yield b"\0" + b[:MAX_SEED - 1]


def gen_gzip():
    for p in files("examples/trail", "tests/data", ext=(".gz",)):
        try:
            with open(p, "rb") as f:
                b = f.read(MAX_SEED)
        except OSError:
            continue
        yield b"\0" + b


def gen_snap():
    # The check tests' cases are small snapshots: one seed per case, its files joined.
    for p in files("tests/data/audit/checks", ext=(".json",)):
        try:
            doc = json.loads(read(p))
        except (ValueError, TypeError):
            continue
        fixtures = doc.get("fixtures") or {}
        for case in doc.get("cases") or []:
            fl = {}
            for u in case.get("use") or []:
                fl.update(fixtures.get(u) or {})
            fl.update(case.get("files") or {})
            parts = []
            for rel, v in fl.items():
                if not rel[:12].isdigit():
                    rel = "111122223333/" + rel
                body = v.encode() if isinstance(v, str) else dumps(v)
                parts.append(rel.encode() + b"\n" + body)
            if parts:
                yield b"\n=====\n".join(parts[:8])
    roots = [os.path.join(TOP, "examples/snapshot"), os.path.join(TOP, "tests/data/audit")]
    roots += corpora("audit", "synthetic") + corpora("audit", "cloudmapper-demo")
    for root in roots:
        for p in files(root, ext=(".json",)):
            rel = os.path.relpath(p, root)
            if root.endswith("cloudmapper-demo"):
                rel = "111122223333/" + rel
            b = read(p)
            if b:
                yield rel.encode() + b"\n" + b


def gen_iam():
    for p in files("tests/data/iam", *corpora("iam", "authz_details"), ext=(".json",)):
        b = read(p)
        if b:
            yield b"\0" + b
    for p in corpora("iam", "cases.jsonl"):
        for c in jsonl(p, 400):
            for k in ("identityPolicies", "serviceControlPolicies", "resourceControlPolicies"):
                v = c.get(k)
                if isinstance(v, list):
                    for x in v:
                        doc = x.get("policy") if isinstance(x, dict) and "policy" in x else x
                        yield bytes([1 + len(k) % 7]) + dumps(doc)
            if isinstance(c.get("resourcePolicy"), (dict, str)):
                yield b"\1" + dumps(c["resourcePolicy"])


def gen_digest():
    for p in files("examples/trail", *corpora("integrity"), ext=(".json", ".json.gz")):
        if "Digest" in p or "digest" in p or "keys" in p:
            b = read(p)
            if b:
                yield b


def gen_seal():
    # Groups of 1..12 records as JSON lines: the target seals them, then changes the stream as the
    # three bytes after the mode byte say (mode byte even: checkpoint every 1..8 records).
    recs = []
    for p in trail_files():
        for r in records(p):
            recs.append(dumps(r))
            if len(recs) >= 400:
                break
        if len(recs) >= 400:
            break
    for i in range(0, len(recs), 7):
        group = recs[i:i + 1 + i % 12]
        head = bytes([(2 * i) % 16, i % 4, (i * 7) % 256, (i * 13) % 256])
        yield head + b"\n".join(group)
    for p in files("tests/data/detect", ext=(".jsonl",)):
        b = read(p)
        if b:
            lines = b.splitlines()
            for i in range(0, min(len(lines), 60), 6):
                yield b"\0" + b"\n".join(lines[i:i + 6])
    for p in files("tests/cli/cases"):
        if "seal" in p and os.path.basename(p) not in ("cmd", "exit", "stdout-has", "stdout-lacks", "stderr-has"):
            b = read(p)
            if b:
                yield b"\1" + b


GEN = {n[4:]: f for n, f in globals().items() if n.startswith("gen_")}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in GEN:
        sys.exit("usage: seeds.py {%s} OUTDIR" % ",".join(sorted(GEN)))
    target, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    seen = 0
    for seed in GEN[target]():
        if len(seed) > MAX_SEED:
            continue
        name = hashlib.sha1(seed).hexdigest()
        path = os.path.join(out, name)
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(seed)
        seen += 1
        if seen >= MAX_SEEDS:
            break
    print("%s: %d seeds in %s" % (target, seen, out))


if __name__ == "__main__":
    main()
