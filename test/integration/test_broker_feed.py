"""The broker's change feed (GET /v1/changes) and tool-call audit intake
(POST /v1/audit), against the real PostgreSQL: every kind of access change
becomes one event that wakes a parked long-poll within a second, resume by
seq, reset, pruning, the 1000-event page, long-polls that hold no worker
thread, and the audit batch's all-or-nothing insert. Protocol:
docs/broker.md "Change feed"."""

import json
import threading
import time

import pytest
import requests

from harness import secrets as tg_secrets
from harness.product import sql_quote


@pytest.fixture(scope="module")
def tg(tg):
    """The demo product (test/conftest.py), one user more."""
    tg.add_user("frank@example.com", {"microsoft": "editor"})
    return tg


@pytest.fixture(scope="module")
def broker(tg):
    # Two workers: the long-poll test shows they stay free.
    b = tg.start_broker(name="broker-feed", workers=2)
    yield b
    b.stop()
    assert b.returncode == 0, b.log_tail()


class Feed:
    def __init__(self, tg, url):
        self.tg, self.url = tg, url
        self.h = {"Authorization": f"Bearer {tg.caller_secret}"}

    def get(self, since=None, wait=None, headers=None, timeout=40):
        params = {}
        if since is not None:
            params["since"] = since
        if wait is not None:
            params["wait"] = wait
        r = requests.get(self.url + "/v1/changes", params=params,
                         headers=self.h if headers is None else headers,
                         timeout=timeout)
        tg_secrets.scan_text(r.text, "broker /v1/changes response")
        return r

    def head(self):
        r = self.get()
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["events"] == [] and body["reset"] is False
        return body["seq"]

    def audit(self, body, headers=None):
        r = requests.post(self.url + "/v1/audit", headers=self.h if headers is None
                          else headers, timeout=10,
                          data=body if isinstance(body, (bytes, str))
                          else json.dumps(body))
        tg_secrets.scan_text(r.text, "broker /v1/audit response")
        return r


@pytest.fixture(scope="module")
def feed(tg, broker):
    return Feed(tg, broker.url)


def poll_during(feed, action, wait=10):
    """Park a long-poll at the head, run action, and return (answer,
    seconds from the action to the answer)."""
    since = feed.head()
    out = {}

    def run():
        out["r"] = feed.get(since=since, wait=wait)
        out["t"] = time.monotonic()
    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.5)          # parked by now
    t0 = time.monotonic()
    action()
    t.join(wait + 5)
    assert not t.is_alive()
    r = out["r"]
    assert r.status_code == 200, r.text
    return r.json(), out["t"] - t0, since


def event(kind, user=None, tenant=None, integration=None, jti=None):
    return {"kind": kind, "user": user, "tenant": tenant,
            "integration": integration, "jti": jti}


def strip_seq(events):
    return [{k: v for k, v in e.items() if k != "seq"} for e in events]


# ---- the starting point and parameters -------------------------------------

def test_no_since_answers_at_once_with_the_head(feed, tg):
    head = feed.head()
    assert head == int(tg.s.pg.scalar("select coalesce(max(seq), 0) from access_changes"))
    t0 = time.monotonic()
    r = feed.get(since=0, wait=25)
    assert time.monotonic() - t0 < 2
    assert r.json() == {"seq": head, "events": [], "reset": False}


def test_caller_must_authenticate(feed):
    r = feed.get(since=0, headers={})
    assert r.status_code == 401
    r = feed.get(since=0, headers={"Authorization": "Bearer not-the-secret"})
    assert r.status_code == 401
    assert "error" in r.json()


@pytest.mark.parametrize("query,code", [
    ({"since": "-1"}, "bad_since"), ({"since": "x"}, "bad_since"),
    ({"since": "1e3"}, "bad_since"), ({"since": "99999999999999999999"}, "bad_since"),
    ({"wait": "26"}, "bad_wait"), ({"wait": "-1"}, "bad_wait"),
    ({"wait": "1.5"}, "bad_wait"),
])
def test_bad_parameters_are_400(feed, query, code):
    r = requests.get(feed.url + "/v1/changes", params=query, headers=feed.h,
                     timeout=10)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == code


def test_wait_elapses_with_no_events(feed):
    head = feed.head()
    t0 = time.monotonic()
    r = feed.get(since=head, wait=2)
    took = time.monotonic() - t0
    assert r.json() == {"seq": head, "events": [], "reset": False}
    assert 1.8 <= took < 4, took
    # wait=0 answers at once
    t0 = time.monotonic()
    assert feed.get(since=head, wait=0).json()["events"] == []
    assert time.monotonic() - t0 < 1.5


def test_since_ahead_of_the_head_is_a_reset(feed):
    head = feed.head()
    r = feed.get(since=head + 1000, wait=5)
    assert r.json() == {"seq": head, "events": [], "reset": True}


# ---- every kind of change wakes a parked long-poll within a second ----------

def _rotate(tg):
    tg.sql("update tenant_integrations set cred_version = cred_version + 1"
           " where tenant_id = 'microsoft' and name = 'jira'")


KINDS = [
    ("membership removed", lambda tg: tg.remove_member("frank@example.com", "microsoft"),
     [event("membership", "frank@example.com", "microsoft")]),
    ("membership added", lambda tg: tg.add_member("frank@example.com", "microsoft", "editor"),
     [event("membership", "frank@example.com", "microsoft")]),
    ("role lowered", lambda tg: tg.add_member("frank@example.com", "microsoft", "viewer"),
     [event("membership", "frank@example.com", "microsoft")]),
    ("group mapping", lambda tg: tg.sql(
        "insert into group_mappings values ('staff', 'smallco', 'viewer')"),
     [event("group_mapping", tenant="smallco")]),
    ("user disabled", lambda tg: tg.sql(
        "update users set status = 'disabled' where email = 'frank@example.com'"),
     [event("user", "frank@example.com")]),
    ("user enabled", lambda tg: tg.sql(
        "update users set status = 'active' where email = 'frank@example.com'"),
     [event("user", "frank@example.com")]),
    ("tenant disabled", lambda tg: tg.sql(
        "update tenants set status = 'disabled' where id = 'smallco'"),
     [event("tenant", tenant="smallco")]),
    ("tenant enabled", lambda tg: tg.sql(
        "update tenants set status = 'active' where id = 'smallco'"),
     [event("tenant", tenant="smallco")]),
    ("key rotated", _rotate,
     [event("integration", tenant="microsoft", integration="jira")]),
    ("integration disabled", lambda tg: tg.sql(
        "update tenant_integrations set enabled = false"
        " where tenant_id = 'microsoft' and name = 'confluence'"),
     [event("integration", tenant="microsoft", integration="confluence")]),
    ("integration enabled", lambda tg: tg.sql(
        "update tenant_integrations set enabled = true"
        " where tenant_id = 'microsoft' and name = 'confluence'"),
     [event("integration", tenant="microsoft", integration="confluence")]),
]


@pytest.mark.parametrize("what,action,expected", KINDS, ids=[k[0] for k in KINDS])
def test_each_change_reaches_a_parked_long_poll(feed, tg, what, action, expected):
    body, took, since = poll_during(feed, lambda: action(tg))
    assert strip_seq(body["events"]) == expected, body
    assert body["reset"] is False
    assert body["seq"] == body["events"][-1]["seq"] > since
    assert took < 1.0, f"{what}: the long-poll answered {took:.2f}s after the change"


def test_user_and_grant_revocations_are_events(feed, tg, broker):
    admin = {"X-Tenantgate-Admin": tg.admin_token, **feed.h}
    body, took, _ = poll_during(feed, lambda: requests.post(
        broker.url + "/v1/revoke", json={"user": "frank@example.com"},
        headers=admin, timeout=10).raise_for_status())
    assert strip_seq(body["events"]) == [event("user_revoked", "frank@example.com")]
    assert took < 1.0
    body, took, _ = poll_during(feed, lambda: requests.post(
        broker.url + "/v1/revoke", json={"jti": "feedtest-jti-1"},
        headers=admin, timeout=10).raise_for_status())
    assert strip_seq(body["events"]) == [event("grant_revoked", jti="feedtest-jti-1")]
    assert took < 1.0


def test_a_moved_membership_tells_both_owners(feed, tg):
    def move():
        tg.sql("update memberships set user_id = (select id from users where"
               " email = 'carol@example.com') where user_id = (select id from"
               " users where email = 'frank@example.com') and tenant_id = 'microsoft'")
    body, _, _ = poll_during(feed, move)
    assert sorted((e["user"], e["tenant"]) for e in body["events"]) == [
        ("carol@example.com", "microsoft"), ("frank@example.com", "microsoft")]
    tg.sql("delete from memberships where tenant_id = 'microsoft' and user_id ="
           " (select id from users where email = 'carol@example.com')")
    tg.add_member("frank@example.com", "microsoft", "editor")


def test_resume_from_seq_replays_what_was_missed(feed, tg):
    since = feed.head()
    tg.remove_member("frank@example.com", "microsoft")
    tg.add_member("frank@example.com", "microsoft", "viewer")
    tg.sql("update tenants set display_name = 'MS' where id = 'microsoft'")
    r = feed.get(since=since, wait=5).json()
    assert [e["kind"] for e in r["events"]] == ["membership", "membership", "tenant"]
    seqs = [e["seq"] for e in r["events"]]
    assert seqs == sorted(seqs) and r["seq"] == seqs[-1]
    # from the middle: only what came after
    r2 = feed.get(since=seqs[0], wait=5).json()
    assert [e["seq"] for e in r2["events"]] == seqs[1:]


def test_an_update_that_changes_nothing_is_no_event(feed, tg):
    head = feed.head()
    tg.sql("update tenants set status = status where id = 'google'")
    assert feed.head() == head


# ---- paging, reset after pruning --------------------------------------------

def test_at_most_1000_events_per_answer(feed, tg):
    since = feed.head()
    tg.sql("do $$ begin for i in 1..1100 loop"
           " update tenants set display_name = 'G' || i where id = 'google';"
           " end loop; end $$")
    r = feed.get(since=since, wait=5).json()
    assert len(r["events"]) == 1000 and r["reset"] is False
    assert r["seq"] == r["events"][-1]["seq"]
    r2 = feed.get(since=r["seq"], wait=5).json()
    assert len(r2["events"]) == 100
    assert r2["seq"] == feed.head()


def test_a_forwarder_behind_the_retained_window_gets_a_reset(feed, tg, broker):
    since = feed.head()
    tg.sql("update tenants set display_name = 'Google' where id = 'google'")
    tg.sql("update tenants set display_name = 'Google 2' where id = 'google'")
    tg.sql("update tenants set display_name = 'Google' where id = 'google'")
    # as if the first two had been pruned
    tg.sql(f"delete from access_changes where seq <= {since + 2}")
    r = feed.get(since=since, wait=5).json()
    assert r == {"seq": feed.head(), "events": [], "reset": True}
    # one that had seen the second is still fine
    r = feed.get(since=since + 2, wait=5).json()
    assert r["reset"] is False and len(r["events"]) == 1


def test_broker_prunes_old_events_but_keeps_the_newest(tg, feed):
    tg.sql("update tenants set display_name = 'Old' where id = 'google'")
    head = feed.head()
    tg.sql("update access_changes set at = now() - interval '2 hours'")
    # The feed prunes once at start, then every minute: a second broker
    # on the same database shows it promptly.
    b2 = tg.start_broker(name="broker-prune")
    try:
        def pruned():
            return tg.s.pg.scalar("select count(*) from access_changes") == "1"
        from harness.product import wait_until
        wait_until(pruned, timeout=10, what="old events pruned")
        assert tg.s.pg.scalar("select max(seq) from access_changes") == str(head)
        assert "pruned" in b2.log_tail(200)
    finally:
        b2.stop()
    assert b2.returncode == 0, b2.log_tail()
    assert feed.head() == head
    r = feed.get(since=head - 1, wait=0).json()
    assert r["reset"] is False and [e["seq"] for e in r["events"]] == [head]


# ---- long-polls hold no worker ------------------------------------------------

def test_long_polls_do_not_hold_workers(feed, tg, broker):
    """20 long-polls parked on a 2-worker broker; grants still answer at once."""
    head = feed.head()
    answers = []

    def run():
        answers.append(feed.get(since=head, wait=6))
    threads = [threading.Thread(target=run) for _ in range(20)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    t0 = time.monotonic()
    r = requests.post(broker.url + "/v1/grants", headers=feed.h, timeout=10,
                      json={"assertion": tg.user_token("alice@example.com")})
    assert r.status_code == 200, r.text
    assert time.monotonic() - t0 < 1.5
    # one change answers all 20 at once
    t0 = time.monotonic()
    tg.sql("update tenants set display_name = 'Google!' where id = 'google'")
    for t in threads:
        t.join(10)
    assert time.monotonic() - t0 < 1.5
    assert len(answers) == 20
    assert all(a.status_code == 200 and len(a.json()["events"]) == 1 for a in answers)


def test_sigterm_answers_parked_long_polls_at_once(tg):
    b = tg.start_broker(name="broker-drain")
    f = Feed(tg, b.url)
    head = f.head()
    out = []
    t = threading.Thread(target=lambda: out.append(f.get(since=head, wait=25)))
    t.start()
    time.sleep(0.8)
    t0 = time.monotonic()
    b.stop()
    t.join(10)
    assert time.monotonic() - t0 < 5
    assert b.returncode == 0, b.log_tail()
    assert out and out[0].status_code == 200
    assert out[0].json() == {"seq": head, "events": [], "reset": False}


# ---- POST /v1/audit -------------------------------------------------------------

def tool_call(i=0, **kw):
    ev = {"at": int(time.time() * 1000), "user": "alice@example.com",
          "tenant": "google", "tool": "jira_search", "outcome": "ok",
          "status": 200, "latency_ms": 12 + i}
    ev.update(kw)
    return ev


def audit_rows(tg, marker):
    return int(tg.s.pg.scalar(
        "select count(*) from audit_log where action = 'tool.call'"
        f" and subject = {sql_quote(marker)}"))


def test_audit_batch_is_inserted_in_one_go(feed, tg):
    evs = [tool_call(i, tool="jira_batch_ok") for i in range(500)]
    evs[1]["outcome"] = "refused"
    evs[1]["status"] = 403
    r = feed.audit({"events": evs})
    assert r.status_code == 202, r.text
    assert r.json() == {"accepted": 500}
    assert audit_rows(tg, "jira_batch_ok") == 500
    row = tg.s.pg.query(
        "select actor, tenant_id, detail::text, extract(epoch from at)::bigint"
        " from audit_log where subject = 'jira_batch_ok'"
        " and detail->>'outcome' = 'refused'")[0]
    detail = json.loads(row[2])
    assert row[0] == "alice@example.com" and row[1] == "google"
    assert detail == {"outcome": "refused", "status": 403, "latency_ms": 13,
                      "caller": detail["caller"]}
    assert abs(int(row[3]) - evs[1]["at"] // 1000) <= 1
    assert feed.audit({"events": []}).json() == {"accepted": 0}


@pytest.mark.parametrize("bad", [
    {"events": "x"}, {"nope": []}, {"events": [1]},
    {"events": [tool_call(tool="jira_batch_bad"), tool_call(tool="jira_batch_bad",
                                                            outcome="maybe")]},
    {"events": [tool_call(tool="jira_batch_bad", status="200")]},
    {"events": [tool_call(tool="jira_batch_bad", at=-5)]},
    {"events": [tool_call(tool="jira_batch_bad", user="")]},
    {"events": [tool_call(tool="jira_batch_bad", latency_ms=1.5)]},
    {"events": [{k: v for k, v in tool_call(tool="jira_batch_bad").items()
                 if k != "tenant"}]},
    {"events": [tool_call(tool="jira_batch_bad")] * 501},
])
def test_malformed_audit_batch_is_400_and_inserts_nothing(feed, tg, bad):
    r = feed.audit(bad)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] in ("bad_field", "bad_event",
                                         "too_many_events", "bad_json")
    assert audit_rows(tg, "jira_batch_bad") == 0


def test_audit_needs_the_caller_and_json(feed):
    assert feed.audit({"events": [tool_call()]}, headers={}).status_code == 401
    r = feed.audit(b"{not json")
    assert r.status_code == 400 and "error" in r.json()
    r = feed.audit(b"x" * (1024 * 1024 + 10))
    assert r.status_code == 413
