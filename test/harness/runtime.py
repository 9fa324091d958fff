"""Process-wide bookkeeping for the harness.

Owns the three things that must never leak out of a test run: temp dirs,
child processes and log files.  Every component registers itself here when
it starts; cleanup() closes them in reverse order and removes their dirs.
cleanup() runs from atexit, from SIGTERM/SIGHUP (the handlers are installed
on first use, main thread only), and from the pytest session teardown.

A run killed with SIGKILL cannot clean up after itself, so every temp dir is
named tgh-<pid>-<what>-XXXX and every child carries TG_HARNESS_DIR=<dir> in
its environment: the next run sweeps dirs whose owner pid is gone and kills
the processes that still live in (cwd) or point at (environ) such a dir.

Set TG_KEEP_TMP=1 to keep the dirs for debugging (the next run sweeps them),
TG_TEST_TMPDIR to put them somewhere other than $TMPDIR or /tmp (must be
traversable by the unprivileged PostgreSQL user when running as root).
"""

import atexit
import os
import pathlib
import re
import shutil
import signal
import sys
import tempfile
import threading

PREFIX = "tgh-"

_lock = threading.RLock()
_components = []        # live components, closed in reverse order
_tempdirs = []          # dirs to remove at cleanup
_log_paths = []         # every log path announced this run (ordered, unique)
_installed = False
_swept = False
_cleaning = False


def base_dir():
    return os.environ.get("TG_TEST_TMPDIR") or tempfile.gettempdir()


def keep_tmp():
    return os.environ.get("TG_KEEP_TMP", "") not in ("", "0")


def _ensure_installed():
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    atexit.register(cleanup)
    install_signal_handlers()


def install_signal_handlers():
    """SIGTERM/SIGHUP: clean up, then die of the same signal.

    Only from the main thread, and only where nobody else installed a
    handler already (a demo script may want its own); a callable handler
    found there is chained after our cleanup."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGHUP):
        prev = signal.getsignal(sig)
        if getattr(prev, "_tg_harness", False):
            continue
        if prev in (signal.SIG_IGN,):
            continue

        def handler(signum, frame, _prev=prev):
            cleanup()
            if callable(_prev):
                _prev(signum, frame)
                return
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

        handler._tg_harness = True
        signal.signal(sig, handler)


def make_tempdir(what, owner=None):
    """A fresh dir tgh-<pid>-<what>-XXXX, removed at cleanup.

    owner: (uid, gid) to chown it to (PostgreSQL when running as root)."""
    _ensure_installed()
    sweep_stale()
    what = re.sub(r"[^A-Za-z0-9_.-]", "_", what)[:40]
    path = tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-{what}-",
                            dir=base_dir())
    if owner is not None:
        os.chown(path, owner[0], owner[1])
    with _lock:
        _tempdirs.append(path)
    return path


def remove_tempdir(path):
    """Remove one of our dirs now (after scanning its logs for secrets)."""
    from . import secrets
    with _lock:
        if path in _tempdirs:
            _tempdirs.remove(path)
        logs = [p for p in _log_paths if p.startswith(path + os.sep)]
    secrets.scan_files(logs)
    if keep_tmp():
        sys.stderr.write(f"harness: kept {path}\n")
        return
    shutil.rmtree(path, ignore_errors=True)


def register(component):
    _ensure_installed()
    with _lock:
        if component not in _components:
            _components.append(component)


def unregister(component):
    with _lock:
        if component in _components:
            _components.remove(component)


def add_log(path):
    path = os.path.abspath(path)
    with _lock:
        if path not in _log_paths:
            _log_paths.append(path)
    return path


def all_log_paths():
    """Every log file any component wrote this run that still exists."""
    with _lock:
        return [p for p in _log_paths if os.path.isfile(p)]


def stop_all():
    """Stop every live component (processes down, files kept)."""
    with _lock:
        comps = list(reversed(_components))
    for c in comps:
        try:
            c.stop()
        except Exception as e:  # teardown must go on
            sys.stderr.write(f"harness: stopping {c!r}: {e}\n")


def cleanup():
    """Close everything, scan logs for registered secrets, remove dirs.

    Idempotent, re-entrant (a signal may arrive while it runs)."""
    global _cleaning
    from . import secrets
    with _lock:
        if _cleaning:
            return
        _cleaning = True
    try:
        with _lock:
            comps = list(reversed(_components))
        for c in comps:
            try:
                c.close()
            except Exception as e:
                sys.stderr.write(f"harness: closing {c!r}: {e}\n")
        with _lock:
            _components.clear()
            dirs = list(reversed(_tempdirs))
        secrets.scan_files(all_log_paths())
        for d in dirs:
            remove_tempdir(d)
    finally:
        with _lock:
            _cleaning = False


# ---- sweeping what a SIGKILLed run left behind ---------------------------

def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:    # a zombie nobody reaped yet is dead too
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def pids_using(path):
    """Pids whose cwd is inside path or whose environ names it."""
    marker = b"TG_HARNESS_DIR=" + os.fsencode(path)
    prefix = path.rstrip(os.sep) + os.sep
    found = []
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        pid = int(entry)
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
            if cwd == path or cwd.startswith(prefix):
                found.append(pid)
                continue
        except OSError:
            pass
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read()
            if any(v == marker for v in env.split(b"\0")):
                found.append(pid)
        except OSError:
            pass
    return found


def sweep_stale():
    """Remove tgh-<pid>-* dirs (and their processes) of dead runs."""
    global _swept
    with _lock:
        if _swept:
            return
        _swept = True
    base = base_dir()
    try:
        names = os.listdir(base)
    except OSError:
        return
    for name in names:
        m = re.match(re.escape(PREFIX) + r"(\d+)-", name)
        if not m:
            continue
        pid = int(m.group(1))
        if pid == os.getpid() or _alive(pid):
            continue
        path = os.path.join(base, name)
        if not os.path.isdir(path):
            continue
        for p in pids_using(path):
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        shutil.rmtree(path, ignore_errors=True)


def read_demo_env(path):
    """The demo's env file (scripts/demo.py writes it): `export KEY=value`
    lines, values shell-quoted, so `. .demo/env` works in a shell too."""
    import shlex
    env = {}
    for line in pathlib.Path(path).read_text().splitlines():
        k, _, v = line.removeprefix("export ").partition("=")
        if k:
            env[k] = (shlex.split(v) or [""])[0]
    return env
