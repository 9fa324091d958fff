"""What the forwarder does with bad input and misbehaving neighbours.

Bad requests (malformed JSON, oversize bodies, unknown methods, wrong
argument types, batches, foreign Origins, no identity); a misbehaving
Atlassian (huge answers, 429 with Retry-After, 5xx, refused key, hanging);
a misbehaving broker (down, 503, refusing the forwarder, grants expiring
mid-session). Every case must end in a clear error, never a crash (the
forwarder runs from the sanitizer build), and no tenant key may appear in
any answer or log.
"""

import asyncio
import json
import socket
import time

import pytest
from mcp.shared.exceptions import MCPError

from harness import wait_for

from .fake_broker import FwdEnv


@pytest.fixture(scope="module")
def env(atlassian):
    e = FwdEnv(atlassian, upstream_timeout="2s", retry_after_max="2s",
               max_body="64KiB", upstream_max_response="1MiB")
    yield e
    e.close()


@pytest.fixture
def atl(env, fresh_atlassian):
    yield fresh_atlassian
    fresh_atlassian.clear_faults()


def run(coro):
    return asyncio.run(coro)


def call(env, user, name, args, version="2025-11-25"):
    return env.post_mcp(user, {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                               "params": {"name": name, "arguments": args}},
                        version=version)


def no_key_in(atl, text):
    for t in ("google", "microsoft", "smallco"):
        cred = atl.credentials(t)
        assert cred["api_token"] not in text


def settled_calls(atl, n):
    wait_for(lambda: len(atl.calls) >= n, timeout=5, what=f"{n} upstream calls")
    time.sleep(0.05)
    return list(atl.calls)


# ---- bad requests ---------------------------------------------------------------

@pytest.mark.parametrize("raw", ["{", "{\"jsonrpc\":\"2.0\",\"id\":1,}", "\xff\xfe",
                                 "[1, 2", "nul"])
def test_malformed_json_is_a_parse_error(env, raw):
    r = env.post_mcp("alice@example.com", None, raw=raw.encode("latin-1"))
    assert r.status_code == 400
    body = r.json()
    assert body["error"]["code"] == -32700 and body["id"] is None
    assert body["error"]["message"].startswith("Parse error")


def test_oversize_body_is_refused(env):
    big = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": "google__jira_search",
                                 "arguments": {"jql": "x" * 70000}}})
    r = env.post_mcp("alice@example.com", None, raw=big)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "body_too_large"
    # far beyond the limit libevent stops reading: a 413 or a closed socket,
    # never a crash
    try:
        r = env.post_mcp("alice@example.com", None, raw="x" * (4 << 20))
        assert r.status_code == 413
    except Exception:  # connection reset while we were still sending
        pass
    assert env.http.get(f"{env.url}/health").status_code == 200


def test_unknown_method(env):
    r = env.post_mcp("alice@example.com",
                     {"jsonrpc": "2.0", "id": 5, "method": "resources/list"})
    assert r.status_code == 200
    assert r.json()["error"]["code"] == -32601 and r.json()["id"] == 5


def test_invalid_requests(env):
    for body in ({"id": 1, "method": "ping"},
                 {"jsonrpc": "1.0", "id": 1, "method": "ping"},
                 {"jsonrpc": "2.0", "id": {"a": 1}, "method": "ping"},
                 {"jsonrpc": "2.0", "id": 1, "method": 7},
                 {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": [1]},
                 "hello"):
        r = env.post_mcp("alice@example.com", body)
        assert r.status_code == 400, body
        assert r.json()["error"]["code"] == -32600, body


def test_batch_is_refused_where_the_revision_forbids_it(env):
    batch = [{"jsonrpc": "2.0", "id": 1, "method": "ping"},
             {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}]
    for v in ("2025-06-18", "2025-11-25", "2026-07-28"):
        r = env.post_mcp("alice@example.com", batch, version=v)
        assert r.status_code == 400, v
        assert r.json()["error"]["code"] == -32600, v
    # 2025-03-26 had batches
    r = env.post_mcp("alice@example.com", batch, version="2025-03-26")
    assert r.status_code == 200
    assert [m["id"] for m in r.json()] == [1, 2]


def test_wrong_argument_types(env, atl):
    for args, msg in (({"jql": 5}, "'jql' must be a string"),
                      ({"jql": "x", "max_results": "ten"}, "'max_results' must be an integer"),
                      ({"jql": "x", "max_results": 0}, "at least 1"),
                      ({}, "'jql' is required"),
                      ({"jql": "x", "sql": "drop"}, "unknown argument 'sql'")):
        r = call(env, "alice@example.com", "google__jira_search", args)
        res = r.json()["result"]
        assert res["isError"] is True, args
        assert msg in res["content"][0]["text"], args
    r = call(env, "alice@example.com", "google__jira_get_issue",
             {"issue_key": "../../rest/api/3/myself"})
    assert r.json()["result"]["isError"] is True
    # arguments that are not an object at all: invalid params
    r = env.post_mcp("alice@example.com", {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                           "params": {"name": "google__jira_search",
                                                      "arguments": "jql=x"}})
    assert r.json()["error"]["code"] == -32602
    r = env.post_mcp("alice@example.com", {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                           "params": {"name": 42}})
    assert r.json()["error"]["code"] == -32602
    time.sleep(0.1)
    assert atl.calls == []


def test_no_identity_or_refused_identity_is_401(env):
    r = env.http.post(f"{env.url}/mcp", data="{}", headers={
        "Content-Type": "application/json"})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer realm=\"tenantgate\"")
    assert r.json()["error"]["data"]["code"] == "unauthenticated"
    r = env.http.post(f"{env.url}/mcp", data="{}", headers={
        "Content-Type": "application/json", "Authorization": "Bearer not-a-user"})
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    assert r.json()["error"]["data"]["code"] == "bad_signature"
    r = env.http.get(f"{env.url}/tools", headers={"Authorization": "Basic eDp5"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthenticated"
    r = env.http.get(f"{env.url}/tools", headers={"Authorization": "Bearer " + "a" * 20000})
    assert r.status_code in (401, 400, 431)


def test_dns_rebinding_origin_is_refused(env):
    r = env.post_mcp("alice@example.com", {"jsonrpc": "2.0", "id": 1, "method": "ping"},
                     headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    assert r.json()["error"]["data"]["code"] == "origin_not_allowed"
    for ok in ("http://localhost:3000", "http://127.0.0.1:8080", "http://[::1]"):
        r = env.post_mcp("alice@example.com", {"jsonrpc": "2.0", "id": 1, "method": "ping"},
                         headers={"Origin": ok})
        assert r.status_code == 200, ok


def test_get_and_delete_on_mcp_are_405(env):
    r = env.http.get(f"{env.url}/mcp", headers=env.headers("alice@example.com",
                                                           Accept="text/event-stream"))
    assert r.status_code == 405
    assert r.headers["Allow"] == "POST"
    r = env.http.delete(f"{env.url}/mcp", headers=env.headers("alice@example.com"))
    assert r.status_code == 405


def test_accept_and_content_type(env):
    r = env.post_mcp("alice@example.com", {"jsonrpc": "2.0", "id": 1, "method": "ping"},
                     headers={"Accept": "text/html"})
    assert r.status_code == 406
    r = env.post_mcp("alice@example.com", {"jsonrpc": "2.0", "id": 1, "method": "ping"},
                     headers={"Content-Type": "text/plain"})
    assert r.status_code == 415


def test_unsupported_protocol_version_header(env):
    r = env.post_mcp("alice@example.com", {"jsonrpc": "2.0", "id": 1, "method": "ping"},
                     version="2030-01-01")
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == -32022
    assert "2025-11-25" in err["data"]["supported"]
    assert "2026-07-28" in err["data"]["supported"]


# ---- a misbehaving Atlassian -----------------------------------------------------------

def test_huge_upstream_response_is_a_tool_error(env, atl):
    atl.fault("google", body_bytes=3 << 20)
    r = call(env, "alice@example.com", "google__jira_search", {"jql": "project = GOOG"})
    res = r.json()["result"]
    assert res["isError"] is True
    assert "larger than" in res["content"][0]["text"]
    # a large answer under the limit is trimmed to the result cap
    atl.fault("google", body_bytes=900_000)
    r = call(env, "alice@example.com", "google__jira_search", {"jql": "project = GOOG"})
    res = r.json()["result"]
    assert res["isError"] is False
    assert len(r.content) < 64 * 1024


def test_many_results_are_capped(env, atl):
    for n in range(120):
        atl.tenants["google"].add_issue(f"Capacity item {n} " + "x" * 1500)
    r = call(env, "alice@example.com", "google__jira_search",
             {"jql": "project = GOOG", "max_results": 50})
    res = r.json()["result"]
    assert res["isError"] is False
    sc = res["structuredContent"]
    assert sc["truncated"] is True
    assert 0 < len(sc["issues"]) < 50
    assert len(json.dumps(sc, separators=(",", ":"))) <= 64 * 1024


def test_429_is_answered_at_once_never_slept_out(env, atl):
    """Issue 18 point 5: a request never sleeps out a 429, however short
    the Retry-After; it answers at once (MCP: a tool error; OpenAPI: 429
    with Retry-After) and the wait becomes the tenant's back-off."""
    atl.fault("google", status=429, retry_after=1)
    t0 = time.monotonic()
    r = call(env, "alice@example.com", "google__jira_get_issue", {"issue_key": "GOOG-1"})
    took = time.monotonic() - t0
    res = r.json()["result"]
    assert res["isError"] is True
    assert "retry in 1 s" in res["content"][0]["text"]
    assert took < 0.9, took
    assert [c.status for c in settled_calls(atl, 1)] == [429]
    time.sleep(1.1)    # the tenant's back-off runs out
    atl.reset_calls()
    atl.fault("google", status=429, retry_after=2)
    t0 = time.monotonic()
    r = env.http.post(f"{env.url}/tools/google/jira_get_issue/execute",
                      json={"issue_key": "GOOG-1"}, timeout=30,
                      headers={"Authorization": f"Bearer {env.token('alice@example.com')}"})
    assert time.monotonic() - t0 < 1.5
    assert r.status_code == 429, r.text
    assert r.headers["Retry-After"] == "2"
    assert [c.status for c in settled_calls(atl, 1)] == [429]
    time.sleep(2.1)


def test_429_with_long_retry_after_is_a_tool_error(env, atl):
    atl.fault("google", status=429, retry_after=6)
    t0 = time.monotonic()
    r = call(env, "alice@example.com", "google__jira_get_issue", {"issue_key": "GOOG-1"})
    assert time.monotonic() - t0 < 5
    res = r.json()["result"]
    assert res["isError"] is True
    text = res["content"][0]["text"]
    assert "rate-limiting" in text and "Retry-After: 6 s" in text
    settled_calls(atl, 1)
    # The back-off is the tenant's, not the caller's: another user's call
    # in the window is answered at once and never reaches Atlassian.
    n = len(atl.calls)
    r = call(env, "bob@example.com", "google__jira_get_issue", {"issue_key": "GOOG-1"})
    res = r.json()
    assert "asked us to slow down" in json.dumps(res), res
    assert len(atl.calls) == n
    wait_for(lambda: "slow down" not in call(env, "alice@example.com",
             "google__jira_get_issue", {"issue_key": "GOOG-1"}).text,
             timeout=10, what="the tenant's back-off to end")
    atl.reset_calls()
    # and twice in a row with a short wait: one retry at most
    atl.fault("google", status=429, retry_after=0, count=2)
    r = call(env, "alice@example.com", "google__jira_get_issue", {"issue_key": "GOOG-1"})
    assert r.json()["result"]["isError"] is True
    assert [c.status for c in settled_calls(atl, 2)] == [429, 429]


def test_unbounded_jql_is_an_actionable_tool_error(env, atl):
    """Jira Cloud refuses JQL without a restriction; what real models send
    first ("order by created DESC") must come back as advice, not a crash."""
    r = call(env, "alice@example.com", "google__jira_search",
             {"jql": "order by created DESC"})
    res = r.json()["result"]
    assert res["isError"] is True
    text = res["content"][0]["text"]
    assert "Unbounded JQL" in text and "restriction" in text, text


@pytest.mark.parametrize("status,words", [(500, "Atlassian failed"),
                                          (503, "Atlassian failed"),
                                          (403, "may not access")])
def test_upstream_errors_are_tool_errors(env, atl, status, words):
    atl.fault("microsoft", status=status)
    r = call(env, "bob@example.com", "microsoft__jira_get_issue", {"issue_key": "MS-1"})
    res = r.json()["result"]
    assert res["isError"] is True
    assert words in res["content"][0]["text"]
    no_key_in(atl, r.text)


def test_refused_key_says_rotate_and_never_shows_it(env, atl):
    old = atl.credentials("smallco")
    try:
        atl.set_credentials("smallco")      # the stored key is now wrong
        r = call(env, "dave@example.com", "smallco__jira_search", {"jql": "project = SC"})
        res = r.json()["result"]
        assert res["isError"] is True
        assert "rotate" in res["content"][0]["text"]
        no_key_in(atl, r.text)
        assert old["api_token"] not in r.text
    finally:
        atl.set_credentials("smallco", api_token=old["api_token"])


def test_hanging_upstream_times_out(env, atl):
    atl.fault("google", hang=3.5)
    t0 = time.monotonic()
    r = call(env, "alice@example.com", "google__confluence_search", {"cql": "text ~ x"})
    took = time.monotonic() - t0
    res = r.json()["result"]
    assert res["isError"] is True
    assert "did not answer" in res["content"][0]["text"]
    assert 1.5 <= took < 3.5
    # other users are served meanwhile and after
    r = call(env, "bob@example.com", "microsoft__jira_get_issue", {"issue_key": "MS-2"})
    assert r.json()["result"]["isError"] is False
    # the fake records the hung request once it gives up hanging: wait, so
    # it does not show up in a later test's calls
    settled_calls(atl, 2)
    wait_for(lambda: any(c.tenant == "google" for c in atl.calls), timeout=10,
             what="the hung call to be recorded")


def test_unreachable_upstream_is_a_tool_error(atlassian):
    # a tenant whose base URL points at a closed port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/t/ghost"
    from .fake_broker import Integration
    e = FwdEnv(atlassian, users={"gina@example.com": {"ghost": "editor"}},
               tenants={"ghost": [Integration("jira", "jira", dead, {
                   "email": "bot@ghost.example", "api_token": "ghost-token-123456"})]},
               name="forwarder-ghost")
    try:
        r = call(e, "gina@example.com", "ghost__jira_search", {"jql": "x"})
        res = r.json()["result"]
        assert res["isError"] is True
        assert "cannot reach Atlassian" in res["content"][0]["text"]
        assert "ghost-token" not in r.text
    finally:
        e.close()


# ---- a misbehaving broker --------------------------------------------------------------

def test_broker_down_is_503_with_a_clear_message(env, atl):
    user = "bob@example.com"
    # warm: bob's grants and his google credential are cached
    assert call(env, user, "google__jira_get_issue",
                {"issue_key": "GOOG-1"}).json()["result"]["isError"] is False
    fresh = env.broker.token_for("alice@example.com")
    env.broker.stop()
    try:
        r = env.http.post(f"{env.url}/mcp", headers=env.headers(
            Authorization=f"Bearer {fresh}", **{"MCP-Protocol-Version": "2025-11-25"}),
            data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        assert r.status_code == 503
        err = r.json()["error"]
        assert err["data"]["code"] == "broker_unavailable"
        assert "broker is unavailable" in err["message"]
        r = env.http.get(f"{env.url}/tools", headers={"Authorization": f"Bearer {fresh}"})
        assert r.status_code == 503
        assert r.json()["error"]["code"] == "broker_unavailable"
        assert env.http.get(f"{env.url}/readyz").status_code == 503
        # the official client surfaces the message
        async def go():
            async with env.client("carol@example.com") as c:
                await c.list_tools()
        with pytest.raises(Exception) as ei:
            run(go())
        assert "broker is unavailable" in repr(ei.value)
        # a user whose grant and credential are cached keeps working
        r = call(env, user, "google__jira_get_issue", {"issue_key": "GOOG-2"})
        assert r.json()["result"]["isError"] is False
    finally:
        env.broker.start()
    assert env.http.get(f"{env.url}/readyz").status_code == 200


def test_broker_errors_are_relayed(env):
    tok = env.broker.token_for("alice@example.com")
    env.broker.fault("/v1/grants", 503, "db_unavailable")
    r = env.http.get(f"{env.url}/tenants", headers={"Authorization": f"Bearer {tok}"})
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "db_unavailable"
    # the next try works (nothing negative was cached)
    r = env.http.get(f"{env.url}/tenants", headers={"Authorization": f"Bearer {tok}"})
    assert r.status_code == 200


def test_broker_refusing_the_forwarder_is_502(env):
    tok = env.broker.token_for("alice@example.com")
    real = env.broker.caller_secret
    env.broker.caller_secret = real + "-rotated"
    try:
        r = env.http.get(f"{env.url}/tenants", headers={"Authorization": f"Bearer {tok}"})
        assert r.status_code == 502
        assert r.json()["error"]["code"] == "broker_refused"
    finally:
        env.broker.caller_secret = real


def test_grant_expired_mid_session_is_renewed(env, atl):
    user = "alice@example.com"
    tok = env.broker.token_for(user)
    h = env.headers(Authorization=f"Bearer {tok}", **{"MCP-Protocol-Version": "2025-11-25"})
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    assert env.http.post(f"{env.url}/mcp", headers=h, data=json.dumps(body)).ok
    env.broker.reset_calls()
    env.broker.expire_grants()     # the broker now calls every grant expired
    body = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
        "name": "google__jira_get_issue", "arguments": {"issue_key": "GOOG-4"}}}
    r = env.http.post(f"{env.url}/mcp", headers=h, data=json.dumps(body))
    res = r.json()["result"]
    assert res["isError"] is False, res
    assert res["structuredContent"]["key"] == "GOOG-4"
    redeems = [c.status for c in env.broker.calls_to("/v1/redeem")]
    assert redeems == [401, 200]
    assert len(env.broker.calls_to("/v1/grants")) == 1


def test_short_grants_are_renewed_before_they_expire(atlassian):
    e = FwdEnv(atlassian, grant_ttl=3, grant_renew_margin="1s", name="forwarder-short")
    try:
        user = "bob@example.com"
        for i in range(3):
            r = call(e, user, "microsoft__jira_get_issue", {"issue_key": "MS-1"})
            assert r.json()["result"]["isError"] is False
            time.sleep(1.2)
        grants = e.broker.calls_to("/v1/grants")
        assert 2 <= len(grants) <= 3
        # every redeem was for a live grant: none refused
        assert all(c.status == 200 for c in e.broker.calls_to("/v1/redeem"))
    finally:
        e.close()
