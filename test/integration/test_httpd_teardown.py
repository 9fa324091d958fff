"""Connection teardown (issue 18, point 8): every connection ends in one
place that takes its reason from the caller and logs one info line with
the connection id, peer, age, requests, bytes in and out and that reason
(relayd relay_close()). Each case opens one raw connection from a known
local port and checks the one line the forwarder wrote for it."""

import re
import socket
import time

import pytest

from .fake_broker import FwdEnv

HEADER_TIMEOUT = 2

CLOSED = re.compile(r"\[info\] conn=\d+ peer=127\.0\.0\.1:(\d+) closed: reason=(\w+) "
                    r"age=[0-9.]+s requests=(\d+) bytes_in=(\d+) bytes_out=(\d+)$")


@pytest.fixture(scope="module")
def env(atlassian):
    e = FwdEnv(atlassian, name="fwd-teardown", log_level="info",
               header_timeout=f"{HEADER_TIMEOUT}s", body_timeout=f"{HEADER_TIMEOUT + 1}s")
    yield e
    e.close()


def read_all(s, wait=HEADER_TIMEOUT + 5):
    got, end = b"", time.monotonic() + wait
    s.settimeout(0.5)
    while time.monotonic() < end:
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            break
        if not d:
            break
        got += d
    return got


def closed_line(proc, port):
    """The one close line for the connection from this local port:
    (reason, requests, bytes_in, bytes_out)."""
    def mine():
        return [m for m in map(CLOSED.search, proc.log_text().splitlines())
                if m and int(m.group(1)) == port]
    end = time.monotonic() + 10
    while not mine() and time.monotonic() < end:
        time.sleep(0.05)
    time.sleep(0.2)     # a second line, if any, would be there by now
    found = [ln for ln in proc.log_text().splitlines()
             if f"peer=127.0.0.1:{port} " in ln]
    assert len(found) == 1, "\n".join(found) or proc.log_tail()
    m = mine()[0]
    return m.group(2), int(m.group(3)), int(m.group(4)), int(m.group(5))


def connect(env):
    s = socket.create_connection(("127.0.0.1", env.fwd.port), timeout=5)
    return s, s.getsockname()[1]


def exchange(env, data, status):
    """Send data on a new connection and read until the server closes it;
    the answer starts with status. Returns (local port, answer)."""
    s, port = connect(env)
    try:
        s.sendall(data)
    except OSError:
        pass        # refused while we were still sending
    got = read_all(s)
    s.close()
    assert got[9:12] == status, got[:200]
    return port, got


def test_done_after_connection_close(env):
    req = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    port, got = exchange(env, req, b"200")
    assert closed_line(env.fwd.proc, port) == ("done", 1, len(req), len(got))


def test_done_after_http10(env):
    req = b"GET /health HTTP/1.0\r\n\r\n"
    port, got = exchange(env, req, b"200")
    assert closed_line(env.fwd.proc, port) == ("done", 1, len(req), len(got))


def test_client_hangs_up_mid_headers(env):
    s, port = connect(env)
    part = b"GET /health HTTP/1.1\r\nHost: 12"
    s.sendall(part)
    time.sleep(0.2)
    s.close()
    assert closed_line(env.fwd.proc, port) == ("client_closed", 0, len(part), 0)


def test_client_hangs_up_after_keepalive_reply(env):
    s, port = connect(env)
    req = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    s.sendall(req)
    s.settimeout(5)
    got = s.recv(65536)
    assert got.startswith(b"HTTP/1.1 200")
    s.close()
    assert closed_line(env.fwd.proc, port) == ("client_closed", 1, len(req), len(got))


def test_header_timeout(env):
    part = b"GET /health HTTP/1.1\r\nX-Slow: a"
    port, got = exchange(env, part, b"408")
    assert closed_line(env.fwd.proc, port) == ("header_timeout", 0, len(part), len(got))


def test_idle_connection(env):
    s, port = connect(env)
    got = read_all(s)
    s.close()
    assert got == b""
    assert closed_line(env.fwd.proc, port) == ("idle", 0, 0, 0)


def test_oversize_body(env):
    port, got = exchange(env, b"POST /mcp HTTP/1.1\r\nContent-Length: 100000000\r\n\r\n"
                         + b"x" * (1200 * 1024), b"413")
    reason, requests, bytes_in, bytes_out = closed_line(env.fwd.proc, port)
    assert (reason, requests, bytes_out) == ("too_large", 0, len(got))
    assert bytes_in > 1024 * 1024


def test_headers_too_large(env):
    port, _ = exchange(env, b"GET /health HTTP/1.1\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n",
                       b"431")
    assert closed_line(env.fwd.proc, port)[0] == "headers_too_large"


def test_shutdown_closes_with_its_reason(atlassian):
    e = FwdEnv(atlassian, name="fwd-teardown-stop", log_level="info")
    try:
        s, port = connect(e)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        s.settimeout(5)
        assert s.recv(65536).startswith(b"HTTP/1.1 200")
        assert e.fwd.stop() == 0, e.fwd.proc.log_tail()
        assert closed_line(e.fwd.proc, port)[:2] == ("shutdown", 1)
        s.close()
        e.fwd.assert_no_sanitizer_report()
    finally:
        e.fwd.close()
        e.broker.close()
