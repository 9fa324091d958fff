"""Atlassian's rate limits, shared per tenant (docs/atlassian.md "Rate
limits"): a 429 with Retry-After and RateLimit-Reason becomes, in OpenAPI
mode, an HTTP 429 with a Retry-After header, and in MCP mode a tool error
that says when to retry and why; the wait is the tenant's, shared by all
its users (their calls in the window never reach Atlassian); each 429 is
counted by its reason.
"""

import re
import time

import pytest

from harness import wait_for

from .fake_broker import FwdEnv

USERS = {"alice@example.com": {"google": "editor"},
         "bob@example.com": {"google": "editor", "microsoft": "editor"},
         "dave@example.com": {"google": "viewer"}}


@pytest.fixture(scope="module")
def env(atlassian):
    e = FwdEnv(atlassian, users=USERS, retry_after_max="2s", name="forwarder-ratelimit",
               user_rate="0")
    yield e
    e.close()


@pytest.fixture
def atl(env, fresh_atlassian):
    yield fresh_atlassian
    fresh_atlassian.clear_faults()


def execute(env, user, tenant, tool, args):
    return env.http.post(f"{env.url}/tools/{tenant}/{tool}/execute", json=args,
                         headers={"Authorization": f"Bearer {env.token(user)}"},
                         timeout=30)


def mcp_call(env, user, name, args):
    r = env.post_mcp(user, {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                            "params": {"name": name, "arguments": args}})
    assert r.status_code == 200, r.text
    return r.json()["result"]


def reason_count(env, reason):
    text = env.http.get(f"{env.url}/metrics", timeout=10).text
    m = re.search(r'^tenantgate_forwarder_upstream_rate_limited_total\{reason="%s"\} (\d+)$'
                  % re.escape(reason), text, re.M)
    return int(m.group(1)) if m else None


def test_429_is_shared_by_the_tenant_and_says_when_and_why(env, atl):
    before = reason_count(env, "jira-burst-based")
    assert before is not None
    atl.fault("google", status=429, retry_after=30, reason="jira-burst-based")
    r = execute(env, "alice@example.com", "google", "jira_get_issue", {"issue_key": "GOOG-1"})
    assert r.status_code == 429, r.text
    assert r.headers["Retry-After"] == "30"
    err = r.json()["error"]
    assert err["code"] == "upstream_rate_limited"
    assert "jira-burst-based" in err["message"] and "retry in 30 s" in err["message"]
    wait_for(lambda: len(atl.calls_for("google")) == 1, timeout=5, what="the 429")
    assert reason_count(env, "jira-burst-based") == before + 1
    assert "google: rate-limited (429, reason jira-burst-based, Retry-After 30)" \
        in env.fwd.log()

    # Another user of the tenant, in OpenAPI mode: refused at once, told
    # how long is left, and Atlassian never sees the call.
    r = execute(env, "bob@example.com", "google", "jira_get_issue", {"issue_key": "GOOG-1"})
    assert r.status_code == 429
    assert 0 < int(r.headers["Retry-After"]) <= 30
    assert "slow down" in r.json()["error"]["message"]
    # ... and in MCP mode: a tool error that says when to retry.
    res = mcp_call(env, "dave@example.com", "google__jira_search", {"jql": "project = GOOG"})
    assert res["isError"] is True
    assert re.search(r"retry in (\d+) s", res["content"][0]["text"])
    assert len(atl.calls_for("google")) == 1
    # Another tenant is not held back.
    r = execute(env, "bob@example.com", "microsoft", "jira_get_issue", {"issue_key": "MS-1"})
    assert r.status_code == 200, r.text


def test_429_without_retry_after_still_says_when(env, atl):
    atl.fault("microsoft", status=429, count=2)
    t0 = time.monotonic()
    res = mcp_call(env, "bob@example.com", "microsoft__jira_get_issue", {"issue_key": "MS-1"})
    assert time.monotonic() - t0 < 10
    assert res["isError"] is True
    text = res["content"][0]["text"]
    assert "rate-limiting" in text and "retry in 1 s" in text
    assert reason_count(env, "none") >= 1


def test_unknown_reasons_share_one_label(env, atl):
    before = reason_count(env, "other")
    atl.fault("microsoft", status=429, retry_after=1, reason="weird\"reason{x}", count=2)
    time.sleep(1.2)    # the back-off of the test before has run out
    execute(env, "bob@example.com", "microsoft", "jira_get_issue", {"issue_key": "MS-1"})
    # Answered at once (no retry after a wait): one 429 counted.
    assert reason_count(env, "other") == before + 1
    assert "weird" not in env.http.get(f"{env.url}/metrics", timeout=10).text
