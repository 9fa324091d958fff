#!/usr/bin/env python3
"""The tenantgate demo: the whole stack on loopback.

    demo.py run     foreground; Ctrl-C stops everything   (make demo)
    demo.py up      start in the background, return when ready (make demo-up)
    demo.py down    stop the background demo                 (make demo-down)
    demo.py restart broker|forwarder|bao|pg
    demo.py stop    broker|forwarder|bao|pg
    demo.py start   broker|forwarder|bao|pg
                    one component of the running demo, the rest untouched
                    (docs/drills.md); OpenBao is seeded again when it comes
                    back, since the dev server keeps everything in memory
    demo.py tools USER              the MCP tools USER sees
    demo.py call  USER TOOL [JSON]  call one as USER; prints the result text
                                    (exit 1 when the tool reports an error)

Starts PostgreSQL, OpenBao (dev) with Kubernetes auth against a TokenReview
stand-in, an OIDC issuer stand-in, a fake Atlassian Cloud with seeded issues,
the broker (logged in to OpenBao through Kubernetes auth, signing key from
Vault) and the forwarder. The OIDC stand-in is a full OAuth authorization
server (dynamic registration, code + PKCE, auto-approving login for the demo
users), and the forwarder names it in its RFC 9728 metadata, so MCP clients
that do OAuth (Claude Code, the SDKs) can connect with only the MCP URL.
State lives in .demo/: env (`export KEY=value` lines: `. .demo/env` reaches
tenantgate-admin), tokens/<email> (bearer tokens valid 12 hours), logs/
(every process's log), control/ (requests to the running demo from
`demo.py restart ...`).

A daemon that exits is reported, not fatal: the demo keeps running so it
can be restarted (`demo.py restart broker`).
"""

import json
import os
import pathlib
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid

REPO = pathlib.Path(__file__).resolve().parents[1]
DEMO = pathlib.Path(os.environ.get("TG_DEMO_DIR", REPO / ".demo"))
sys.path.insert(0, str(REPO / "test"))
os.environ.setdefault("TG_BIN_DIR", str(REPO / "build" / "rel" / "bin"))

from harness import OidcIssuer, Stack, free_port, runtime  # noqa: E402
from harness.product import DEMO_USERS, Tenantgate, sql_quote  # noqa: E402

TOKEN_TTL = 12 * 3600
# Grants live 30 s in the demo (the broker allows up to 300 s), so what a
# revocation or a Vault outage does reaches users within a drill.
DEMO_GRANT_TTL = "30s"
COMPONENTS = ("broker", "forwarder", "bao", "pg")
CONTROL_TIMEOUT = 180      # seconds a restart may take, end to end
# One tenant per Atlassian credential kind besides the classic ones of
# seed_demo() (docs/atlassian.md): slug -> (display name, kind).
KIND_TENANTS = {"scopedco": ("Scoped Co", "scoped"),
                "serviceco": ("Service Co", "service_account")}
# Not one of DEMO_USERS: their tool lists are what the docs show.
KIND_MEMBER = "erin@example.com"


def seed_credential_kinds(s, tg):
    """A scoped-token tenant and a service-account tenant: the fake
    Atlassian accepts their keys only through its API gateway; their rows
    carry the kind, the cloud id and the gateway URL, as onboarding
    stores them."""
    at = s.atlassian
    for slug, (display, kind) in KIND_TENANTS.items():
        if slug not in at.tenants:
            at.add_tenant(slug, display=display, cred_kind=kind)
        tg.sql(f"insert into tenants(id, display_name) values ({sql_quote(slug)},"
               f" {sql_quote(display)}) on conflict do nothing")
        for name, product in (("jira", "jira"), ("confluence", "confluence")):
            path = s.vault_path(slug, name)
            v = s.bao.kv_put(path, at.credentials(slug))
            tg.sql("insert into tenant_integrations(tenant_id, name, kind, base_url,"
                   " vault_path, cred_version, cred_kind, cloud_id, api_url) values"
                   f" ({sql_quote(slug)}, {sql_quote(name)}, {sql_quote(name)},"
                   f" {sql_quote(at.base_url(slug))}, {sql_quote(path)}, {v},"
                   f" {sql_quote(kind)}, {sql_quote(at.cloud_id(slug))},"
                   f" {sql_quote(at.api_url(slug, product))}) on conflict do nothing")
    tg.add_user(KIND_MEMBER, {slug: "editor" for slug in KIND_TENANTS})


def write_state(s, tg, broker, fwd):
    (DEMO / "tokens").mkdir(parents=True, exist_ok=True)
    for email in (*DEMO_USERS, KIND_MEMBER):
        p = DEMO / "tokens" / email
        p.write_text(tg.user_token(email, ttl=TOKEN_TTL) + "\n")
        p.chmod(0o600)
    env = {
        "MCP_URL": f"{fwd.url}/mcp" if fwd else "",
        "OPENAPI_URL": fwd.url if fwd else "",
        "FORWARDER_URL": fwd.url if fwd else "",
        "BROKER_URL": broker.url,
        "VAULT_ADDR": s.bao.addr,
        "VAULT_TOKEN": s.bao.root_token,
        "DATABASE_URL": s.pg.dsn,
        "ATLASSIAN_URL": s.atlassian.url,
        "OIDC_ISSUER": s.oidc.issuer,
        "OPENWEBUI_JWT_SECRET": tg.owui_secret,
        "BROKER_CALLER_SECRET_FILE": tg.files["caller-secret"],
        "ADMIN_TOKEN_FILE": tg.files["admin-token"],
        # tenantgate-admin finds migrations/ and policies/ here
        "TENANTGATE_DATADIR": str(REPO),
    }
    # `export`: sourced with `. .demo/env`, the variables reach child
    # processes such as tenantgate-admin, not only the shell.
    text = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
    text += f"export PATH={shlex.quote(os.environ['TG_BIN_DIR'])}:\"$PATH\"\n"
    (DEMO / "env").write_text(text)
    (DEMO / "env").chmod(0o600)
    link_logs()
    return env


def link_logs():
    logs = DEMO / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    for p in runtime.all_log_paths():
        dst = logs / os.path.basename(p)
        if dst.is_symlink() or dst.exists():
            dst.unlink()
        dst.symlink_to(p)


def freeze_logs():
    """The temp dirs go away on stop: keep a copy of every log."""
    logs = DEMO / "logs"
    if not logs.is_dir():
        return
    for dst in logs.iterdir():
        if dst.is_symlink():
            src = os.readlink(dst)
            dst.unlink()
            if os.path.exists(src):
                shutil.copyfile(src, dst)


def banner(env):
    t = DEMO / "tokens"
    print(f"""
tenantgate demo is up (state in .demo/, logs in .demo/logs/).

  MCP endpoint     {env['MCP_URL']}
  OpenAPI server   {env['OPENAPI_URL']}/openapi.json
  Broker           {env['BROKER_URL']}
  OpenBao          {env['VAULT_ADDR']}   (root token in .demo/env)
  PostgreSQL       {env['DATABASE_URL']}
  OAuth IdP        {env['OIDC_ISSUER']}   (auto-approving login for the users below)

Users (bearer tokens in {t}/<email>):
  alice@example.com  google (editor)
  bob@example.com    google + microsoft (editor)
  erin@example.com   scopedco (scoped API token) and serviceco (service-account
                     key), both through the API gateway (editor)
  carol@example.com  no tenant
  dave@example.com   smallco (viewer: read tools only)

Drills (docs/drills.md): scripts/demo.py restart broker|forwarder|bao|pg
restarts one component; grants live {DEMO_GRANT_TTL} here.

Try:
  . .demo/env                       (then tenantgate-admin works too)
  curl -s -H "Authorization: Bearer $(cat .demo/tokens/bob@example.com)" $OPENAPI_URL/tools
  curl -s -H "Authorization: Bearer $(cat .demo/tokens/alice@example.com)" \\
       -H 'Content-Type: application/json' -d '{{"jql":"project = GOOG"}}' \\
       $OPENAPI_URL/tools/google/jira_search/execute
  curl -s -X POST $MCP_URL -H "Authorization: Bearer $(cat .demo/tokens/alice@example.com)" \\
       -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \\
       -H 'MCP-Protocol-Version: 2025-11-25' \\
       -d '{{"jsonrpc":"2.0","id":1,"method":"tools/list"}}'
""", flush=True)


# ---- one component at a time (docs/drills.md) --------------------------------

class Control:
    """Restarts one component of the running demo on request. Requests are
    files in .demo/control/ (req-<id>.json), answered by res-<id>.json;
    the demo's main loop polls for them, so nothing else is shared."""

    def __init__(self, s, tg, procs):
        self.s, self.tg, self.procs = s, tg, procs
        self.dir = DEMO / "control"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.vault = None        # the last snapshot of what OpenBao held

    def poll(self):
        for req in sorted(self.dir.glob("req-*.json")):
            rid = req.name[4:-5]
            try:
                r = json.loads(req.read_text())
                req.unlink()
                msg = self.do(r["op"], r["component"])
                res = {"ok": True, "message": msg}
            except Exception as e:      # reported to the caller, demo goes on
                res = {"ok": False, "message": f"{type(e).__name__}: {e}"}
            tmp = self.dir / f"res-{rid}.tmp"
            tmp.write_text(json.dumps(res))
            tmp.rename(self.dir / f"res-{rid}.json")

    def do(self, op, what):
        if what not in COMPONENTS:
            raise ValueError(f"no component {what!r} (one of {', '.join(COMPONENTS)})")
        if op not in ("restart", "stop", "start"):
            raise ValueError(f"no operation {op!r}")
        done = []
        if op in ("restart", "stop"):
            done.append(self.stop(what))
        if op in ("restart", "start"):
            done.append(self.start(what))
        print(f"demo: {'; '.join(done)}", flush=True)
        return "; ".join(done)

    def stop(self, what):
        if what == "bao":
            if self.s.bao.running:
                self.vault = vault_snapshot(self.s.bao)
            self.s.bao.kill()
            return "OpenBao stopped (the dev server forgets everything)"
        if what == "pg":
            self.s.pg.stop()
            return "PostgreSQL stopped"
        p = self.procs[what]
        if p is None:
            raise ValueError(f"the {what} is not part of this demo")
        p.stop()
        return f"{what} stopped"

    def start(self, what):
        if what == "bao":
            if self.s.bao.running:
                return "OpenBao already running"
            # The harness replays what it configured (mounts, policies,
            # roles, the seeded keys); the snapshot adds what happened
            # since, such as keys rotated with tenantgate-admin.
            self.s.bao.start(reseed=True)
            n = vault_restore(self.s.bao, self.vault)
            return f"OpenBao started and seeded again ({n} key version(s) restored)"
        if what == "pg":
            if not self.s.pg.running:
                self.s.pg.start()
            return "PostgreSQL started (data kept)"
        p = self.procs[what]
        if p is None:
            raise ValueError(f"the {what} is not part of this demo")
        if not p.running:
            p.start()
        link_logs()
        return f"{what} started at {p.url}"


def vault_paths(bao, prefix="tenantgate/"):
    """Every KV v2 path under secret/<prefix>, recursively (bounded)."""
    out, todo = [], [prefix]
    while todo and len(out) < 10000:
        d = todo.pop()
        r = bao.api("LIST", f"secret/metadata/{d}")
        if r.status_code != 200:
            continue
        for k in r.json()["data"]["keys"]:
            (todo if k.endswith("/") else out).append(d + k)
    return out


def vault_snapshot(bao):
    """{path: {"versions": {n: data}, "cas_required": bool}} for the KV
    paths, and the ACL policies: what a dev server loses on a restart."""
    kv = {}
    for path in vault_paths(bao):
        meta = bao.api("GET", f"secret/metadata/{path}").json()["data"]
        versions = {}
        for n in range(1, min(int(meta["current_version"]), 1000) + 1):
            r = bao.api("GET", f"secret/data/{path}?version={n}")
            if r.status_code == 200 and r.json()["data"]["data"] is not None:
                versions[n] = r.json()["data"]["data"]
        kv[path] = {"versions": versions,
                    "cas_required": bool(meta.get("cas_required"))}
    policies = {}
    for name in bao.api("LIST", "sys/policies/acl").json()["data"]["keys"]:
        if name not in ("root", "default"):
            policies[name] = bao.api("GET", f"sys/policies/acl/{name}").json()[
                "data"]["policy"]
    return {"kv": kv, "policies": policies}


def vault_restore(bao, snap):
    """Bring each path back to the version it had (the journal replay has
    written the first ones), then the policies; returns versions written."""
    if not snap:
        return 0
    n = 0
    for name, hcl in snap["policies"].items():
        bao.api("PUT", f"sys/policies/acl/{name}", json={"policy": hcl}, check=True)
    for path, v in snap["kv"].items():
        r = bao.api("GET", f"secret/metadata/{path}")
        cur = int(r.json()["data"]["current_version"]) if r.status_code == 200 else 0
        last = None
        for k in range(1, max(v["versions"], default=0) + 1):
            data = v["versions"].get(k, last)
            last = data
            if k <= cur or data is None:
                continue
            bao.api("POST", f"secret/data/{path}", json={"data": data}, check=True)
            n += 1
        if v["cas_required"]:
            bao.api("POST", f"secret/metadata/{path}", json={"cas_required": True},
                    check=True)
    return n


def control(op, what):
    """`demo.py restart broker`: ask the running demo, wait for its answer."""
    if not (DEMO / "pid").exists():
        sys.stderr.write("demo: not running (make demo-up)\n")
        return 1
    if what not in COMPONENTS:
        sys.stderr.write(f"demo: {op} what? one of {', '.join(COMPONENTS)}\n")
        return 2
    d = DEMO / "control"
    d.mkdir(parents=True, exist_ok=True)
    rid = uuid.uuid4().hex
    tmp = d / f"req-{rid}.tmp"
    tmp.write_text(json.dumps({"op": op, "component": what}))
    tmp.rename(d / f"req-{rid}.json")
    res = d / f"res-{rid}.json"
    deadline = time.monotonic() + CONTROL_TIMEOUT
    while time.monotonic() < deadline:
        if res.exists():
            r = json.loads(res.read_text())
            res.unlink()
            print(f"demo: {r['message']}")
            return 0 if r["ok"] else 1
        time.sleep(0.1)
    sys.stderr.write(f"demo: no answer to '{op} {what}' within {CONTROL_TIMEOUT} s\n")
    return 1


# ---- a user's view, for the drills --------------------------------------------

def demo_env():
    return runtime.read_demo_env(DEMO / "env")


def mcp(user, method, params=None):
    import requests
    token = (DEMO / "tokens" / user).read_text().strip()
    r = requests.post(demo_env()["MCP_URL"], timeout=30, json={
        "jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}},
        headers={"Authorization": f"Bearer {token}",
                 "Accept": "application/json, text/event-stream",
                 "MCP-Protocol-Version": "2025-11-25"})
    if r.status_code != 200:
        return None, f"HTTP {r.status_code}: {r.text[:500]}"
    body = r.json()
    if "error" in body:
        return None, f"MCP error {body['error'].get('code')}: {body['error'].get('message')}"
    return body["result"], None


def user_tools(user):
    res, err = mcp(user, "tools/list")
    if err:
        print(err)
        return 1
    names = sorted(t["name"] for t in res["tools"])
    print("\n".join(names) if names else "(no tools)")
    return 0


def user_call(user, tool, args="{}"):
    res, err = mcp(user, "tools/call", {"name": tool, "arguments": json.loads(args)})
    if err:
        print(err)
        return 1
    text = " ".join(c.get("text", "") for c in res.get("content", []))
    if res.get("isError"):
        print(f"tool error: {text}")
        return 1
    print(text[:2000])
    return 0


def run(ready_file=None):
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    # The demo IdP's auto-approving login offers exactly the demo users.
    s = Stack(oidc=OidcIssuer(users=sorted(DEMO_USERS)))
    try:
        print("demo: starting PostgreSQL, OpenBao and the stand-ins...", flush=True)
        s.start()
        tg = Tenantgate(s)
        tg.migrate()
        tg.seed_demo()
        seed_credential_kinds(s, tg)
        tg.store_signing_key_in_vault()
        print("demo: starting the broker and the forwarder...", flush=True)
        # OAuth (issue 15): the forwarder publishes RFC 9728 metadata naming
        # the demo IdP, and the broker accepts tokens minted for its URL.
        fwd_port = free_port()
        resource = f"http://127.0.0.1:{fwd_port}/mcp"
        broker = tg.start_broker(signing_key_source="vault", oidc_resources=resource,
                                 grant_ttl=DEMO_GRANT_TTL)
        fwd = None
        if (pathlib.Path(os.environ["TG_BIN_DIR"]) / "tenantgate-forwarder").exists():
            fwd = tg.start_forwarder(broker, port=fwd_port, resource_url=resource,
                                     authorization_servers=s.oidc.issuer)
        # The harness chains its own cleanup onto SIGTERM; ours must run
        # instead, so the logs are copied out before the dirs go away.
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGHUP, on_signal)
        env = write_state(s, tg, broker, fwd)
        ctl = Control(s, tg, {"broker": broker, "forwarder": fwd})
        ctl.vault = vault_snapshot(s.bao)
        (DEMO / "pid").write_text(f"{os.getpid()}\n")
        banner(env)
        if ready_file:
            pathlib.Path(ready_file).write_text("ready\n")
        if sys.stdin.isatty() and not ready_file:
            print("Press Ctrl-C to stop.", flush=True)
        reported = set()
        ticks = 0
        while not stop.wait(0.2):
            ctl.poll()
            ticks += 1
            # OpenBao may also die on its own: keep a recent copy of what
            # it holds for `demo.py start bao`.
            if ticks % 50 == 0 and s.bao.running:
                try:
                    ctl.vault = vault_snapshot(s.bao)
                except Exception as e:
                    print(f"demo: snapshot of OpenBao failed: {e}", flush=True)
            # A daemon that exits is reported once; the rest keeps running
            # so it can be restarted (the drills do exactly that).
            for p in (broker, fwd):
                if p is None:
                    continue
                if p.running:
                    reported.discard(p.name)
                elif p.name not in reported:
                    reported.add(p.name)
                    print(f"demo: {p.name} exited ({p.returncode}); see .demo/logs/;"
                          f" scripts/demo.py restart {p.name} starts it again",
                          flush=True)
    finally:
        print("demo: stopping...", flush=True)
        runtime.stop_all()
        freeze_logs()
        s.close()
        runtime.cleanup()
        for f in ("pid", "ready"):
            try:
                (DEMO / f).unlink()
            except FileNotFoundError:
                pass
        print("demo: stopped.", flush=True)
    return 0


def up():
    pidf = DEMO / "pid"
    if pidf.exists():
        try:
            os.kill(int(pidf.read_text()), 0)
            print("demo: already running (make demo-down to stop it)")
            return 0
        except (ProcessLookupError, ValueError):
            pidf.unlink()
    DEMO.mkdir(exist_ok=True)
    ready = DEMO / "ready"
    if ready.exists():
        ready.unlink()
    log = open(DEMO / "demo.log", "wb")
    p = subprocess.Popen([sys.executable, __file__, "run", "--ready-file", str(ready)],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                         start_new_session=True, cwd=REPO)
    pidf.write_text(f"{p.pid}\n")
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if ready.exists():
            text = (DEMO / "demo.log").read_text()
            print(text[text.find("tenantgate demo is up"):].replace(
                "Press Ctrl-C to stop.\n", ""))
            print("Stop it with: make demo-down")
            return 0
        if p.poll() is not None:
            break
        time.sleep(0.2)
    sys.stderr.write("demo: did not come up; .demo/demo.log says:\n")
    sys.stderr.write((DEMO / "demo.log").read_text()[-4000:])
    down()
    return 1


def down():
    pidf = DEMO / "pid"
    if not pidf.exists():
        print("demo: not running")
        return 0
    pid = int(pidf.read_text())
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pidf.unlink()
        return 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            print("demo: stopped")
            return 0
        time.sleep(0.1)
    os.killpg(pid, signal.SIGKILL)
    print("demo: killed (did not stop within 30 s)")
    return 0


def main(argv):
    cmd = argv[1] if len(argv) > 1 else "run"
    if cmd == "run":
        ready = argv[3] if len(argv) > 3 and argv[2] == "--ready-file" else None
        return run(ready)
    if cmd == "up":
        return up()
    if cmd == "down":
        return down()
    if cmd in ("restart", "stop", "start") and len(argv) == 3:
        return control(cmd, argv[2])
    if cmd == "tools" and len(argv) == 3:
        return user_tools(argv[2])
    if cmd == "call" and len(argv) in (4, 5):
        return user_call(*argv[2:])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
