"""Key expiry in the broker (issue 17, item 2; docs/broker.md "Key expiry"):
tenantgate-admin key rotate / onboard --expires records the expiry in
tenant_integrations.key_expires_at with the key's version; the broker's
expiry job exports tenantgate_key_expiry_days{tenant,integration} and logs
a warning at 30, 7 and 1 days left (once per threshold and key version)
and an error once expired; a redeem of an expired key is refused with 409
key_expired, which the forwarder hands the user as a tool error.

Real PostgreSQL, OpenBao, broker and forwarder; the fake Atlassian checks
the keys the admin rotates. The admin only takes future dates, so "the
date passes" is a key_expires_at a few seconds ahead, then waiting.
"""

import re
import time

import pytest
import requests

from harness import runtime
from harness import secrets as tg_secrets
from harness.product import Tenantgate
from harness.proc import wait_for

from .test_admin_cli import Admin, q, write_repo_policy

USER = "kx-user@example.com"
SOON, GONE, NEW = "kxsoon", "kxgone", "kxnew"


@pytest.fixture(scope="module")
def tg(stack):
    t = Tenantgate(stack)
    t.migrate()
    at = stack.atlassian
    for slug in (SOON, GONE):
        if slug not in at.tenants:
            at.add_tenant(slug)
        t.add_tenant(slug)
        v = stack.seed_vault([slug])
        for (tenant, name), ver in v.items():
            t.sql(f"update tenant_integrations set cred_version = {ver},"
                  f" key_expires_at = null where tenant_id = {q(tenant)}"
                  f" and name = {q(name)}")
    t.add_user(USER, {SOON: "editor", GONE: "editor"})
    return t


@pytest.fixture(scope="module")
def admin(stack, tg):
    write_repo_policy(stack.bao, "tenantgate-onboarding", "tenantgate-onboarding.hcl")
    a = Admin(stack, stack.pg.dbname, stack.bao.create_token(["tenantgate-onboarding"]))
    yield a
    runtime.remove_tempdir(a.home)


@pytest.fixture(scope="module")
def daemons(tg):
    broker = tg.start_broker(name="broker-keyexpiry", key_expiry_interval="1s")
    fwd = tg.start_forwarder(broker, name="forwarder-keyexpiry")
    yield broker, fwd
    for p in (fwd, broker):
        p.stop()
    for p in (fwd, broker):
        assert p.returncode == 0, p.log_tail()


def metric(broker, tenant, integration):
    """The gauge's value, or None when the broker exports no series."""
    r = requests.get(broker.url + "/metrics", timeout=5)
    assert r.status_code == 200
    assert "# TYPE tenantgate_key_expiry_days gauge" in r.text
    m = re.search(r'^tenantgate_key_expiry_days\{tenant="%s",integration="%s"\} (\S+)$'
                  % (tenant, integration), r.text, re.M)
    return float(m.group(1)) if m else None


def wait_metric(broker, tenant, integration, ok, what):
    wait_for(lambda: ok(metric(broker, tenant, integration)), timeout=10, what=what)
    return metric(broker, tenant, integration)


def column(tg, tenant, integration):
    """key_expires_at as unix seconds (None when NULL)."""
    v = tg.s.pg.scalar("select extract(epoch from key_expires_at)::bigint from"
                       f" tenant_integrations where tenant_id = {q(tenant)}"
                       f" and name = {q(integration)}")
    return int(v) if v not in (None, "") else None


def rotate(admin, tenant, integration, *extra):
    key = admin.s.atlassian.credentials(tenant)["api_token"]
    return admin.ok("key", "rotate", tenant, integration, "--yes", *extra, input=key)


def tool_call(tg, fwd, tenant):
    r = requests.post(f"{fwd.url}/mcp", timeout=30, headers={
        "Authorization": f"Bearer {tg.user_token(USER)}",
        "MCP-Protocol-Version": "2025-11-25", "Accept": "application/json, text/event-stream"},
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": f"{tenant}__jira_get_issue",
            "arguments": {"issue_key": tg.s.atlassian.project(tenant) + "-1"}}})
    tg_secrets.scan_text(r.text, "forwarder answer")
    assert r.status_code == 200, r.text
    return r.json()["result"]


def warnings(broker, tenant, integration, since=0):
    return re.findall(r"tenant '%s' integration '%s': its key \(version \d+\) "
                      r"(?:expires in \d+ days?, on \S+ \((\d+)-day warning\)|(EXPIRED))"
                      % (tenant, integration), broker.log_text(since=since))


def test_rotate_with_expires_records_it_and_the_broker_warns_once(tg, admin, daemons):
    broker, _ = daemons
    mark = broker.log_mark()
    before = time.time()
    rotate(admin, SOON, "jira", "--expires", "5d")
    at = column(tg, SOON, "jira")
    assert before + 5 * 86400 - 5 <= at <= time.time() + 5 * 86400 + 5
    # NOTIFY kicks the job: the gauge follows at once, in days with fractions
    v = wait_metric(broker, SOON, "jira", lambda x: x is not None and x > 4, "the gauge")
    assert 4.9 < v <= 5.0
    # no expiry recorded: no series (unknown is not "expired")
    assert column(tg, SOON, "confluence") is None
    assert metric(broker, SOON, "confluence") is None
    broker.wait_log(re.compile(r"tenant 'kxsoon' integration 'jira': its key \(version "
                               r"\d+\) expires in [45] days, on \S+ \(7-day warning\); "
                               r"rotate it"), since=mark)
    # the job runs every second (key_expiry_interval); the warning is not repeated
    runs = broker.log_text(since=mark).count("7-day warning")
    time.sleep(3)
    assert warnings(broker, SOON, "jira", since=mark) == [("7", "")], \
        broker.log_text(since=mark)[-2000:]
    assert runs == 1

    # a new key version with its own expiry warns again, at its own threshold
    mark = broker.log_mark()
    rotate(admin, SOON, "jira", "--expires", "1d")
    wait_metric(broker, SOON, "jira", lambda x: x is not None and x < 1.01, "1 day left")
    broker.wait_log("(1-day warning)", since=mark)
    time.sleep(2)
    assert warnings(broker, SOON, "jira", since=mark) == [("1", "")]

    # a rotation without --expires: the new key's expiry is unknown again
    rotate(admin, SOON, "jira")
    assert column(tg, SOON, "jira") is None
    wait_metric(broker, SOON, "jira", lambda x: x is None, "the series to go")
    # every rotation's audit row carries what it recorded
    details = [a["detail"] for a in admin.audit(action="key.rotate", tenant=SOON)]
    assert [d.get("expires_at") is not None for d in details[-3:]] == [True, True, False]


def test_onboard_with_expires_records_it(tg, admin, daemons):
    broker, _ = daemons
    at = tg.s.atlassian
    if NEW not in at.tenants:
        at.add_tenant(NEW)
    t = at.tenants[NEW]
    admin.ok("onboard", NEW, "--site", at.base_url(NEW), "--email", t.email, "--yes", "--insecure-site",
             "--expires", "60d", input=t.api_token)
    for name in ("jira", "confluence"):
        got = column(tg, NEW, name)
        assert abs(got - (time.time() + 60 * 86400)) < 120, (name, got)
        # nothing warns 60 days ahead, but the gauge is there
        v = wait_metric(broker, NEW, name, lambda x: x is not None, f"{NEW}/{name}")
        assert 59.9 < v <= 60.0
    assert not warnings(broker, NEW, "jira")


def test_expired_key_is_refused_with_a_clear_tool_error(tg, daemons):
    broker, fwd = daemons
    # warm: the call works and the forwarder caches the credential
    res = tool_call(tg, fwd, GONE)
    assert res["isError"] is False, res
    # the key ends in 4 s: nothing in the database changes when it passes
    mark = broker.log_mark()
    tg.sql("update tenant_integrations set key_expires_at = date_trunc('second', now())"
           f" + interval '4 seconds' where tenant_id = {q(GONE)} and name = 'jira'")
    ends = column(tg, GONE, "jira")
    date = time.strftime("%Y-%m-%d", time.gmtime(ends))
    broker.wait_log("tenant 'kxgone' integration 'jira': its key", since=mark)
    assert tool_call(tg, fwd, GONE)["isError"] is False
    wait_for(lambda: time.time() > ends + 1, timeout=10, what="the key's end")

    # the periodic job (no NOTIFY now) logs the error, once
    broker.wait_log(re.compile(r"tenant 'kxgone' integration 'jira': its key \(version \d+\) "
                               r"EXPIRED on %s; redeems are refused" % date), since=mark)
    v = wait_metric(broker, GONE, "jira", lambda x: x is not None and x < 0, "negative")
    assert -1 < v < 0
    time.sleep(2)
    assert [w for w in warnings(broker, GONE, "jira", since=mark) if w[1]] == [("", "EXPIRED")]

    # the cached credential ended with the key; the redeem says why
    res = tool_call(tg, fwd, GONE)
    assert res["isError"] is True, res
    text = res["content"][0]["text"]
    assert (f"tenant '{GONE}''s jira key expired on {date}; ask your tenantgate "
            "operators to rotate it") in text, text
    assert "key_expired" in broker.log_text(since=mark)
    # the other integration of the tenant is untouched
    assert metric(broker, GONE, "confluence") is None


def test_redeem_of_an_expired_key_answers_409_key_expired(tg, daemons):
    broker, _ = daemons
    tg.sql("update tenant_integrations set key_expires_at = timestamptz"
           f" '2026-01-02T03:04:05Z' where tenant_id = {q(GONE)} and name = 'jira'")
    h = {"Authorization": f"Bearer {tg.caller_secret}"}
    wait_metric(broker, GONE, "jira", lambda x: x is not None and x < -1, "old expiry")
    r = requests.post(broker.url + "/v1/grants", headers=h, timeout=10,
                      json={"assertion": tg.user_token(USER), "tenants": [GONE]})
    assert r.status_code == 200, r.text
    grant = r.json()["grants"][0]["token"]
    r = requests.post(broker.url + "/v1/redeem", headers=h, timeout=10,
                      json={"grant": grant, "integration": "jira"})
    assert r.status_code == 409, r.text
    assert r.json() == {"error": {"code": "key_expired", "message":
                                  f"tenant '{GONE}''s jira key expired on 2026-01-02; ask "
                                  "your tenantgate operators to rotate it"}}
    rows = tg.s.pg.query("select detail->>'reason', detail->>'integration' from audit_log"
                         f" where action = 'grant.redeem_refused' and tenant_id = {q(GONE)}"
                         " order by id desc limit 1")
    assert rows == [("key_expired", "jira")]
    # the confluence key (no expiry recorded) still redeems
    r = requests.post(broker.url + "/v1/redeem", headers=h, timeout=10,
                      json={"grant": grant, "integration": "confluence"})
    assert r.status_code == 200, r.text


def test_a_change_notice_refreshes_the_gauge_without_the_timer(tg):
    """A broker whose timer would not fire for an hour still follows a
    rotation at once: the NOTIFY of the change wakes the job."""
    broker = tg.start_broker(name="broker-keyexpiry-slow", key_expiry_interval="1h")
    try:
        wait_for(lambda: "# TYPE tenantgate_key_expiry_days" in requests.get(
            broker.url + "/metrics", timeout=5).text, timeout=10, what="first read")
        tg.sql("update tenant_integrations set key_expires_at = now() + interval"
               f" '20 days' where tenant_id = {q(SOON)} and name = 'confluence'")
        v = wait_metric(broker, SOON, "confluence", lambda x: x is not None, "the gauge")
        assert 19.9 < v <= 20.0
        broker.wait_log(re.compile(r"tenant 'kxsoon' integration 'confluence': its key "
                                   r"\(version \d+\) expires in (?:19|20) days, on \S+ "
                                   r"\(30-day warning\)"))
    finally:
        broker.stop()
    assert broker.returncode == 0, broker.log_tail()
