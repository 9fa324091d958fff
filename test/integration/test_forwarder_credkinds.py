"""Atlassian credential kinds through the forwarder (docs/atlassian.md).

Three tenants on a fake Atlassian of their own, one per kind:
- classico: classic API token, Basic email:token at the site;
- scopeco: scoped API token, Basic at <gateway>/ex/<product>/<cloudId>;
- svcco: service-account key, Bearer at the gateway.
The fake's call log must show, for each, the right URL (site or gateway)
and the right auth scheme; a scoped token sent to the site gets 401 there.
"""

import json

import pytest

from harness import wait_for
from harness.atlassian import FakeAtlassian

from .fake_broker import FwdEnv, Integration, atlassian_tenants

KINDS = {"classico": "classic", "scopeco": "scoped", "svcco": "service_account"}
USERS = {"kim@example.com": {t: "editor" for t in KINDS}}


@pytest.fixture(scope="module")
def atl():
    fake = FakeAtlassian(tenants={})
    for slug, kind in KINDS.items():
        fake.add_tenant(slug, cred_kind=kind)
    fake.start()
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def env(atl):
    tenants = atlassian_tenants(atl, tuple(KINDS))
    # A scoped token wrongly set up as classic: its requests go to the site.
    cred = atl.credentials("scopeco")
    tenants["misco"] = [Integration("jira", "jira", atl.base_url("scopeco"), dict(cred))]
    users = {"kim@example.com": dict(USERS["kim@example.com"], misco="editor")}
    e = FwdEnv(atl, users=users, tenants=tenants, name="forwarder-credkinds")
    yield e
    e.close()


def call(env, name, args):
    r = env.post_mcp("kim@example.com", {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                         "params": {"name": name, "arguments": args}})
    assert r.status_code == 200, r.text
    return r.json()["result"]


def last_call(atl, tenant):
    wait_for(lambda: atl.calls_for(tenant), timeout=5, what=f"a call for {tenant}")
    return atl.calls_for(tenant)[-1]


@pytest.mark.parametrize("tenant,via,scheme", [("classico", "site", "Basic"),
                                               ("scopeco", "gateway", "Basic"),
                                               ("svcco", "gateway", "Bearer")])
def test_each_kind_goes_to_its_url_with_its_scheme(env, atl, tenant, via, scheme):
    atl.reset_calls()
    key = atl.project(tenant) + "-1"
    res = call(env, f"{tenant}__jira_get_issue", {"issue_key": key})
    assert res["isError"] is False, res
    assert res["structuredContent"]["key"] == key
    c = last_call(atl, tenant)
    assert (c.via, c.auth_scheme, c.auth_tenant, c.status) == (via, scheme, tenant, 200)
    assert c.path == f"/rest/api/3/issue/{key}"
    # links in results still point at the site, never at the gateway
    assert atl.base_url(tenant) in json.dumps(res["structuredContent"])
    assert "/ex/jira/" not in json.dumps(res["structuredContent"])


@pytest.mark.parametrize("tenant,via,scheme", [("scopeco", "gateway", "Basic"),
                                               ("svcco", "gateway", "Bearer")])
def test_confluence_goes_through_the_confluence_gateway(env, atl, tenant, via, scheme):
    atl.reset_calls()
    res = call(env, f"{tenant}__confluence_search", {"cql": "type = page"})
    assert res["isError"] is False, res
    c = last_call(atl, tenant)
    assert (c.via, c.auth_scheme, c.status) == (via, scheme, 200)
    assert c.path == "/wiki/rest/api/search"


def test_scoped_token_at_the_site_is_refused_as_atlassian_does(env, atl):
    atl.reset_calls()
    res = call(env, "misco__jira_get_issue", {"issue_key": atl.project("scopeco") + "-1"})
    assert res["isError"] is True
    assert "refused" in res["content"][0]["text"]
    c = last_call(atl, "scopeco")
    assert (c.via, c.status, c.auth_tenant) == ("site", 401, None)


def test_the_fake_tells_the_cloud_id_without_auth(atl):
    import requests
    r = requests.get(atl.base_url("scopeco") + "/_edge/tenant_info", timeout=5)
    assert r.status_code == 200 and r.json() == {"cloudId": atl.cloud_id("scopeco")}
    # a classic token through the gateway is refused too
    s = requests.Session()
    s.auth = (atl.tenants["classico"].email, atl.tenants["classico"].api_token)
    r = s.get(atl.api_url("classico") + "/rest/api/3/myself", timeout=5)
    assert r.status_code == 401


@pytest.mark.parametrize("patch,words", [
    ({"api_url": "http://127.0.0.1:9/ex/jira/elsewhere"}, "different base URL"),
    ({"api_url": None}, "different base URL"),
    ({"cred_kind": "classic"}, "different credential kind")])
def test_redeem_answer_must_match_the_grant(env, atl, patch, words):
    """The broker's redeem answer cannot send the key elsewhere or change
    its header shape: the forwarder refuses it and calls nobody."""
    # A fresh user token: new grants, so the credential is redeemed anew.
    token = env.broker.token_for("kim@example.com")
    env.broker.redeem_patch = patch
    atl.reset_calls()
    try:
        r = env.http.post(f"{env.url}/mcp", timeout=30, headers=env.headers(
            Authorization=f"Bearer {token}", **{"MCP-Protocol-Version": "2025-11-25"}),
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
                "name": "svcco__jira_get_issue",
                "arguments": {"issue_key": atl.project("svcco") + "-1"}}})
    finally:
        env.broker.redeem_patch = {}
    res = r.json()["result"]
    assert res["isError"] is True
    assert words in res["content"][0]["text"], res
    assert atl.calls_for("svcco") == []
