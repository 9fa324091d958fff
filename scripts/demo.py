#!/usr/bin/env python3
"""The tenantgate demo: the whole stack on loopback.

    demo.py run     foreground; Ctrl-C stops everything   (make demo)
    demo.py up      start in the background, return when ready (make demo-up)
    demo.py down    stop the background demo                 (make demo-down)

Starts PostgreSQL, OpenBao (dev) with Kubernetes auth against a TokenReview
stand-in, an OIDC issuer stand-in, a fake Atlassian Cloud with seeded issues,
the broker (logged in to OpenBao through Kubernetes auth, signing key from
Vault) and the forwarder. The OIDC stand-in is a full OAuth authorization
server (dynamic registration, code + PKCE, auto-approving login for the demo
users), and the forwarder names it in its RFC 9728 metadata, so MCP clients
that do OAuth (Claude Code, the SDKs) can connect with only the MCP URL. State lives in .demo/: env (KEY=value lines),
tokens/<email> (bearer tokens valid 12 hours), logs/ (every process's log).
"""

import os
import pathlib
import shutil
import signal
import subprocess
import sys
import threading
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
DEMO = pathlib.Path(os.environ.get("TG_DEMO_DIR", REPO / ".demo"))
sys.path.insert(0, str(REPO / "test"))
os.environ.setdefault("TG_BIN_DIR", str(REPO / "build" / "rel" / "bin"))

from harness import OidcIssuer, Stack, free_port, runtime  # noqa: E402
from harness.product import DEMO_USERS, Tenantgate, sql_quote  # noqa: E402

TOKEN_TTL = 12 * 3600
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
    }
    text = "".join(f"{k}={v}\n" for k, v in env.items())
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

Try:
  . .demo/env
  curl -s -H "Authorization: Bearer $(cat .demo/tokens/bob@example.com)" $OPENAPI_URL/tools
  curl -s -H "Authorization: Bearer $(cat .demo/tokens/alice@example.com)" \\
       -H 'Content-Type: application/json' -d '{{"jql":"project = GOOG"}}' \\
       $OPENAPI_URL/tools/google/jira_search/execute
  curl -s -X POST $MCP_URL -H "Authorization: Bearer $(cat .demo/tokens/alice@example.com)" \\
       -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \\
       -H 'MCP-Protocol-Version: 2025-11-25' \\
       -d '{{"jsonrpc":"2.0","id":1,"method":"tools/list"}}'
""", flush=True)


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
        broker = tg.start_broker(signing_key_source="vault", oidc_resources=resource)
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
        banner(env)
        if ready_file:
            pathlib.Path(ready_file).write_text("ready\n")
        if sys.stdin.isatty() and not ready_file:
            print("Press Ctrl-C to stop.", flush=True)
        while not stop.wait(1.0):
            for p in (broker, fwd):
                if p is not None and not p.running:
                    print(f"demo: {p.name} exited ({p.returncode}); see .demo/logs/",
                          flush=True)
                    stop.set()
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
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
