#!/usr/bin/env python3
"""Median and range over several bench results files (same settings):

    .venv/bin/python bench/summarize.py run1.json run2.json run3.json

Prints, per scenario and concurrency, the median req/s, p50 and p99 (with
min..max), the median CPU time per request of each process, and the median
of every ratio: how much one run's numbers can be trusted shows in the
spread.  Markdown tables, for docs/benchmarks.md.
"""

import json
import statistics
import sys


def spread(vals, spec):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "-"
    med = statistics.median(vals)
    if len(vals) == 1:
        return spec % med
    return f"{spec % med} ({spec % min(vals)}..{spec % max(vals)})"


def main(paths):
    docs = [json.load(open(p)) for p in paths]
    keys = []
    for d in docs:
        for r in d["results"]:
            k = (r["scenario"], r["concurrency"])
            if k not in keys:
                keys.append(k)

    def pick(k, field):
        out = []
        for d in docs:
            for r in d["results"]:
                if (r["scenario"], r["concurrency"]) == k:
                    out.append(r.get(field))
        return out

    engines = sorted({d["config"]["engine"] for d in docs})
    print(f"{len(docs)} runs, engine {', '.join(engines)};"
          " median (min..max)\n")
    print("| scenario | conc | req/s | p50 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|---:|")
    for k in keys:
        print(f"| {k[0]} | {k[1]} | {spread(pick(k, 'rps'), '%.0f')} |"
              f" {spread(pick(k, 'p50_ms'), '%.2f')} |"
              f" {spread(pick(k, 'p99_ms'), '%.2f')} |"
              f" {sum(x or 0 for x in pick(k, 'errors'))} |")

    cols = ["forwarder", "broker", "postgres", "openbao", "standins",
            "client"]
    print("\nCPU time per request, us (median)\n")
    print("| scenario | conc | " + " | ".join(cols) + " |")
    print("|---|---:|" + "---:|" * len(cols))
    for k in keys:
        cpu = pick(k, "cpu_us_per_req")
        cells = []
        for c in cols:
            vals = [x.get(c) for x in cpu if x and x.get(c) is not None]
            cells.append("%d" % statistics.median(vals) if vals else "-")
        print(f"| {k[0]} | {k[1]} | " + " | ".join(cells) + " |")

    print("\nRatios A / B, median (min..max)\n")
    print("| A / B | conc | p50 | p99 | +p50 ms | req/s |")
    print("|---|---:|---:|---:|---:|---:|")
    rkeys = []
    for d in docs:
        for r in d["ratios"]:
            k = (r["a"], r["b"], r["concurrency"])
            if k not in rkeys:
                rkeys.append(k)
    for k in rkeys:
        rows = [r for d in docs for r in d["ratios"]
                if (r["a"], r["b"], r["concurrency"]) == k]
        print(f"| {k[0]} / {k[1]} | {k[2]} |"
              f" {spread([r['p50'] for r in rows], '%.2f')} |"
              f" {spread([r['p99'] for r in rows], '%.2f')} |"
              f" {spread([r['added_p50_ms'] for r in rows], '%.2f')} |"
              f" {spread([r['rps'] for r in rows], '%.2f')} |")
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.stderr.write(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
