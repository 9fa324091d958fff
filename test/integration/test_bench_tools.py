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
