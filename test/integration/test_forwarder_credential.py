"""The forwarder's own broker credential is read by a background job
(forwarder/broker_client.c), never by a request or the event loop (issue
18, point 5): a credential file whose read hangs (a FIFO nobody writes,
standing in for a hung volume) holds neither; requests go on with the
header they have, and the new file is used once it could be read.
"""

import os
import pathlib
import signal
import time

import pytest

from .fake_broker import FwdEnv


@pytest.fixture
def env(atlassian):
    e = FwdEnv(atlassian, name="forwarder-credential")
    yield e
    e.close()


def tools(env, user="alice@example.com"):
    t0 = time.monotonic()
    r = env.http.get(f"{env.url}/tools", timeout=10,
                     headers={"Authorization": f"Bearer {env.token(user)}"})
    return r, time.monotonic() - t0


def test_a_hung_credential_read_holds_no_request(env):
    assert tools(env)[0].status_code == 200
    fifo = pathlib.Path(env.fwd.dir) / "caller-secret.fifo"
    os.mkfifo(fifo, 0o600)
    conf = env.fwd.conf_path.read_text().splitlines()
    conf = [ln for ln in conf if not ln.startswith("broker_secret_file")]
    conf.append(f"broker_secret_file = {fifo}")
    env.fwd.conf_path.write_text("\n".join(conf) + "\n")
    mark = env.fwd.proc.log_mark()
    env.fwd.proc.signal(signal.SIGHUP)
    env.fwd.proc.wait_log("configuration reloaded", since=mark, timeout=5)
    try:
        # Each user's first request asks the broker for grants (so needs
        # the credential); the first sees the new path and asks for a
        # read, which now hangs in open(); all answer at once.
        for user in list(env.users)[1:]:
            r, took = tools(env, user)
            assert r.status_code == 200, r.text
            assert took < 1.0, took
        assert env.http.get(f"{env.url}/health", timeout=2).status_code == 200
    finally:
        # Unblock the reader (and so the stop), with the right secret.
        fd = os.open(fifo, os.O_WRONLY)
        os.write(fd, (env.broker.caller_secret + "\n").encode())
        os.close(fd)
    r, _ = tools(env)
    assert r.status_code == 200
