"""End to end: the official MCP client -> tenantgate-forwarder -> the real
tenantgate-broker (Kubernetes auth into the real OpenBao, memberships in the
real PostgreSQL) -> the fake Atlassian Cloud, which records which tenant's
key every call carried. The three seed cases through MCP (both revisions)
and through the OpenAPI tool server."""

import asyncio
import time

import httpx2
import pytest
import requests
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from harness import secrets as tg_secrets
from harness.product import DEMO_TOOLS
from harness.proc import wait_for

EXPECTED = DEMO_TOOLS     # harness/product.py
MODES = ["auto", "legacy"]   # 2026-07-28 (discover) and 2025-11-25 (initialize)


@pytest.fixture(scope="module")
def broker(tg):
    b = tg.start_broker(name="e2e-broker")
    yield b
    b.stop()


@pytest.fixture(scope="module")
def fwd(tg, broker):
    f = tg.start_forwarder(broker, name="e2e-forwarder")
    yield f
    f.stop()
    assert f.returncode == 0, f.log_tail()


@pytest.fixture
def atl(fresh_atlassian):
    return fresh_atlassian


def mcp_client(fwd, token, mode):
    hc = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"},
                            timeout=30)
    return Client(streamable_http_client(f"{fwd.url}/mcp", http_client=hc),
                  mode=mode)


def run(coro):
    return asyncio.run(coro)


def calls(atl, at_least=0):
    wait_for(lambda: len(atl.calls) >= at_least, timeout=5,
             what=f"{at_least} upstream call(s)")
    time.sleep(0.05)
    return [(c.tenant, c.path, c.auth_tenant) for c in atl.calls]


# ---- MCP, with the official client -------------------------------------------

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("email", sorted(EXPECTED))
def test_mcp_tools_list_per_user(tg, fwd, email, mode):
    async def go():
        async with mcp_client(fwd, tg.user_token(email), mode) as c:
            assert c.protocol_version == ("2026-07-28" if mode == "auto"
                                          else "2025-11-25")
            return (await c.list_tools()).tools
    tools = run(go())
    assert {t.name for t in tools} == EXPECTED[email]
    for t in tools:
        assert f"'{t.name.split('__')[0]}'" in t.description


@pytest.mark.parametrize("mode", MODES)
def test_mcp_tools_call_uses_that_tenants_key(tg, fwd, atl, mode):
    async def go():
        async with mcp_client(fwd, tg.user_token("bob@example.com"), mode) as c:
            g = await c.call_tool("google__jira_search", {"jql": "project = GOOG"})
            m = await c.call_tool("microsoft__jira_search", {"jql": "project = MS"})
            return g, m
    g, m = run(go())
    assert not g.is_error and not m.is_error
    assert "GOOG-1" in str(g.structured_content)
    assert "MS-1" in str(m.structured_content)
    seen = calls(atl, 2)
    assert ("google", "/rest/api/3/search/jql", "google") in seen
    assert ("microsoft", "/rest/api/3/search/jql", "microsoft") in seen
    assert all(tenant == auth for tenant, _, auth in seen)


@pytest.mark.parametrize("mode", MODES)
def test_mcp_other_tenants_tool_is_refused_without_upstream_call(tg, fwd, atl, mode):
    async def go():
        async with mcp_client(fwd, tg.user_token("alice@example.com"), mode) as c:
            try:
                r = await c.call_tool("microsoft__jira_search", {"jql": "x"})
                return r.is_error, str(r.content)
            except MCPError as e:
                return True, str(e)
    is_error, text = run(go())
    assert is_error
    assert "microsoft" in text
    time.sleep(0.2)
    assert atl.calls == []


def test_forged_raw_tools_call_for_another_tenant(tg, fwd, atl):
    r = requests.post(fwd.url + "/mcp", timeout=10, json={
        "jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "microsoft__jira_create_issue",
                   "arguments": {"project_key": "MS", "summary": "pwned"}}},
        headers={"Authorization": "Bearer " + tg.user_token("alice@example.com"),
                 "Accept": "application/json, text/event-stream",
                 "MCP-Protocol-Version": "2025-11-25"})
    assert r.status_code == 200
    body = r.json()
    assert body.get("error") or body["result"]["isError"] is True
    time.sleep(0.2)
    assert atl.calls == []


def test_viewer_cannot_call_write_tools(tg, fwd, atl):
    r = requests.post(fwd.url + "/mcp", timeout=10, json={
        "jsonrpc": "2.0", "id": 8, "method": "tools/call",
        "params": {"name": "smallco__jira_add_comment",
                   "arguments": {"issue_key": "SC-1", "body": "hi"}}},
        headers={"Authorization": "Bearer " + tg.user_token("dave@example.com"),
                 "Accept": "application/json, text/event-stream",
                 "MCP-Protocol-Version": "2025-11-25"})
    body = r.json()
    assert body.get("error") or body["result"]["isError"] is True
    time.sleep(0.2)
    assert atl.calls == []


def test_openwebui_user_jwt_header(tg, fwd):
    r = requests.get(fwd.url + "/tools", timeout=10, headers={
        "X-OpenWebUI-User-Jwt": tg.owui_token("bob@example.com")})
    assert r.status_code == 200, r.text
    names = {t["name"] for t in r.json()["tools"]}
    assert names == EXPECTED["bob@example.com"]


def test_plain_openwebui_user_headers_are_never_trusted(tg, fwd):
    """Open WebUI falls back to unsigned X-OpenWebUI-User-* headers when it
    cannot sign its JWT: anyone can forge those, so they identify nobody."""
    r = requests.get(fwd.url + "/tools", timeout=10, headers={
        "X-OpenWebUI-User-Email": "alice@example.com",
        "X-OpenWebUI-User-Id": "1", "X-OpenWebUI-User-Name": "Alice",
        "X-OpenWebUI-User-Role": "admin"})
    assert r.status_code == 401, r.text


def test_no_or_bad_identity_is_401(tg, fwd):
    r = requests.get(fwd.url + "/tools", timeout=10)
    assert r.status_code == 401 and "Bearer" in r.headers["WWW-Authenticate"]
    r = requests.get(fwd.url + "/tools", timeout=10,
                     headers={"Authorization": "Bearer " + tg.s.oidc.mint_none(
                         {"email": "alice@example.com"})})
    assert r.status_code == 401


# ---- OpenAPI tool server ----------------------------------------------------------

def auth(tg, email):
    return {"Authorization": "Bearer " + tg.user_token(email)}


@pytest.mark.parametrize("email", sorted(EXPECTED))
def test_openapi_tools_and_tenants(tg, fwd, email):
    r = requests.get(fwd.url + "/tools", headers=auth(tg, email), timeout=10)
    assert r.status_code == 200, r.text
    assert {t["name"] for t in r.json()["tools"]} == EXPECTED[email]
    r = requests.get(fwd.url + "/tenants", headers=auth(tg, email), timeout=10)
    assert r.status_code == 200
    tenants = {t["tenant"] if isinstance(t, dict) else t
               for t in r.json()["tenants"]}
    assert tenants == {n.split("__")[0] for n in EXPECTED[email]}


def test_openapi_execute_seed_cases(tg, fwd, atl):
    r = requests.post(fwd.url + "/tools/google/jira_search/execute",
                      headers=auth(tg, "alice@example.com"), timeout=10,
                      json={"jql": "project = GOOG"})
    assert r.status_code == 200, r.text
    assert "GOOG-1" in r.text
    assert calls(atl, 1) == [("google", "/rest/api/3/search/jql", "google")]
    atl.reset_calls()
    r = requests.post(fwd.url + "/tools/microsoft/jira_search/execute",
                      headers=auth(tg, "alice@example.com"), timeout=10,
                      json={"jql": "project = MS"})
    assert r.status_code == 403
    r = requests.post(fwd.url + "/tools/google/jira_search/execute",
                      headers=auth(tg, "carol@example.com"), timeout=10,
                      json={"jql": "x"})
    assert r.status_code == 403
    r = requests.post(fwd.url + "/tools/google/no_such_tool/execute",
                      headers=auth(tg, "alice@example.com"), timeout=10, json={})
    assert r.status_code == 404
    time.sleep(0.2)
    assert atl.calls == []


def test_openapi_document(fwd):
    r = requests.get(fwd.url + "/openapi.json", timeout=10)
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.1")
    assert "/tools/{tenant}/{tool}/execute" in doc["paths"]


# ---- rotation reaches the forwarder ------------------------------------------

def test_rotated_key_is_used_after_notify(tg, fwd, atl):
    s = tg.s
    h = auth(tg, "alice@example.com")
    r = requests.post(fwd.url + "/tools/google/jira_get_issue/execute",
                      headers=h, json={"issue_key": "GOOG-1"}, timeout=10)
    assert r.status_code == 200, r.text
    # what tenantgate-admin key rotate does: new key in Vault (next KV
    # version), cred_version in PostgreSQL (NOTIFY), the site accepts only it
    new = atl.set_credentials("google")
    version = s.bao.kv_put(s.vault_path("google", "jira"), new)
    tg.sql(f"update tenant_integrations set cred_version = {version} "
           "where tenant_id = 'google' and name = 'jira'")
    wait_for(lambda: requests.post(
        fwd.url + "/tools/google/jira_get_issue/execute", headers=h,
        json={"issue_key": "GOOG-1"}, timeout=10).status_code == 200,
        timeout=15, what="the rotated key in use")
    tg_secrets.scan_text(fwd.log_text(), "forwarder log")


# ---- broker down ---------------------------------------------------------------

def test_broker_down_is_a_clear_503(tg, broker, fwd):
    broker.stop()
    try:
        r = requests.get(fwd.url + "/tools", timeout=15,
                         headers=auth(tg, "erin-new@example.com"))
        assert r.status_code == 503, r.text
        assert "broker" in r.json()["error"]["message"].lower()
    finally:
        broker.start()
