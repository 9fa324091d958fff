"""A broker stand-in that isolates the forwarder in its own tests.

It implements docs/api.md's POST /v1/grants, POST /v1/redeem,
GET /v1/changes (the change feed: publish() adds an event, cut_feed()
makes it fail), POST /v1/audit and GET /readyz with a fixed user -> tenant
map, nothing more: user tokens are opaque strings the test hands out (no
JWT verification), grants are JWT-shaped but unsigned (the forwarder only
reads their jti) with an expiry, credentials come from the test.  With
reuse=True it hands back the still-valid grant for an unchanged (user,
tenant, role, credential versions), as the real broker does.  The real
broker is exercised by the end-to-end tests; here the point is to drive
the forwarder through every answer the contract allows (no tenants, 401,
expired grants, 503, refused caller) on demand.

Also here: FwdKit, which starts the forwarder under test (sanitizer build,
inline config) against this stand-in, and the tool catalogue read from the
forwarder binary itself (`--tool-catalogue`), so no tool list is repeated
in Python.

Every secret it creates (user tokens, caller secret, grants, credentials)
is registered with the harness leak checker.
"""

import base64
import json
import os
import pathlib
import secrets as pysecrets
import subprocess
import threading
import time
from dataclasses import dataclass, field

from harness import runtime, secrets
from harness.product import sanitizer_env
from harness.httpserver import JsonHandler, StandIn
from harness.proc import Proc, free_port

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN_DIR = pathlib.Path(os.environ.get("TG_BIN_DIR",
                                      REPO / "build" / "san" / "bin"))


def forwarder_binary():
    p = BIN_DIR / "tenantgate-forwarder"
    if not p.exists():
        raise FileNotFoundError(f"{p} is not built (make VARIANT=san)")
    return str(p)


_catalogue = None


def catalogue():
    """The built-in tools, as the forwarder binary reports them."""
    global _catalogue
    if _catalogue is None:
        out = subprocess.run([forwarder_binary(), "--tool-catalogue"],
                             check=True, capture_output=True, text=True,
                             env=dict(os.environ, **sanitizer_env()))
        _catalogue = json.loads(out.stdout)
    return _catalogue


def tools_for(kind, role):
    """Tool names a role gets for an integration kind (the broker's rule:
    viewer = read tools only)."""
    return [t["name"] for t in catalogue() if t["kind"] == kind and
            (role in ("editor", "admin") or t["access"] == "read")]


@dataclass
class Integration:
    name: str
    kind: str                   # jira | confluence | mcp
    base_url: str
    credential: dict            # {"email","api_token"}, {"api_key"} or {"header","value"}
    cred_version: int = 1
    cred_kind: str = "classic"  # classic | scoped | service_account
    api_url: object = None      # gateway base for scoped / service_account

    def desc(self):
        """The integration's fields as the broker's answers carry them."""
        return {"name": self.name, "kind": self.kind, "base_url": self.base_url,
                "cred_kind": self.cred_kind, "api_url": self.api_url,
                "cred_version": self.cred_version}


@dataclass
class Call:
    path: str
    user: object = None
    tenant: object = None
    integration: object = None
    status: int = 0
    at: float = field(default_factory=time.time)


class _Handler(JsonHandler):
    def dispatch(self):
        path, query = self._split()
        b = self.standin
        if path == "/readyz" and self.command == "GET":
            return self.send_json(200, {"status": "ready"})
        if path == "/healthz" and self.command == "GET":
            return self.send_json(200, {"status": "ok"})
        if path == "/v1/changes" and self.command == "GET":
            status, answer = b._changes(self.headers.get("Authorization"), query)
            b._record(Call(path, status=status))
            return self.send_json(status, answer)
        if path == "/v1/audit" and self.command == "POST":
            status, answer = b._audit(self.headers.get("Authorization"),
                                      self.read_json())
            b._record(Call(path, status=status))
            return self.send_json(status, answer)
        if self.command != "POST" or path not in ("/v1/grants", "/v1/redeem"):
            return self.send_json(404, _err("not_found", f"no such endpoint: {path}"))
        body = self.read_json()
        call = Call(path)
        try:
            status, answer = b._serve(path, self.headers.get("Authorization"),
                                      body, call)
        except Exception as e:  # a bug in the stand-in must show in the test
            status, answer = 500, _err("internal", repr(e))
        call.status = status
        b._record(call)
        delay = b.path_delay.get(path, b.delay)
        if delay:
            time.sleep(delay)
        self.send_json(status, answer)


def _err(code, message):
    return {"error": {"code": code, "message": message}}


def _b64(obj):
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=") \
        .decode()


def _grant_token(user, tenant, exp):
    """JWT-shaped, unsigned: the forwarder reads only its jti."""
    claims = {"jti": pysecrets.token_hex(16), "sub": user, "tenant": tenant,
              "exp": exp}
    return f"{_b64({'alg': 'ES256', 'typ': 'JWT'})}.{_b64(claims)}." \
        + pysecrets.token_urlsafe(32)


def _jti(token):
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))["jti"]


class FakeBroker(StandIn):
    """tenants: {slug: [Integration]}; users: {email: {tenant: role}}."""

    name = "fake_broker"
    Handler = _Handler

    def __init__(self, tenants, users, grant_ttl=300, port=None, reuse=False):
        super().__init__(port)
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self.reuse = reuse
        self.minted = {}            # (user, tenant, role, versions) -> grant
        self.changes = []           # [{"seq",...}] the change feed
        self.seq = 100              # a broker with history, as in real life
        self.oldest = 1             # lowest seq still retained
        self.feed_status = None     # set: /v1/changes answers this status
        self.audit = []             # records received on /v1/audit
        self.redeem_patch = {}      # fields to change in every redeem answer
        self.tenants = tenants
        self.users = users
        self.grant_ttl = grant_ttl
        self.caller_secret = secrets.register(
            "fbcaller-" + pysecrets.token_urlsafe(24))
        self.tokens = {}            # user token -> email
        self.grants = {}            # grant token -> dict
        self.calls = []
        self.faults = []            # [(path, status, code, count)]
        self.delay = 0
        self.path_delay = {}        # {path: seconds}: answers to it wait (computed first)
        for ints in tenants.values():
            for i in ints:
                for k in ("api_token", "value"):
                    if k in i.credential and len(i.credential[k]) >= 8:
                        secrets.register(i.credential[k])

    # ---- test API ----------------------------------------------------------

    def token_for(self, email):
        """A fresh opaque bearer token that identifies this user."""
        tok = secrets.register(f"utok-{email.split('@')[0]}-"
                               + pysecrets.token_urlsafe(24))
        with self._lock:
            self.tokens[tok] = email
        return tok

    def fault(self, path, status, code="broker_fault", count=1):
        with self._lock:
            self.faults.append([path, status, code, count])

    def publish(self, kind, user=None, tenant=None, integration=None,
                jti=None):
        """Append one change-feed event; held long-polls wake at once."""
        with self._changed:
            self.seq += 1
            self.changes.append({"seq": self.seq, "kind": kind, "user": user,
                                 "tenant": tenant, "integration": integration,
                                 "jti": jti})
            self._changed.notify_all()
            return self.seq

    def forget_changes(self):
        """Prune every event so far: a forwarder behind gets reset."""
        with self._changed:
            self.oldest = self.seq + 1
            self.changes.clear()

    def rewind(self):
        """The broker lost its feed (a new database): seq back to 0, so a
        forwarder ahead of it is told to reset."""
        with self._changed:
            self.seq = 0
            self.oldest = 1
            self.changes.clear()
            self._changed.notify_all()

    def cut_feed(self, status=503):
        """/v1/changes fails (None: works again); grants/redeem still work."""
        with self._changed:
            self.feed_status = status
            self._changed.notify_all()

    def jti_of(self, token):
        return _jti(token)

    def grants_of(self, email):
        with self._lock:
            return [t for t, g in self.grants.items() if g["user"] == email
                    and g["exp"] > time.time()]

    def expire_grants(self):
        """Every grant handed out so far is now expired (as if 300 s passed)."""
        with self._lock:
            for g in self.grants.values():
                g["exp"] = int(time.time()) - 1

    def calls_to(self, path):
        with self._lock:
            return [c for c in self.calls if c.path == path]

    def reset_calls(self):
        with self._lock:
            self.calls.clear()

    # ---- serving -----------------------------------------------------------

    def _record(self, call):
        with self._lock:
            self.calls.append(call)

    def _take_fault(self, path):
        with self._lock:
            for f in self.faults:
                if f[0] == path:
                    f[3] -= 1
                    if f[3] <= 0:
                        self.faults.remove(f)
                    return f[1], f[2]
        return None

    def _serve(self, path, authz, body, call):
        if authz != f"Bearer {self.caller_secret}":
            return 401, _err("caller_unauthenticated",
                             "the caller credential is missing or wrong")
        fault = self._take_fault(path)
        if fault:
            return fault[0], _err(fault[1], f"injected {fault[1]}")
        if not isinstance(body, dict):
            return 400, _err("bad_json", "expected a JSON object")
        if path == "/v1/grants":
            return self._grants(body, call)
        return self._redeem(body, call)

    def _grants(self, body, call):
        tok = body.get("assertion")
        if not isinstance(tok, str):
            return 400, _err("missing_field", "field 'assertion' is required")
        with self._lock:
            email = self.tokens.get(tok)
        if email is None:
            return 401, _err("bad_signature", "the user token is not valid")
        call.user = email
        members = self.users.get(email, {})
        if not members:
            return 403, _err("no_tenants",
                             f"{email} is not a member of any tenant")
        now = int(time.time())
        grants = []
        for tenant, role in members.items():
            ints = self.tenants.get(tenant, [])
            mkey = (email, tenant, role,
                    tuple((i.name, i.cred_version) for i in ints))
            with self._lock:
                prev = self.minted.get(mkey) if self.reuse else None
                if prev is not None and (prev["token"] not in self.grants or
                                         prev["expires_at"] - now < 60):
                    prev = None
            if prev is not None:
                grants.append(dict(prev))
                continue
            tools = []
            for i in ints:
                if i.kind == "mcp":
                    tools.append(f"mcp:{i.name}:" +
                                 ("*" if role != "viewer" else "readonly"))
                else:
                    tools += tools_for(i.kind, role)
            exp = now + self.grant_ttl
            gtok = secrets.register(_grant_token(email, tenant, exp))
            with self._lock:
                self.grants[gtok] = {"tenant": tenant, "user": email,
                                     "exp": exp, "role": role}
            grants.append({
                "tenant": tenant, "role": role, "token": gtok,
                "expires_at": exp,
                "integrations": [i.desc() for i in ints],
                "tools": tools})
            with self._lock:
                self.minted[mkey] = grants[-1]
        return 200, {"user": email, "grants": grants, "denied": []}

    def revoke_grant(self, token):
        """The broker refuses this grant from now on (no event: see publish)."""
        with self._lock:
            self.grants.pop(token, None)

    def _changes(self, authz, query):
        if authz != f"Bearer {self.caller_secret}":
            return 401, _err("caller_unauthenticated",
                             "the caller credential is missing or wrong")
        try:
            since = int(query.get("since") or 0)
            wait = min(int(query.get("wait") or 5), 25)
        except ValueError:
            return 400, _err("bad_request", "since and wait are integers")
        deadline = time.time() + wait
        with self._changed:
            while True:
                if self.feed_status is not None:
                    return self.feed_status, _err("feed_down", "injected")
                if since == 0:
                    return 200, {"seq": self.seq, "events": [], "reset": False}
                if since > self.seq or since < self.oldest - 1:
                    return 200, {"seq": self.seq, "events": [], "reset": True}
                evs = [e for e in self.changes if e["seq"] > since][:1000]
                if evs:
                    return 200, {"seq": evs[-1]["seq"], "events": evs,
                                 "reset": False}
                left = deadline - time.time()
                if left <= 0:
                    return 200, {"seq": self.seq, "events": [], "reset": False}
                self._changed.wait(left)

    def _audit(self, authz, body):
        if authz != f"Bearer {self.caller_secret}":
            return 401, _err("caller_unauthenticated",
                             "the caller credential is missing or wrong")
        fault = self._take_fault("/v1/audit")
        if fault:
            return fault[0], _err(fault[1], f"injected {fault[1]}")
        evs = body.get("events") if isinstance(body, dict) else None
        if not isinstance(evs, list) or len(evs) > 500:
            return 400, _err("bad_request", "events: a list of at most 500")
        with self._lock:
            self.audit.extend(evs)
        return 202, {"accepted": len(evs)}

    def _redeem(self, body, call):
        gtok, name = body.get("grant"), body.get("integration")
        with self._lock:
            g = self.grants.get(gtok)
        if g is None or g["exp"] <= time.time():
            return 401, _err("grant_invalid", "the grant is expired or unknown")
        call.user, call.tenant, call.integration = g["user"], g["tenant"], name
        if self.users.get(g["user"], {}).get(g["tenant"]) is None:
            return 403, _err("not_member", f"{g['user']} is no longer a member"
                             f" of tenant '{g['tenant']}'")
        for i in self.tenants.get(g["tenant"], []):
            if i.name == name:
                d = i.desc()
                del d["name"]
                d.update({"tenant": g["tenant"], "integration": i.name,
                          "expires_at": g["exp"],
                          "credential": dict(i.credential)})
                d.update(self.redeem_patch)
                return 200, d
        return 403, _err("integration_not_granted",
                         f"integration '{name}' is not in this grant")


class FwdKit:
    """The forwarder under test, pointed at a FakeBroker."""

    def __init__(self, broker, name="forwarder", **conf):
        self.broker = broker
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dir = runtime.make_tempdir(name)
        secret_file = pathlib.Path(self.dir) / "caller-secret"
        secret_file.write_text(broker.caller_secret + "\n")
        secret_file.chmod(0o600)
        cfg = {"listen": f"127.0.0.1:{self.port}",
               "broker_url": broker.url,
               "broker_secret_file": str(secret_file),
               "log_level": "debug",
               "upstream_timeout": "3s",
               "retry_after_max": "2s"}
        cfg.update(conf)
        self.conf_path = pathlib.Path(self.dir) / "forwarder.conf"
        self.conf_path.write_text("".join(f"{k} = {v}\n" for k, v in cfg.items()
                                          if v is not None))
        self.proc = Proc(name, [forwarder_binary(), "-c", str(self.conf_path)],
                         dir=self.dir,
                         env=sanitizer_env(),
                         ready=f"{self.url}/health", ready_timeout=30)

    def start(self):
        self.proc.start()
        return self

    def stop(self):
        rc = self.proc.stop()
        return rc

    def close(self):
        self.proc.close()
        runtime.remove_tempdir(self.dir)

    def log(self):
        return self.proc.log_text()

    def assert_no_sanitizer_report(self):
        text = self.log()
        for marker in ("ERROR: AddressSanitizer", "runtime error:",
                       "ERROR: LeakSanitizer"):
            assert marker not in text, f"sanitizer report in forwarder log:\n" \
                                       f"{self.proc.log_tail(60)}"


# ---- the forwarder's isolation kit ------------------------------------------

# Issue 5's seed people: who belongs where, with which role.
USERS = {
    "alice@example.com": {"google": "editor"},
    "bob@example.com": {"google": "editor", "microsoft": "editor"},
    "carol@example.com": {},
    "dave@example.com": {"smallco": "viewer"},
}


def atlassian_tenants(atl, names=("google", "microsoft", "smallco")):
    """Each tenant: a Jira and a Confluence integration on the fake
    Atlassian, with that tenant's own key."""
    out = {}
    for t in names:
        cred = atl.credentials(t)
        kind = atl.tenants[t].cred_kind
        gw = kind != "classic"
        out[t] = [Integration("jira", "jira", atl.base_url(t), dict(cred),
                              cred_kind=kind,
                              api_url=atl.api_url(t, "jira") if gw else None),
                  Integration("wiki", "confluence", atl.base_url(t), dict(cred),
                              cred_kind=kind,
                              api_url=atl.api_url(t, "confluence") if gw else None)]
    return out


def expected_tools(users_tenants):
    """`<tenant>__<tool>` names a user should see: {tenant: role}."""
    names = set()
    for tenant, role in users_tenants.items():
        for kind in ("jira", "confluence"):
            names |= {f"{tenant}__{t}" for t in tools_for(kind, role)}
    return names


class FwdEnv:
    """Fake Atlassian (the shared one) + FakeBroker + the forwarder."""

    def __init__(self, atlassian, users=None, tenants=None, grant_ttl=300,
                 name="forwarder", reuse=False, **conf):
        import requests
        self.atl = atlassian
        self.users = users if users is not None else USERS
        self.broker = FakeBroker(tenants if tenants is not None else
                                 atlassian_tenants(atlassian), self.users,
                                 grant_ttl=grant_ttl, reuse=reuse).start()
        self.fwd = FwdKit(self.broker, name=name, **conf).start()
        self.url = self.fwd.url
        self.http = requests.Session()
        self.http.trust_env = False
        self._tokens = {}

    def token(self, user):
        if user not in self._tokens:
            self._tokens[user] = self.broker.token_for(user)
        return self._tokens[user]

    def headers(self, user=None, **extra):
        h = {"Accept": "application/json, text/event-stream",
             "Content-Type": "application/json"}
        if user is not None:
            h["Authorization"] = f"Bearer {self.token(user)}"
        h.update(extra)
        return h

    def post_mcp(self, user, body, version="2025-11-25", headers=None,
                 raw=None):
        h = self.headers(user)
        if version is not None:
            h["MCP-Protocol-Version"] = version
        h.update(headers or {})
        data = raw if raw is not None else json.dumps(body)
        return self.http.post(f"{self.url}/mcp", data=data, headers=h,
                              timeout=30)

    def client(self, user, mode="auto", headers=None):
        """The official MCP client (2.x) for this user, as an async
        context manager."""
        import httpx2
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client
        h = {"Authorization": f"Bearer {self.token(user)}"}
        h.update(headers or {})
        hc = httpx2.AsyncClient(headers=h, timeout=30)
        return Client(streamable_http_client(f"{self.url}/mcp", http_client=hc),
                      mode=mode)

    def close(self):
        try:
            assert self.fwd.proc.running, \
                f"forwarder died:\n{self.fwd.proc.log_tail(60)}"
            rc = self.fwd.stop()
            assert rc == 0, f"forwarder exited {rc}:\n{self.fwd.proc.log_tail(60)}"
            self.fwd.assert_no_sanitizer_report()
        finally:
            self.fwd.close()
            self.broker.close()
