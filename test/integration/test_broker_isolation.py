"""The broker under a slow dependency (issue 13, point 1): PostgreSQL that
hangs must not take every request thread with it. Only as many threads as
pool connections may wait for one, each at most 2 s; a statement is cut at
5 s; users answered from the caches keep their latency meanwhile."""

import subprocess
import threading
import time

import pytest
import requests

from harness.product import Tenantgate

NEW_USERS = [f"slow{i}@example.com" for i in range(12)]


@pytest.fixture(scope="module")
def tg(stack):
    t = Tenantgate(stack)
    t.migrate()
    t.seed_demo()
    for u in NEW_USERS:
        t.add_user(u, {"google": "viewer"})
    return t


def grants(tg, url, assertion):
    t0 = time.monotonic()
    r = requests.post(url + "/v1/grants", json={"assertion": assertion}, timeout=30,
                      headers={"Authorization": f"Bearer {tg.caller_secret}"})
    return r, time.monotonic() - t0


def test_a_hung_database_does_not_stall_cached_users(tg):
    b = tg.start_broker(name="broker-isolation", db_pool=2, workers=8)
    try:
        for _ in range(2):      # alice's memberships, integrations and grant cached
            r, _ = grants(tg, b.url, tg.owui_token("alice@example.com"))
            assert r.status_code == 200, r.text

        # Hold an exclusive lock on memberships: every uncached lookup hangs.
        psql = tg.s.pg
        locker = subprocess.Popen(
            [f"{psql.bindir}/psql", "-X", "-q", "-d", psql.dsn_for(psql.dbname)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            text=True)
        locker.stdin.write("BEGIN; LOCK TABLE memberships IN ACCESS EXCLUSIVE MODE;"
                           " SELECT pg_sleep(12); COMMIT;\n")
        locker.stdin.flush()
        time.sleep(0.5)

        slow = []

        def uncached(u):
            slow.append(grants(tg, b.url, tg.owui_token(u)))
        threads = [threading.Thread(target=uncached, args=(u,)) for u in NEW_USERS]
        for t in threads:
            t.start()
        time.sleep(0.3)

        cached = []
        until = time.monotonic() + 3
        while time.monotonic() < until:
            cached.append(grants(tg, b.url, tg.owui_token("alice@example.com")))
            time.sleep(0.05)
        for t in threads:
            t.join(timeout=30)
        locker.stdin.close()
        locker.wait(timeout=30)

        assert all(r.status_code == 200 for r, _ in cached), [r.text for r, _ in cached]
        assert max(took for _, took in cached) < 1, [took for _, took in cached]
        # The uncached ones fail, and fail in bounded time, with a clear 503.
        assert len(slow) == len(NEW_USERS)
        for r, took in slow:
            assert r.status_code == 503, r.text
            assert r.headers.get("Retry-After", "").isdigit(), r.headers
            assert took < 8, took
        # Past the pool's connections and its waiters (2 querying, and
        # workers - db_pool - 2 = 4 waiting here) the answer comes at once
        # instead of a thread waiting on the database.
        fast = [took for _, took in slow if took < 1]
        assert len(fast) >= len(NEW_USERS) - 6, sorted(took for _, took in slow)
        # and it all comes back by itself
        r, _ = grants(tg, b.url, tg.owui_token(NEW_USERS[0]))
        assert r.status_code == 200, r.text
    finally:
        b.stop()
