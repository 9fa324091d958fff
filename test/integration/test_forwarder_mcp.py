"""The forwarder's MCP endpoint with the official `mcp` client (2.x).

Both revisions: `mode="auto"` probes server/discover and runs at
2026-07-28; `mode="legacy"` runs the initialize handshake at 2025-11-25.
The broker is the FakeBroker stand-in (fixed memberships); Atlassian is
the harness's fake, which records which tenant's key each call carried.
"""

import asyncio
import base64
import json

import time

import pytest
from mcp.shared.exceptions import MCPError

from harness import wait_for

from .fake_broker import USERS, FwdEnv, expected_tools

MODES = ["auto", "legacy"]


@pytest.fixture(scope="module")
def env(atlassian):
    e = FwdEnv(atlassian)
    yield e
    e.close()


@pytest.fixture
def atl(env, fresh_atlassian):
    return fresh_atlassian


def run(coro):
    return asyncio.run(coro)


def upstream_calls(atl, at_least=0):
    """The fake records a call just after answering it: wait for them."""
    wait_for(lambda: len(atl.calls) >= at_least, timeout=5,
             what=f"{at_least} upstream call(s)")
    time.sleep(0.05)
    return [(c.tenant, c.method, c.path, c.auth_tenant) for c in atl.calls]


# ---- tools/list -----------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("user", sorted(USERS))
def test_tools_list_shows_only_the_callers_tenants(env, mode, user):
    async def go():
        async with env.client(user, mode) as c:
            want = "2026-07-28" if mode == "auto" else "2025-11-25"
            assert c.protocol_version == want
            return (await c.list_tools()).tools
    tools = run(go())
    names = {t.name for t in tools}
    assert names == expected_tools(USERS[user])
    for t in tools:
        tenant, tool = t.name.split("__", 1)
        assert f"tenant '{tenant}'" in t.description
        assert t.input_schema["type"] == "object"
        # read tools say so; a viewer sees nothing else
        if USERS[user].get(tenant) == "viewer":
            assert t.annotations.read_only_hint is True


def test_user_in_no_tenant_gets_an_empty_list_not_an_error(env):
    r = env.post_mcp("carol@example.com",
                     {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert r.status_code == 200
    assert r.json() == {"jsonrpc": "2.0", "id": 1, "result": {"tools": []}}


# ---- tools/call -------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_call_reaches_atlassian_with_that_tenants_key(env, atl, mode):
    async def go():
        async with env.client("bob@example.com", mode) as c:
            a = await c.call_tool("microsoft__jira_get_issue", {"issue_key": "MS-1"})
            b = await c.call_tool("google__jira_search",
                                  {"jql": "project = GOOG AND status = \"To Do\"",
                                   "max_results": 5})
            return a, b
    a, b = run(go())
    assert a.is_error is False
    assert a.structured_content["key"] == "MS-1"
    assert a.structured_content["summary"] == "Azure AD sync fails for guest users"
    assert a.structured_content["url"].endswith("/t/microsoft/browse/MS-1")
    assert json.loads(a.content[0].text) == a.structured_content
    assert b.is_error is False
    keys = [i["key"] for i in b.structured_content["issues"]]
    assert keys == ["GOOG-2", "GOOG-4"]
    assert set(b.structured_content["issues"][0]) >= {
        "key", "summary", "status", "assignee", "updated", "url"}
    calls = upstream_calls(atl, 2)
    assert ("microsoft", "GET", "/rest/api/3/issue/MS-1", "microsoft") in calls
    assert ("google", "GET", "/rest/api/3/search/jql", "google") in calls
    # every call carried exactly its own tenant's key
    assert all(c.auth_tenant == c.tenant and c.auth_scheme == "Basic"
               for c in atl.calls)


@pytest.mark.parametrize("mode", MODES)
def test_forged_call_for_another_tenant_is_refused_before_any_upstream_call(
        env, atl, mode):
    redeems = len(env.broker.calls_to("/v1/redeem"))

    async def go():
        async with env.client("alice@example.com", mode) as c:
            with pytest.raises(MCPError) as ei:
                await c.call_tool("microsoft__jira_search", {"jql": "project = MS"})
            return ei.value
    e = run(go())
    assert e.error.code == -32602
    assert "microsoft__jira_search" in e.error.message
    assert upstream_calls(atl) == []
    # and no credential for it was even asked for
    new = env.broker.calls_to("/v1/redeem")[redeems:]
    assert all(c.tenant != "microsoft" for c in new)


def test_forged_raw_calls_are_refused_in_both_revisions(env, atl):
    body = {"jsonrpc": "2.0", "id": 9, "method": "tools/call",
            "params": {"name": "microsoft__jira_create_issue",
                       "arguments": {"project_key": "MS", "summary": "pwned"}}}
    r = env.post_mcp("alice@example.com", body)
    assert r.status_code == 200
    assert r.json()["error"]["code"] == -32602
    body["params"]["_meta"] = modern_meta()
    r = env.post_mcp("alice@example.com", body, version="2026-07-28",
                     headers={"Mcp-Method": "tools/call",
                              "Mcp-Name": "microsoft__jira_create_issue"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == -32602
    assert upstream_calls(atl) == []


def test_viewer_cannot_call_a_write_tool(env, atl):
    async def go():
        async with env.client("dave@example.com") as c:
            with pytest.raises(MCPError) as ei:
                await c.call_tool("smallco__jira_create_issue",
                                  {"project_key": "SC", "summary": "x"})
            return ei.value
    e = run(go())
    assert "not granted" in e.error.message
    assert upstream_calls(atl) == []


def test_write_tools_round_trip_with_adf(env, atl):
    async def go():
        async with env.client("alice@example.com") as c:
            made = await c.call_tool("google__jira_create_issue", {
                "project_key": "GOOG", "summary": "Forwarder test issue",
                "description": "Line one\nline two\n\nSecond paragraph",
                "issue_type": "Bug"})
            key = made.structured_content["key"]
            com = await c.call_tool("google__jira_add_comment",
                                    {"issue_key": key, "body": "Looks good"})
            tr = await c.call_tool("google__jira_get_transitions", {"issue_key": key})
            done = [t["id"] for t in tr.structured_content["transitions"]
                    if t["name"] == "Done"][0]
            mv = await c.call_tool("google__jira_transition_issue",
                                   {"issue_key": key, "transition_id": done})
            got = await c.call_tool("google__jira_get_issue", {"issue_key": key})
            return made, com, mv, got
    made, com, mv, got = run(go())
    for r in (made, com, mv, got):
        assert r.is_error is False, r.content[0].text
    key = made.structured_content["key"]
    issue = atl.issue("google", key)
    assert issue["status"] == "Done"
    assert issue["issuetype"] == "Bug"
    # plain text went upstream as ADF: paragraphs and a hard break
    paras = issue["description"]["content"]
    assert len(paras) == 2
    assert [n["type"] for n in paras[0]["content"]] == ["text", "hardBreak", "text"]
    assert issue["comments"][0]["body"]["type"] == "doc"
    assert com.structured_content["body"] == "Looks good"
    assert got.structured_content["description"] == \
        "Line one\nline two\n\nSecond paragraph"
    assert got.structured_content["status"] == "Done"


def test_confluence_tools(env, atl):
    async def go():
        async with env.client("bob@example.com", "legacy") as c:
            s = await c.call_tool("microsoft__confluence_search",
                                  {"cql": "type = page AND text ~ \"release\""})
            pid = s.structured_content["results"][0]["id"]
            p = await c.call_tool("microsoft__confluence_get_page", {"page_id": pid})
            return s, p
    s, p = run(go())
    assert s.structured_content["results"][0]["title"] == "Microsoft release checklist"
    assert p.structured_content["body"] == \
        "Sign the build, then tag the release in Azure DevOps."
    assert p.structured_content["url"].startswith(env.atl.base_url("microsoft"))


def test_tool_failure_is_an_error_result_with_a_clear_message(env, atl):
    async def go():
        async with env.client("alice@example.com") as c:
            return await c.call_tool("google__jira_get_issue", {"issue_key": "GOOG-999"})
    r = run(go())
    assert r.is_error is True
    assert r.structured_content is None
    assert "GOOG-999" in r.content[0].text and "not found" in r.content[0].text
    tok = atl.credentials("google")["api_token"]
    assert tok not in r.content[0].text


# ---- the wire forms -----------------------------------------------------------

def modern_meta():
    return {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "curl", "version": "1"}}


def modern(env, user, method, params=None, name=None, rid=1):
    p = dict(params or {})
    p["_meta"] = modern_meta()
    h = {"Mcp-Method": method}
    if name is not None:
        h["Mcp-Name"] = name
    return env.post_mcp(user, {"jsonrpc": "2.0", "id": rid, "method": method,
                               "params": p}, version="2026-07-28", headers=h)


def test_stateless_2026_request_form_with_raw_json(env, atl):
    r = modern(env, "bob@example.com", "server/discover")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    assert "Mcp-Session-Id" not in r.headers
    res = r.json()["result"]
    assert res["supportedVersions"] == ["2026-07-28"]
    assert "tools" in res["capabilities"]
    assert res["resultType"] == "complete"

    r = modern(env, "bob@example.com", "tools/list", rid="two")
    assert r.json()["id"] == "two"
    names = {t["name"] for t in r.json()["result"]["tools"]}
    assert names == expected_tools(USERS["bob@example.com"])

    r = modern(env, "bob@example.com", "tools/call",
               {"name": "google__jira_get_issue", "arguments": {"issue_key": "GOOG-3"}},
               name="google__jira_get_issue")
    res = r.json()["result"]
    assert res["isError"] is False and res["resultType"] == "complete"
    assert res["structuredContent"]["key"] == "GOOG-3"

    # Mcp-Name may be base64-wrapped; it must still match the body
    r = modern(env, "bob@example.com", "tools/call",
               {"name": "google__jira_get_issue", "arguments": {"issue_key": "GOOG-3"}},
               name="=?base64?" + base64.b64encode(b"google__jira_get_issue").decode()
               + "?=")
    assert r.status_code == 200
    r = modern(env, "bob@example.com", "tools/call",
               {"name": "google__jira_get_issue", "arguments": {"issue_key": "GOOG-3"}},
               name="google__jira_search")
    assert r.status_code == 400 and r.json()["error"]["code"] == -32020

    # a notification is accepted and dropped
    r = env.post_mcp("bob@example.com", {"jsonrpc": "2.0",
                                         "method": "notifications/cancelled",
                                         "params": {"requestId": 1}},
                     version="2026-07-28")
    assert r.status_code == 202 and r.content == b""


def test_handshake_form_is_stateless_too(env):
    r = env.post_mcp("alice@example.com", {
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "curl", "version": "1"}}}, version=None)
    assert r.status_code == 200
    assert "Mcp-Session-Id" not in r.headers
    assert r.json()["result"]["protocolVersion"] == "2025-11-25"
    assert r.json()["result"]["serverInfo"]["name"] == "tenantgate-forwarder"
    r = env.post_mcp("alice@example.com",
                     {"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert r.status_code == 202 and r.content == b""
    r = env.post_mcp("alice@example.com", {"jsonrpc": "2.0", "id": 2, "method": "ping"})
    assert r.json() == {"jsonrpc": "2.0", "id": 2, "result": {}}
    # a client that sends a session id it made up is not refused
    r = env.post_mcp("alice@example.com", {"jsonrpc": "2.0", "id": 3, "method": "ping"},
                     headers={"Mcp-Session-Id": "whatever"})
    assert r.status_code == 200


def test_open_webui_signed_user_header_wins_over_a_static_key(env, atl):
    # Open WebUI with auth_type=bearer: a static tool-server key in
    # Authorization, the user in X-OpenWebUI-User-Jwt.
    h = {"Authorization": "Bearer static-tool-server-key",
         "X-OpenWebUI-User-Jwt": env.token("dave@example.com"),
         "MCP-Protocol-Version": "2025-11-25",
         "Content-Type": "application/json", "Accept": "application/json"}
    r = env.http.post(f"{env.url}/mcp", headers=h, data=json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
    assert r.status_code == 200
    names = {t["name"] for t in r.json()["result"]["tools"]}
    assert names == expected_tools(USERS["dave@example.com"])


def test_grants_are_cached_per_token(env, atl):
    user = "bob@example.com"
    env.broker.reset_calls()
    for _ in range(3):
        r = env.post_mcp(user, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert r.status_code == 200
    r = env.post_mcp(user, {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "google__jira_get_issue", "arguments": {"issue_key": "GOOG-1"}}})
    r = env.post_mcp(user, {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "google__jira_get_issue", "arguments": {"issue_key": "GOOG-2"}}})
    assert r.json()["result"]["isError"] is False
    # the token was asked about once at most (it may be cached from an
    # earlier test), the credential redeemed once at most
    assert len(env.broker.calls_to("/v1/grants")) <= 1
    assert len(env.broker.calls_to("/v1/redeem")) <= 1
    # a new token for the same user is a new cache entry
    other = env.broker.token_for(user)
    r = env.http.post(f"{env.url}/mcp", headers=env.headers(
        Authorization=f"Bearer {other}", **{"MCP-Protocol-Version": "2025-11-25"}),
        data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
    assert r.status_code == 200
    assert len(env.broker.calls_to("/v1/grants")) >= 1
    # the forwarder never logs a token, only what the broker said about it
    log = env.fwd.log()
    assert env.token(user) not in log and other not in log


def test_one_serialised_result_is_both_text_and_structured_content(env, atl):
    """The result is serialised once: the text content is exactly that JSON
    text, and structuredContent is the same value, in both revisions."""
    r = modern(env, "bob@example.com", "tools/call",
               {"name": "google__jira_search",
                "arguments": {"jql": "project = GOOG", "max_results": 2}},
               name="google__jira_search")
    res = r.json()["result"]
    text = res["content"][0]["text"]
    assert json.loads(text) == res["structuredContent"]
    assert json.dumps(res["structuredContent"], separators=(",", ":"),
                      ensure_ascii=False) == text
    assert res["structuredContent"]["count"] == 2
    r = env.post_mcp("bob@example.com", {
        "jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "google__jira_get_issue",
                   "arguments": {"issue_key": "GOOG-3"}}}, version="2025-11-25")
    res = r.json()["result"]
    assert json.loads(res["content"][0]["text"]) == res["structuredContent"]
    assert "resultType" not in res


def test_tools_list_tells_the_model_jql_needs_a_restriction(env):
    r = modern(env, "bob@example.com", "tools/list")
    tools = {t["name"]: t for t in r.json()["result"]["tools"]}
    desc = tools["google__jira_search"]["description"]
    assert "must restrict" in desc and "order by created DESC" in desc
    # the same precomputed fragment on every request
    again = modern(env, "bob@example.com", "tools/list", rid="again")
    assert again.json()["result"]["tools"] == r.json()["result"]["tools"]
