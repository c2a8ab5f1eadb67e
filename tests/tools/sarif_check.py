#!/usr/bin/env python3
"""Check a SARIF log against the required structure of the SARIF 2.1.0 schema (OASIS,
sarif-schema-2.1.0.json): the required properties, enums, types and index ranges of every object
kumomori emits. The schema file itself is not vendored; when SARIF_SCHEMA names a copy and the
jsonschema module is installed, the log is also validated against the full schema.
usage: sarif_check.py FILE  (prints "ok: N results" or the problems, exit 1 on any)"""
import json, os, sys

problems = []

def bad(path, msg):
    problems.append(f"{path}: {msg}")

def need(obj, path, *keys):
    for k in keys:
        if k not in obj:
            bad(path, f"required property '{k}' is missing")

def typ(v, t, path):
    ok = {"string": isinstance(v, str), "object": isinstance(v, dict), "array": isinstance(v, list),
          "integer": isinstance(v, int) and not isinstance(v, bool), "boolean": isinstance(v, bool)}[t]
    if not ok:
        bad(path, f"must be {t}, is {type(v).__name__}")
    return ok

def enum(v, allowed, path):
    if v not in allowed:
        bad(path, f"{v!r} is not one of {allowed}")

LEVELS = ["none", "note", "warning", "error"]
KINDS = ["notApplicable", "pass", "fail", "review", "open", "informational"]

def property_bag(p, path):
    if not typ(p, "object", path):
        return
    if "tags" in p and typ(p["tags"], "array", path + ".tags"):
        for i, t in enumerate(p["tags"]):
            typ(t, "string", f"{path}.tags[{i}]")
        if len(set(map(str, p["tags"]))) != len(p["tags"]):
            bad(path + ".tags", "items must be unique")

def mfms(m, path):  # multiformatMessageString
    if typ(m, "object", path):
        need(m, path, "text")
        if "text" in m:
            typ(m["text"], "string", path + ".text")

def message(m, path):
    if typ(m, "object", path):
        if "text" not in m and "id" not in m:
            bad(path, "a message needs 'text' or 'id'")
        if "text" in m:
            typ(m["text"], "string", path + ".text")

def location(loc, path):
    if not typ(loc, "object", path):
        return
    if "physicalLocation" in loc:
        pl, pp = loc["physicalLocation"], path + ".physicalLocation"
        if typ(pl, "object", pp):
            if "address" not in pl and "artifactLocation" not in pl:
                bad(pp, "needs 'address' or 'artifactLocation'")
            al = pl.get("artifactLocation")
            if al is not None and typ(al, "object", pp + ".artifactLocation") and "uri" in al:
                u = al["uri"]
                if typ(u, "string", pp + ".artifactLocation.uri") and any(c in u for c in ' "<>\\^`{|}'):
                    bad(pp + ".artifactLocation.uri", f"{u!r} is not a URI reference")
            rg = pl.get("region")
            if rg is not None and typ(rg, "object", pp + ".region"):
                for k in ("startLine", "startColumn", "byteOffset", "charOffset"):
                    if k in rg and typ(rg[k], "integer", f"{pp}.region.{k}") and rg[k] < (1 if k.startswith("start") else 0):
                        bad(f"{pp}.region.{k}", "out of range")
    for i, ll in enumerate(loc.get("logicalLocations", [])):
        lp = f"{path}.logicalLocations[{i}]"
        if typ(ll, "object", lp):
            for k in ("name", "fullyQualifiedName", "kind", "decoratedName"):
                if k in ll:
                    typ(ll[k], "string", f"{lp}.{k}")

def check(log):
    if not typ(log, "object", "$"):
        return 0
    need(log, "$", "version", "runs")
    enum(log.get("version"), ["2.1.0"], "$.version")
    nres = 0
    runs = log.get("runs")
    if not typ(runs, "array", "$.runs"):
        return 0
    for ri, run in enumerate(runs):
        rp = f"$.runs[{ri}]"
        if not typ(run, "object", rp):
            continue
        need(run, rp, "tool")
        drv = run.get("tool", {}).get("driver")
        if drv is None:
            bad(rp + ".tool", "required property 'driver' is missing")
            continue
        dp = rp + ".tool.driver"
        need(drv, dp, "name")
        rules = drv.get("rules", [])
        ids = []
        for i, r in enumerate(rules):
            p = f"{dp}.rules[{i}]"
            if not typ(r, "object", p):
                continue
            need(r, p, "id")
            ids.append(r.get("id"))
            for k in ("shortDescription", "fullDescription", "help"):
                if k in r:
                    mfms(r[k], f"{p}.{k}")
            if "defaultConfiguration" in r and "level" in r["defaultConfiguration"]:
                enum(r["defaultConfiguration"]["level"], LEVELS, p + ".defaultConfiguration.level")
            if "properties" in r:
                property_bag(r["properties"], p + ".properties")
                ss = r["properties"].get("security-severity")
                if ss is not None and not (isinstance(ss, str) and 0.0 <= float(ss) <= 10.0):
                    bad(p + ".properties.security-severity", "must be a string holding 0.0 to 10.0")
        if len(set(ids)) != len(ids):
            bad(dp + ".rules", "rule ids must be unique")
        if "columnKind" in run:
            enum(run["columnKind"], ["utf16CodeUnits", "unicodeCodePoints"], rp + ".columnKind")
        for i, res in enumerate(run.get("results", [])):
            p = f"{rp}.results[{i}]"
            nres += 1
            if not typ(res, "object", p):
                continue
            need(res, p, "message")
            message(res.get("message"), p + ".message")
            if "level" in res:
                enum(res["level"], LEVELS, p + ".level")
            if "kind" in res:
                enum(res["kind"], KINDS, p + ".kind")
            if "ruleIndex" in res and typ(res["ruleIndex"], "integer", p + ".ruleIndex"):
                ix = res["ruleIndex"]
                if ix < -1 or ix >= len(rules):
                    bad(p + ".ruleIndex", f"{ix} is outside tool.driver.rules")
                elif ix >= 0 and res.get("ruleId") != rules[ix].get("id"):
                    bad(p, f"ruleId {res.get('ruleId')!r} is not rules[{ix}].id {rules[ix].get('id')!r}")
            for j, loc in enumerate(res.get("locations", [])):
                location(loc, f"{p}.locations[{j}]")
            for k, v in res.get("partialFingerprints", {}).items():
                typ(v, "string", f"{p}.partialFingerprints.{k}")
            if "properties" in res:
                property_bag(res["properties"], p + ".properties")
        for i, inv in enumerate(run.get("invocations", [])):
            p = f"{rp}.invocations[{i}]"
            need(inv, p, "executionSuccessful")
            typ(inv.get("executionSuccessful"), "boolean", p + ".executionSuccessful")
            for j, n in enumerate(inv.get("toolExecutionNotifications", [])):
                np_ = f"{p}.toolExecutionNotifications[{j}]"
                need(n, np_, "message")
                message(n.get("message"), np_ + ".message")
                if "level" in n:
                    enum(n["level"], LEVELS, np_ + ".level")
                for k, loc in enumerate(n.get("locations", [])):
                    location(loc, f"{np_}.locations[{k}]")
    return nres

def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        log = json.load(f)
    n = check(log)
    schema = os.environ.get("SARIF_SCHEMA")
    if schema and os.path.exists(schema):
        try:
            import jsonschema
            with open(schema) as f:
                for e in jsonschema.Draft4Validator(json.load(f)).iter_errors(log):
                    bad("schema " + "/".join(map(str, e.absolute_path)), e.message)
        except ImportError:
            pass
    if problems:
        print("\n".join(problems[:50]))
        sys.exit(1)
    print(f"ok: {n} results")

main()
