"""The broker's event loop never does PostgreSQL, Vault or network I/O
(issue 18, point 5). The purge of expired revocations (PostgreSQL) and
the SIGHUP reload (Vault, for a signing key kept there) run on the
janitor's worker threads (broker/chores.c): while PostgreSQL holds the
table locked, or Vault does not answer at all, /healthz (answered on the
loop itself) keeps answering at once.
"""

import os
import re
import signal
import threading
import time

import pytest
import requests

from harness.product import Tenantgate
from harness.proc import wait_for

FAST = 0.2    # seconds: what "answers at once" means here


@pytest.fixture(scope="module")
def tg(stack):
    t = Tenantgate(stack)
    t.migrate()
    return t


def slowest_healthz(url, seconds):
    """The slowest of /healthz answers over `seconds`."""
    worst, end = 0.0, time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.monotonic()
        assert requests.get(url + "/healthz", timeout=5).status_code == 200
        worst = max(worst, time.monotonic() - t0)
        time.sleep(0.05)
    return worst


def lock_count(stack, granted):
    return int(stack.pg.psql(
        "select count(*) from pg_locks l join pg_class c on c.oid = l.relation"
        " where c.relname = 'revoked_grants' and l.granted = %s" % granted).strip())


def test_loop_answers_while_the_purge_waits_for_a_locked_table(tg, stack):
    # Held longer than the statement timeout (5 s): the purge gives up.
    locker = threading.Thread(target=stack.pg.psql, args=(
        "begin; lock table revoked_grants in access exclusive mode;"
        " select pg_sleep(7); commit;",), daemon=True)
    locker.start()
    wait_for(lambda: lock_count(stack, "true") >= 1, timeout=10, what="the table lock")
    b = tg.start_broker(name="broker-chores-purge", wait_ready=False)
    try:
        # The purge runs at start-up and now waits for the lock ...
        wait_for(lambda: lock_count(stack, "false") >= 1, timeout=10,
                 what="the purge waiting for the lock")
        # ... on a worker: the loop answers meanwhile.
        worst = slowest_healthz(b.url, 1.5)
        assert worst < FAST, worst
        b.wait_log("purging expired revocations: ", timeout=10)
    finally:
        locker.join(timeout=15)
        b.stop()
    assert b.returncode == 0


def test_loop_answers_while_a_sighup_reload_waits_for_vault(tg, stack):
    tg.store_signing_key_in_vault(kid="v1")
    b = tg.start_broker(name="broker-chores-reload", signing_key_source="vault",
                        vault_timeout="3s")
    bao = stack.bao.proc.pid
    try:
        mark = b.log_mark()
        os.kill(bao, signal.SIGSTOP)    # Vault accepts, never answers
        try:
            b.signal(signal.SIGHUP)
            b.wait_log("SIGHUP: reloading", since=mark, timeout=5)
            worst = slowest_healthz(b.url, 1.5)
        finally:
            os.kill(bao, signal.SIGCONT)
        assert worst < FAST, worst
        b.wait_log(re.compile("reload (done|refused)"), since=mark, timeout=15)
        # Several signals while one reload runs: no pile of reloads.
        mark = b.log_mark()
        for _ in range(5):
            b.signal(signal.SIGHUP)
        b.wait_log("reload done", since=mark, timeout=15)
        time.sleep(0.5)
        assert b.log_text(since=mark).count("SIGHUP: reloading") <= 2
    finally:
        b.stop()
    assert b.returncode == 0
