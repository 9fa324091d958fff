"""Child processes for tests: Proc, plus port and polling helpers.

A Proc is one daemon under test (broker, forwarder, bao...): its own
process group (start_new_session, so Ctrl-C on the terminal does not reach
it and stop() can kill everything it forked), its own temp dir, and one log
file that collects stdout and stderr.  Logs are appended across restarts;
log_mark() / log_text(since=) / wait_log() look at what came after a point.
"""

import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

from . import runtime


class HarnessError(RuntimeError):
    pass


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port_pair():
    """A free port whose successor is free too (bao's cluster port)."""
    for _ in range(50):
        p = free_port()
        if p < 65535 and port_is_free(p + 1):
            return p
    raise HarnessError("no free port pair on 127.0.0.1")


def wait_for(predicate, timeout=10.0, interval=0.02, what="condition"):
    """Poll predicate() until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def http_status(url, timeout=2.0, headers=None):
    """Status code of a GET (no proxies, no redirects followed), or None."""
    req = urllib.request.Request(url, headers=headers or {})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (OSError, ValueError):
        return None


def wait_http(url, timeout=10.0, status=200, interval=0.02, alive=None):
    """Wait until GET url answers `status` (an int, a container of ints, or
    a predicate).  alive: optional callable; if it returns False the wait
    fails at once (the server process died)."""
    if isinstance(status, int):
        ok = lambda s: s == status  # noqa: E731
    elif callable(status):
        ok = status
    else:
        ok = lambda s: s in status  # noqa: E731
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = http_status(url, timeout=max(0.2, min(2.0, timeout)))
        if last is not None and ok(last):
            return last
        if alive is not None and not alive():
            raise HarnessError(f"process died while waiting for {url}")
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{url}: no {status} after {timeout}s"
                               f" (last: {last})")
        time.sleep(interval)


class Proc:
    """A subprocess with a log file, env, process group and readiness check.

    argv: list; env: extra variables (value None removes one); inherit_env:
    start from os.environ (default) or from a minimal PATH/HOME/LANG set;
    cwd: default the Proc's own temp dir (.dir, for config files too;
    dir= uses a caller's dir instead, which close() then leaves alone);
    ready: None, a URL (waits for 200), a compiled regex (waits for a log
    line), or a callable(proc) -> bool; ready_timeout: seconds.
    """

    def __init__(self, name, argv, *, env=None, inherit_env=True, cwd=None,
                 dir=None, log_path=None, ready=None, ready_timeout=15.0,
                 stop_timeout=5.0, stop_signal=signal.SIGTERM, stdin=None):
        self.name = name
        self.argv = [os.fspath(a) for a in argv]
        self.extra_env = dict(env or {})
        self.inherit_env = inherit_env
        self.ready = ready
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        self.stop_signal = stop_signal
        self.stdin = stdin
        self._own_dir = dir is None
        self.dir = dir or runtime.make_tempdir(name)
        self.cwd = cwd or self.dir
        self.log_path = runtime.add_log(log_path or
                                        os.path.join(self.dir, f"{name}.log"))
        self.popen = None
        self._returncode = None
        self._closed = False
        runtime.register(self)

    def __repr__(self):
        return f"<Proc {self.name} pid={self.pid} rc={self.returncode}>"

    # ---- lifecycle -------------------------------------------------------

    def environ(self):
        if self.inherit_env:
            env = dict(os.environ)
        else:
            env = {k: os.environ[k] for k in ("PATH", "LANG", "TZ")
                   if k in os.environ}
            env["HOME"] = self.dir
        for k, v in self.extra_env.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = str(v)
        env["TG_HARNESS_DIR"] = self.dir
        return env

    def start(self, wait=True):
        if self.running:
            return self
        if self._closed:
            raise HarnessError(f"{self.name}: start() after close()")
        logf = open(self.log_path, "ab", buffering=0)
        stdin = subprocess.PIPE if isinstance(self.stdin, (bytes, str)) \
            else subprocess.DEVNULL
        try:
            self.popen = subprocess.Popen(
                self.argv, stdin=stdin, stdout=logf, stderr=subprocess.STDOUT,
                cwd=self.cwd, env=self.environ(), start_new_session=True,
                close_fds=True)
        finally:
            logf.close()
        self._returncode = None
        if stdin is subprocess.PIPE:
            data = self.stdin.encode() if isinstance(self.stdin, str) \
                else self.stdin
            try:
                self.popen.stdin.write(data)
                self.popen.stdin.close()
            except BrokenPipeError:
                pass
        if wait and self.ready is not None:
            try:
                self.wait_ready()
            except BaseException:
                self.stop()
                raise
        return self

    def wait_ready(self, check=None, timeout=None):
        check = check if check is not None else self.ready
        timeout = timeout if timeout is not None else self.ready_timeout
        deadline = time.monotonic() + timeout
        while True:
            if isinstance(check, str):
                ok = http_status(check, timeout=1.0) == 200
            elif isinstance(check, re.Pattern):
                ok = check.search(self.log_text()) is not None
            else:
                ok = bool(check(self))
            if ok:
                return self
            if not self.running:
                raise HarnessError(
                    f"{self.name} exited with {self.returncode} before"
                    f" ready; log tail:\n{self.log_tail()}")
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"{self.name} not ready after {timeout}s; log tail:\n"
                    f"{self.log_tail()}")
            time.sleep(0.02)

    @property
    def pid(self):
        return self.popen.pid if self.popen else None

    @property
    def running(self):
        return self.popen is not None and self.popen.poll() is None

    @property
    def returncode(self):
        if self.popen is None:
            return self._returncode
        return self.popen.poll()

    def wait(self, timeout=None):
        """Wait for exit; return the exit code (negative: killed by signal)."""
        if self.popen is None:
            return self._returncode
        return self.popen.wait(timeout)

    def signal(self, sig):
        """Send sig to the main process only (e.g. SIGHUP to reload)."""
        if self.running:
            self.popen.send_signal(sig)

    def _killpg(self, sig):
        try:
            os.killpg(self.popen.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self, timeout=None):
        """stop_signal to the group, SIGKILL after timeout; files kept."""
        if self.popen is None:
            return self._returncode
        timeout = self.stop_timeout if timeout is None else timeout
        if self.popen.poll() is None:
            self._killpg(self.stop_signal)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self._killpg(signal.SIGKILL)
                self.popen.wait()
        # the leader is gone; stragglers it forked still share its group
        self._killpg(signal.SIGKILL)
        return self.popen.returncode

    def kill(self):
        """SIGKILL the whole group at once (simulate a crash)."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self._killpg(signal.SIGKILL)
        self.popen.wait()
        self._killpg(signal.SIGKILL)
        return self.popen.returncode

    def restart(self, wait=True):
        self.stop()
        return self.start(wait=wait)

    def close(self):
        """Stop, remove the temp dir (its logs are scanned for secrets)."""
        if self._closed:
            return
        self.stop()
        self._closed = True
        runtime.unregister(self)
        if self._own_dir:
            runtime.remove_tempdir(self.dir)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- log -------------------------------------------------------------

    def log_mark(self):
        """Current log size: pass to log_text(since=) / wait_log(since=)."""
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log_text(self, since=0):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(since)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, lines=30):
        return "\n".join(self.log_text().splitlines()[-lines:])

    def wait_log(self, pattern, timeout=10.0, since=0):
        """Wait for a regex (str or compiled) in the log; return the match."""
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern

        def found():
            return rx.search(self.log_text(since))
        try:
            return wait_for(found, timeout, what=f"{rx.pattern!r} in"
                            f" {self.name} log")
        except TimeoutError as e:
            raise TimeoutError(f"{e}; log tail:\n{self.log_tail()}") from None

    def log_contains(self, pattern, since=0):
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        return rx.search(self.log_text(since)) is not None
