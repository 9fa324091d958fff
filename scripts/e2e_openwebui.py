#!/usr/bin/env python3
"""make e2e-openwebui: a real Open WebUI against the demo stack, offline.

Kept out of `make check`: Open WebUI pulls torch (about 7.3 GB, minutes to
install). What it does, in order:

1. Installs open-webui OWUI_VERSION into its own venv under .cache/ (once:
   a stamp file records a finished install).
2. Starts the demo stack (scripts/demo.py up, in its own state dir so a
   demo you are running is left alone) and always stops it at the end.
3. Starts a scripted OpenAI-compatible model on loopback: for every chat
   request it records the tools Open WebUI offers, answers with a tool call
   to the tool the user's message names, then, once the tool result comes
   back, with a final text answer.
4. Runs Open WebUI offline (OFFLINE_MODE, HF_HUB_OFFLINE, a throwaway
   DATA_DIR) once per way of telling the forwarder who the user is:
     jwt     the signed user JWT (X-OpenWebUI-User-Jwt), tool server
             auth_type "none";
     oauth   the user's own bearer token: tool server auth_type "oauth_2.1",
             Open WebUI discovers the demo IdP through the forwarder's
             RFC 9728 metadata, registers itself (RFC 7591) and each user
             logs in (code + PKCE, the demo IdP's auto-approving login).
   For alice, bob, carol and dave it asserts (a) the tools Open WebUI offers
   the model are exactly that user's tenants' tools and (b) the call reached
   that tenant's fake Atlassian, with that tenant's key, and nothing else.
   Controls: no tool and no call before a user's OAuth login, and none with
   auth_type "session" (Open WebUI's own session token: the forwarder
   must answer 401).  A "docs" row checks that docs/openwebui.md names
   every setting used here and the version.
5. Prints a PASS/FAIL table, the time it took and the disk it used.

Exit status 0 only when every row passes.  Logs: .cache/e2e-openwebui/.
"""

import http.cookiejar
import http.server
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import types
import urllib.error
import urllib.parse
import urllib.request
import uuid

REPO = pathlib.Path(__file__).resolve().parents[1]
CACHE = REPO / ".cache"
OWUI_VERSION = "0.12.4"
VENV = CACHE / f"openwebui-{OWUI_VERSION}"
STAMP = VENV / ".tenantgate-installed"
WORK = CACHE / "e2e-openwebui"
DEMO_DIR = WORK / "demo"
SERVER_ID = "tg"               # Open WebUI names tools "<server id>_<tool>"
MODEL_ID = "tg-scripted"
PASSWORD = "e2e-Passw0rd!"     # Open WebUI's own local accounts, throwaway

# Who asks for what: the tool the scripted model calls (None: the user has
# no tool to call) and the tenant whose Atlassian must see the call.
PLAN = {
    "alice@example.com": ("google__jira_search", {"jql": "project = GOOG"}, "google"),
    "bob@example.com": ("microsoft__jira_search", {"jql": "project = MS"}, "microsoft"),
    "carol@example.com": (None, None, None),
    "dave@example.com": ("smallco__jira_search", {"jql": "project = SC"}, "smallco"),
}
# What the demo grants (test/harness/product.py DEMO_USERS): the expected
# tool list is derived from this, not from the forwarder under test.
DEMO_GRANTS = {
    "alice@example.com": {"google": "editor"},
    "bob@example.com": {"google": "editor", "microsoft": "editor"},
    "carol@example.com": {},
    "dave@example.com": {"smallco": "viewer"},
}
TOOLS_EDITOR = ["jira_search", "jira_get_issue", "jira_create_issue",
                "jira_add_comment", "jira_get_transitions",
                "jira_transition_issue", "confluence_search",
                "confluence_get_page"]
TOOLS_VIEWER = ["jira_search", "jira_get_issue", "jira_get_transitions",
                "confluence_search", "confluence_get_page"]


def log(msg):
    print(f"e2e-openwebui: {msg}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def du(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_blocks * 512
            except OSError:
                pass
    return total


def gib(n):
    return f"{n / 2**30:.1f} GiB ({n / 1e9:.1f} GB)"


# ---- install ---------------------------------------------------------------

def find_python():
    """open-webui 0.12 needs Python 3.11 or 3.12."""
    for name in ("python3.11", "python3.12"):
        p = shutil.which(name)
        if p:
            return p
    v = sys.version_info
    if (v.major, v.minor) in ((3, 11), (3, 12)):
        return sys.executable
    raise SystemExit("e2e-openwebui: needs python3.11 or python3.12 on PATH")


def install():
    """Idempotent: a stamp written after a finished install, naming the
    version, is the only thing that skips it."""
    if STAMP.exists() and STAMP.read_text().strip() == OWUI_VERSION:
        return 0.0
    t0 = time.monotonic()
    log(f"installing open-webui=={OWUI_VERSION} into {VENV.relative_to(REPO)} "
        "(about 7.3 GB, several minutes)...")
    if VENV.exists():
        shutil.rmtree(VENV)
    CACHE.mkdir(exist_ok=True)
    subprocess.run([find_python(), "-m", "venv", str(VENV)], check=True)
    logf = CACHE / "openwebui-install.log"
    with open(logf, "wb") as out:
        rc = subprocess.run([str(VENV / "bin" / "pip"), "install",
                             "--disable-pip-version-check", "--no-cache-dir",
                             f"open-webui=={OWUI_VERSION}"],
                            stdout=out, stderr=subprocess.STDOUT).returncode
    if rc != 0:
        raise SystemExit(f"e2e-openwebui: pip install failed; see {logf}")
    STAMP.write_text(OWUI_VERSION + "\n")
    return time.monotonic() - t0


# ---- HTTP ------------------------------------------------------------------

class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


def fetch(method, url, body=None, token=None, headers=None, opener=None,
         timeout=60):
    """(status, headers, parsed JSON or text).  Never follows redirects."""
    h = {"Accept": "application/json"}
    if token:
        h["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    req = urllib.request.Request(url, data=data, headers=h, method=method)
    op = opener or urllib.request.build_opener(NoRedirect)
    try:
        with op.open(req, timeout=timeout) as r:
            status, hdrs, raw = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, hdrs, raw = e.code, e.headers, e.read()
    text = raw.decode("utf-8", "replace")
    try:
        return status, hdrs, json.loads(text)
    except ValueError:
        return status, hdrs, text


def ok(status, body, what):
    if status >= 300:
        raise RuntimeError(f"{what}: HTTP {status}: {str(body)[:300]}")
    return body


# ---- the scripted model ----------------------------------------------------

class ScriptedModel:
    """An OpenAI-compatible /v1 on loopback.  A user message of the form
    `E2E <run id> CALL <tool suffix> <json args>` makes it call the offered
    tool whose name ends with `_<tool suffix>`; a conversation that already
    holds a tool result gets a final text answer.  Every request is recorded
    under its run id (the tools offered, whether a tool result came back)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.runs = {}
        model = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _send(self, code, obj=None, raw=None, ctype="application/json"):
                data = raw if raw is not None else json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path.rstrip("/") in ("/v1/models", "/models"):
                    return self._send(200, {"object": "list", "data": [
                        {"id": MODEL_ID, "object": "model", "created": 0,
                         "owned_by": "tenantgate-e2e"}]})
                self._send(404, {"error": {"message": "not found"}})

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                try:
                    req = json.loads(self.rfile.read(n) or b"{}")
                except ValueError:
                    return self._send(400, {"error": {"message": "bad json"}})
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    return self._send(404, {"error": {"message": "not found"}})
                msg = model.answer(req)
                if req.get("stream"):
                    return self._stream(msg)
                self._send(200, {
                    "id": "chatcmpl-" + uuid.uuid4().hex, "object": "chat.completion",
                    "created": int(time.time()), "model": MODEL_ID,
                    "choices": [{"index": 0, "message": msg,
                                 "finish_reason": "tool_calls" if msg.get("tool_calls") else "stop"}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

            def _stream(self, msg):
                cid = "chatcmpl-" + uuid.uuid4().hex
                base = {"id": cid, "object": "chat.completion.chunk",
                        "created": int(time.time()), "model": MODEL_ID}
                chunks = []
                if msg.get("tool_calls"):
                    tc = msg["tool_calls"][0]
                    chunks.append({**base, "choices": [{"index": 0, "delta": {
                        "role": "assistant", "content": None, "tool_calls": [
                            {"index": 0, "id": tc["id"], "type": "function",
                             "function": {"name": tc["function"]["name"],
                                          "arguments": tc["function"]["arguments"]}}]},
                        "finish_reason": None}]})
                    finish = "tool_calls"
                else:
                    chunks.append({**base, "choices": [{"index": 0, "delta": {
                        "role": "assistant", "content": msg["content"]},
                        "finish_reason": None}]})
                    finish = "stop"
                chunks.append({**base, "choices": [{"index": 0, "delta": {},
                                                    "finish_reason": finish}]})
                body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks)
                body += "data: [DONE]\n\n"
                self._send(200, raw=body.encode(), ctype="text/event-stream")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def _text(content):
        if isinstance(content, list):
            return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
        return content or ""

    def answer(self, req):
        msgs = req.get("messages") or []
        users = [self._text(m.get("content")) for m in msgs if m.get("role") == "user"]
        words = users[-1].split(" ", 4) if users else []
        if len(words) < 4 or words[0] != "E2E" or words[2] != "CALL":
            # Not ours (a title or tag task): a plain answer.
            return {"role": "assistant", "content": "ok"}
        run_id, suffix = words[1], words[3]
        args = words[4] if len(words) > 4 else "{}"
        offered = [t.get("function", {}).get("name") for t in req.get("tools") or []]
        results = [self._text(m.get("content")) for m in msgs if m.get("role") == "tool"]
        name = None if results else next(
            (n for n in offered if n.endswith("_" + suffix)), None)
        with self.lock:   # one update, so a reader never sees half of it
            rec = self.runs.setdefault(run_id, {"requests": 0, "offered": None,
                                                "called": None, "results": []})
            rec["requests"] += 1
            if rec["offered"] is None:
                rec["offered"] = offered
            rec["results"] = results
            if name:
                rec["called"] = name
        if results:
            return {"role": "assistant", "content": f"Done: {results[-1][:200]}"}
        if name is None:
            return {"role": "assistant", "content": f"No tool named *_{suffix} is available."}
        return {"role": "assistant", "content": None, "tool_calls": [{
            "id": "call_" + uuid.uuid4().hex[:12], "type": "function",
            "function": {"name": name, "arguments": args}}]}

    def run(self, run_id):
        with self.lock:
            r = self.runs.get(run_id)
            return json.loads(json.dumps(r)) if r else None


# ---- the demo --------------------------------------------------------------

def demo(cmd):
    env = {**os.environ, "TG_DEMO_DIR": str(DEMO_DIR)}
    py = REPO / ".venv" / "bin" / "python"
    return subprocess.run([str(py if py.exists() else sys.executable),
                           str(REPO / "scripts" / "demo.py"), cmd], env=env,
                          cwd=REPO, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)


def demo_env():
    # the demo's own reader: `export KEY=value` lines, values shell-quoted
    sys.path.insert(0, str(REPO / "test"))
    from harness import runtime
    return runtime.read_demo_env(DEMO_DIR / "env")


def forwarder_tools(mcp_url, email):
    """The forwarder's own tools/list for a user (the demo's bearer token):
    a cross-check for the expected list, not the expectation itself."""
    tok = (DEMO_DIR / "tokens" / email).read_text().strip()
    st, _, body = fetch("POST", mcp_url, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                       token=tok, headers={"Accept": "application/json, text/event-stream",
                                           "MCP-Protocol-Version": "2025-11-25"})
    ok(st, body, f"forwarder tools/list for {email}")
    return sorted(t["name"] for t in body["result"]["tools"])


def expected_tools(email):
    from_grants = []
    for tenant, role in DEMO_GRANTS[email].items():
        for t in TOOLS_EDITOR if role == "editor" else TOOLS_VIEWER:
            from_grants.append(f"{tenant}__{t}")
    return sorted(from_grants)



# ---- Open WebUI ------------------------------------------------------------

class OpenWebUI:
    def __init__(self, mode, model, demo, logdir):
        self.mode = mode
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix=f"owui-{mode}-", dir=WORK))
        self.logpath = logdir / f"openwebui-{mode}.log"
        self.env = self.settings(mode, model, demo)
        self.proc = None

    def settings(self, mode, model, demo):
        """Exactly the settings docs/openwebui.md names (section "Tested
        with a real Open WebUI")."""
        env = {
            "DATA_DIR": str(self.tmp / "data"),
            "OFFLINE_MODE": "true",
            "HF_HUB_OFFLINE": "1",
            "WEBUI_URL": self.url,
            "WEBUI_SECRET_KEY": uuid.uuid4().hex,
            "ENABLE_OLLAMA_API": "false",
            "OPENAI_API_BASE_URLS": model.url,
            "OPENAI_API_KEYS": "scripted",
            "BYPASS_MODEL_ACCESS_CONTROL": "true",
            "ENABLE_VERSION_UPDATE_CHECK": "false",
            "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        }
        if mode == "jwt":
            env["ENABLE_FORWARD_USER_INFO_HEADERS"] = "true"
            env["FORWARD_USER_INFO_HEADER_JWT_SECRET"] = demo["OPENWEBUI_JWT_SECRET"]
            env["TOOL_SERVER_CONNECTIONS"] = json.dumps([OpenWebUI.connection(demo, "none")])
        return env

    @staticmethod
    def connection(demo, auth_type, oauth_client_info=None):
        info = {"id": SERVER_ID, "name": "tenantgate"}
        if oauth_client_info:
            info["oauth_client_info"] = oauth_client_info
        return {"type": "mcp", "url": demo["MCP_URL"], "path": "",
                "auth_type": auth_type, "key": "",
                "config": {"enable": True, "access_grants": [
                    {"principal_type": "user", "principal_id": "*",
                     "permission": "read"}]},
                "info": info}

    def start(self):
        (self.tmp / "data").mkdir(parents=True)
        env = {k: v for k, v in os.environ.items()
               if not k.lower().endswith("_proxy")}
        env.update(self.env)
        self.logf = open(self.logpath, "wb")
        self.proc = subprocess.Popen(
            [str(VENV / "bin" / "open-webui"), "serve", "--host", "127.0.0.1",
             "--port", str(self.port)], env=env, cwd=self.tmp,
            stdin=subprocess.DEVNULL, stdout=self.logf, stderr=subprocess.STDOUT,
            start_new_session=True)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 240:
            if self.proc.poll() is not None:
                raise RuntimeError(f"open-webui exited ({self.proc.returncode}); see {self.logpath}")
            try:
                st, _, _ = fetch("GET", self.url + "/health", timeout=2)
                if st == 200:
                    return time.monotonic() - t0
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"open-webui did not answer /health in 240 s; see {self.logpath}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        if getattr(self, "logf", None):
            self.logf.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- accounts: the first sign-up is the admin, who adds the others --
    def setup_users(self, emails):
        st, _, b = fetch("POST", self.url + "/api/v1/auths/signup",
                        {"name": "Admin", "email": "admin@example.com",
                         "password": PASSWORD})
        self.admin = ok(st, b, "admin sign-up")["token"]
        tokens = {}
        for e in emails:
            st, _, b = fetch("POST", self.url + "/api/v1/auths/add",
                            {"name": e.split("@")[0].title(), "email": e,
                             "password": PASSWORD, "role": "user"}, token=self.admin)
            ok(st, b, f"add user {e}")
            st, _, b = fetch("POST", self.url + "/api/v1/auths/signin",
                            {"email": e, "password": PASSWORD})
            tokens[e] = ok(st, b, f"sign-in {e}")["token"]
        return tokens

    def chat(self, token, content):
        """A new saved chat, as the web UI sends it: chat_id (none yet,
        parent_id null makes one) and the assistant message id, so Open
        WebUI runs the tools itself."""
        body = {"model": MODEL_ID, "stream": True,
                "messages": [{"role": "user", "content": content}],
                "tool_ids": [f"server:mcp:{SERVER_ID}"],
                "id": str(uuid.uuid4()), "parent_id": None,
                "user_message": {"id": str(uuid.uuid4()), "role": "user",
                                 "content": content, "parentId": None},
                "params": {"function_calling": "native"}}
        return fetch("POST", self.url + "/api/chat/completions", body,
                    token=token, timeout=120)

    # -- OAuth 2.1 mode --
    def setup_oauth(self, demo):
        st, _, b = fetch("POST", self.url + "/api/v1/configs/oauth/clients/register?type=mcp",
                        {"url": demo["MCP_URL"], "client_id": SERVER_ID},
                        token=self.admin)
        info = ok(st, b, "register the OAuth client (RFC 7591 via RFC 9728)")["oauth_client_info"]
        self.set_tool_server(demo, "oauth_2.1", info)

    def set_tool_server(self, demo, auth_type, oauth_client_info=None):
        st, _, b = fetch("POST", self.url + "/api/v1/configs/tool_servers",
                         {"TOOL_SERVER_CONNECTIONS": [
                             self.connection(demo, auth_type, oauth_client_info)]},
                         token=self.admin)
        ok(st, b, "set the tool server")

    def oauth_login(self, token, email):
        """What the user's browser does: Open WebUI's authorize endpoint,
        the IdP's login (auto-approving: the user picks their name, i.e.
        login_hint), back to Open WebUI's callback, which swaps the code."""
        jar = http.cookiejar.CookieJar()
        op = urllib.request.build_opener(NoRedirect, urllib.request.HTTPCookieProcessor(jar))
        st, h, b = fetch("GET", f"{self.url}/oauth/clients/mcp:{SERVER_ID}/authorize",
                        token=token, opener=op)
        if st not in (302, 307):
            raise RuntimeError(f"authorize: HTTP {st}: {str(b)[:300]}")
        auth_url = h["Location"]
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(auth_url).query)
        seen = {"resource": q.get("resource", [None])[0],
                "pkce": q.get("code_challenge_method", [None])[0]}
        st, h, b = fetch("GET", auth_url + "&" + urllib.parse.urlencode(
            {"login_hint": email}), opener=op)
        if st not in (302, 303):
            raise RuntimeError(f"IdP authorize: HTTP {st}: {str(b)[:300]}")
        cb = h["Location"]
        st, h, b = fetch("GET", cb, opener=op)
        if st >= 400:
            raise RuntimeError(f"callback: HTTP {st}: {str(b)[:300]}")
        return seen


# ---- the checks ------------------------------------------------------------

def atl(demo_env_, op=None):
    base = demo_env_["ATLASSIAN_URL"]
    if op:
        st, _, b = fetch("POST", base + "/__control", {"op": op})
        return ok(st, b, "atlassian control")
    st, _, b = fetch("GET", base + "/__calls")
    return ok(st, b, "atlassian calls")["calls"]


def check_user(owui, model, denv, email, token, refused=None, by="forwarder"):
    """One user's row: (offered ok, call ok, detail).  refused="why" makes
    it a control: the connection must be refused, so no tenantgate tool is
    offered and nothing reaches Atlassian.  by="forwarder": tenantgate
    answers 401; by="open-webui": Open WebUI has no token to send (before
    the user's OAuth login) and does not connect at all."""
    logged_in = refused is None
    tool, args, tenant = PLAN[email]
    if not logged_in:
        tool, args, tenant = None, None, None
    run_id = uuid.uuid4().hex[:12]
    suffix = tool or "google__jira_search"     # carol asks; has none
    atl(denv, "reset_calls")
    owui.logf.flush()
    log_from = owui.logpath.stat().st_size
    fwd_log = DEMO_DIR / "logs" / "forwarder.log"
    fwd_from = fwd_log.stat().st_size
    st, _, body = owui.chat(token, f"E2E {run_id} CALL {suffix} {json.dumps(args or {})}")
    if st >= 300:
        return False, False, f"chat: HTTP {st}: {str(body)[:200]}"
    # The tool round trip ends with the model's second request (the tool
    # result); bounded wait, the chat may finish in the background.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r = model.run(run_id)
        # Done: the tool result came back, or the model answered in text
        # (nothing to call), after which it is not asked again.
        if r and (r["results"] or (r["requests"] >= 1 and r["called"] is None)):
            break
        time.sleep(0.25)
    r = model.run(run_id)
    if r is None:
        return False, False, "the model was never asked"
    # An empty list must mean "no tenant", not "could not connect": Open
    # WebUI logs a failed MCP connection and carries on without the tools.
    with open(owui.logpath, "rb") as f:
        f.seek(log_from)
        new_log = f.read().decode("utf-8", "replace")
    failures = [m for m in ("Failed to connect to MCP server",
                            "Access denied to MCP server", "Auth required")
                if m in new_log]
    offered = sorted(r["offered"] or [])
    mine = sorted(n[len(SERVER_ID) + 1:] for n in offered if n.startswith(SERVER_ID + "_"))
    others = [n for n in offered if not n.startswith(SERVER_ID + "_")]
    want = expected_tools(email) if logged_in else []
    detail = [f"{len(mine)} tools"]
    if logged_in:
        offered_ok = mine == want and not others and not failures
        if failures:
            detail.append(f"Open WebUI logged {failures}")
    else:   # expected: the forwarder answers 401 and Open WebUI gives up
        with open(fwd_log, "rb") as f:
            f.seek(fwd_from)
            fwd_401 = b"POST /mcp -> 401" in f.read()
        how = fwd_401 if by == "forwarder" else "Auth required" in failures
        offered_ok = not mine and not others and bool(failures) and how
        detail.append(f"refused by {by}: {refused}" if offered_ok else
                      f"NOT refused by {by} ({refused}): forwarder 401 "
                      f"{fwd_401}, Open WebUI logged {failures}")
    if mine != want:
        detail.append(f"offered {mine} want {want}")
    if others:
        detail.append(f"other tools {others}")
    calls = atl(denv)
    if tool is None:
        call_ok = not calls and r["called"] is None
        detail.append("no call" if call_ok else f"unexpected calls {calls[:2]}")
    else:
        good = [c for c in calls if c["tenant"] == tenant and c["auth_tenant"] == tenant
                and c["path"].startswith("/rest/api/3/search") and c["status"] == 200]
        bad = [c for c in calls if c["tenant"] != tenant or c["auth_tenant"] != tenant]
        answered = any(PLAN[email][1]["jql"].split("= ")[1] + "-" in x for x in r["results"])
        call_ok = bool(good) and not bad and answered
        detail.append(f"{len(good)} call(s) to {tenant}")
        if bad:
            detail.append(f"wrong tenant {[(c['tenant'], c['auth_tenant']) for c in bad]}")
        if not answered:
            detail.append(f"tool result {r['results'][:1]!s:.160}")
    return offered_ok, call_ok, "; ".join(detail)


def run_mode(mode, model, denv, rows):
    owui = OpenWebUI(mode, model, denv, WORK)
    try:
        up = owui.start()
        log(f"[{mode}] Open WebUI {OWUI_VERSION} answered /health after {up:.0f} s")
        tokens = owui.setup_users(list(PLAN))
        extra = {}
        if mode == "oauth":
            owui.setup_oauth(denv)
            e = "alice@example.com"
            a, b, d = check_user(owui, model, denv, e, tokens[e],
                                 refused="no OAuth login, no token",
                                 by="open-webui")
            rows.append((mode, "alice, no login yet", a, b, d))
            for e in PLAN:
                extra[e] = owui.oauth_login(tokens[e], e)
        for e in PLAN:
            try:
                a, b, d = check_user(owui, model, denv, e, tokens[e])
            except Exception as ex:   # one user's failure is a row, not a crash
                a, b, d = False, False, f"{type(ex).__name__}: {ex}"[:300]
            if e in extra:   # the token must be for the forwarder (RFC 8707)
                seen = extra[e]
                d += f"; authorize sent resource={seen['resource']} pkce={seen['pkce']}"
                if seen["resource"] != denv["MCP_URL"] or seen["pkce"] != "S256":
                    a = False
            rows.append((mode, e, a, b, d))
        if mode == "oauth":
            # auth_type "session" sends Open WebUI's own session JWT (HS256
            # under WEBUI_SECRET_KEY; claims id, iat, exp, jti; no email):
            # no identity tenantgate can verify, so it must be refused.
            owui.set_tool_server(denv, "session")
            e = "alice@example.com"
            a, b, d = check_user(owui, model, denv, e, tokens[e],
                                 refused="Open WebUI's session token")
            rows.append(("session", e, a, b, d))
    except Exception as ex:
        rows.append((mode, "(setup)", False, False, f"{type(ex).__name__}: {ex}"[:400]))
    finally:
        owui.stop()


def docs_drift(model, denv):
    """docs/openwebui.md must name every setting this test sets, and its
    version: the doc's section is the test's settings, not a paraphrase."""
    text = (REPO / "docs" / "openwebui.md").read_text()
    start = text.find("## Tested with a real Open WebUI")
    section = text[start:text.find("\n## ", start + 1)] if start >= 0 else ""
    missing = [] if f"open-webui=={OWUI_VERSION}" in section else [OWUI_VERSION]
    for mode in ("jwt", "oauth"):
        dummy = types.SimpleNamespace(tmp=pathlib.Path("/nowhere"), url="http://x")
        keys = OpenWebUI.settings(dummy, mode, model, denv)
        missing += [k for k in keys if k != "no_proxy" and f"{k}=" not in section]
    for needle in ('"auth_type": "oauth_2.1"', '"auth_type": "none"',
                   '"access_grants"', '"id": "tg"', "/api/v1/configs/oauth/clients/register?type=mcp",
                   "/api/chat/completions", '"tool_ids": ["server:mcp:tg"]'):
        if needle not in section:
            missing.append(needle)
    return sorted(set(missing))


def table(rows):
    out = [f"{'mode':7} {'user':19} {'tools':5} {'call':5}  detail",
           "-" * 78]
    for mode, e, a, b, d in rows:
        out.append(f"{mode:7} {e:19} {'PASS' if a else 'FAIL':5} {'PASS' if b else 'FAIL':5}  {d}")
    return "\n".join(out)


def main(argv):
    modes = [m for m in argv[1:] if m in ("jwt", "oauth")] or ["jwt", "oauth"]
    t0 = time.monotonic()
    install_s = install()
    WORK.mkdir(parents=True, exist_ok=True)
    rows = []
    model = ScriptedModel()
    up = demo("up")
    try:
        if up.returncode != 0:
            print(up.stdout)
            raise SystemExit("e2e-openwebui: the demo did not come up")
        denv = demo_env()
        for e in PLAN:   # the forwarder agrees with the demo's grants
            if forwarder_tools(denv["MCP_URL"], e) != expected_tools(e):
                rows.append(("-", e, False, False, "forwarder tools/list differs from the grants"))
        drift = docs_drift(model, denv)
        rows.append(("docs", "docs/openwebui.md", not drift, not drift,
                     f"does not name {drift}" if drift else
                     "names every setting and the version used here"))
        for mode in modes:
            run_mode(mode, model, denv, rows)
    finally:
        down = demo("down")
        if down.returncode != 0:
            print(down.stdout)
        model.close()
    elapsed = time.monotonic() - t0
    print()
    print(f"Open WebUI {OWUI_VERSION} against the tenantgate demo (offline, scripted model)")
    print(table(rows))
    passed = sum(1 for r in rows if r[2] and r[3])
    print()
    print(f"time: {elapsed:.0f} s (install {install_s:.0f} s)   "
          f"disk: {gib(du(VENV))} in {VENV.relative_to(REPO)}")
    print(f"e2e-openwebui: {passed} passed, {len(rows) - passed} failed")
    return 0 if rows and passed == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
