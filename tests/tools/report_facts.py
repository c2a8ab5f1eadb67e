#!/usr/bin/env python3
"""Prints what a kumomori report page holds, one fact per line, for the CLI cases and the browser
test to compare with expected values written by hand (or, with --audit/--alerts, with the counts
of the audit JSON and alert lines themselves).

usage: report_facts.py REPORT.html [--audit AUDIT.json] [--alerts ALERTS.jsonl]
"""
import collections
import html.parser
import json
import re
import sys


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "line", "link", "meta", "source", "track", "wbr"}


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids = set()
        self.stack = []          # open elements: (tag, attrs)
        self.rows = []           # (table id, tr attrs, [cell texts], {class: text})
        self.row = None
        self.cell = None
        self.scripts = []        # (attrs, text)
        self.styles = []
        self.in_script = self.in_style = False
        self.text_in = collections.defaultdict(str)   # id -> text
        self.external = []
        self.handlers = []
        self.lanes = {}
        self.bars = 0
        self.svg = {}
        self.zoom = {}
        self.outputs = {}
        self.tags = collections.Counter()
        self.title = ""
        self.in_title = False

    def table_id(self):
        for tag, a in reversed(self.stack):
            if tag == "table":
                return a.get("id", "")
        return ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags[tag] += 1
        for k, v in attrs:
            if k.startswith("on"):
                self.handlers.append((tag, k))
            if k in ("src", "href", "xlink:href", "action", "srcset", "data", "poster") and v is not None:
                if re.match(r"\s*(https?:|//|ftp:|file:|javascript:)", v, re.I):
                    self.external.append((tag, k, v))
        if tag in ("link", "iframe", "object", "embed", "img", "base"):
            self.external.append((tag, "tag", ""))
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "title" and not self.stack_has("svg"):
            self.in_title = True
        if tag == "script":
            self.in_script = True
            self.scripts.append([a, ""])
        if tag == "style":
            self.in_style = True
            self.styles.append("")
        if tag == "tr":
            self.row = [self.table_id(), a, [], {}]
        if tag in ("td", "th") and self.row is not None:
            self.cell = [a, ""]
        if tag == "br" and self.cell is not None:
            self.cell[1] += "\n"
        if tag == "code" and "check-id" in a.get("class", "") and self.row is not None:
            a["_check"] = True
            self.row[3]["check"] = ""
        cls = a.get("class", "").split()
        if tag == "g" and "lane" in cls:
            self.lanes[a.get("data-scenario")] = int(a.get("data-alerts", "-1"))
        if tag == "rect" and "bar" in cls:
            self.bars += 1
        if tag == "svg" and a.get("id") == "timeline":
            self.svg = a
        if tag == "svg" and a.get("id") == "timeline-zoom":
            self.zoom = a
        if tag == "output":
            self.outputs[a.get("id")] = ""
        if tag not in VOID:
            self.stack.append((tag, a))

    def stack_has(self, tag):
        return any(t == tag for t, _ in self.stack)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if self.stack and self.stack[-1][0] == tag:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = False
        if tag == "style":
            self.in_style = False
        if tag == "title":
            self.in_title = False
        if tag in ("td", "th") and self.row is not None and self.cell is not None:
            self.row[2].append(self.cell[1].strip())
            cls = self.cell[0].get("class", "")
            for c in cls.split():
                self.row[3].setdefault("cell:" + c, self.cell[0])
            self.cell = None
        if tag == "tr" and self.row is not None:
            self.rows.append(self.row)
            self.row = None
        while self.stack:
            t, _ = self.stack.pop()
            if t == tag:
                break

    def handle_data(self, data):
        if self.in_script:
            self.scripts[-1][1] += data
            return
        if self.in_style:
            self.styles[-1] += data
            return
        if self.in_title:
            self.title += data
        if self.cell is not None:
            self.cell[1] += data
        for t, a in self.stack:
            if a.get("_check") and self.row is not None:
                self.row[3]["check"] += data
            if "id" in a:
                self.text_in[a["id"]] += data
        for t, a in self.stack:
            if t == "output":
                self.outputs[a.get("id")] += data


def rows_of(p, table):
    return [r for r in p.rows if r[0] == table and "data-" + {"heatmap": "scenario", "fixes": "closes",
            "findings": "status", "recoverability": "verdict", "alerts": "severity"}[table] in r[1]]


def main():
    args = sys.argv[1:]
    path = args[0]
    audit = alerts = None
    if "--audit" in args:
        audit = json.load(open(args[args.index("--audit") + 1], encoding="utf-8"))
    if "--alerts" in args:
        alerts = []
        for line in open(args[args.index("--alerts") + 1], encoding="utf-8"):
            try:
                a = json.loads(line)
                if isinstance(a, dict) and isinstance(a.get("ruleId"), str):
                    alerts.append(a)
            except ValueError:
                pass
    raw = open(path, encoding="utf-8").read()
    p = Page()
    p.feed(raw)
    p.close()
    out = []
    out.append("title: " + p.title.strip())
    for i in ("report-header", "accounts", "generated-at", "kumomori-version", "toc", "scenarios", "heatmap",
              "fix-first", "fixes", "recoverability-section", "recoverability", "recoverability-absent",
              "findings-section", "filters", "findings", "alerts-section", "timeline", "alerts", "alerts-skipped",
              "problems"):
        out.append("id %s: %s" % (i, "yes" if i in p.ids else "no"))
    out.append("accounts: " + " ".join(p.text_in.get("accounts", "").split()))
    out.append("generated at: " + p.text_in.get("generated-at", "").strip())
    out.append("version: " + " ".join(p.text_in.get("kumomori-version", "").split()))
    for r in rows_of(p, "heatmap"):
        a, cells, cl = r[1], r[2], r[3]
        if "absent" in a.get("class", ""):
            out.append("heat %s absent" % a["data-scenario"])
            continue
        out.append("heat %s %s score=%s fail=%s unknown=%s pass=%s na=%s" % (
            a["data-scenario"], a["data-status"], cl["cell:score"].get("data-score"),
            cl["cell:fail"].get("data-count"), cl["cell:unknown"].get("data-count"),
            cl["cell:pass"].get("data-count"), cl["cell:na"].get("data-count")))
    for r in rows_of(p, "fixes"):
        out.append("fix %s %s closes=%s %s %s" % (r[2][0], r[3].get("check", "").strip(), r[1]["data-closes"],
                                                    r[1]["data-severity"], r[1]["data-scenarios"]))
    f = rows_of(p, "findings")
    out.append("findings: %d rows, %d hidden" % (len(f), sum("hidden" in r[1] for r in f)))
    for r in f:
        out.append("finding %s %s %s [%s]%s" % (r[1]["data-status"], r[1]["data-severity"],
                                               r[3].get("check", "").strip(), r[1]["data-scenarios"],
                                               " hidden" if "hidden" in r[1] else ""))
    if "findings-shown" in p.outputs:
        out.append("findings shown: " + p.outputs["findings-shown"])
    if "recoverability-absent" in p.ids:
        out.append("recoverability: " + " ".join(p.text_in["recoverability-absent"].split()))
    elif "recoverability-section" in p.ids:
        out.append("recoverability: " + " ".join(p.text_in.get("recoverability-score", "").split()))
        vc = re.findall(r'class="verdict-count" data-verdict="([A-Z_]+)" data-count="(\d+)"', raw)
        out.append("verdicts: " + " ".join("%s=%s" % x for x in vc))
        for r in rows_of(p, "recoverability"):
            out.append("store %s %s copies=%s principals=%s" % (r[1]["data-verdict"], r[2][1].split("\n")[0][:60],
                                                             r[3]["cell:copies"].get("data-count"),
                                                             r[1]["data-principals"]))
    if "alerts-section" in p.ids:
        m = re.search(r'id="alerts-summary" data-alerts="(\d+)" data-skipped="(\d+)"', raw)
        out.append("alerts: read=%s skipped=%s" % m.groups())
        al = rows_of(p, "alerts")
        out.append("alert rows: %d, %d hidden" % (len(al), sum("hidden" in r[1] for r in al)))
        if "alerts-shown" in p.outputs:
            out.append("alerts shown: " + p.outputs["alerts-shown"])
        out.append("lanes: " + " ".join("%s=%d" % (k, v) for k, v in sorted(p.lanes.items())))
        if p.svg:
            out.append("timeline: %s buckets of %s s, %d bars" % (p.svg.get("data-buckets"),
                                                                 p.svg.get("data-bucket-seconds"), p.bars))
        if p.zoom:
            out.append("close-up: %s buckets of %s s" % (p.zoom.get("data-buckets"), p.zoom.get("data-bucket-seconds")))
    out.append("scripts: %d, with src: %d" % (len(p.scripts), sum("src" in a for a, _ in p.scripts)))
    out.append("external references: %d" % len(p.external))
    out.append("event handler attributes: %d" % len(p.handlers))
    css = "".join(p.styles)
    out.append("css @import or url(): %s" % ("yes" if re.search(r"@import|url\(", css) else "no"))
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', raw)
    out.append("csp default-src none: %s" % ("yes" if csp and "default-src 'none'" in csp.group(1) else "no"))

    if audit is not None:
        # the page against the audit document itself
        want = {}
        for s in audit["scenarios"]:
            want[s["id"]] = (s["status"], str(s.get("fail", 0)), str(s.get("unknown", 0)), str(s.get("pass", 0)),
                             str(s.get("not_applicable", 0)))
        got = {}
        for r in rows_of(p, "heatmap"):
            a, cl = r[1], r[3]
            if "absent" in a.get("class", ""):
                continue
            got[a["data-scenario"]] = (a["data-status"], cl["cell:fail"]["data-count"], cl["cell:unknown"]["data-count"],
                                       cl["cell:pass"]["data-count"], cl["cell:na"]["data-count"])
        out.append("check heatmap equals audit scenarios: %s" % ("ok" if got == want else "DIFFERENT %r %r" % (got, want)))
        out.append("check findings rows equal audit findings: %s" % (
            "ok" if len(f) == len(audit["findings"]) else "DIFFERENT %d %d" % (len(f), len(audit["findings"]))))
        closes = collections.Counter(x["check_id"] for x in audit["findings"]
                                     if x["status"] == "FAIL" and not x.get("suppressed"))
        gotc = {r[3].get("check", "").strip(): int(r[1]["data-closes"]) for r in rows_of(p, "fixes")}
        top = sorted(closes.values(), reverse=True)[:len(gotc)]
        ok = all(closes[k] == v for k, v in gotc.items()) and sorted(gotc.values(), reverse=True) == top
        ranks = [int(r[1]["data-closes"]) for r in rows_of(p, "fixes")]
        ok = ok and ranks == sorted(ranks, reverse=True)
        out.append("check fixes close what the audit's FAIL findings say, ranked: %s" % ("ok" if ok else "DIFFERENT"))
        rec = audit.get("recoverability")
        if rec:
            vc = dict(re.findall(r'class="verdict-count" data-verdict="([A-Z_]+)" data-count="(\d+)"', raw))
            ok = all(str(rec["counts"].get(k, 0)) == v for k, v in vc.items()) and \
                len(rows_of(p, "recoverability")) == len(rec["stores"])
            out.append("check recoverability equals the audit's: %s" % ("ok" if ok else "DIFFERENT"))
    if alerts is not None:
        lanes = collections.Counter()
        for a in alerts:
            if not a.get("eventTime"):
                continue
            for s in set(a.get("scenarios") or []):
                lanes[s] += 1
        ok = all(lanes.get(k, 0) == v for k, v in p.lanes.items()) and sum(p.lanes.values()) == sum(
            v for k, v in lanes.items() if re.fullmatch(r"S[1-7]", k))
        out.append("check lanes equal the alerts per scenario: %s" % ("ok" if ok else "DIFFERENT %r %r" % (p.lanes, lanes)))
    print("\n".join(out))


if __name__ == "__main__":
    main()
