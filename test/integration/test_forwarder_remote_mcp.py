"""Atlassian's Remote MCP server as a tenant backend (docs/atlassian.md
"Atlassian's Remote MCP server"), against the stand-in of
harness/atlassian_mcp.py: Streamable HTTP at /v1/mcp, Basic for an API
token, Bearer for a service-account key, Atlassian's tool names.

A tenant whose only integration is the Remote MCP server gets its tools in
place of the built-in ones, under the tenant's prefix, with the tenant's
own credential injected by the forwarder (never the user's).
"""

import asyncio

import pytest
from mcp.shared.exceptions import MCPError

from harness.atlassian_mcp import RemoteMCP

from .fake_broker import FwdEnv, Integration

READ_TOOLS = {"atlassianUserInfo", "getAccessibleAtlassianResources", "getJiraIssue",
              "searchJiraIssuesUsingJql", "getTransitionsForJiraIssue",
              "getConfluencePage", "searchConfluenceUsingCql"}
WRITE_TOOLS = {"createJiraIssue", "addCommentToJiraIssue", "transitionJiraIssue"}
ROVO_CLOUD = "5a7e0c3d-1111-4c2b-9d1e-00000000a001"
SVC_CLOUD = "5a7e0c3d-2222-4c2b-9d1e-00000000a002"


@pytest.fixture(scope="module")
def rmcp():
    r = RemoteMCP()
    r.creds = {
        "rovo": r.add_account("Rovo", ROVO_CLOUD, "https://rovo.atlassian.net", "RV"),
        "rovosvc": r.add_account("RovoSvc", SVC_CLOUD, "https://rovosvc.atlassian.net",
                                 "RS", service_account=True)}
    r.start()
    yield r
    r.close()


@pytest.fixture(scope="module")
def env(atlassian, rmcp):
    tenants = {
        "rovo": [Integration("atlassian", "mcp", rmcp.url, dict(rmcp.creds["rovo"]),
                             cred_kind="scoped")],
        "rovosvc": [Integration("atlassian", "mcp", rmcp.url, dict(rmcp.creds["rovosvc"]),
                                cred_kind="service_account")],
        # a revoked token: the server refuses it
        "rovobad": [Integration("atlassian", "mcp", rmcp.url,
                                {"email": "bot@rovo.example.com",
                                 "api_token": "ATATT3xRevokedToken0000000000"},
                                cred_kind="scoped")],
    }
    users = {"rita@example.com": {"rovo": "editor", "rovosvc": "editor"},
             "vic@example.com": {"rovo": "viewer"},
             "bert@example.com": {"rovobad": "editor"}}
    e = FwdEnv(atlassian, users=users, tenants=tenants, backend_tools_ttl="60s",
               name="forwarder-remote-mcp")
    yield e
    e.close()


def run(coro):
    return asyncio.run(coro)


def tools_of(env, user):
    async def go():
        async with env.client(user) as c:
            return (await c.list_tools()).tools
    return {t.name: t for t in run(go())}


def call(env, user, name, args):
    async def go():
        async with env.client(user) as c:
            return await c.call_tool(name, args)
    return run(go())


def test_tools_listed_under_the_tenant_prefix_in_place_of_builtins(env, rmcp):
    tools = tools_of(env, "rita@example.com")
    assert set(tools) == {f"{t}__{n}" for t in ("rovo", "rovosvc")
                          for n in READ_TOOLS | WRITE_TOOLS}
    assert not any("__jira_" in n or "__confluence_" in n for n in tools)
    assert "cloudId" in tools["rovo__getJiraIssue"].input_schema["properties"]
    assert "Tenant 'rovo'" in tools["rovo__getJiraIssue"].description
    seen = {(c["scheme"], c["account"]) for c in rmcp.calls()}
    assert seen == {("Basic", "Rovo"), ("Bearer", "RovoSvc")}


def test_viewer_gets_the_read_tools_only(env):
    assert set(tools_of(env, "vic@example.com")) == {f"rovo__{n}" for n in READ_TOOLS}


@pytest.mark.parametrize("tenant,cloud,scheme,account", [
    ("rovo", ROVO_CLOUD, "Basic", "Rovo"),
    ("rovosvc", SVC_CLOUD, "Bearer", "RovoSvc")])
def test_calls_carry_the_tenants_own_credential(env, rmcp, tenant, cloud, scheme, account):
    rmcp.reset()
    res = call(env, "rita@example.com", f"{tenant}__getAccessibleAtlassianResources", {})
    assert res.is_error is False
    assert res.structured_content["resources"][0]["id"] == cloud
    res = call(env, "rita@example.com", f"{tenant}__getJiraIssue",
               {"cloudId": cloud, "issueIdOrKey": "RV-1"})
    assert res.is_error is False and res.structured_content["key"] == "RV-1"
    calls = [c for c in rmcp.calls() if c["method"] == "tools/call"]
    assert [(c["tool"], c["scheme"], c["account"]) for c in calls] == [
        ("getAccessibleAtlassianResources", scheme, account),
        ("getJiraIssue", scheme, account)]


def test_another_sites_cloud_id_is_a_tool_error(env):
    res = call(env, "rita@example.com", "rovo__getJiraIssue",
               {"cloudId": SVC_CLOUD, "issueIdOrKey": "RS-1"})
    assert res.is_error is True and "not accessible" in res.content[0].text


def test_viewer_cannot_write(env, rmcp):
    rmcp.reset()

    async def go():
        async with env.client("vic@example.com") as c:
            with pytest.raises(MCPError) as ei:
                await c.call_tool("rovo__createJiraIssue", {
                    "cloudId": ROVO_CLOUD, "projectKey": "RV", "issueTypeName": "Task",
                    "summary": "x"})
            return ei.value
    assert "read-only" in run(go()).error.message
    assert not [c for c in rmcp.calls() if c["method"] == "tools/call"]


def test_a_refused_token_is_said_and_never_shown(env, rmcp):
    assert tools_of(env, "bert@example.com") == {}
    r = env.post_mcp("bert@example.com", {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                          "params": {"name": "rovobad__getJiraIssue",
                                                     "arguments": {}}})
    res = r.json()["result"]
    assert res["isError"] is True
    assert "refused the tenant credential" in res["content"][0]["text"]
    assert "ATATT3xRevokedToken" not in r.text and "ATATT3xRevokedToken" not in env.fwd.log()
