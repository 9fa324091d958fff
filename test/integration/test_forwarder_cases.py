"""Protocol cases as data (curl's tests/data style): each file in
test/data/mcp/ is one request and the answer it must get, so a new MCP or
HTTP case is a new file, not new code.

    {"why": "one line",
     "request": {"method": "POST", "path": "/mcp",        (defaults)
                 "user": "alice@example.com" | null,      (null: no identity)
                 "headers": {...}, "json": <value> | "raw": "text"},
     "expect": {"status": 200,
                "headers": {"Allow": "POST"},             (exact)
                "header_match": {"WWW-Authenticate": "regex"},
                "headers_absent": ["Mcp-Session-Id"],
                "body_empty": true,
                "json": <pattern>}}

A JSON pattern matches a dict when every key it names matches (others are
ignored), a list when it has the same length and each item matches;
"<any>" matches anything present and "re:..." is a regex for a string.
"""

import json
import pathlib
import re

import pytest

from .fake_broker import FwdEnv

CASES = sorted((pathlib.Path(__file__).resolve().parents[1] / "data" / "mcp").glob("*.json"))


@pytest.fixture(scope="module")
def env(atlassian):
    e = FwdEnv(atlassian, name="forwarder-cases")
    yield e
    e.close()


def match(pattern, value, where="$"):
    if pattern == "<any>":
        return
    if isinstance(pattern, dict):
        assert isinstance(value, dict), f"{where}: expected an object, got {value!r}"
        for k, p in pattern.items():
            assert k in value, f"{where}: no key {k!r} in {value!r}"
            match(p, value[k], f"{where}.{k}")
    elif isinstance(pattern, list):
        assert isinstance(value, list) and len(value) == len(pattern), \
            f"{where}: expected {len(pattern)} items, got {value!r}"
        for i, (p, v) in enumerate(zip(pattern, value)):
            match(p, v, f"{where}[{i}]")
    elif isinstance(pattern, str) and pattern.startswith("re:"):
        assert isinstance(value, str) and re.search(pattern[3:], value), \
            f"{where}: {value!r} does not match /{pattern[3:]}/"
    else:
        assert value == pattern and type(value) is type(pattern), \
            f"{where}: expected {pattern!r}, got {value!r}"


def test_the_case_files_are_well_formed():
    assert len(CASES) >= 30
    for path in CASES:
        case = json.loads(path.read_text())
        assert set(case) <= {"why", "request", "expect"}, path.name
        assert case["why"] and "status" in case["expect"], path.name


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(env, path):
    case = json.loads(path.read_text())
    req, exp = case["request"], case["expect"]
    method = req.get("method", "POST")
    headers = {"Accept": "application/json, text/event-stream",
               "Content-Type": "application/json"} if method == "POST" else {}
    if req.get("user"):
        headers["Authorization"] = f"Bearer {env.token(req['user'])}"
    headers.update(req.get("headers") or {})
    if "raw" in req:
        data = req["raw"].encode()
    elif "json" in req:
        data = json.dumps(req["json"]).encode()
    else:
        data = None
    r = env.http.request(method, env.url + req.get("path", "/mcp"), data=data,
                         headers=headers, timeout=30)
    assert r.status_code == exp["status"], f"{case['why']}: {r.status_code} {r.text}"
    for k, v in (exp.get("headers") or {}).items():
        assert r.headers.get(k) == v, f"header {k}: {r.headers.get(k)!r}"
    for k, rx in (exp.get("header_match") or {}).items():
        assert re.search(rx, r.headers.get(k, "")), f"header {k}: {r.headers.get(k)!r}"
    for k in exp.get("headers_absent") or []:
        assert k not in r.headers, f"unexpected header {k}"
    if exp.get("body_empty"):
        assert r.content == b""
    if "json" in exp:
        assert r.headers["Content-Type"].startswith("application/json")
        match(exp["json"], r.json())
