#!/usr/bin/env python3
"""Summary of a `make bench` run (bench/run.sh): reads bench/out/{cl2,scale,trail}.txt and the peer
figures, prints a Markdown report with the ratios the issue sets as targets. Targets are reported,
never enforced: these are benchmarks, not tests.

usage: summary.py OUT_DIR PEER_FIGURES"""
import os
import re
import statistics
import sys

LINE = re.compile(r"^(\S+) median_eps (\d+) min (\d+) max (\d+) runs ([\d ]+?) counts ([\d ]*?)(?: check (\S+))?(?: add_ms.*)?$")
HEADLINE = ["EXACT", "PREFIX", "SUFFIX", "EQUALS_IGNORE_CASE", "WILDCARD", "ANYTHING-BUT", "NUMERIC",
            "COMPLEX_ARRAYS", "COMBO"]


def parse_results(lines, prefix=None):
    res = {}
    for line in lines:
        line = line.rstrip("\n")
        label = None
        if prefix:
            if " " not in line:
                continue
            label, line = line.split(" ", 1)
        m = LINE.match(line)
        if m:
            res[(label, m.group(1))] = {"median": int(m.group(2)), "min": int(m.group(3)),
                                        "max": int(m.group(4)), "counts": m.group(6).split(),
                                        "check": m.group(7)}
            c = re.search(r"cpu_median_eps (\d+)", line)
            res[(label, m.group(1))]["cpu"] = int(c.group(1)) if c else None
    return res


def fmt(n):
    if n is None:
        return "n/a"
    return "{:,}".format(int(n))


def main():
    out, peers_path = sys.argv[1], sys.argv[2]
    print("# kumomori benchmark summary\n")
    mt = os.path.join(out, "machine.txt")
    if os.path.exists(mt):
        for line in open(mt):
            print("- " + line.strip())
    peers, peer_notes = {}, []
    if os.path.exists(peers_path):
        lines = open(peers_path).read().splitlines()
        peers = parse_results([l for l in lines if not l.startswith("#")], prefix=True)
        peer_notes = [l[2:].strip() for l in lines if l.startswith("#@")]
    print("- peer figures: %s%s" % (peers_path, "" if peers else " (none found)"))
    for n in peer_notes:
        print("  - " + n)

    cl2_path = os.path.join(out, "cl2.txt")
    if os.path.exists(cl2_path):
        ours = parse_results(open(cl2_path))
        print("\n## CL2 rule groups (events/s, median of the runs; ratio = kumomori / peer)\n")
        print("| group | kumomori | (CPU-time) | quamina HEAD | x (target 2.5) | event-ruler | x (target 10) | counts vs peers |")
        print("|---|---:|---:|---:|---:|---:|---:|---|")
        extra = [g for (_, g) in ours if g not in HEADLINE]
        for g in HEADLINE + extra:
            o = ours.get((None, g))
            if not o:
                continue
            q = peers.get(("quamina-head", g))
            r = peers.get(("event-ruler", g))
            qx = "%.1f" % (o["median"] / q["median"]) if q else "n/a"
            rx = "%.1f" % (o["median"] / r["median"]) if r else "n/a"
            name = g if g in HEADLINE else g + " (extra)"
            print("| %s | %s | %s | %s | %s | %s | %s | %s |" % (name, fmt(o["median"]), fmt(o["cpu"]),
                                                                fmt(q and q["median"]), qx, fmt(r and r["median"]),
                                                                rx, o["check"] or "n/a"))
        bad = [g for (_, g), o in ours.items() if o["check"] == "MISMATCH"]
        good = [g for (_, g), o in ours.items() if o["check"] == "ok"]
        if bad:
            print("\nPer-rule counts: MISMATCH in " + ", ".join(bad))
        elif good:
            print("\nPer-rule counts: equal to the peers' on all %d groups run" % len(good))
        else:
            print("\nPer-rule counts: not checked (not the event file the peer counts were recorded on)")

    sc = os.path.join(out, "scale.txt")
    if os.path.exists(sc):
        print("\n## Rule-count scaling\n")
        for line in open(sc):
            if line.startswith("SCALE"):
                print("- " + line.strip()[6:])
            elif line.startswith("family "):
                print("  - " + line.strip())

    tr = os.path.join(out, "trail.txt")
    if os.path.exists(tr):
        runs = {}
        for line in open(tr):
            f = line.split()
            if len(f) >= 11 and f[1] == "wall_s":
                runs.setdefault(f[0], []).append((float(f[2]), int(f[8]), int(f[10]), float(f[4]) + float(f[6])))
        print("\n## Trail: `kumomori detect` vs `gzip -dc` (wall seconds, median of the runs)\n")
        man = os.path.join(out, "trail-manifest.txt")
        if os.path.exists(man):
            print("- trail: " + "; ".join(l.strip() for l in open(man) if l.strip()))
        floor = statistics.median(r[0] for r in runs["floor"]) if "floor" in runs else None
        floor_cpu = statistics.median(r[3] for r in runs["floor"]) if "floor" in runs else None
        if floor:
            print("- floor (gzip -dc to /dev/null): %.2f s wall, %.2f s CPU" % (floor, floor_cpu))
        for k in sorted(runs):
            if k == "floor":
                continue
            w = statistics.median(r[0] for r in runs[k])
            cpu = statistics.median(r[3] for r in runs[k])
            rss = max(r[1] for r in runs[k])
            codes = sorted(set(r[2] for r in runs[k]))
            ratio = (" = %.2fx the floor's wall time (target <= 1.25x single-threaded), CPU %.2f s = %.2fx the floor's"
                     % (w / floor, cpu, cpu / floor_cpu)) if floor else ""
            print("- %s: %.2f s wall%s; peak RSS %.1f MiB (target <= 64); exit %s"
                  % (k, w, ratio, rss / 1024.0, ",".join(map(str, codes))))

    ratio_section(os.path.join(out, "rules.txt"), "Rules: pattern rules only vs everything (issue 5)",
                  "patterns", "all", "1.2", "; peak RSS target: 64 MiB + the state cap")
    ratio_section(os.path.join(out, "verify.txt"), "Verify: `kumomori verify` vs `gzip -dc | sha256sum` (issue 6)",
                  "floor", "verify", "1.3", "")


def ratio_section(path, title, base, other, target, note):
    """Two contenders run in alternation (runstat lines prefixed by their label): medians and the
    ratio of other to base, wall and CPU time; peak RSS."""
    if not os.path.exists(path):
        return
    runs = {}
    for line in open(path):
        f = line.split()
        if len(f) >= 11 and f[1] == "wall_s":
            runs.setdefault(f[0], []).append((float(f[2]), float(f[4]) + float(f[6]), int(f[8]), int(f[10])))
    if base not in runs or other not in runs:
        return
    print("\n## %s\n" % title)
    med = {}
    for k in (base, other):
        w = statistics.median(r[0] for r in runs[k])
        c = statistics.median(r[1] for r in runs[k])
        med[k] = (w, c)
        print("- %s: %.2f s wall, %.2f s CPU (medians of %d), peak RSS %.1f MiB, exit %s"
              % (k, w, c, len(runs[k]), max(r[2] for r in runs[k]) / 1024.0,
                 ",".join(map(str, sorted(set(r[3] for r in runs[k]))))))
    pairs = list(zip(runs[base], runs[other]))
    per_round = ", ".join("%.2f" % (o[1] / b[1]) for b, o in pairs if b[1] > 0)
    print("- %s / %s: %.2fx wall, %.2fx CPU (target <= %s); CPU ratio per round: %s%s"
          % (other, base, med[other][0] / med[base][0], med[other][1] / med[base][1], target, per_round, note))


if __name__ == "__main__":
    main()
