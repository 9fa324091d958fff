"""Grant renewal is stale-while-revalidate (docs/forwarder.md, "Grants"):
inside grant_renew_margin a user's cached grants keep serving at once while
one background call renews them, the renewed grants are used afterwards,
a failed renewal leaves the old grants and is retried at most once a
second, and a change-feed drop during a renewal wins over its answer.

The broker stand-in answers /v1/grants 1.5 s late (the answer is computed
when the call arrives, so it predates anything the test changes while it
waits): any request that waited for it would take longer than FAST."""

import copy
import re
import time

import pytest

from harness import wait_for

from .fake_broker import USERS, FwdEnv

TTL = 8               # grant lifetime, s
MARGIN = 3            # grant_renew_margin, s: renewal due at exp - 3
DELAY = 1.5           # the broker's /v1/grants latency once warm
FAST = 0.3            # a request served from the cache


@pytest.fixture
def env(atlassian, fresh_atlassian):
    e = FwdEnv(atlassian, users=copy.deepcopy(USERS), name="forwarder-renew",
               grant_ttl=TTL, grant_renew_margin=f"{MARGIN}s")
    yield e
    e.close()


def get_issue(env, user, tenant):
    key = {"google": "GOOG-1", "microsoft": "MS-1", "smallco": "SC-1"}[tenant]
    t0 = time.monotonic()
    r = env.http.post(f"{env.url}/tools/{tenant}/jira_get_issue/execute",
                      json={"issue_key": key},
                      headers={"Authorization": f"Bearer {env.token(user)}"},
                      timeout=30)
    return r, time.monotonic() - t0


def metric(env, name):
    text = env.http.get(f"{env.url}/metrics").text
    m = re.search(rf"^tenantgate_forwarder_{name} (\d+)$", text, re.M)
    return int(m.group(1)) if m else None


def grant_calls(env, user):
    return [c for c in env.broker.calls_to("/v1/grants") if c.user == user]


def warm(env, users):
    """Cache each user's grants; returns the earliest grant expiry."""
    for u, tenant in users:
        r, _ = get_issue(env, u, tenant)
        assert r.status_code == 200, r.text
    return min(env.broker.grants[t]["exp"] for u, _ in users
               for t in env.broker.grants_of(u))


def sleep_until(t):
    left = t - time.time()
    if left > 0:
        time.sleep(left)


def slow_grants(broker):
    broker.path_delay["/v1/grants"] = DELAY


def into_margin(env, users, then=slow_grants):
    """Warm the users, then(broker), forget the calls so far and wait until
    their grants are due for renewal; returns the earliest grant expiry."""
    exp = warm(env, users)
    then(env.broker)
    env.broker.reset_calls()
    sleep_until(exp - MARGIN + 0.05)
    return exp


def test_renewed_in_background_once_per_user(env):
    users = [("alice@example.com", "google"), ("bob@example.com", "microsoft")]
    exp = into_margin(env, users)
    # Inside the margin, for as long as the renewal takes: every request
    # is served from the cache, and one call per user reaches the broker.
    t_end = time.time() + DELAY + 0.3
    slow = []
    while time.time() < t_end:
        for u, tenant in users:
            r, dt = get_issue(env, u, tenant)
            assert r.status_code == 200, r.text
            if dt >= FAST:
                slow.append((u, round(dt, 3)))
        time.sleep(0.05)
    assert not slow, f"requests waited inside the renew margin: {slow}"
    for u, _ in users:
        assert len(grant_calls(env, u)) == 1, grant_calls(env, u)
    # The renewed grants replace the old ones: past the old grants' expiry
    # requests are still fast and ask the broker for no grants.
    wait_for(lambda: "renewed in the background" in env.fwd.log(), timeout=5)
    sleep_until(exp + 0.3)
    for u, tenant in users:
        r, dt = get_issue(env, u, tenant)
        assert r.status_code == 200, r.text
        assert dt < FAST, f"{u}: {dt:.3f}s after the old grants expired"
        assert len(grant_calls(env, u)) == 1
        new = env.broker.grants_of(u)
        assert new and min(env.broker.grants[t]["exp"] for t in new) > exp
    assert metric(env, "grant_background_renewals_total") == len(users)


def test_failed_renewal_keeps_grants_and_retries(env):
    users = [("alice@example.com", "google")]
    into_margin(env, users, then=lambda b: b.fault("/v1/grants", 503,
                                                   "broker_down", count=1))
    t_end = time.time() + 1.6
    while time.time() < t_end:
        r, dt = get_issue(env, "alice@example.com", "google")
        assert r.status_code == 200, r.text
        assert dt < FAST, f"{dt:.3f}s inside the margin"
        time.sleep(0.05)
    calls = env.broker.calls_to("/v1/grants")    # a 503 names no user
    # The failed one, then one retry a second or more later, which worked.
    assert [c.status for c in calls] == [503, 200], calls
    assert calls[1].at - calls[0].at >= 0.9
    assert "background renewal not used" in env.fwd.log()
    assert metric(env, "grant_background_renewal_failures_total") == 1
    assert metric(env, "grant_background_renewals_total") == 1


def test_drop_during_renewal_wins(env):
    users = [("dave@example.com", "smallco"), ("alice@example.com", "google")]
    exp = into_margin(env, users)
    r, dt = get_issue(env, "dave@example.com", "smallco")
    assert r.status_code == 200 and dt < FAST, (r.status_code, dt)
    # The renewal is at the broker and its answer still names smallco.
    wait_for(lambda: grant_calls(env, "dave@example.com"), timeout=1)
    env.users["dave@example.com"].clear()
    env.broker.publish("user_revoked", user="dave@example.com")
    t_renewed = grant_calls(env, "dave@example.com")[0].at + DELAY
    # Refused within the feed's second plus one (delayed) broker call.
    t0 = time.monotonic()
    while True:
        r, _ = get_issue(env, "dave@example.com", "smallco")
        if r.status_code == 403:
            break
        assert time.monotonic() - t0 < 1.0 + DELAY + 0.5, r.text
        time.sleep(0.05)
    # Once the renewal's (older) answer came back, it must not bring the
    # revoked grants back.
    wait_for(lambda: "a change-feed drop ran meanwhile" in env.fwd.log(),
             timeout=DELAY + 2)
    sleep_until(t_renewed + 0.2)
    for _ in range(5):
        r, _ = get_issue(env, "dave@example.com", "smallco")
        assert r.status_code == 403, r.text
        time.sleep(0.1)
    r, _ = get_issue(env, "alice@example.com", "google")
    assert r.status_code == 200, r.text
