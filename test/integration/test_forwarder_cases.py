"""Protocol cases as data (curl's tests/data style): each file in
test/data/mcp/ is one request, the answers Atlassian gives it, the requests
Atlassian must see and the answer the client must get, so a new MCP or
HTTP case is a new file, not new code.  test/data/mcp/README.md has the
format.  This runner only reads the table: it queues each case's canned
replies on its own fake Atlassian, sends the request, compares the answer,
then compares the calls Atlassian received, the credential each carried
checked against the tenant's test key (never written in a case file).
"""

import json
import pathlib
import re
import time

import pytest

from harness import wait_for
from harness.atlassian import FakeAtlassian

from .fake_broker import USERS, FwdEnv, atlassian_tenants

CASES = sorted((pathlib.Path(__file__).resolve().parents[1] / "data" / "mcp").glob("*.json"))
BACKOFF_MAX = 5     # seconds a case may leave its tenant held back after a 429
# Beyond the seed tenants (classic keys, at the site): one tenant per key
# kind that goes through the API gateway, so a case shows which header goes
# where.
GATEWAY_TENANTS = {"acme": "scoped", "initech": "service_account"}
CASE_USERS = dict(USERS, **{"erin@example.com": {t: "editor" for t in GATEWAY_TENANTS}})


@pytest.fixture(scope="module")
def atl():
    # Its own fake: cases queue replies and reset the seed data per case.
    a = FakeAtlassian()
    for slug, kind in GATEWAY_TENANTS.items():
        a.add_tenant(slug, cred_kind=kind)
    a.start()
    yield a
    a.close()


@pytest.fixture(scope="module")
def env(atl):
    # retry_after_max 0: a 429 with Retry-After 0 is retried, any longer
    # wait is a tool error, so a 429 case holds its tenant back briefly.
    e = FwdEnv(atl, users=CASE_USERS, tenants=atlassian_tenants(atl, names=list(atl.tenants)),
               name="forwarder-cases", retry_after_max="0s")
    yield e
    e.close()


def match(pattern, value, where="$", exact=False):
    if pattern == "<any>":
        return
    if isinstance(pattern, dict):
        assert isinstance(value, dict), f"{where}: expected an object, got {value!r}"
        if exact:
            assert set(value) == set(pattern), \
                f"{where}: keys {sorted(value)}, expected {sorted(pattern)}"
        for k, p in pattern.items():
            assert k in value, f"{where}: no key {k!r} in {value!r}"
            match(p, value[k], f"{where}.{k}", exact)
    elif isinstance(pattern, list):
        assert isinstance(value, list) and len(value) == len(pattern), \
            f"{where}: expected {len(pattern)} items, got {value!r}"
        for i, (p, v) in enumerate(zip(pattern, value)):
            match(p, v, f"{where}[{i}]", exact)
    elif isinstance(pattern, str) and pattern.startswith("re:"):
        assert isinstance(value, str) and re.search(pattern[3:], value), \
            f"{where}: {value!r} does not match /{pattern[3:]}/"
    else:
        assert value == pattern and type(value) is type(pattern), \
            f"{where}: expected {pattern!r}, got {value!r}"


def load(path, atl_url="http://127.0.0.1:0"):
    return json.loads(path.read_text().replace("${atlassian}", atl_url))


def default_tenant(req):
    """The tenant a case's upstream calls go to: the tool name's prefix
    (MCP) or the path's tenant (OpenAPI)."""
    name = ((req.get("json") or {}).get("params") or {}).get("name", "") \
        if isinstance(req.get("json"), dict) else ""
    m = re.match(r"^([a-z0-9-]+)__", name) or \
        re.match(r"^/tools/([^/]+)/", req.get("path", ""))
    return m.group(1) if m else None


def test_the_case_files_are_well_formed():
    assert len(CASES) >= 30
    for path in CASES:
        case = load(path)
        assert set(case) <= {"why", "request", "upstream", "expect"}, path.name
        assert case["why"] and "status" in case["expect"], path.name
        assert set(case["expect"]) <= {"status", "headers", "header_match", "headers_absent",
                                       "body_empty", "json", "json_exact"}, path.name
        for up in case.get("upstream", []):
            assert set(up) <= {"tenant", "request", "reply"}, path.name
            assert up.get("tenant") or default_tenant(case["request"]), path.name
            assert set(up["request"]) <= {"method", "path", "query", "json", "auth", "via"}
            assert set(up.get("reply") or {}) <= {"status", "headers", "json"}, path.name


def send(env, req):
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
    return env.http.request(method, env.url + req.get("path", "/mcp"), data=data,
                            headers=headers, timeout=30)


def check_upstream(atl, ups, default):
    """Atlassian got exactly the calls listed, each with its tenant's key."""
    wait_for(lambda: len(atl.calls) >= len(ups), timeout=5, what="the upstream calls")
    calls = list(atl.calls)
    assert len(calls) == len(ups), \
        f"upstream calls: {[(c.method, c.path) for c in calls]}"
    for i, (up, call) in enumerate(zip(ups, calls)):
        want, tenant = up["request"], up.get("tenant") or default
        got = {"method": call.method, "path": call.path, "query": call.query,
               "auth": call.auth_scheme}
        exp = {"method": want.get("method", "GET"), "path": want["path"],
               "query": want.get("query", {}), "auth": want.get("auth", "Basic")}
        match(exp, got, f"upstream[{i}]", exact=True)
        assert call.tenant == tenant, f"upstream[{i}]: went to {call.tenant}"
        if exp["auth"] is not None:
            # The fake matched the header against this tenant's test key.
            assert call.auth_tenant == tenant, f"upstream[{i}]: wrong credential"
        if "via" in want:
            assert call.via == want["via"], f"upstream[{i}]: via {call.via}"
        if "json" in want:
            match(want["json"], call.body, f"upstream[{i}].body", exact=True)
    assert atl.faults_pending() == 0, "a canned reply was never asked for"


def backoff_of(ups):
    """Seconds the forwarder holds a tenant back after this case's 429s."""
    waits = [int((u.get("reply") or {}).get("headers", {}).get("Retry-After", 0))
             for u in ups if (u.get("reply") or {}).get("status") == 429]
    return min(max(waits, default=0), BACKOFF_MAX)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(env, atl, path):
    case = load(path, atl.url)
    req, exp, ups = case["request"], case["expect"], case.get("upstream", [])
    tenant = default_tenant(req)
    atl.reset()
    for up in ups:
        reply = up.get("reply")
        if reply is not None:
            atl.reply(up.get("tenant") or tenant, reply.get("status", 200),
                      reply.get("json"), reply.get("headers"))
    try:
        r = send(env, req)
        assert r.status_code == exp["status"], f"{case['why']}: {r.status_code} {r.text}"
        for k, v in (exp.get("headers") or {}).items():
            assert r.headers.get(k) == v, f"header {k}: {r.headers.get(k)!r}"
        for k, rx in (exp.get("header_match") or {}).items():
            assert re.search(rx, r.headers.get(k, "")), f"header {k}: {r.headers.get(k)!r}"
        for k in exp.get("headers_absent") or []:
            assert k not in r.headers, f"unexpected header {k}"
        if exp.get("body_empty"):
            assert r.content == b""
        for key in ("json", "json_exact"):
            if key in exp:
                assert r.headers["Content-Type"].startswith("application/json")
                match(exp[key], r.json(), exact=key == "json_exact")
        check_upstream(atl, ups, tenant)
    finally:
        atl.clear_faults()
        time.sleep(backoff_of(ups))
