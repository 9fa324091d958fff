"""The forwarder's change-feed client against the broker stand-in
(fake_broker.py): each event kind drops exactly the cache entries it names
within 1 s; a feed cut for longer than feed_max_stale makes every call ask
the broker (no cached credential is used past the bound) and the feed's
return starts from a reset; the broker saying reset drops everything;
a fresh user token carrying an already-redeemed grant reuses its
credential; and every tool call reaches POST /v1/audit off the request
path (docs/forwarder.md, "Change feed")."""

import copy
import re
import time

import pytest

from harness import wait_for

from .fake_broker import USERS, FwdEnv

WITHIN = 1.0          # seconds from the event to the refusal


@pytest.fixture
def env(atlassian, fresh_atlassian):
    e = FwdEnv(atlassian, users=copy.deepcopy(USERS), name="forwarder-feed",
               reuse=True)
    yield e
    e.close()


def execute(env, user, tenant, tool, args, token=None):
    tok = token or env.token(user)
    return env.http.post(f"{env.url}/tools/{tenant}/{tool}/execute", json=args,
                         headers={"Authorization": f"Bearer {tok}"}, timeout=30)


def get_issue(env, user, tenant="google", token=None):
    key = {"google": "GOOG-1", "microsoft": "MS-1", "smallco": "SC-1"}[tenant]
    return execute(env, user, tenant, "jira_get_issue", {"issue_key": key},
                   token=token)


def metrics(env):
    text = env.http.get(f"{env.url}/metrics").text
    return {k: int(v) for k, v in
            re.findall(r"^(tenantgate_forwarder_\w+) (\d+)$", text, re.M)}


def counts(env):
    b = env.broker
    return len(b.calls_to("/v1/grants")), len(b.calls_to("/v1/redeem"))


def until_refused(call, status=403, within=WITHIN):
    """Seconds until call() answers status; fails after `within`."""
    t0 = time.monotonic()
    while True:
        r = call()
        dt = time.monotonic() - t0
        if r.status_code == status:
            return dt, r
        assert dt < within, f"still {r.status_code} after {dt:.2f}s: {r.text[:200]}"
        time.sleep(0.05)


def warm(env, *users):
    for u in users:
        for tenant in env.users[u]:
            r = get_issue(env, u, tenant)
            assert r.status_code == 200, r.text


def test_membership_removed_drops_only_that_user(env):
    warm(env, "alice@example.com", "bob@example.com")
    g0, r0 = counts(env)
    assert get_issue(env, "alice@example.com").status_code == 200
    assert counts(env) == (g0, r0), "a warm call asked the broker"
    del env.users["alice@example.com"]["google"]
    env.broker.publish("membership", user="alice@example.com", tenant="google")
    dt, r = until_refused(lambda: get_issue(env, "alice@example.com"))
    assert r.json()["error"]["code"] == "not_member"
    # bob's entries were not touched: his calls still ask nobody.
    g1, r1 = counts(env)
    assert get_issue(env, "bob@example.com").status_code == 200
    assert get_issue(env, "bob@example.com", "microsoft").status_code == 200
    assert counts(env) == (g1, r1)


def test_role_lowered_refuses_write_tool(env):
    args = {"issue_key": "GOOG-1", "body": "hello"}
    r = execute(env, "bob@example.com", "google", "jira_add_comment", args)
    assert r.status_code == 200, r.text
    env.users["bob@example.com"]["google"] = "viewer"
    env.broker.publish("membership", user="bob@example.com", tenant="google")
    dt, r = until_refused(lambda: execute(env, "bob@example.com", "google",
                                          "jira_add_comment", args))
    assert r.json()["error"]["code"] == "tool_not_granted"
    assert get_issue(env, "bob@example.com").status_code == 200


def test_user_revoked(env):
    warm(env, "dave@example.com", "alice@example.com")
    env.users["dave@example.com"] = {}
    env.broker.publish("user_revoked", user="dave@example.com")
    until_refused(lambda: get_issue(env, "dave@example.com", "smallco"))
    g, r = counts(env)
    assert get_issue(env, "alice@example.com").status_code == 200
    assert counts(env) == (g, r)


def test_grant_revoked_drops_that_grant_and_its_credential(env):
    warm(env, "bob@example.com")
    [gtok] = [t for t in env.broker.grants_of("bob@example.com")
              if env.broker.grants[t]["tenant"] == "google"]
    env.broker.revoke_grant(gtok)
    g, r = counts(env)
    env.broker.publish("grant_revoked", jti=env.broker.jti_of(gtok))
    # The next call takes a new grant and redeems with it: the revoked
    # grant's credential is gone.
    t0 = time.monotonic()
    wait_for(lambda: (get_issue(env, "bob@example.com").status_code == 200 and
                      counts(env)[1] > r), timeout=WITHIN, what="a redeem with a new grant")
    assert time.monotonic() - t0 < WITHIN
    # (A call racing the drop may first redeem the old grant: refused,
    # renewed once, transparently.)
    redeemed = env.broker.calls_to("/v1/redeem")[r:]
    assert redeemed[-1].status == 200 and redeemed[-1].tenant == "google"
    assert all(c.status in (200, 401) for c in redeemed)
    # microsoft's credential stays cached.
    g, r = counts(env)
    assert get_issue(env, "bob@example.com", "microsoft").status_code == 200
    assert counts(env)[1] == r


def test_tenant_disabled(env):
    warm(env, "alice@example.com", "bob@example.com")
    for m in env.users.values():
        m.pop("google", None)
    env.broker.publish("tenant", tenant="google")
    until_refused(lambda: get_issue(env, "alice@example.com"))
    until_refused(lambda: get_issue(env, "bob@example.com"))
    # bob's microsoft credential was kept: only new grants, no redeem.
    r = counts(env)[1]
    assert get_issue(env, "bob@example.com", "microsoft").status_code == 200
    assert counts(env)[1] == r


def test_integration_disabled_and_key_rotated(env, atlassian):
    warm(env, "alice@example.com", "bob@example.com", "dave@example.com")
    # Rotated key: the broker names a new version; the old credential must
    # not be used once the event is in, so Atlassian never sees it again.
    new = atlassian.set_credentials("google")
    for i in env.broker.tenants["google"]:
        i.credential = dict(new)
        i.cred_version += 1
    env.broker.publish("integration", tenant="google", integration="jira")
    env.broker.publish("integration", tenant="google", integration="wiki")
    time.sleep(WITHIN)
    atlassian.reset_calls()
    assert get_issue(env, "alice@example.com").status_code == 200
    assert [c.status for c in atlassian.calls_for("google")] == [200]
    # Disabled: the tenant's jira goes from the grant.
    env.broker.tenants["google"] = [i for i in env.broker.tenants["google"]
                                    if i.name != "jira"]
    env.broker.publish("integration", tenant="google", integration="jira")
    dt, r = until_refused(lambda: get_issue(env, "alice@example.com"), status=404)
    # Other tenants' credentials stay: bob's set (it holds google) is asked
    # again, his microsoft credential is not redeemed again; dave (smallco
    # only) asks nobody.
    g, rd = counts(env)
    assert get_issue(env, "bob@example.com", "microsoft").status_code == 200
    assert counts(env) == (g + 1, rd)
    assert get_issue(env, "dave@example.com", "smallco").status_code == 200
    assert counts(env) == (g + 1, rd)


def test_fresh_tokens_reuse_the_credential(env):
    warm(env, "alice@example.com")
    g, r = counts(env)
    for _ in range(5):
        fresh = env.broker.token_for("alice@example.com")     # Open WebUI style
        assert get_issue(env, "alice@example.com", token=fresh).status_code == 200
    g2, r2 = counts(env)
    assert g2 - g == 5 and r2 == r, "a fresh token carrying the same grant redeemed again"
    # ... and a change still reaches them.
    del env.users["alice@example.com"]["google"]
    env.broker.publish("membership", user="alice@example.com", tenant="google")
    until_refused(lambda: get_issue(env, "alice@example.com",
                                    token=env.broker.token_for("alice@example.com")))


def test_reset_drops_everything(env):
    warm(env, "alice@example.com", "bob@example.com")
    before = metrics(env)["tenantgate_forwarder_feed_resets_total"]
    env.broker.rewind()
    wait_for(lambda: metrics(env)["tenantgate_forwarder_feed_resets_total"] > before,
             timeout=WITHIN, what="a reset")
    g, r = counts(env)
    assert get_issue(env, "alice@example.com").status_code == 200
    g2, r2 = counts(env)
    assert g2 == g + 1, "the grant set survived a reset"
    # The grant was reused by the broker, but the credential had to go too.
    assert r2 == r + 1
    assert "every cached grant and credential dropped (the broker said reset)" in env.fwd.log()


def test_unknown_event_kind_drops_everything(env):
    warm(env, "bob@example.com")
    g, r = counts(env)
    env.broker.publish("something_new", tenant="google")
    wait_for(lambda: get_issue(env, "bob@example.com").status_code == 200 and
             counts(env)[0] > g, timeout=WITHIN, what="the cache dropped")


@pytest.fixture
def cut_env(atlassian, fresh_atlassian):
    e = FwdEnv(atlassian, users=copy.deepcopy(USERS), name="forwarder-feedcut",
               reuse=True, feed_max_stale="2s")
    yield e
    e.close()


def test_feed_cut_past_the_bound_asks_the_broker_per_call(cut_env):
    env = cut_env
    warm(env, "alice@example.com", "bob@example.com")
    assert metrics(env)["tenantgate_forwarder_feed_current"] == 1
    env.broker.cut_feed()
    t_cut = time.monotonic()
    # A change the forwarder cannot hear about: alice loses google.
    del env.users["alice@example.com"]["google"]
    dt, r = until_refused(lambda: get_issue(env, "alice@example.com"), within=2 + 1.5)
    # Not before the bound has nearly passed: within it the cache is trusted.
    assert time.monotonic() - t_cut >= 1.5
    assert metrics(env)["tenantgate_forwarder_feed_current"] == 0
    # Every call now redeems: no cached credential is used past the bound.
    for _ in range(3):
        g, r = counts(env)
        assert get_issue(env, "bob@example.com").status_code == 200
        assert counts(env) == (g + 1, r + 1)
    # An access change still shows at once (asked per call).
    env.users["bob@example.com"].pop("microsoft")
    assert get_issue(env, "bob@example.com", "microsoft").status_code == 403
    # The feed comes back: it starts from a reset, then the cache is used.
    resets = metrics(env)["tenantgate_forwarder_feed_resets_total"]
    env.broker.cut_feed(None)
    wait_for(lambda: metrics(env)["tenantgate_forwarder_feed_current"] == 1,
             timeout=5, what="the feed current again")
    assert metrics(env)["tenantgate_forwarder_feed_resets_total"] == resets + 1
    assert get_issue(env, "bob@example.com").status_code == 200
    g, r = counts(env)
    assert get_issue(env, "bob@example.com").status_code == 200
    assert counts(env) == (g, r)
    assert "the feed was down longer than feed_max_stale" in env.fwd.log()


def test_feed_blip_within_the_bound_resumes_without_reset(cut_env):
    env = cut_env
    warm(env, "alice@example.com")
    resets = metrics(env)["tenantgate_forwarder_feed_resets_total"]
    env.broker.cut_feed()
    time.sleep(0.5)
    # An event while the feed is down is picked up when it returns.
    del env.users["alice@example.com"]["google"]
    env.broker.publish("membership", user="alice@example.com", tenant="google")
    env.broker.cut_feed(None)
    until_refused(lambda: get_issue(env, "alice@example.com"), within=1.5)
    assert metrics(env)["tenantgate_forwarder_feed_resets_total"] == resets


def test_tool_calls_are_audited_in_batches(env):
    assert get_issue(env, "alice@example.com").status_code == 200
    r = execute(env, "dave@example.com", "smallco", "jira_add_comment",
                {"issue_key": "SC-1", "body": "x"})
    assert r.status_code == 403
    wait_for(lambda: len(env.broker.audit) >= 2, timeout=5, what="audit records")
    by_tool = {(a["user"], a["tool"]): a for a in env.broker.audit}
    ok = by_tool[("alice@example.com", "jira_get_issue")]
    assert ok["tenant"] == "google" and ok["outcome"] == "ok" and ok["status"] == 200
    assert isinstance(ok["latency_ms"], int) and ok["at"] > 1.7e12
    ref = by_tool[("dave@example.com", "jira_add_comment")]
    assert ref["outcome"] == "refused" and ref["status"] == 403
    assert metrics(env)["tenantgate_forwarder_audit_sent_total"] >= 2


def test_audit_broker_down_never_blocks_a_call(atlassian, fresh_atlassian):
    # Calls as fast as the test can make them: rate limits are not tested here.
    env = FwdEnv(atlassian, users=copy.deepcopy(USERS), name="forwarder-audit", user_rate=0, tenant_rate=0,
                 audit_queue_max=100)
    try:
        env.broker.fault("/v1/audit", 503, count=10**6)
        warm(env, "alice@example.com")
        t0 = time.monotonic()
        for _ in range(150):
            assert get_issue(env, "alice@example.com").status_code == 200
        assert time.monotonic() - t0 < 15
        m = metrics(env)
        assert m["tenantgate_forwarder_audit_dropped_total"] >= 50
        assert m["tenantgate_forwarder_audit_queued"] <= 100
        # The broker is back: the backlog is delivered.
        with env.broker._lock:
            env.broker.faults.clear()
        wait_for(lambda: len(env.broker.audit) >= 100, timeout=15,
                 what="the backlog delivered")
    finally:
        env.close()
