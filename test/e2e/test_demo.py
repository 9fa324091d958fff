"""`make demo-up`, a tools/list and a tools/call with the demo's own tokens,
then `make demo-down` (issue 5's acceptance), in a private state dir."""

import os
import pathlib
import subprocess

import pytest
import requests

from harness import runtime

REPO = pathlib.Path(__file__).resolve().parents[2]


def read_env(path):
    """.demo/env is `export KEY=value` lines, values shell-quoted."""
    for line in path.read_text().splitlines():
        assert line.startswith("export "), line
    return runtime.read_demo_env(path)


@pytest.fixture
def demo(tmp_path):
    if not (pathlib.Path(os.environ.get("TG_BIN_DIR", REPO / "build/san/bin"))
            / "tenantgate-forwarder").exists():
        pytest.skip("forwarder not built")
    env = dict(os.environ, TG_DEMO_DIR=str(tmp_path / "demo"))
    r = subprocess.run(["make", "-s", "demo-up"], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "tenantgate demo is up" in r.stdout
    try:
        yield tmp_path / "demo"
    finally:
        r = subprocess.run(["make", "-s", "demo-down"], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
    assert not (tmp_path / "demo" / "pid").exists()
    logs = list((tmp_path / "demo" / "logs").iterdir())
    assert any("broker" in p.name for p in logs)


def test_demo_up_list_call_down(demo):
    env = read_env(demo / "env")
    for key in ("MCP_URL", "OPENAPI_URL", "BROKER_URL", "VAULT_ADDR",
                "VAULT_TOKEN", "DATABASE_URL"):
        assert env.get(key), key
    alice = (demo / "tokens" / "alice@example.com").read_text().strip()
    h = {"Authorization": f"Bearer {alice}",
         "Accept": "application/json, text/event-stream",
         "MCP-Protocol-Version": "2025-11-25"}
    r = requests.post(env["MCP_URL"], headers=h, timeout=15,
                      json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert r.status_code == 200, r.text
    names = {t["name"] for t in r.json()["result"]["tools"]}
    assert "google__jira_search" in names
    assert not any(n.startswith("microsoft__") for n in names)
    r = requests.post(env["MCP_URL"], headers=h, timeout=15, json={
        "jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "google__jira_search",
                   "arguments": {"jql": "project = GOOG"}}})
    assert r.status_code == 200, r.text
    result = r.json()["result"]
    assert result["isError"] is False, result
    assert "GOOG-" in str(result["structuredContent"])
    for email in ("bob@example.com", "carol@example.com", "dave@example.com"):
        assert (demo / "tokens" / email).exists()
    # `. .demo/env` reaches child processes such as tenantgate-admin
    r = subprocess.run(["sh", "-c", f". {demo / 'env'} && sh -c 'echo "
                        "\"$DATABASE_URL|$TENANTGATE_DATADIR\"'"],
                       capture_output=True, text=True, timeout=10,
                       env={"PATH": os.environ["PATH"]})
    assert r.stdout.strip() == f"{env['DATABASE_URL']}|{REPO}", r.stderr
    r = subprocess.run(["sh", "-c", f". {demo / 'env'} && tenantgate-admin"
                        " tenant list --json"], capture_output=True, text=True,
                       timeout=30, env={"PATH": os.environ["PATH"],
                                        "HOME": str(demo)})
    assert r.returncode == 0, r.stderr
    assert "google" in r.stdout
    # One tenant per credential kind, through the real broker and forwarder:
    # a scoped token and a service-account key work only at the gateway.
    erin = (demo / "tokens" / "erin@example.com").read_text().strip()
    h["Authorization"] = f"Bearer {erin}"
    for tenant in ("scopedco", "serviceco"):
        r = requests.post(env["MCP_URL"], headers=h, timeout=15, json={
            "jsonrpc": "2.0", "id": 3, "method": "tools/call",
            "params": {"name": f"{tenant}__jira_get_issue",
                       "arguments": {"issue_key": "SCOP-1" if tenant == "scopedco"
                                     else "SERV-1"}}})
        assert r.status_code == 200, r.text
        result = r.json()["result"]
        assert result["isError"] is False, (tenant, result)
        calls = requests.get(env["ATLASSIAN_URL"] + "/__calls", timeout=15,
                             params={"tenant": tenant}).json()["calls"]
        assert {(c["via"], c["auth_scheme"], c["status"]) for c in calls} == {
            ("gateway", "Basic" if tenant == "scopedco" else "Bearer", 200)}
