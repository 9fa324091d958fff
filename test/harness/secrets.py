"""Registered test secrets and the leak scan over logs and captured output.

Tests (and the stand-ins, for the credentials they hand out) call
register(value) for every secret string they create.  Any registered value
found in a harness log file or in pytest's captured output is a leak; the
session fails at the end (test/conftest.py).  Reports never print the
secret itself, only a hint (first 3 characters and the length).

Note: this module shadows nothing: inside the harness package, `import
secrets` still means the standard library (absolute imports).
"""

import base64
import os
import threading

MIN_LEN = 8
_CHUNK = 1 << 20

_lock = threading.Lock()
_values = set()
leaks = []          # [(where, hint)], unique, in discovery order
_seen = set()


def register(value):
    """Register a secret (str or bytes) that must never appear in a log."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        raise TypeError("secret must be str or bytes")
    if len(value) < MIN_LEN:
        raise ValueError(f"secret shorter than {MIN_LEN} characters would"
                         " give false positives; use a longer test value")
    with _lock:
        _values.add(value)
    return value


def register_basic(email, api_token):
    """An Atlassian key: the token itself and its Basic header form."""
    register(api_token)
    register(base64.b64encode(f"{email}:{api_token}".encode()).decode())


def registered():
    with _lock:
        return frozenset(_values)


def hint(value):
    return f"{value[:3]}...({len(value)} chars)"


def _record(where, value):
    key = (where, value)
    with _lock:
        if key in _seen:
            return
        _seen.add(key)
        leaks.append((where, hint(value)))


def scan_text(text, where, record=True):
    """Record every registered secret found in text; return them (hints).
    record=False only reports (for testing the checker itself)."""
    found = []
    for v in registered():
        if v in text:
            if record:
                _record(where, v)
            found.append(hint(v))
    return found


def scan_file(path, record=True):
    values = [(v, v.encode()) for v in registered()]
    if not values:
        return []
    overlap = max(len(b) for _, b in values)
    found = {}
    try:
        with open(path, "rb") as f:
            tail = b""
            while True:
                chunk = f.read(_CHUNK)
                if not chunk:
                    break
                buf = tail + chunk
                for v, b in values:
                    if v not in found and b in buf:
                        found[v] = True
                tail = buf[-overlap:]
    except OSError:
        return []
    if record:
        for v in found:
            _record(path, v)
    return [hint(v) for v in found]


def scan_files(paths):
    out = []
    for p in paths:
        if os.path.isfile(p):
            out += scan_file(p)
    return out


def report():
    with _lock:
        return list(leaks)


def check():
    """Raise AssertionError listing every leak found so far."""
    found = report()
    if found:
        lines = "\n".join(f"  {h} in {w}" for w, h in found)
        raise AssertionError(f"registered test secrets leaked:\n{lines}")


def reset():
    with _lock:
        _values.clear()
        leaks.clear()
        _seen.clear()
