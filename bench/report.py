"""The bench's tables (stdout) and ratios (computed from one run)."""

import json

# (A, B): A is compared with B at every concurrency level both ran at.
RATIO_PAIRS = [
    ("openapi_execute", "direct"),
    ("mcp_call", "direct"),
    ("openapi_execute", "direct_newconn"),
    ("mcp_call", "direct_newconn"),
    ("mcp_call", "openapi_execute"),
    ("mcp_list", "fwd_health"),
    ("cold_execute", "openapi_execute"),
    ("broker_redeem", "broker_grants"),
]

CPU_COLUMNS = [("forwarder", "fwd"), ("broker", "broker"),
               ("postgres", "pg"), ("openbao", "bao"),
               ("standins", "py stubs"), ("client", "client")]


def fmt(v, spec="%.2f"):
    return "-" if v is None else spec % v


HDR = ("%-16s %5s %6s %5s %8s %8s %8s %8s %8s" %
       ("scenario", "conc", "reqs", "errs", "req/s", "p50 ms", "p90 ms",
        "p99 ms", "max ms"))


def row(r):
    line = "%-16s %5d %6d %5d %8s %8s %8s %8s %8s" % (
        r["scenario"], r["concurrency"], r["completed"], r["errors"],
        fmt(r["rps"], "%.0f"), fmt(r["p50_ms"]), fmt(r["p90_ms"]),
        fmt(r["p99_ms"]), fmt(r["max_ms"]))
    if r["error_kinds"]:
        line += "\n%-16s       errors: %s" % ("", json.dumps(r["error_kinds"]))
    if r.get("truncated"):
        line += "\n%-16s       truncated at the deadline" % ""
    return line


def cpu_table(results):
    lines = ["CPU time per request, microseconds (utime+stime over the run,"
             " warm-up included; 10 ms clock ticks)",
             "%-16s %5s " % ("scenario", "conc") +
             " ".join("%8s" % h for _, h in CPU_COLUMNS)]
    for r in results:
        c = r.get("cpu_us_per_req") or {}
        lines.append("%-16s %5d " % (r["scenario"], r["concurrency"]) +
                     " ".join("%8s" % fmt(c.get(k), "%d")
                              for k, _ in CPU_COLUMNS))
    return "\n".join(lines)


def find(results, name, conc):
    for r in results:
        if r["scenario"] == name and r["concurrency"] == conc:
            return r
    return None


def _ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 2)


def ratios(results, levels):
    """A vs B per concurrency level: latency ratios (p50, p99), the p50
    latency A adds in ms, and the throughput ratio."""
    out = []
    for a, b in RATIO_PAIRS:
        for c in levels:
            ra, rb = find(results, a, c), find(results, b, c)
            if ra is None or rb is None:
                continue
            added = None
            if ra["p50_ms"] is not None and rb["p50_ms"] is not None:
                added = round(ra["p50_ms"] - rb["p50_ms"], 3)
            out.append({"a": a, "b": b, "concurrency": c,
                        "p50": _ratio(ra["p50_ms"], rb["p50_ms"]),
                        "p99": _ratio(ra["p99_ms"], rb["p99_ms"]),
                        "added_p50_ms": added,
                        "rps": _ratio(ra["rps"], rb["rps"])})
    return out


def ratio_table(rows):
    lines = ["Ratios A / B (same run). Latency > 1: A is slower;"
             " req/s < 1: A does fewer",
             "%-34s %5s %8s %8s %10s %8s" % ("A / B", "conc", "p50", "p99",
                                             "+p50 ms", "req/s")]
    for r in rows:
        lines.append("%-34s %5d %8s %8s %10s %8s" % (
            f"{r['a']} / {r['b']}", r["concurrency"], fmt(r["p50"]),
            fmt(r["p99"]), fmt(r["added_p50_ms"]), fmt(r["rps"])))
    return "\n".join(lines)


def rss_table(start, end):
    lines = ["Memory, kB        VmRSS start  VmRSS end  VmHWM end  threads"]
    for who in ("forwarder", "broker"):
        s, e = start.get(who, {}), end.get(who, {})
        lines.append("%-17s %11s %10s %10s %8s" % (
            who, s.get("VmRSS", "-"), e.get("VmRSS", "-"),
            e.get("VmHWM", "-"), e.get("Threads", "-")))
    return "\n".join(lines)


def cg_row(r):
    ipr = r["instructions_per_req"]
    lines = ["%-10s %-16s %6d req %14s instr/req  (%d errors)" % (
        r["program"], r["scenario"], r["requests"],
        "{:,}".format(ipr) if ipr else "-", r["errors"])]
    libs = ", ".join(f"{k} {v}%" for k, v in
                     list(r["by_library"].items())[:6])
    if libs:
        lines.append(f"      own instructions by library: {libs}")
    ours = ", ".join(f"{t['function'].split(':')[-1]} {t['percent']}%"
                     for t in r["our_code_inclusive"][:6])
    if ours:
        lines.append(f"      inclusive, our code: {ours}")
    return "\n".join(lines)
