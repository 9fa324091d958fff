"""The bench's plot: latency against offered rate, one line per system,
from the open-loop rows of one run. gnuplot (scripts/deps --bench) draws
it; without gnuplot the run goes on and says so."""

import os
import pathlib
import shutil
import subprocess
import tempfile

# Open-loop scenario -> its line's title, in the order drawn.
LINES = [("direct", "direct (static upstream)", "#555555"),
         ("nginx", "nginx proxy_pass", "#1b9e77"),
         ("fwd_call_warm", "forwarder tools/call, warm", "#1f4fd8"),
         ("fwd_call_owui", "forwarder tools/call, fresh JWT", "#7aa6ff"),
         ("peer_mcp_proxy", "mcp-proxy", "#d95f02"),
         ("peer_mcpo", "mcpo", "#e7298a"),
         ("peer_contextforge", "ContextForge", "#a6761d")]


def series(open_rows):
    """{scenario: [(offered rate, p50 ms, p99 ms, achieved rate)]}."""
    out = {}
    for r in open_rows:
        if r.get("p50_us") is None or not r.get("completed"):
            continue
        out.setdefault(r["scenario"], []).append(
            (r["rate"], r["p50_us"] / 1000.0, r["p99_us"] / 1000.0,
             r.get("achieved_rps") or 0))
    for v in out.values():
        v.sort()
    return out


def script(data, png, title):
    plots = {"p50": [], "p99": []}
    for name, label, colour in LINES:
        if name not in data:
            continue
        for i, k in ((2, "p50"), (3, "p99")):
            plots[k].append(f"'{data[name]}' using 1:{i} with linespoints"
                            f" lw 2 pt 7 ps 0.8 lc rgb '{colour}'"
                            f" title '{label}'")
    return f"""set terminal pngcairo size 1400,620 font ',10'
set output '{png}'
set termoption noenhanced
set multiplot layout 1,2 title '{title}'
set logscale xy
set grid xtics ytics mxtics mytics lc rgb '#dddddd'
set xlabel 'offered rate, req/s (open loop)'
set key below horizontal font ',10'
set format y '%g'
set ylabel 'p50 latency, ms'
set title 'p50'
plot {', '.join(plots['p50'])}
set ylabel 'p99 latency, ms'
set title 'p99'
plot {', '.join(plots['p99'])}
unset multiplot
"""


def draw(open_rows, png, title):
    """Write png; returns None or why it was not drawn."""
    gp = shutil.which("gnuplot")
    if not gp:
        return "gnuplot is not installed (scripts/deps --bench)"
    s = series(open_rows)
    if not s:
        return "no open-loop rows"
    with tempfile.TemporaryDirectory(prefix="tgplot-") as d:
        files = {}
        for name, pts in s.items():
            f = os.path.join(d, f"{name}.dat")
            with open(f, "w") as fh:
                for p in pts:
                    fh.write("%g %g %g %g\n" % p)
            files[name] = f
        gpf = os.path.join(d, "plot.gp")
        pathlib.Path(gpf).write_text(script(files, str(png),
                                            title.replace("'", "")))
        cp = subprocess.run([gp, gpf], capture_output=True, text=True,
                            timeout=60)
        if cp.returncode != 0:
            return f"gnuplot failed: {cp.stderr.strip()[-300:]}"
    return None
