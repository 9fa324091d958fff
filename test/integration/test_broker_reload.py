"""The broker's config snapshot and its HTTP limits (issue 18): SIGHUP while
requests run (each request keeps the snapshot it started with, the old one
is freed by its last request: no failed request, no sanitizer report), a
reload with cross-key errors logs every one and keeps serving, and
max_queue sheds the excess with 503 in the JSON error shape."""

import re
import signal
import socket
import threading
import time

import pytest
import requests


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer")


def assert_no_sanitizer_report(proc):
    text = proc.log_text()
    for marker in SANITIZER_MARKERS:
        assert marker not in text, proc.log_tail(60)


def test_sighup_during_requests_keeps_every_request_whole(tg):
    b = tg.start_broker(name="broker-reload-load")
    caller = {"Authorization": f"Bearer {tg.caller_secret}"}
    token = tg.user_token("alice@example.com")
    failures, counts, stop = [], [0], threading.Event()

    def worker():
        s = requests.Session()
        for _ in range(2000):           # bounded; stopped early by the event
            if stop.is_set():
                return
            try:
                r = s.post(b.url + "/v1/grants", json={"assertion": token},
                           headers=caller, timeout=10)
                ok = r.status_code == 200
                if ok:
                    g = r.json()["grants"][0]["token"]
                    r = s.post(b.url + "/v1/redeem", json={"grant": g,
                               "integration": "jira"}, headers=caller, timeout=10)
                    ok = r.status_code == 200
                if ok:
                    r = s.get(b.url + "/jwks.json", timeout=10)
                    ok = r.status_code == 200
                if ok:
                    r = s.get(b.url + "/readyz", timeout=10)
                    ok = r.status_code == 200
                if not ok:
                    failures.append((r.status_code, r.text[:200]))
                counts[0] += 1
            except requests.RequestException as e:
                failures.append(("exception", str(e)))
    threads = [threading.Thread(target=worker) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        time.sleep(0.3)
        for i in range(20):
            # reloadable keys that differ each time: a new snapshot, each
            # replacing one that requests may still hold
            tg.reconfigure(b, grant_ttl=f"{120 + i}s",
                           members_cache_ttl=f"{10 + i % 3}s")
            time.sleep(0.05)
        stop.set()
        for t in threads:
            t.join(30)
        assert failures == []
        assert counts[0] > 0
        assert len(re.findall("reload done", b.log_text())) == 20
        r = requests.post(b.url + "/v1/grants", json={"assertion": token},
                          headers=caller, timeout=10)
        assert r.status_code == 200
    finally:
        stop.set()
        b.stop()
    assert b.returncode == 0, b.log_tail(60)
    assert_no_sanitizer_report(b)


def test_sighup_with_cross_key_errors_logs_every_one_and_keeps_serving(tg):
    b = tg.start_broker(name="broker-reload-bad")
    caller = {"Authorization": f"Bearer {tg.caller_secret}"}
    try:
        mark = b.log_mark()
        # three cross-key problems at once: no user verifier, no caller
        # authentication, a TLS certificate without its key
        tg.reconfigure(b, oidc_issuer=None, openwebui_secret_file=None,
                       callers_secret_file=None, callers_tokenreview_url=None,
                       tls_cert_file="/nonexistent/cert.pem")
        b.wait_log("still running the old configuration", since=mark)
        log = b.log_text(mark)
        assert re.search(r"reload refused: .*:\d+: tls_cert_file and tls_key_file go "
                         r"together", log)
        assert re.search(r"reload refused: .*no way to verify users", log)
        assert re.search(r"reload refused: .*no way for forwarders to authenticate", log)
        assert "reload done" not in log
        # the old snapshot still serves
        r = requests.post(b.url + "/v1/grants",
                          json={"assertion": tg.user_token("alice@example.com")},
                          headers=caller, timeout=10)
        assert r.status_code == 200, r.text
        # and a good config after it is taken
        tg.reconfigure(b, log_level="debug")
        assert b.log_contains("reload done", since=mark)
    finally:
        b.stop()
    assert b.returncode == 0, b.log_tail(60)
    assert_no_sanitizer_report(b)


class HangingServer:
    """Accepts connections and never answers: a TokenReview API that holds
    the broker's only worker for the review timeout."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.conns, self.done = [], threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.sock.settimeout(0.2)
        for _ in range(1000):           # bounded: at most ~200 s
            if self.done.is_set():
                return
            try:
                c, _ = self.sock.accept()
                self.conns.append(c)
            except OSError:
                continue

    def close(self):
        self.done.set()
        self.thread.join(5)
        for c in self.conns:
            c.close()
        self.sock.close()


def test_max_queue_sheds_the_excess_with_503(tg):
    hang = HangingServer()
    b = tg.start_broker(name="broker-queue", workers=1, max_queue=1,
                        callers_tokenreview_url=hang.url)
    # an unknown caller token goes to TokenReview, which never answers
    sa = tg.s.tokenreview.mint_sa_token("tenantgate", "forwarder")
    results, lock = [], threading.Lock()

    def call():
        try:
            r = requests.post(b.url + "/v1/grants", json={"assertion": "x"},
                              headers={"Authorization": f"Bearer {sa}"}, timeout=20)
            with lock:
                results.append(r)
        except requests.RequestException as e:
            with lock:
                results.append(e)
    try:
        slow = [threading.Thread(target=call) for _ in range(2)]
        for t in slow:                  # one on the worker, one queued
            t.start()
            time.sleep(0.4)
        rest = [threading.Thread(target=call) for _ in range(3)]
        for t in rest:
            t.start()
        for t in rest:
            t.join(10)
        shed = [r for r in results if isinstance(r, requests.Response)
                and r.status_code == 503]
        assert len(shed) == 3, [getattr(r, "status_code", r) for r in results]
        for r in shed:
            body = r.json()
            assert body["error"]["code"] == "busy", body
            assert isinstance(body["error"]["message"], str)
            assert r.headers["Content-Type"].startswith("application/json")
        for t in slow:
            t.join(20)
        assert len(results) == 5
        # the two admitted ones were answered (TokenReview timed out), not shed
        busy = [r for r in results if isinstance(r, requests.Response)
                and r.status_code == 503 and r.json()["error"]["code"] == "busy"]
        assert len(busy) == 3, [getattr(r, "text", r) for r in results]
    finally:
        b.stop()
        hang.close()
    assert b.returncode == 0, b.log_tail(60)
    assert_no_sanitizer_report(b)
