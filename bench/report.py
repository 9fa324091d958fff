"""The bench's tables (stdout), ratios and targets, all from one run."""

import json

# Short names for the processes under test, in the tables.
SHORT = {"peer_mcpo": "mcpo", "peer_mcp_proxy": "mcp-proxy",
         "peer_contextforge": "cf",
         "upstream": "up", "nginx": "ngx", "forwarder": "fwd",
         "broker": "brk", "broker_cold": "brk", "postgres": "pg",
         "openbao": "bao", "forwarder_expiry": "fwd", "broker_expiry": "brk"}

# issue 13 / issue 19 targets on 2 cores.
TARGET_ADDED_P50_US = 150
TARGET_RPS_C16 = 10000
TARGET_OPEN_P99_US = 1000
TARGET_OPEN_RATE = 5000


def fmt(v, spec="%.2f"):
    return "-" if v is None else spec % v


def us(r, k):
    """A latency in microseconds from a closed-loop (ms) or open-loop (us)
    row."""
    if r["mode"] == "open":
        return r.get(k + "_us")
    v = r.get(k + "_ms")
    return None if v is None else v * 1000.0


def rps(r):
    return r.get("achieved_rps") if r["mode"] == "open" else r.get("rps")


def level(r):
    return (f"c={r['concurrency']}" if r["mode"] == "closed"
            else f"{r['rate']:g}/s")


HDR = ("%-15s %7s %6s %4s %8s %8s %8s %8s %8s  %-20s %s" %
       ("scenario", "load", "reqs", "err", "req/s", "p50 us", "p90 us",
        "p99 us", "p99.9 us", "cpu s/1k req", "peak RSS MiB"))


def _cpu(r):
    c = r.get("cpu_s_per_1k") or {}
    return " ".join(f"{SHORT.get(k, k)} {v:.3f}" for k, v in c.items()
                    if v is not None)


def _rss(r):
    m = r.get("peak_rss_kb") or {}
    return " ".join(f"{SHORT.get(k, k)} {v / 1024:.1f}" for k, v in m.items()
                    if v)


def row(r):
    line = "%-15s %7s %6d %4d %8s %8s %8s %8s %8s  %-20s %s" % (
        r["scenario"], level(r), r["completed"], r["errors"],
        fmt(rps(r), "%.0f"), fmt(us(r, "p50"), "%.0f"),
        fmt(us(r, "p90"), "%.0f"), fmt(us(r, "p99"), "%.0f"),
        fmt(us(r, "p999"), "%.0f"), _cpu(r), _rss(r))
    kinds = {k: v for k, v in (r.get("error_kinds") or {}).items() if v}
    if kinds:
        line += "\n%-15s         errors: %s" % ("", json.dumps(kinds))
    if r.get("truncated"):
        line += "\n%-15s         truncated at the deadline" % ""
    return line


def find(rows, name, lvl):
    for r in rows:
        if r["scenario"] == name and level(r) == lvl:
            return r
    return None


def _ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def table(closed, opened, expiry, levels):
    """Every row once more, side by side with direct and nginx at the same
    load: req/s as a fraction of theirs, and the p50 and p99 it adds."""
    lines = ["Side by side (same run). x direct / x nginx: req/s as a"
             " fraction of theirs at the same load; +p50 / +p99: latency"
             " added over direct, us",
             "%-15s %7s %8s %8s %8s %9s %9s %8s %8s" % (
                 "scenario", "load", "req/s", "x direct", "x nginx",
                 "+p50 us", "+p99 us", "p99 us", "p99.9 us")]
    for r in closed + opened:
        d = find(closed + opened, "direct", level(r))
        n = find(closed + opened, "nginx", level(r))
        add50 = add99 = None
        if d and us(r, "p50") is not None and us(d, "p50") is not None:
            add50 = us(r, "p50") - us(d, "p50")
            add99 = us(r, "p99") - us(d, "p99")
        lines.append("%-15s %7s %8s %8s %8s %9s %9s %8s %8s" % (
            r["scenario"], level(r), fmt(rps(r), "%.0f"),
            fmt(_ratio(rps(r), rps(d)) if d else None),
            fmt(_ratio(rps(r), rps(n)) if n else None),
            fmt(add50, "%.0f"), fmt(add99, "%.0f"),
            fmt(us(r, "p99"), "%.0f"), fmt(us(r, "p999"), "%.0f")))
    return "\n".join(lines)


TARGET_IDLE_RSS_MIB = 20
TARGET_IDLE_CLIENTS = 1000


def target_rows(closed, opened, noisy=None, idle=None):
    """Where each target lands: (target, measured, met)."""
    out = []
    w1, d1 = find(closed, "fwd_call_warm", "c=1"), find(closed, "direct", "c=1")
    if w1 and d1 and us(w1, "p50") is not None and us(d1, "p50") is not None:
        added = us(w1, "p50") - us(d1, "p50")
        out.append({"target": f"warm tools/call adds <= {TARGET_ADDED_P50_US}"
                              " us at p50, c=1",
                    "measured": f"{added:.0f} us", "met":
                    added <= TARGET_ADDED_P50_US})
    w16 = find(closed, "fwd_call_warm", "c=16")
    if w16 and w16.get("rps") is not None:
        out.append({"target": f">= {TARGET_RPS_C16} req/s warm tools/call at"
                              " c=16",
                    "measured": f"{w16['rps']:.0f} req/s",
                    "met": w16["rps"] >= TARGET_RPS_C16})
    o = find(opened, "fwd_call_warm", f"{TARGET_OPEN_RATE:g}/s")
    if o:
        ok = o["errors"] == 0 and o["p99_us"] < TARGET_OPEN_P99_US
        out.append({"target": f"warm tools/call p99 < {TARGET_OPEN_P99_US}"
                              f" us open-loop at {TARGET_OPEN_RATE}/s",
                    "measured": f"{o['p99_us']} us, {o['errors']} errors",
                    "met": ok})
    for lvl in ("c=1", "c=16"):
        f, w = find(closed, "fwd_call_owui", lvl), find(closed,
                                                       "fwd_call_warm", lvl)
        if f and w and f.get("p50_ms") and w.get("p50_ms"):
            ratio = f["p50_ms"] / w["p50_ms"]
            out.append({"target": f"fresh-JWT tools/call p50 within 1.3x of"
                                  f" warm, {lvl}",
                        "measured": f"{ratio:.2f}x", "met": ratio <= 1.3})
    for lvl in ("c=1", "c=16"):
        w = find(closed, "fwd_call_warm", lvl)
        peers = [r for r in closed if r["scenario"].startswith("peer_")
                 and level(r) == lvl and r.get("rps")]
        if w and peers:
            best = max(peers, key=lambda r: r["rps"])
            x = w["rps"] / best["rps"]
            ok = x >= 10 and (w["p99_ms"] or 0) < (best["p99_ms"] or 0)
            out.append({"target": f">= 10x the fastest Python peer's req/s at"
                                  f" a lower p99, {lvl}",
                        "measured": f"{x:.1f}x {best['scenario']}, p99"
                                    f" {w['p99_ms']:.2f} vs"
                                    f" {best['p99_ms']:.2f} ms",
                        "met": ok})
    for r in idle or []:
        if r["clients"] == TARGET_IDLE_CLIENTS and r.get("rss_kb"):
            mib = r["rss_kb"] / 1024
            out.append({"target": f"forwarder RSS < {TARGET_IDLE_RSS_MIB} MiB"
                                  f" with {TARGET_IDLE_CLIENTS} idle clients",
                        "measured": f"{mib:.1f} MiB",
                        "met": mib < TARGET_IDLE_RSS_MIB and
                        not r["closed_by_server"]})
    t20 = [r for r in closed + opened if r["scenario"] == "tools_list_20"]
    for r in t20:
        out.append({"target": f"tools/list p99 < 1 ms, 20 tenants,"
                              f" {level(r)}",
                    "measured": f"{us(r, 'p99'):.0f} us",
                    "met": us(r, "p99") < 1000})
    return out


def targets(closed, opened, noisy=None, idle=None):
    rows = target_rows(closed, opened, noisy, idle)
    lines = ["Targets (issue 13 / 19; 2 cores)"]
    for t in rows:
        lines.append("  %-4s %-58s %s" % ("met" if t["met"] else "MISS",
                                         t["target"], t["measured"]))
    lines.append("  (instructions per call: bench/run --callgrind)")
    return "\n".join(lines)


def expiry_table(r):
    lines = [f"Grant expiry under load: {r['users']} users, grants live"
             f" {r['grant_ttl_s']} s (renewed {r['renew_margin_s']} s early),"
             f" {r['rate']:g} req/s open-loop; per second of schedule:",
             "  %4s %6s %5s %8s %8s %8s" % ("s", "reqs", "err", "p50 us",
                                           "p99 us", "max us")]
    for w in r["windows"]:
        if w["n"] or w["errors"]:
            lines.append("  %4d %6d %5d %8d %8d %8d" % (
                w["t"], w["n"], w["errors"], w["p50_us"], w["p99_us"],
                w["max_us"]))
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


def idle_row(r):
    return ("%-15s %7s %6d %4d %8s  forwarder RSS %.1f MiB (%.1f before),"
            " %s KiB per client" % (
                "idle_clients", f"{r['clients']}", r["clients"],
                r["closed_by_server"], "-", (r["rss_kb"] or 0) / 1024,
                (r["rss_kb_before"] or 0) / 1024,
                fmt(r["kb_per_client"], "%.1f")))


SUM_HDR = ("%-17s %7s %6s %5s %8s %7s %8s %8s %9s  %-22s %s" %
           ("scenario", "load", "reqs", "err", "req/s", "x nginx", "p50 us",
            "p99 us", "p99.9 us", "cpu s/1k req", "peak RSS MiB"))


def summary(closed, opened, noisy, idle, expiry, targets_rows):
    """The one table `make bench` prints: every row of the run, with its
    req/s as a fraction of nginx's at the same load; then the targets and
    the grant-expiry worst second as footnotes."""
    rows = closed + opened + (noisy or [])
    lines = ["tenantgate bench: one run, same machine, same static upstream."
             " c=N closed loop (wrk), R/s open loop (tg-openloop)",
             SUM_HDR]
    for r in rows:
        n = find(closed + opened, "nginx", level(r))
        x = _ratio(rps(r), rps(n)) if n and r["scenario"] != "nginx" else None
        err = r["errors"]
        lines.append("%-17s %7s %6d %5d %8s %7s %8s %8s %9s  %-22s %s" % (
            r["scenario"], level(r), r["completed"], err,
            fmt(rps(r), "%.0f"), fmt(x), fmt(us(r, "p50"), "%.0f"),
            fmt(us(r, "p99"), "%.0f"), fmt(us(r, "p999"), "%.0f"),
            _cpu(r), _rss(r)))
    for r in idle or []:
        lines.append("%-17s %7s %6d %5d %8s %7s %8s %8s %9s  %-22s %s" % (
            "idle_clients", f"{r['clients']}", r["clients"],
            r["closed_by_server"], "-", "-", "-", "-", "-",
            "%s KiB/client" % fmt(r["kb_per_client"], "%.1f"),
            "fwd %.1f (idle %.1f)" % ((r["rss_kb"] or 0) / 1024,
                                      (r["rss_kb_before"] or 0) / 1024)))
    if expiry:
        w = [x for x in expiry["windows"] if x["n"]]
        if w:
            worst = max(w, key=lambda x: x["p99_us"])
            lines.append(f"grant_expiry: {expiry['rate']:g} req/s across"
                         f" renewals, {expiry['errors']} errors, p99"
                         f" {expiry['p99_us']} us; worst second s={worst['t']}"
                         f" p99 {worst['p99_us']} us")
    lines.append("targets: " + "; ".join(
        f"{'met' if t['met'] else 'MISS'} {t['target']} ({t['measured']})"
        for t in targets_rows))
    return "\n".join(lines)
