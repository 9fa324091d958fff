"""Request context in the daemons' logs (issue 18, point 4).

A request owns its log context: the request id from the start, then the
user and the tenant as the handler learns them. Setting one field keeps
the others (the broker used to wipe req= when it set user=), and every
line about the request carries them, the summary line that the loop
thread writes included (it used to lack the user and tenant). Read from
the daemons' real log files."""

import re

import pytest
import requests

from harness.product import Tenantgate

from .fake_broker import FwdEnv


def request_lines(proc, mark, rid, summary):
    """The log since mark, once the request's summary line is in."""
    proc.wait_log(re.compile(rf"req={rid} .*{re.escape(summary)} "), since=mark)
    return proc.log_text(mark).splitlines()


def one_line(lines, text, ctx):
    """The one line holding text; its context is exactly ctx."""
    found = [ln for ln in lines if text in ln]
    assert len(found) == 1, "\n".join(lines)
    assert f"] {ctx} {text}" in found[0], found[0]
    return found[0]


def assert_summary(lines, ctx, summary):
    """The loop thread's summary line reads the request's context."""
    line = one_line(lines, summary, ctx)
    assert re.search(rf"\[info\] {re.escape(ctx)} {re.escape(summary)} [0-9.]+ms "
                     r"peer=127\.0\.0\.1:\d+$", line), line


# ---- broker: POST /v1/grants -------------------------------------------------

@pytest.fixture(scope="module")
def broker(stack):
    tg = Tenantgate(stack)
    tg.migrate()
    tg.seed_demo()
    b = tg.start_broker(name="broker-logctx", log_level="debug")
    yield tg, b
    b.stop()
    assert b.returncode == 0, b.log_tail()


def test_broker_grants_lines_carry_request_and_user(broker):
    tg, b = broker
    user = "alice@example.com"
    seen = 987654321012     # far ahead: the broker logs that it starts over
    mark = b.log_mark()
    r = requests.post(b.url + "/v1/grants", timeout=10,
                      headers={"Authorization": f"Bearer {tg.caller_secret}"},
                      json={"assertion": tg.user_token(user), "seen_seq": seen})
    assert r.status_code == 200, r.text
    rid = r.headers["X-Request-Id"]
    ctx = f"req={rid} user={user}"
    lines = request_lines(b, mark, rid, "POST /v1/grants -> 200")
    # a line written while the handler ran, after the user was set: the
    # user's field did not wipe the request id
    one_line(lines, f"caller has seen change {seen}", ctx)
    # the summary line, written on the loop thread, names the user too
    assert_summary(lines, ctx, "POST /v1/grants -> 200")
    # no line names the user without the request (one request in flight)
    assert all(f"req={rid}" in ln for ln in lines if f"user={user}" in ln), \
        "\n".join(lines)


# ---- forwarder: tools/call ----------------------------------------------------

@pytest.fixture
def env(atlassian, fresh_atlassian):
    e = FwdEnv(atlassian, name="fwd-logctx")
    yield e
    e.close()


def test_forwarder_tools_call_lines_carry_request_user_and_tenant(env):
    user, tenant = "bob@example.com", "microsoft"
    proc = env.fwd.proc
    mark = proc.log_mark()
    r = env.post_mcp(user, {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                            "params": {"name": f"{tenant}__jira_get_issue",
                                       "arguments": {"issue_key": "MS-1"}}})
    assert r.status_code == 200, r.text
    assert r.json()["result"]["isError"] is False, r.text
    rid = r.headers["X-Request-Id"]
    ctx = f"req={rid} user={user} tenant={tenant}"
    lines = request_lines(proc, mark, rid, "POST /mcp -> 200")
    one_line(lines, f"tools/call {tenant}__jira_get_issue: ok", ctx)
    assert_summary(lines, ctx, "POST /mcp -> 200")
    # once a field is learnt, every later line of the request carries it,
    # after the request id (the old setter wiped req= when it set user=)
    mine = [ln for ln in lines if f"req={rid}" in ln]
    assert all(f"] req={rid}" in ln for ln in mine), "\n".join(mine)
    assert not any(f"] user={user}" in ln for ln in lines), "\n".join(lines)
    first_user = next(i for i, ln in enumerate(mine) if f"] req={rid} user={user}" in ln)
    first_tenant = next(i for i, ln in enumerate(mine) if f"] {ctx} " in ln)
    assert all(f"] req={rid} user={user}" in ln for ln in mine[first_user:]), \
        "\n".join(mine)
    assert all(f"] {ctx} " in ln for ln in mine[first_tenant:]), "\n".join(mine)
    # the tool's own line and the summary line, at least
    assert len(mine) - first_tenant >= 2, "\n".join(mine)
