#!/usr/bin/env python3
"""Keeps the generated parts of docs/audit.md (the read-only IAM policy and the check list) equal
to what the binary prints.

usage: tools/audit_docs.py KUMOMORI [--write]
  without --write: exit 1 and say which part differs when docs/audit.md is stale
  with --write:    rewrite those parts in place
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DOC = os.path.join(HERE, "..", "docs", "audit.md")
km, write = sys.argv[1], "--write" in sys.argv[2:]


def run(*args):
    return subprocess.run([km, *args], check=True, capture_output=True, text=True).stdout


parts = {
    "kumomori collect --print-policy": "```json\n" + run("collect", "--print-policy").rstrip("\n") + "\n```\n",
    "kumomori audit --list-checks --format markdown": run("audit", "--list-checks", "--format", "markdown"),
}
text = open(DOC, encoding="utf-8").read()
stale = []
for name, body in parts.items():
    begin, end = f"<!-- BEGIN: {name} -->\n", f"<!-- END: {name} -->"
    i, j = text.find(begin), text.find(end)
    if i < 0 or j < i:
        sys.exit(f"docs/audit.md: the markers of '{name}' are missing")
    i += len(begin)
    if text[i:j] != body:
        stale.append(name)
        text = text[:i] + body + text[j:]
if write:
    open(DOC, "w", encoding="utf-8").write(text)
    print("docs/audit.md: rewrote " + (", ".join(stale) if stale else "nothing (already current)"))
elif stale:
    print("docs/audit.md is stale: " + ", ".join(stale) + " (run tools/audit_docs.py build/kumomori --write)")
    sys.exit(1)
else:
    print("docs/audit.md is current")
