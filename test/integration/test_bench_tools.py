"""Smoke test of the benchmark tooling (bench/), not a benchmark: the static
upstream answers every path the built-in tools call with its fixed 4-6 KB
body, its delay works, and the open-loop generator's percentile math and
request loop are right. `make check` builds them (make bench-bins)."""

import json
import pathlib
import subprocess
import time

import requests

from harness.proc import Proc, free_port

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = REPO / "build" / "rel" / "bench"
PATHS = {
    "/t/google/rest/api/3/search/jql?jql=project%20%3D%20GOOG": "GOOG-1",
    "/t/google/rest/api/3/issue/GOOG-1?fields=summary": "GOOG-1",
    "/t/google/wiki/rest/api/search?cql=text~x&limit=25": "Runbook",
    "/t/google/wiki/api/v2/pages/65537?body-format=storage": "Runbook",
}


def upstream():
    port = free_port()
    p = Proc("bench-upstream", [str(BIN / "tg-upstream"), "-l",
                                f"127.0.0.1:{port}", "-b",
                                str(REPO / "bench" / "bodies")],
             ready=f"http://127.0.0.1:{port}/health")
    p.url = f"http://127.0.0.1:{port}"
    return p.start()


def test_openloop_percentile_math_on_synthetic_data():
    cp = subprocess.run([str(BIN / "tg-openloop"), "--selftest"],
                        capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, cp.stdout
    assert " 0 failed" in cp.stdout


def test_static_upstream_answers_the_tool_paths():
    p = upstream()
    try:
        for path, want in PATHS.items():
            r = requests.get(p.url + path, timeout=5)
            assert r.status_code == 200, path
            assert 4000 <= len(r.content) <= 6200, (path, len(r.content))
            assert want in r.text and json.loads(r.text)
        r = requests.get(p.url + "/t/google/rest/api/3/nothing", timeout=5)
        assert r.status_code == 404
        t0 = time.monotonic()
        r = requests.get(p.url + "/delay/300/rest/api/3/issue/X-1", timeout=5)
        assert r.status_code == 200 and time.monotonic() - t0 >= 0.29
    finally:
        p.stop()


def test_openloop_sends_at_the_rate_and_counts_answers(tmp_path):
    p = upstream()
    try:
        port = p.url.rsplit(":", 1)[1]
        req = tmp_path / "req.raw"
        req.write_bytes(b"GET /rest/api/3/search/jql?jql=x HTTP/1.1\r\n"
                        b"Host: 127.0.0.1\r\n\r\n\0"
                        b"GET /rest/api/3/issue/GOOG-1 HTTP/1.1\r\n"
                        b"Host: 127.0.0.1\r\n\r\n")
        cp = subprocess.run([str(BIN / "tg-openloop"), "-a",
                             f"127.0.0.1:{port}", "-f", str(req), "-r", "200",
                             "-d", "1", "-c", "4", "-e", "GOOG-1"],
                            capture_output=True, text=True, timeout=30)
        assert cp.returncode == 0, cp.stderr
        r = json.loads(cp.stdout)
        assert r["sent"] == 200 and r["ok"] == 200 and r["errors"] == 0
        assert 0 < r["p50_us"] <= r["p99_us"] <= r["max_us"]
        assert sum(w["n"] for w in r["windows"]) == 200
        # refuses anything but loopback
        cp = subprocess.run([str(BIN / "tg-openloop"), "-a", "10.0.0.1:80",
                             "-f", str(req), "-r", "1", "-d", "1"],
                            capture_output=True, text=True, timeout=10)
        assert cp.returncode == 2
    finally:
        p.stop()


def test_openloop_sends_every_request_of_a_large_file_whole(tmp_path):
    """A request file of several MiB (one fresh JWT per request) is sent
    whole: a generator that read only its first MiB once sent one request
    in 1,492 cut short, which the server timed out after 10 s (408)."""
    p = upstream()
    try:
        port = p.url.rsplit(":", 1)[1]
        one = (b"GET /rest/api/3/issue/GOOG-1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               b"X-Pad: " + b"p" * 650 + b"\r\n\r\n")
        req = tmp_path / "big.raw"
        req.write_bytes(b"\0".join([one] * 3000))     # about 2 MiB
        assert req.stat().st_size > (1 << 20)
        cp = subprocess.run([str(BIN / "tg-openloop"), "-a",
                             f"127.0.0.1:{port}", "-f", str(req), "-r", "2000",
                             "-d", "1.5", "-c", "8", "-T", "3", "-e", "GOOG-1"],
                            capture_output=True, text=True, timeout=60)
        assert cp.returncode == 0, cp.stderr
        r = json.loads(cp.stdout)
        assert r["sent"] == 3000 and r["ok"] == 3000 and r["errors"] == 0, r
    finally:
        p.stop()


def bench_module(name):
    import importlib
    import sys
    d = str(REPO / "bench")
    if d not in sys.path:
        sys.path.insert(0, d)
    return importlib.import_module(name)


def test_idle_client_keeps_its_connection_and_sees_a_close():
    """The idle-clients row holds kept-alive sockets after one full answer
    each, and counts the ones the server has closed."""
    import socket
    bench = bench_module("bench")
    p = upstream()
    try:
        port = int(p.url.rsplit(":", 1)[1])
        req = (b"GET /t/google/rest/api/3/search/jql?jql=x HTTP/1.1\r\n"
               b"Host: 127.0.0.1\r\n\r\n")
        socks = [socket.create_connection(("127.0.0.1", port), timeout=5)
                 for _ in range(3)]
        for s in socks:
            bench.idle_roundtrip(s, req)
            bench.idle_roundtrip(s, req)    # same connection, kept alive
        assert bench.idle_closed(socks) == 0
    finally:
        p.stop()
    deadline = time.monotonic() + 5
    while bench.idle_closed(socks) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert bench.idle_closed(socks) == 3
    for s in socks:
        s.close()


def open_row(name, rate, p50, p99):
    return {"scenario": name, "mode": "open", "rate": rate,
            "completed": int(rate), "errors": 0, "achieved_rps": rate,
            "p50_us": p50, "p90_us": p99, "p99_us": p99, "p999_us": p99}


def test_summary_is_one_table_with_idle_rows_and_targets():
    report = bench_module("report")
    opened = [open_row("nginx", 1000, 150, 400),
              dict(open_row("fwd_call_warm", 1000, 300, 900),
                   achieved_rps=500)]     # half of nginx's at that rate
    idle = [{"clients": 1000, "closed_by_server": 0, "rss_kb_before": 11000,
             "rss_kb": 14000, "kb_per_client": 3.0},
            {"clients": 5000, "closed_by_server": 0, "rss_kb_before": 11000,
             "rss_kb": 26000, "kb_per_client": 3.0}]
    t = report.target_rows([], opened, [], idle)
    assert [x["met"] for x in t if "idle" in x["target"]] == [True]
    idle[0]["rss_kb"] = 21 * 1024
    t = report.target_rows([], opened, [], idle)
    assert [x["met"] for x in t if "idle" in x["target"]] == [False]
    out = report.summary([], opened, [], idle, None, t)
    lines = out.splitlines()
    assert sum(1 for x in lines if x.startswith("scenario")) == 1
    assert any(x.startswith("fwd_call_warm") and " 0.50 " in f" {x} "
               for x in lines), out
    assert sum(1 for x in lines if x.startswith("idle_clients")) == 2
    assert "MISS forwarder RSS < 20 MiB with 1000 idle clients" in out


def test_plot_draws_one_line_per_system(tmp_path):
    import shutil
    import pytest
    plot = bench_module("plot")
    rows = [open_row(n, r, 100 * k, 300 * k)
            for k, n in enumerate(["direct", "nginx", "fwd_call_warm"], 1)
            for r in (500, 1000, 2000)]
    rows += [open_row("peer_mcp_proxy", r, 6000, 9000) for r in (25, 50)]
    s = plot.series(rows)
    assert sorted(s) == ["direct", "fwd_call_warm", "nginx", "peer_mcp_proxy"]
    assert [x[0] for x in s["nginx"]] == [500, 1000, 2000]
    if not shutil.which("gnuplot"):
        pytest.skip("gnuplot is not installed (scripts/deps --bench)")
    png = tmp_path / "x.png"
    assert plot.draw(rows, png, "test") is None
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 10000
