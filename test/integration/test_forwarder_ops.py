"""Running the forwarder: health and readiness, metrics, graceful drain on
SIGTERM, reload on SIGHUP, the command line (--help, --check-config,
--show-config, --tool-catalogue), and secrets never reaching the log."""

import json
import re
import signal
import subprocess
import threading
import time

import pytest

from harness import secrets, wait_for

from .fake_broker import FwdEnv, catalogue, forwarder_binary


@pytest.fixture
def env(atlassian, fresh_atlassian):
    e = FwdEnv(atlassian, name="forwarder-ops")
    yield e
    if e.fwd.proc.running:
        e.close()
    else:
        e.fwd.close()
        e.broker.close()


def test_health_readyz_metrics(env):
    r = env.http.get(f"{env.url}/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert r.headers["Cache-Control"] == "no-store"
    r = env.http.get(f"{env.url}/readyz")
    assert r.status_code == 200 and r.json()["broker"] == "ok"
    env.post_mcp("alice@example.com", {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                       "params": {"name": "google__jira_get_issue",
                                                  "arguments": {"issue_key": "GOOG-1"}}})
    env.post_mcp("alice@example.com", {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                       "params": {"name": "microsoft__jira_get_issue",
                                                  "arguments": {"issue_key": "MS-1"}}})
    env.http.post(f"{env.url}/mcp", data="{}")
    text = env.http.get(f"{env.url}/metrics").text
    values = dict(re.findall(r"^(tenantgate_forwarder_\w+) (\d+)$", text, re.M))
    assert int(values["tenantgate_forwarder_tool_calls_total"]) >= 2
    assert int(values["tenantgate_forwarder_tool_refused_total"]) >= 1
    assert int(values["tenantgate_forwarder_auth_refused_total"]) >= 1
    assert int(values["tenantgate_forwarder_grant_cache_entries"]) >= 1
    assert "# TYPE tenantgate_forwarder_request_seconds histogram" in text


def test_sigterm_drains_in_flight_requests(env, fresh_atlassian):
    fresh_atlassian.fault("google", hang=1.5)
    out = {}

    def slow():
        out["r"] = env.post_mcp("alice@example.com", {
            "jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "google__jira_get_issue", "arguments": {"issue_key": "GOOG-2"}}})
    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.5)
    env.fwd.proc.signal(signal.SIGTERM)
    t.join(10)
    res = out["r"].json()["result"]
    assert res["isError"] is False and res["structuredContent"]["key"] == "GOOG-2"
    assert env.fwd.proc.wait(10) == 0
    log = env.fwd.log()
    assert "draining: 1 request(s) in flight" in log
    assert "all requests answered; exiting" in log
    env.fwd.assert_no_sanitizer_report()


def test_sighup_reloads_and_refuses_restart_only_keys(env):
    conf = env.fwd.conf_path
    text = conf.read_text()
    conf.write_text(text.replace("log_level = debug", "log_level = warn"))
    mark = env.fwd.proc.log_mark()
    env.fwd.proc.signal(signal.SIGHUP)
    env.fwd.proc.wait_log("configuration reloaded", since=mark)
    # now at warn: a request logs nothing at info
    mark = env.fwd.proc.log_mark()
    env.http.get(f"{env.url}/health")
    time.sleep(0.2)
    assert "GET /health" not in env.fwd.proc.log_text(mark)
    # listen cannot change without a restart
    conf.write_text(re.sub(r"listen = .*", "listen = 127.0.0.1:1", conf.read_text()))
    env.fwd.proc.signal(signal.SIGHUP)
    env.fwd.proc.wait_log("reload refused: key 'listen' cannot change", since=mark)
    # a broken file is refused whole, with its line
    conf.write_text(conf.read_text() + "workers = lots\n")
    env.fwd.proc.signal(signal.SIGHUP)
    env.fwd.proc.wait_log(r"reload refused: .*:\d+: ", since=mark)
    assert env.http.get(f"{env.url}/health").status_code == 200
    # cross-key checks run on SIGHUP too, and every error is logged
    conf.write_text(re.sub(r"broker_url = .*", "broker_url = ftp://x", text)
                    + "resource_url = nope\n")
    mark = env.fwd.proc.log_mark()
    env.fwd.proc.signal(signal.SIGHUP)
    env.fwd.proc.wait_log("still running the old configuration", since=mark)
    log = env.fwd.proc.log_text(mark)
    assert re.search(r"reload refused: .*:\d+: broker_url must start with http", log)
    assert re.search(r"reload refused: .*:\d+: resource_url must be", log)
    assert env.http.get(f"{env.url}/health").status_code == 200


def test_check_and_show_config(tmp):
    conf = tmp / "f.conf"
    conf.write_text("lisen = 127.0.0.1:1\nworkers = 0\nbroker_url = http://127.0.0.1:9\n")
    r = subprocess.run([forwarder_binary(), "-c", str(conf), "--check-config"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 2
    assert f"{conf}:1: unknown key 'lisen' (did you mean 'listen'?)" in r.stderr
    assert f"{conf}:2: 'workers' must be between 1 and 256" in r.stderr
    conf.write_text("broker_url = http://127.0.0.1:9\nbroker_secret_file = /nonexistent\n")
    r = subprocess.run([forwarder_binary(), "-c", str(conf), "--check-config"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and "configuration OK" in r.stdout
    r = subprocess.run([forwarder_binary(), "-c", str(conf), "-o", "workers=3",
                        "--show-config"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0
    assert "workers = 3" in r.stdout and "broker_url = http://127.0.0.1:9" in r.stdout
    r = subprocess.run([forwarder_binary(), "-o", "broker_url=http://x",
                        "--check-config"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 2 and "broker_secret_file" in r.stderr
    # --check-config runs the cross-key checks, all of them, with lines
    conf.write_text("broker_url = ftp://x\nlisten =\n")
    r = subprocess.run([forwarder_binary(), "-c", str(conf), "--check-config"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 2
    assert f"{conf}:1: broker_url must start with http" in r.stderr
    assert f"{conf}:2: listen must name at least one address" in r.stderr
    assert "set broker_secret_file or broker_sa_token_file" in r.stderr


def test_help_and_catalogue():
    r = subprocess.run([forwarder_binary(), "--help"], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 0
    for section in ("usage:", "NAME", "DESCRIPTION", "OPTIONS", "SIGNALS", "ENDPOINTS",
                    "EXIT STATUS"):
        assert section in r.stdout
    cat = catalogue()
    assert {t["name"] for t in cat} >= {"jira_search", "jira_get_issue",
                                        "jira_create_issue", "jira_add_comment",
                                        "jira_get_transitions", "jira_transition_issue",
                                        "confluence_search", "confluence_get_page"}
    assert {t["access"] for t in cat} == {"read", "write"}


def test_startup_failure_is_reported(tmp):
    r = subprocess.run([forwarder_binary(), "-o", "broker_url=http://127.0.0.1:9",
                        "-o", "broker_secret_file=/x", "-o", "listen=256.1.1.1:99999"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode in (1, 2)
    assert "port" in r.stderr or "listen" in r.stderr


def test_no_secret_in_the_log(env, fresh_atlassian):
    # exercise every path that touches a credential, then grep the log
    for user in ("alice@example.com", "bob@example.com", "dave@example.com"):
        env.post_mcp(user, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    env.post_mcp("bob@example.com", {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                     "params": {"name": "microsoft__jira_search",
                                                "arguments": {"jql": "project = MS"}}})
    fresh_atlassian.fault("google", status=401)
    env.post_mcp("alice@example.com", {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                       "params": {"name": "google__jira_search",
                                                  "arguments": {"jql": "project = GOOG"}}})
    log = env.fwd.log()
    found = secrets.scan_text(log, "forwarder-ops log")
    assert found == []
    assert env.broker.caller_secret not in log
    for g in list(env.broker.grants):
        assert g not in log


def test_concurrent_users_with_short_grants(atlassian, fresh_atlassian):
    """Many callers at once while grants expire every few seconds: the cache,
    its janitor and credential renewal race each other under ASan."""
    from concurrent.futures import ThreadPoolExecutor
    # As fast as 12 clients can go: the rate limits are not what this tests.
    e = FwdEnv(atlassian, grant_ttl=2, grant_renew_margin="1s", workers=6,
               name="forwarder-concurrent", user_rate=0, tenant_rate=0)
    users = ["alice@example.com", "bob@example.com", "carol@example.com",
             "dave@example.com"]
    for u in users:
        e.token(u)

    def worker(i):
        import requests
        s = requests.Session()
        s.trust_env = False
        u = users[i % len(users)]
        bad = 0
        deadline = time.monotonic() + 4     # two grant lifetimes at least
        n = 0
        while time.monotonic() < deadline:
            n += 1
            if n % 3 == 0:
                body = {"jsonrpc": "2.0", "id": n, "method": "tools/list"}
            else:
                tenant = {"alice@example.com": "google", "bob@example.com": "microsoft",
                          "carol@example.com": "google",
                          "dave@example.com": "smallco"}[u]
                body = {"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": {
                    "name": f"{tenant}__jira_search", "arguments": {"jql": "text ~ x"}}}
            r = s.post(f"{e.url}/mcp", json=body, headers=e.headers(
                u, **{"MCP-Protocol-Version": "2025-11-25"}), timeout=30)
            ok = r.status_code == 200 and (
                "result" in r.json() or (u == "carol@example.com" and
                                         r.json()["error"]["code"] == -32602))
            if not ok or r.json().get("result", {}).get("isError"):
                bad += 1
        return bad
    try:
        with ThreadPoolExecutor(12) as pool:
            bad = sum(pool.map(worker, range(12)))
        assert bad == 0
        # every user's grants were renewed at least once on the way
        assert len(e.broker.calls_to("/v1/grants")) >= 8
    finally:
        e.close()
