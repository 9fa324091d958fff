#!/usr/bin/env python3
"""tenantgate benchmarks: one run, loopback only, every loop bounded.

Every row goes to the same static upstream (bench/upstream.c: fixed 4-6 KB
Jira and Confluence answers, libevent), so the rows differ only in what
sits in front of it:

    direct      wrk -> static upstream
    nginx       wrk -> nginx proxy_pass -> static upstream
    fwd_*       wrk -> forwarder (MCP tools/call) -> static upstream
    tools_list  wrk -> forwarder (MCP tools/list), 15,000 users, 50 tenants
    broker_*    wrk -> broker (/v1/grants, /v1/redeem), cached and cold

Closed-loop rows (wrk, fixed request count, concurrency 1 and 16) give
maximum throughput; open-loop rows (bench/openloop.c, fixed rate, latency
from each request's intended send time) give latency without coordinated
omission; the grant-expiry row runs open-loop across grant renewals.
Each row reports req/s, p50/p90/p99/p99.9, CPU seconds per 1,000 requests
and peak RSS of every process under test, and ratios to direct and nginx.
Method and numbers: docs/benchmarks.md.

    bench/run                   the quick run (a few minutes on 2 cores)
    BENCH_FULL=1 bench/run      longer runs
    bench/run --callgrind       also: instructions per request under callgrind
"""

import argparse
import json
import os
import pathlib
import platform
import secrets as pysecrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import cg       # noqa: E402
import engines  # noqa: E402
import plot     # noqa: E402
import report   # noqa: E402

# bench/results/<date>.json and, next to it, <date>.png (the plot).
DEFAULT_OUT = HERE / "results" / (time.strftime("%Y-%m-%d") + ".json")
BENCH_BIN = REPO / "build" / "rel" / "bench"

USER = "alice@example.com"      # member of google (editor)
TENANT = "google"
JQL = "project = GOOG"
MCP_HEADERS = {"Content-Type": "application/json",
               "Accept": "application/json, text/event-stream",
               "MCP-Protocol-Version": "2025-11-25"}
# What jira_search sends upstream (docs/tools.md), the same in every row.
SEARCH_PATH = ("/t/google/rest/api/3/search/jql?jql=project%20%3D%20GOOG"
               "&maxResults=20&fields=summary,status,assignee,updated,"
               "priority,issuetype")
SCALE_USERS = 15000
SCALE_TENANTS = 50
EXPIRY_USERS = 200
# The forwarder as benchmarked: rate limits off (they would be what is
# measured), bulkheads wide enough for the open-loop connections.
FWD_BENCH_CONFIG = {"tenant_rate": 0, "user_rate": 0,
                    "tenant_max_inflight": 64, "tenant_max_queue": 256}

# name -> (what it measures, processes under test)
SCENARIOS = {
    "direct": ("GET search/jql straight to the static upstream",
               ["upstream"]),
    "nginx": ("the same through nginx proxy_pass (1 worker, upstream"
              " keepalive)", ["nginx", "upstream"]),
    "fwd_call_warm": ("forwarder MCP tools/call google__jira_search, one"
                      " user token reused (grant cached)",
                      ["forwarder", "broker", "upstream"]),
    "fwd_call_owui": ("the same with a new Open WebUI user JWT (HS256) per"
                      " request, as Open WebUI sends",
                      ["forwarder", "broker", "upstream"]),
    "tools_list_1": ("forwarder MCP tools/list, user in 1 tenant",
                     ["forwarder", "broker"]),
    "tools_list_3": ("forwarder MCP tools/list, user in 3 tenants",
                     ["forwarder", "broker"]),
    "tools_list_20": ("forwarder MCP tools/list, user in 20 tenants",
                      ["forwarder", "broker"]),
    "grants_cached": ("broker POST /v1/grants, same assertion (membership"
                      " cache warm)", ["broker"]),
    "grants_cold": ("broker POST /v1/grants, new Open WebUI JWT per request,"
                    " members_cache_ttl=0 (PostgreSQL every time)",
                    ["broker_cold", "postgres"]),
    "redeem_cached": ("broker POST /v1/redeem, Vault credential cached",
                      ["broker"]),
    "redeem_cold": ("broker POST /v1/redeem, vault_cache_ttl=0 (OpenBao"
                    " every time)", ["broker_cold", "openbao"]),
}
# Peers: MCP gateways users would pick instead (scripts/deps --bench puts
# each in build/bench/peers/<name>). Each fronts bench/peer_server.py, a
# stdio MCP server whose jira_search asks the same static upstream.
PEERS = {
    "peer_mcpo": ("mcpo 0.0.20 (MCP -> OpenAPI): POST /jira_search",
                  ["peer_mcpo", "upstream"]),
    "peer_mcp_proxy": ("mcp-proxy 0.13.0 (stdio -> streamable HTTP,"
                       " --stateless): POST /mcp tools/call jira_search",
                       ["peer_mcp_proxy", "upstream"]),
    "peer_contextforge": ("mcp-contextforge-gateway 1.0.7 (SQLite, 1"
                          " worker): a REST tool on the static upstream in a"
                          " virtual server, POST /servers/<id>/mcp"
                          " tools/call", ["peer_contextforge", "upstream"]),
}
# What the ContextForge REST tool is asked: the same query jira_search sends.
CF_ARGS = {"jql": JQL, "maxResults": 20,
           "fields": "summary,status,assignee,updated,priority,issuetype"}
SCENARIOS.update(PEERS)
# Rows that are not one request shape at one load.
EXTRA = {
    "noisy": ("noisy neighbour: google tools/call open-loop while"
              " microsoft's upstream takes 5 s (p99 without, then with)"),
    "idle": ("idle MCP clients: 1,000 and 5,000 kept-alive connections to a"
             " forwarder; its RSS and KiB per connection"),
    "grant_expiry": ("open-loop tools/call across grant renewals (200 users,"
                     " grant_ttl 10 s)"),
}
PEER_DIR = REPO / "build" / "bench" / "peers"
# Open loop at a ladder of offered rates (--rates; peers --peer-rates, as
# they saturate near 200 req/s): the rows and the plot's lines.
OPEN_LOOP = ["direct", "nginx", "fwd_call_warm", "fwd_call_owui"]
# Noisy neighbour: microsoft's upstream answers after 5 s (the static
# upstream's /delay/<ms>/ prefix) while google's calls are measured.
NOISY_TENANT = "microsoft"
NOISY_USER = "bob@example.com"        # member of google and microsoft
NOISY_DELAY_MS = 5000
# Idle MCP clients: a forwarder of its own, limits raised so that 5,000
# kept-alive connections are neither shed nor timed out while measured.
IDLE_CLIENTS = (1000, 5000)
FWD_IDLE_CONFIG = {"max_connections": 10000, "header_timeout": "300s",
                   "body_timeout": "300s", "request_timeout": "300s"}
CALLGRIND = [("forwarder", ["fwd_call_warm", "fwd_call_owui",
                            "tools_list_20"]),
             ("broker", ["grants_cached", "redeem_cached"])]


def progress(line, flush=True):
    """Rows as they finish, on stderr: stdout gets the one table."""
    print(line, file=sys.stderr, flush=flush)


class Interrupted(Exception):
    pass


def on_signal(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


def catch_signals(handler):
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


# ---- machine and /proc ---------------------------------------------------------

def machine_info():
    cpu = "unknown"
    mem = None
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    except OSError:
        pass
    head = None
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short",
                               "HEAD"], capture_output=True, text=True,
                              timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        pass
    return {"nproc": os.cpu_count(), "cpu_model": cpu, "mem_mib": mem,
            "kernel": platform.release(), "python": platform.python_version(),
            "wrk": shutil.which("wrk"), "nginx": shutil.which("nginx"),
            "valgrind": shutil.which("valgrind"), "git_head": head,
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}


def loadavg():
    try:
        return open("/proc/loadavg").read().split()[:3]
    except OSError:
        return None


def proc_status(pid):
    out = {}
    try:
        for line in open(f"/proc/{pid}/status"):
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "Threads"):
                out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


TICK = os.sysconf("SC_CLK_TCK")


def proc_stat(pid):
    """(ppid, utime + stime) of a process and all its threads, seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError, ValueError):
        return None, None


def children_of(ppid):
    out = []
    for e in os.listdir("/proc"):
        if e.isdigit() and proc_stat(int(e))[0] == ppid:
            out.append(int(e))
    return out


class Procs:
    """The processes under test by name: one pid, or a parent whose
    children count too (nginx's workers, PostgreSQL's backends)."""

    def __init__(self):
        self.single = {}       # name -> pid
        self.family = {}       # name -> parent pid

    def pids(self, name):
        if name in self.single:
            return [self.single[name]]
        if name in self.family:
            pm = self.family[name]
            return [pm] + children_of(pm)
        return []

    def names(self):
        return list(self.single) + list(self.family)

    def cpu(self):
        out = {}
        for n in self.names():
            out[n] = {p: proc_stat(p)[1] for p in self.pids(n)}
        return out

    def peak_rss_kb(self, name):
        """VmHWM, summed over a family (each process's own peak)."""
        tot = 0
        for p in self.pids(name):
            tot += proc_status(p).get("VmHWM", 0)
        return tot or None


def cpu_delta(a, b):
    out = {}
    for n, per in b.items():
        both = [p for p in per if p in a.get(n, {}) and per[p] is not None
                and a[n][p] is not None]
        # A backend that started during the run counts from zero.
        new = [p for p in per if p not in a.get(n, {}) and per[p] is not None]
        out[n] = round(sum(per[p] - a[n][p] for p in both) +
                       sum(per[p] for p in new), 3)
    return out


# ---- idle clients --------------------------------------------------------------

def idle_roundtrip(sock, req):
    """Send one request on a kept-alive socket and read its whole answer
    (Content-Length or chunked), bounded by the socket's timeout."""
    sock.sendall(req)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("idle client: connection closed before the"
                               " answer")
        buf += chunk
        if len(buf) > 1 << 20:
            raise RuntimeError("idle client: no end of headers")
    head, _, body = buf.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"idle client: {head[:40]!r}")
    low = head.lower()
    if b"transfer-encoding: chunked" in low:
        for _ in range(100000):
            if body.endswith(b"0\r\n\r\n"):
                return
            chunk = sock.recv(65536)
            if not chunk:
                raise RuntimeError("idle client: closed mid-answer")
            body += chunk
        raise RuntimeError("idle client: answer too long")
    n = 0
    for line in low.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            n = int(line.split(b":", 1)[1])
    for _ in range(100000):
        if len(body) >= n:
            return
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("idle client: closed mid-answer")
        body += chunk
    raise RuntimeError("idle client: answer too long")


def idle_closed(socks):
    """How many of the idle sockets the server has closed (readable with
    nothing to read). poll, not select: descriptors go past 1024."""
    import select
    po = select.poll()
    by_fd = {}
    for s in socks:
        po.register(s, select.POLLIN | select.POLLHUP | select.POLLERR)
        by_fd[s.fileno()] = s
    n = 0
    for fd, ev in po.poll(0):
        try:
            if by_fd[fd].recv(1, socket_dontwait()) == b"":
                n += 1
        except BlockingIOError:
            pass
        except OSError:
            n += 1
    return n


def socket_dontwait():
    import socket
    return socket.MSG_DONTWAIT


def raise_nofile():
    """5,000 idle clients need as many descriptors, in this process and in
    the forwarder it starts (children inherit the limit)."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# ---- the bench --------------------------------------------------------------------

def quiet_resets(standin):
    """A load generator that stops mid-request resets connections; the
    stand-in's server would print a traceback for each one to stderr."""
    srv = getattr(standin, "_server", None)
    if srv is None:
        return
    loud = srv.handle_error

    def handle_error(request, client_address):
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        loud(request, client_address)
    srv.handle_error = handle_error


def port_of(url):
    return int(url.rsplit(":", 1)[1])


def sql_quote(s):
    return "'" + str(s).replace("'", "''") + "'"


NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream static {{ server 127.0.0.1:{up}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://static;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering on;
        }}
    }}
}}
"""


class Bench:
    def __init__(self, args):
        self.args = args
        self.engine = engines.WrkEngine()
        self.py_engine = engines.PythonEngine()
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="tgbench-"))
        self.results = []
        self.open_results = []
        self.expiry = None
        self.noisy = []
        self.idle = []
        self.callgrind = []
        self.procs = Procs()
        self.peers = {}
        self.setup_s = {}

    # -- start-up

    def start(self):
        from harness import Stack
        from harness.product import Tenantgate
        from harness.proc import Proc, free_port
        t0 = time.monotonic()
        self.s = Stack().start()
        self.tg = Tenantgate(self.s)
        self.tg.migrate()
        for standin in (self.s.atlassian, self.s.oidc, self.s.tokenreview):
            quiet_resets(standin)
        self.setup_s["stack"] = round(time.monotonic() - t0, 1)

        t = time.monotonic()
        port = free_port()
        self.upstream = Proc("bench-upstream", [
            str(BENCH_BIN / "tg-upstream"), "-l", f"127.0.0.1:{port}",
            "-b", str(HERE / "bodies")],
            ready=f"http://127.0.0.1:{port}/health").start()
        self.upstream.url = f"http://127.0.0.1:{port}"
        self.procs.single["upstream"] = self.upstream.pid
        self.start_nginx()
        self.seed()
        self.setup_s["seed"] = round(time.monotonic() - t, 1)

        t = time.monotonic()
        self.broker = self.tg.start_broker(name="bench-broker")
        self.broker_cold = self.tg.start_broker(
            name="bench-broker-cold", members_cache_ttl="0s",
            vault_cache_ttl="0s")
        self.fwd = self.tg.start_forwarder(self.broker, name="bench-forwarder",
                                           **FWD_BENCH_CONFIG)
        self.procs.single.update(forwarder=self.fwd.pid,
                                 broker=self.broker.pid,
                                 broker_cold=self.broker_cold.pid)
        bao = getattr(getattr(self.s.bao, "proc", None), "pid", None)
        if bao:
            self.procs.single["openbao"] = bao
        try:
            with open(os.path.join(self.s.pg.datadir, "postmaster.pid")) as f:
                self.procs.family["postgres"] = int(f.readline())
        except (OSError, ValueError):
            pass
        self.token = self.tg.user_token(USER)
        self.start_peers()
        self.setup_s["daemons"] = round(time.monotonic() - t, 1)

    def start_nginx(self):
        from harness.proc import Proc, free_port
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.nginx = None
        if not os.path.exists(nginx):
            print("nginx is not installed (scripts/deps --bench); its rows"
                  " are skipped", flush=True)
            return
        d = REPO / "build" / "bench" / "nginx"
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        port = free_port()
        conf = d / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=d, port=port,
                                          up=port_of(self.upstream.url)))
        self.nginx = Proc("bench-nginx", [nginx, "-p", str(d), "-c",
                                          str(conf), "-e", str(d / "error.log")],
                          ready=f"http://127.0.0.1:{port}/health",
                          stop_signal=signal.SIGQUIT).start()
        self.nginx.url = f"http://127.0.0.1:{port}"
        self.procs.family["nginx"] = self.nginx.pid

    def start_peers(self):
        from harness.proc import Proc, free_port
        server = [str(HERE / "peer_server.py"), self.upstream.url]
        for name, exe, extra in (
                ("peer_mcpo", "mcpo", ["--log-level", "WARNING"]),
                ("peer_mcp_proxy", "mcp-proxy", ["--stateless",
                                                 "--log-level", "WARNING"])):
            if name not in self.args.scenarios:
                continue
            venv = PEER_DIR / exe
            if not (venv / "bin" / exe).exists():
                print(f"{name}: {venv} is missing (scripts/deps --bench);"
                      " its rows are skipped", flush=True)
                continue
            port = free_port()
            py = str(venv / "bin" / "python")
            probe = (f"http://127.0.0.1:{port}/openapi.json" if exe == "mcpo"
                     else self._mcp_proxy_ready(port))
            p = Proc(f"bench-{exe}", [str(venv / "bin" / exe), "--host",
                                      "127.0.0.1", "--port", str(port),
                                      *extra, "--", py, *server],
                     ready=probe, ready_timeout=60)
            try:
                p.start()
            except Exception as e:  # noqa: BLE001 - a peer that fails is a row left out, said so
                print(f"{name}: did not start ({e}); its rows are skipped",
                      flush=True)
                continue
            p.url = f"http://127.0.0.1:{port}"
            self.peers[name] = p
            # The gateway and the MCP server it spawned count together.
            self.procs.family[name] = p.pid

        if "peer_contextforge" in self.args.scenarios:
            try:
                self.start_contextforge()
            except Exception as e:  # noqa: BLE001 - a peer that fails is a row left out, said so
                p = self.peers.pop("peer_contextforge", None)
                self.procs.family.pop("peer_contextforge", None)
                if p is not None:
                    p.stop()
                print(f"peer_contextforge: did not start ({e}); its rows are"
                      " skipped", flush=True)

    def start_contextforge(self):
        """ContextForge needs a database (SQLite here), an admin JWT, and
        set-up through its admin API: a REST tool that GETs the static
        upstream's search, in a virtual server whose MCP endpoint the bench
        calls. One uvicorn worker, as the forwarder has one event loop."""
        import requests
        from harness.proc import Proc, free_port
        venv = PEER_DIR / "contextforge"
        exe = venv / "bin" / "mcpgateway"
        if not exe.exists():
            print(f"peer_contextforge: {venv} is missing (scripts/deps"
                  " --bench); its rows are skipped", flush=True)
            return
        d = self.tmp / "contextforge"
        d.mkdir()
        port = free_port()
        key = pysecrets.token_hex(32)
        env = {"DATABASE_URL": f"sqlite:///{d}/mcp.db",
               "JWT_SECRET_KEY": key,
               "AUTH_ENCRYPTION_SECRET": pysecrets.token_hex(32),
               "PLATFORM_ADMIN_EMAIL": "admin@example.com",
               "PLATFORM_ADMIN_PASSWORD": "Bench-" + pysecrets.token_hex(8),
               "BASIC_AUTH_PASSWORD": "Bench-" + pysecrets.token_hex(8),
               "HOST": "127.0.0.1", "PORT": str(port),
               "MCPGATEWAY_UI_ENABLED": "false",
               "MCPGATEWAY_ADMIN_API_ENABLED": "true",
               "CACHE_TYPE": "database", "SSRF_ALLOW_LOCALHOST": "true",
               "LOG_LEVEL": "WARNING",
               # Its limits off, as the forwarder's are (by default MCP
               # calls are limited to 100 a minute per user).
               "RATE_LIMITING_ENABLED": "false",
               "TOOL_RATE_LIMIT": "1000000"}
        p = Proc("bench-contextforge", [str(exe), "--host", "127.0.0.1",
                                        "--port", str(port)],
                 env=env, cwd=str(d), ready=f"http://127.0.0.1:{port}/health",
                 ready_timeout=180)
        p.start()
        p.url = f"http://127.0.0.1:{port}"
        self.peers["peer_contextforge"] = p
        self.procs.family["peer_contextforge"] = p.pid
        cp = subprocess.run(
            [str(venv / "bin" / "python"), "-m",
             "mcpgateway.utils.create_jwt_token", "--username",
             "admin@example.com", "--exp", "240", "--secret", key],
            capture_output=True, text=True, timeout=60, cwd=str(d),
            env={**os.environ, **env})
        tok = cp.stdout.strip().splitlines()[-1] if cp.stdout.strip() else ""
        if cp.returncode != 0 or tok.count(".") != 2:
            raise RuntimeError("create_jwt_token failed:"
                               f" {cp.stderr.strip()[-200:]}")
        h = {"Authorization": "Bearer " + tok}
        r = requests.post(p.url + "/tools", headers=h, timeout=30, json={
            "tool": {"name": "jira_search", "integration_type": "REST",
                     "request_type": "GET", "description": "Jira search",
                     "url": self.upstream.url +
                     "/t/google/rest/api/3/search/jql",
                     "input_schema": {
                         "type": "object", "required": ["jql"],
                         "properties": {"jql": {"type": "string"},
                                        "maxResults": {"type": "integer"},
                                        "fields": {"type": "string"}}}}})
        r.raise_for_status()
        tool = r.json()
        r = requests.post(p.url + "/servers", headers=h, timeout=30, json={
            "server": {"name": "bench", "description": "bench",
                       "associated_tools": [tool["id"]]}})
        r.raise_for_status()
        p.cf_path = f"/servers/{r.json()['id']}/mcp"
        p.cf_tool = tool["name"]
        p.cf_token = tok

    @staticmethod
    def _mcp_proxy_ready(port):
        def ready(proc):
            import requests
            try:
                r = requests.post(f"http://127.0.0.1:{port}/mcp", timeout=2,
                                  headers={"Accept": "application/json,"
                                           " text/event-stream"},
                                  json={"jsonrpc": "2.0", "id": 1,
                                        "method": "tools/list"})
                return r.status_code == 200
            except requests.RequestException:
                return False
        return ready

    def seed(self):
        """The demo tenants and users, plus enough to make tools/list and
        the membership look-ups realistic: 50 tenants, 15,000 users (two
        tenants each), and users in 1, 3 and 20 tenants. Every tenant's
        integrations point at the static upstream."""
        from harness.product import DEMO_USERS
        base = self.upstream.url + "/t/{}"
        demo = ["google", "microsoft", "smallco"]
        for slug in demo:
            # The noisy neighbour's upstream is slow: every answer to it
            # comes after NOISY_DELAY_MS (only the noisy rows call it).
            url = base.format(slug)
            if slug == NOISY_TENANT:
                url = (f"{self.upstream.url}/delay/{NOISY_DELAY_MS}"
                       f"/t/{slug}")
            self.tg.add_tenant(slug, base_url=url)
        self.s.seed_vault(demo)
        for email, ms in DEMO_USERS.items():
            self.tg.add_user(email, ms)
        extra = SCALE_TENANTS - len(demo)
        up = sql_quote(self.upstream.url + "/t/bench")
        prefix = sql_quote(self.s.vault_path("X", "Y").split("/X/")[0])
        self.tg.sql(f"""
insert into tenants(id, display_name)
  select 'bench' || lpad(g::text, 2, '0'), 'Bench tenant ' || g
  from generate_series(1, {extra}) g on conflict do nothing;
insert into tenant_integrations(tenant_id, name, kind, base_url, vault_path,
                                cred_version)
  select t.id, k, k, {up}, {prefix} || '/' || t.id || '/' || k, 1
  from tenants t cross join (values ('jira'), ('confluence')) v(k)
  where t.id like 'bench%' on conflict do nothing;
insert into users(email, display_name)
  select 'user' || g || '@bench.example', 'user' || g
  from generate_series(1, {SCALE_USERS}) g on conflict do nothing;
with t as (select id, row_number() over (order by id) - 1 as n from tenants),
     u as (select id, substring(email from 'user([0-9]+)@')::int as g
           from users where email like 'user%@bench.example')
insert into memberships(user_id, tenant_id, role, granted_by)
  select u.id, t.id, 'editor', 'bench' from u join t
    on t.n = u.g % {SCALE_TENANTS} or t.n = (u.g * 7 + 3) % {SCALE_TENANTS}
  on conflict do nothing;
insert into memberships(user_id, tenant_id, role, granted_by)
  select u.id, 'google', 'editor', 'bench' from users u
  where u.email in ({",".join(sql_quote(f"user{i}@bench.example")
                              for i in range(1, EXPIRY_USERS + 1))})
  on conflict do nothing;
""")
        bench_tenants = [f"bench{i:02d}" for i in range(1, extra + 1)]
        for n, tenants in ((1, ["google"]), (3, demo),
                           (20, demo + bench_tenants[:17])):
            self.tg.add_user(f"tenants{n}@bench.example",
                             {t: "editor" for t in tenants})
        self.tg.sql("analyze")

    # -- request shapes

    def mcp_call_body(self, tenant=TENANT):
        return json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                           "params": {"name": f"{tenant}__jira_search",
                                      "arguments": {"jql": JQL}}})

    def job(self, name, fwd_url=None, broker_url=None):
        fwd = fwd_url or self.fwd.url
        caller = {"Authorization": "Bearer " + self.tg.caller_secret,
                  "Content-Type": "application/json"}
        if name == "direct":
            return {"url": self.upstream.url, "method": "GET",
                    "path": SEARCH_PATH, "expect_body": "GOOG-1",
                    "headers": {"Accept": "application/json"}}
        if name == "nginx":
            return {"url": self.nginx.url, "method": "GET",
                    "path": SEARCH_PATH, "expect_body": "GOOG-1",
                    "headers": {"Accept": "application/json"}}
        if name == "fwd_call_warm":
            return {"url": fwd, "method": "POST", "path": "/mcp",
                    "headers": {"Authorization": "Bearer " + self.token,
                                **MCP_HEADERS},
                    "body": self.mcp_call_body(),
                    "expect_body": '"isError":false'}
        if name == "fwd_call_owui":
            # Open WebUI with auth_type=bearer: a static tool-server key in
            # Authorization, the signed user in X-OpenWebUI-User-Jwt.
            return {"url": fwd, "method": "POST", "path": "/mcp",
                    "headers": {"Authorization": "Bearer owui-tool-server-key",
                                **MCP_HEADERS},
                    "body": self.mcp_call_body(),
                    "expect_body": '"isError":false',
                    "vary": ("X-OpenWebUI-User-Jwt", "owui", USER)}
        if name == "peer_mcpo":
            return {"url": self.peers[name].url, "method": "POST",
                    "path": "/jira_search",
                    "headers": {"Content-Type": "application/json"},
                    "body": json.dumps({"jql": JQL}), "expect_body": "GOOG-1"}
        if name == "peer_mcp_proxy":
            return {"url": self.peers[name].url, "method": "POST",
                    "path": "/mcp", "headers": dict(MCP_HEADERS),
                    "body": json.dumps({
                        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
                        "params": {"name": "jira_search",
                                   "arguments": {"jql": JQL}}}),
                    "expect_body": "GOOG-1"}
        if name == "peer_contextforge":
            p = self.peers[name]
            return {"url": p.url, "method": "POST", "path": p.cf_path,
                    "headers": {"Authorization": "Bearer " + p.cf_token,
                                **MCP_HEADERS},
                    "body": json.dumps({
                        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
                        "params": {"name": p.cf_tool,
                                   "arguments": CF_ARGS}}),
                    "expect_body": "GOOG-1"}
        if name.startswith("tools_list_"):
            n = name.rsplit("_", 1)[1]
            tok = self.tg.user_token(f"tenants{n}@bench.example")
            return {"url": fwd, "method": "POST", "path": "/mcp",
                    "headers": {"Authorization": "Bearer " + tok,
                                **MCP_HEADERS},
                    "body": json.dumps({"jsonrpc": "2.0", "id": 1,
                                        "method": "tools/list"}),
                    "expect_body": "google__jira_search"}
        if name == "grants_cached":
            return {"url": broker_url or self.broker.url, "method": "POST",
                    "path": "/v1/grants", "headers": caller,
                    "body": json.dumps({"assertion": self.token,
                                        "tenants": [TENANT]}),
                    "expect_body": '"grants"'}
        if name == "grants_cold":
            return {"url": broker_url or self.broker_cold.url,
                    "method": "POST", "path": "/v1/grants", "headers": caller,
                    "body": json.dumps({"assertion": "@V@",
                                        "tenants": [TENANT]}),
                    "expect_body": '"grants"',
                    "vary": ("body", "owui", USER)}
        if name in ("redeem_cached", "redeem_cold"):
            url = broker_url or (self.broker.url if name == "redeem_cached"
                                 else self.broker_cold.url)
            return {"url": url, "method": "POST", "path": "/v1/redeem",
                    "headers": caller,
                    "body": json.dumps({"grant": self.fresh_grant(url),
                                        "integration": "jira"}),
                    "expect_body": '"credential"'}
        raise ValueError(name)

    def fresh_grant(self, broker_url):
        import requests
        r = requests.post(broker_url + "/v1/grants", timeout=30,
                          json={"assertion": self.token, "tenants": [TENANT]},
                          headers={"Authorization":
                                   "Bearer " + self.tg.caller_secret})
        r.raise_for_status()
        return r.json()["grants"][0]["token"]

    def mint_values(self, kind, user, n):
        """n distinct user JWTs, one per line (a random jti each)."""
        p = self.tmp / f"values-{time.monotonic_ns()}"
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            for _ in range(n):
                jti = pysecrets.token_hex(8)
                f.write((self.tg.owui_token(user, jti=jti) if kind == "owui"
                         else self.tg.user_token(user, jti=jti)) + "\n")
        return p

    # -- closed loop (wrk)

    def engine_job(self, name, conc, n):
        j = self.job(name)
        u = j.pop("url")
        host, port = u.split("//", 1)[1].rsplit(":", 1)
        vary = j.pop("vary", None)
        warm = min(200, max(20, n // 20))
        j.update(host=host, port=int(port), concurrency=conc, requests=n,
                 warmup=warm, timeout=self.args.timeout,
                 deadline=self.args.deadline)
        if vary:
            where, kind, user = vary
            if where == "body":
                j["vary_body"] = True
            else:
                j.update(vary_header=where, vary_prefix="")
            j["vary_values_file"] = str(self.mint_values(
                kind, user, self.engine.values_needed(j)))
        return j

    def measure(self, fn, under_test):
        a = self.procs.cpu()
        r = fn()
        cpu = cpu_delta(a, self.procs.cpu())
        r["cpu_s"] = {k: cpu.get(k) for k in under_test}
        r["peak_rss_kb"] = {k: self.procs.peak_rss_kb(k) for k in under_test}
        return r

    def run_closed(self, name, conc, n):
        under = SCENARIOS[name][1]
        job = self.engine_job(name, conc, n)
        try:
            r = self.measure(lambda: self.engine.run(job), under)
        finally:
            if "vary_values_file" in job:
                os.unlink(job["vary_values_file"])
        total = r["completed"] + job["warmup"]
        r.update(scenario=name, mode="closed", warmup=job["warmup"],
                 cpu_s_per_1k={k: (round(v * 1000 / total, 3)
                                   if v is not None and total else None)
                               for k, v in r["cpu_s"].items()})
        return r

    # -- open loop (tg-openloop)

    def raw_request(self, j, host_port):
        body = (j.get("body") or "").encode()
        lines = [f"{j['method']} {j['path']} HTTP/1.1", f"Host: {host_port}"]
        lines += [f"{k}: {v}" for k, v in j.get("headers", {}).items()]
        if body or j["method"] == "POST":
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    def openloop(self, jobs, rate, duration, conns, under):
        """Run tg-openloop over jobs (sent in turn); returns its result."""
        hp = jobs[0]["url"].split("//", 1)[1]
        p = self.tmp / f"req-{time.monotonic_ns()}.raw"
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(b"\0".join(self.raw_request(j, hp) for j in jobs))
        argv = [str(BENCH_BIN / "tg-openloop"), "-a", hp, "-f", str(p),
                "-r", str(rate), "-d", str(duration), "-c", str(conns),
                "-T", str(self.args.timeout)]
        if jobs[0].get("expect_body"):
            argv += ["-e", jobs[0]["expect_body"]]

        def go():
            cp = subprocess.run(argv, capture_output=True, text=True,
                                timeout=duration + self.args.timeout + 60)
            if cp.returncode != 0:
                raise RuntimeError(f"tg-openloop exited {cp.returncode}:"
                                   f" {cp.stderr.strip()[-300:]}")
            return json.loads(cp.stdout)
        try:
            r = self.measure(go, under)
        finally:
            os.unlink(p)
        n = r["completed"] or 0
        r["cpu_s_per_1k"] = {k: (round(v * 1000 / n, 3) if v is not None
                                 and n else None)
                             for k, v in r["cpu_s"].items()}
        return r

    def run_open(self, name, rate):
        j = self.job(name)
        vary = j.pop("vary", None)
        jobs = [j]
        if vary:
            # One distinct request per send (a new Open WebUI JWT each).
            where, kind, user = vary
            n = int(rate * self.args.open_seconds) + 1
            vals = self.mint_values(kind, user, n)
            try:
                jobs = [dict(j, headers={**j["headers"], where: v})
                        for v in vals.read_text().split()]
            finally:
                os.unlink(vals)
        r = self.openloop(jobs, rate, self.args.open_seconds, 64,
                          SCENARIOS[name][1])
        r.update(scenario=name, mode="open")
        return r

    def run_noisy(self):
        """One tenant's upstream answers after 5 s; the other tenant's
        tools/call p99 at the same open-loop rate, first without, then with
        the slow tenant loaded (NOISY_RATE calls/s for longer than the
        measured run, so its bulkhead is full the whole time)."""
        import threading
        rate, secs = self.args.noisy_rate, self.args.open_seconds
        under = SCENARIOS["fwd_call_warm"][1]
        quiet = self.job("fwd_call_warm")
        slow = dict(quiet, headers={
            **quiet["headers"],
            "Authorization": "Bearer " + self.tg.user_token(NOISY_USER)},
            body=self.mcp_call_body(NOISY_TENANT))
        slow.pop("expect_body")
        out = []
        r = self.openloop([quiet], rate, secs, 64, under)
        r.update(scenario="noisy_off", mode="open")
        out.append(r)
        progress(report.row(r), flush=True)
        noisy = {}
        srate = self.args.noisy_slow_rate
        # Enough connections for every slow call in flight (5 s each).
        sconns = min(1000, int(srate * (NOISY_DELAY_MS / 1000 + 3)) + 8)

        def slow_load():
            try:
                noisy["r"] = self.openloop([slow], srate, secs + 4, sconns,
                                           [])
            except Exception as e:  # noqa: BLE001 - reported below
                noisy["e"] = e
        t = threading.Thread(target=slow_load, daemon=True)
        t.start()
        time.sleep(2)       # the slow tenant's slots fill up first
        r = self.openloop([quiet], rate, secs, 64, under)
        r.update(scenario="noisy_on", mode="open", slow_tenant=NOISY_TENANT,
                 slow_rate=srate, slow_delay_ms=NOISY_DELAY_MS)
        out.append(r)
        progress(report.row(r), flush=True)
        t.join(timeout=secs + self.args.timeout + 90)
        if "r" in noisy:
            s = noisy["r"]
            s.update(scenario="noisy_slow", mode="open")
            out.append(s)
            progress(report.row(s), flush=True)
        else:
            print(f"noisy_slow: the slow tenant's load failed:"
                  f" {noisy.get('e')}", flush=True)
        return out

    def run_idle(self):
        """Idle MCP clients: connections that made one MCP request
        (tools/list) and stay open, kept alive, sending nothing. The
        forwarder's resident memory before, at 1,000 and at 5,000."""
        import socket
        fwd = self.tg.start_forwarder(self.broker, name="bench-forwarder-idle",
                                      **FWD_BENCH_CONFIG, **FWD_IDLE_CONFIG)
        self.procs.single["forwarder_idle"] = fwd.pid
        socks = []
        rows = []
        try:
            j = self.job("tools_list_1", fwd_url=fwd.url)
            hp = fwd.url.split("//", 1)[1]
            req = self.raw_request(j, hp)
            addr = (hp.rsplit(":", 1)[0], int(hp.rsplit(":", 1)[1]))
            for _ in range(3):      # warm: grants, the tool list
                with socket.create_connection(addr, timeout=10) as s:
                    idle_roundtrip(s, req)
            time.sleep(0.5)
            base = proc_status(fwd.pid).get("VmRSS")
            for target in self.args.idle_clients:
                t0 = time.monotonic()
                while len(socks) < target and \
                        time.monotonic() - t0 < 120:
                    s = socket.create_connection(addr, timeout=10)
                    socks.append(s)
                    idle_roundtrip(s, req)
                time.sleep(1.0)
                st = proc_status(fwd.pid)
                closed = idle_closed(socks)
                rss = st.get("VmRSS")
                row = {"scenario": "idle_clients", "clients": len(socks),
                       "closed_by_server": closed, "rss_kb_before": base,
                       "rss_kb": rss, "hwm_kb": st.get("VmHWM"),
                       "kb_per_client": (round((rss - base) / len(socks), 2)
                                         if rss and base and socks else None),
                       "open_s": round(time.monotonic() - t0, 1),
                       "config": FWD_IDLE_CONFIG}
                rows.append(row)
                progress(report.idle_row(row), flush=True)
        finally:
            for s in socks:
                s.close()
            fwd.stop()
            self.procs.single.pop("forwarder_idle", None)
        return rows

    def run_expiry(self):
        """Open-loop tools/call for 200 users whose grants live 10 s (the
        broker's minimum) while requests keep coming: every grant expires
        and is renewed several times during the run. A cliff would show as
        a second whose p99 or max jumps."""
        broker = self.tg.start_broker(name="bench-broker-expiry",
                                      grant_ttl="10s")
        fwd = self.tg.start_forwarder(broker, name="bench-forwarder-expiry",
                                      grant_renew_margin="2s",
                                      **FWD_BENCH_CONFIG)
        self.procs.single.update(forwarder_expiry=fwd.pid,
                                 broker_expiry=broker.pid)
        try:
            jobs = []
            for i in range(1, EXPIRY_USERS + 1):
                tok = self.tg.user_token(f"user{i}@bench.example")
                jobs.append({"url": fwd.url, "method": "POST", "path": "/mcp",
                             "headers": {"Authorization": "Bearer " + tok,
                                         **MCP_HEADERS},
                             "body": self.mcp_call_body(),
                             "expect_body": '"isError":false'})
            # Every user's first grant is minted before the clock starts:
            # this run is about renewals, not the cold start.
            self.openloop(jobs, 100, EXPIRY_USERS / 100 + 0.5, 16, [])
            r = self.openloop(jobs, self.args.expiry_rate,
                              self.args.expiry_seconds, 64,
                              ["forwarder_expiry", "broker_expiry",
                               "upstream"])
            r.update(scenario="grant_expiry", mode="open",
                     users=EXPIRY_USERS, grant_ttl_s=10, renew_margin_s=2)
            return r
        finally:
            fwd.stop()
            broker.stop()
            for k in ("forwarder_expiry", "broker_expiry"):
                self.procs.single.pop(k, None)

    def check_alive(self):
        for p in (self.fwd, self.broker, self.broker_cold, self.upstream):
            if not p.running:
                raise RuntimeError(f"{p.name} exited during the run; see"
                                   f" {p.log_path}")

    def run_all(self):
        a = self.args
        progress(report.HDR, flush=True)
        for name in a.scenarios:
            if name not in SCENARIOS:
                continue
            if name == "nginx" and self.nginx is None:
                continue
            if name in PEERS and name not in self.peers:
                continue
            for conc in a.concurrency:
                n = a.requests if conc == 1 else a.requests * 5
                if name in PEERS:
                    # about 100 req/s: bounded so the run stays short
                    n = min(n, a.peer_requests * (1 if conc == 1 else 3))
                r = self.run_closed(name, conc, n)
                self.results.append(r)
                progress(report.row(r), flush=True)
                self.check_alive()
        for name in OPEN_LOOP + list(PEERS):
            if name not in a.scenarios or (name == "nginx" and
                                           self.nginx is None):
                continue
            if name in PEERS and name not in self.peers:
                continue
            rates = a.rates
            if name in PEERS:
                # ContextForge saturates near 20 req/s: a fifth of the
                # other peers' ladder keeps its runs short and on the curve.
                f = 0.2 if name == "peer_contextforge" else 1
                rates = [max(1.0, r * f) for r in a.peer_rates]
            for rate in rates:
                r = self.run_open(name, rate)
                self.open_results.append(r)
                progress(report.row(r), flush=True)
                self.check_alive()
        if "noisy" in a.scenarios:
            self.noisy = self.run_noisy()
            self.check_alive()
        if "idle" in a.scenarios:
            self.idle = self.run_idle()
            self.check_alive()
        if a.expiry_seconds > 0:
            self.expiry = self.run_expiry()
            progress(report.row(self.expiry), flush=True)

    # -- callgrind

    def _under_callgrind(self, program, outdir):
        from harness.proc import Proc, free_port
        from harness.product import binary
        port = free_port()
        name = f"bench-{program}-cg"
        if program == "forwarder":
            conf = self.tg._write(f"{name}.conf", self.tg.forwarder_config(
                port, self.broker, **FWD_BENCH_CONFIG))
            ready = f"http://127.0.0.1:{port}/health"
        else:
            conf = self.tg._write(f"{name}.conf", self.tg.broker_config(port))
            ready = f"http://127.0.0.1:{port}/readyz"
        p = Proc(name, [shutil.which("valgrind"), "--tool=callgrind",
                        "--dump-instr=no",
                        f"--callgrind-out-file={outdir}/{program}.%p",
                        binary(f"tenantgate-{program}"), "-c", conf],
                 ready=ready, ready_timeout=180, stop_timeout=60)
        p.url = f"http://127.0.0.1:{port}"
        return p.start()

    def run_callgrind(self):
        a = self.args
        ctl = shutil.which("callgrind_control")
        if not shutil.which("valgrind") or not ctl:
            print("callgrind: valgrind is not installed; skipped", flush=True)
            return
        outdir = self.tmp / "callgrind"
        outdir.mkdir()
        keep = pathlib.Path(a.out).parent
        keep.mkdir(parents=True, exist_ok=True)
        for program, names in CALLGRIND:
            names = [x for x in names if x in a.scenarios]
            if not names:
                continue
            p = self._under_callgrind(program, outdir)
            try:
                for name in names:
                    urls = {"fwd_url" if program == "forwarder" else
                            "broker_url": p.url}
                    j = self.job(name, **urls)
                    u = j.pop("url")
                    host, port = u.split("//", 1)[1].rsplit(":", 1)
                    vary = j.pop("vary", None)
                    n = a.callgrind_requests
                    j.update(host=host, port=int(port), concurrency=1,
                             timeout=60, deadline=600, warmup=0)
                    if vary:
                        where, kind, user = vary
                        j.update(vary_header=where, vary_prefix="",
                                 vary_values_file=str(
                                     self.mint_values(kind, user, 10 + n)))
                    self.py_engine.run(dict(j, requests=10))   # warm up
                    before = set(outdir.iterdir())
                    subprocess.run([ctl, "-z", str(p.pid)], check=True,
                                   capture_output=True, timeout=60)
                    r = self.py_engine.run(dict(j, requests=n,
                                                vary_offset=10))
                    subprocess.run([ctl, "-d", str(p.pid)], check=True,
                                   capture_output=True, timeout=60)
                    dump = self._new_dump(outdir, before)
                    shutil.copyfile(dump, keep / f"callgrind.{name}.out")
                    ir = cg.total(dump)
                    row = {"program": program, "scenario": name,
                           "requests": n, "ok": r["ok"],
                           "errors": r["errors"], "instructions": ir,
                           "instructions_per_req": (
                               round(ir / r["completed"])
                               if ir and r["completed"] else None),
                           **cg.profile(dump, a.callgrind_top,
                                        f"tenantgate-{program}")}
                    self.callgrind.append(row)
                    print(report.cg_row(row), flush=True)
            finally:
                p.stop()

    @staticmethod
    def _new_dump(outdir, before):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            new = [f for f in outdir.iterdir() if f not in before]
            if new:
                time.sleep(0.3)     # let callgrind finish writing it
                return max(new, key=lambda f: f.stat().st_mtime)
            time.sleep(0.1)
        raise RuntimeError("callgrind wrote no dump")

    def close(self):
        self.engine.kill()
        self.py_engine.kill()
        self.engine.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


# ---- main ---------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="bench/run", description=__doc__.split("\n\n")[0],
        epilog="scenarios:\n" + "\n".join(
            f"  {k:16s} {v[0]}" for k, v in SCENARIOS.items()) + "\n" +
        "\n".join(f"  {k:16s} {v}" for k, v in EXTRA.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    full = os.environ.get("BENCH_FULL") == "1"
    ap.add_argument("--full", action="store_true", default=full,
                    help="longer runs (also BENCH_FULL=1)")
    ap.add_argument("--requests", type=int, default=None,
                    help="measured requests per closed-loop run at"
                         " concurrency 1 (5x that at higher levels;"
                         " default 2000, 10000 with --full)")
    ap.add_argument("--concurrency", default="1,16",
                    help="comma-separated levels (default 1,16)")
    ap.add_argument("--rates", default="500,1000,2000,5000",
                    help="open-loop rates, req/s (default"
                         " 500,1000,2000,5000)")
    ap.add_argument("--peer-rates", default="25,50,100,200",
                    help="open-loop rates for the peers, req/s (default"
                         " 25,50,100,200)")
    ap.add_argument("--noisy-rate", type=float, default=1000,
                    help="noisy neighbour: the quiet tenant's open-loop"
                         " rate, req/s (default 1000)")
    ap.add_argument("--noisy-slow-rate", type=float, default=20,
                    help="noisy neighbour: calls/s to the tenant whose"
                         " upstream takes 5 s (default 20)")
    ap.add_argument("--idle-clients", default=",".join(map(str, IDLE_CLIENTS)),
                    help="idle MCP client counts, ascending (default"
                         " 1000,5000)")
    ap.add_argument("--open-seconds", type=float, default=None,
                    help="seconds per open-loop run (default 5; 20 --full)")
    ap.add_argument("--expiry-seconds", type=float, default=None,
                    help="grant-expiry run, s (default 25; 60 --full;"
                         " 0 skips it)")
    ap.add_argument("--expiry-rate", type=float, default=500,
                    help="grant-expiry run, req/s (default 500)")
    ap.add_argument("--peer-requests", type=int, default=None,
                    help="requests per peer run at concurrency 1 (3x above;"
                         " default 300, 1500 with --full)")
    ap.add_argument("--only", default=None,
                    help="comma-separated scenarios (default: all)")
    ap.add_argument("--timeout", type=float, default=10.0,
                    help="per-request timeout, s (default 10)")
    ap.add_argument("--deadline", type=float, default=None,
                    help="no new request after this many s of one run"
                         " (default 20; 60 with --full)")
    ap.add_argument("--callgrind", action="store_true",
                    help="also run the forwarder and the broker under"
                         " valgrind --tool=callgrind and report instructions"
                         " per request (concurrency 1)")
    ap.add_argument("--callgrind-requests", type=int, default=200,
                    help="requests per callgrind scenario (default 200)")
    ap.add_argument("--callgrind-top", type=int, default=12,
                    help="functions kept per callgrind scenario")
    ap.add_argument("--bin-dir", default=str(REPO / "build" / "rel" / "bin"),
                    help="where the daemons are (default build/rel/bin)")
    ap.add_argument("--out", default=str(DEFAULT_OUT),
                    help="JSON results (default bench/results/<date>.json;"
                         " the plot goes next to it as <date>.png)")
    a = ap.parse_args(argv)
    if a.requests is None:
        a.requests = 10000 if a.full else 2000
    if a.peer_requests is None:
        a.peer_requests = 1500 if a.full else 300
    if a.open_seconds is None:
        a.open_seconds = 20.0 if a.full else 5.0
    if a.expiry_seconds is None:
        a.expiry_seconds = 60.0 if a.full else 25.0
    if a.deadline is None:
        a.deadline = 60.0 if a.full else 20.0
    try:
        a.concurrency = [int(x) for x in a.concurrency.split(",") if x.strip()]
        a.rates = [float(x) for x in a.rates.split(",") if x.strip()]
        a.peer_rates = [float(x) for x in a.peer_rates.split(",")
                        if x.strip()]
        a.idle_clients = sorted(int(x) for x in a.idle_clients.split(",")
                                if x.strip())
    except ValueError:
        ap.error("--concurrency and --rates: comma-separated numbers")
    if not a.concurrency or min(a.concurrency) < 1 or \
            max(a.concurrency) > 256:
        ap.error("--concurrency: levels between 1 and 256")
    if any(not 1 <= n <= 20000 for n in a.idle_clients):
        ap.error("--idle-clients: between 1 and 20000")
    if not 1 <= a.noisy_rate <= 100000 or not 1 <= a.noisy_slow_rate <= 200:
        ap.error("--noisy-rate 1..100000, --noisy-slow-rate 1..200 req/s")
    if any(not 1 <= r <= 100000 for r in a.rates + a.peer_rates):
        ap.error("--rates: between 1 and 100000 req/s")
    if not 1 <= a.requests <= 1_000_000:
        ap.error("--requests: between 1 and 1000000")
    if not 1 <= a.callgrind_requests <= 100_000:
        ap.error("--callgrind-requests: between 1 and 100000")
    if not 1 <= a.deadline <= 3600 or not 0 < a.open_seconds <= 600 or \
            not 0 <= a.expiry_seconds <= 600:
        ap.error("--deadline 1..3600 s, --open-seconds and --expiry-seconds"
                 " up to 600 s")
    a.scenarios = list(SCENARIOS) + ["noisy", "idle"]
    if a.only:
        a.scenarios = [x.strip() for x in a.only.split(",") if x.strip()]
        bad = [x for x in a.scenarios if x not in SCENARIOS and
               x not in EXTRA]
        if bad:
            ap.error(f"unknown scenario(s): {', '.join(bad)}")
        if "grant_expiry" not in a.only:
            a.expiry_seconds = 0
    return a


def main(argv):
    a = parse_args(argv)
    # The harness reads TG_BIN_DIR when harness.product is imported.
    os.environ["TG_BIN_DIR"] = a.bin_dir
    need = [pathlib.Path(a.bin_dir) / b for b in ("tenantgate-broker",
                                                  "tenantgate-forwarder")]
    need += [BENCH_BIN / "tg-upstream", BENCH_BIN / "tg-openloop"]
    for b in need:
        if not b.exists():
            sys.stderr.write(f"bench: {b} is not built (make all bench-bins)\n")
            return 2
    if not shutil.which("wrk"):
        sys.stderr.write("bench: wrk is not installed (scripts/deps --bench)\n")
        return 2
    sys.path.insert(0, str(REPO / "test"))
    from harness import runtime
    from harness import secrets as tg_secrets

    catch_signals(on_signal)
    nofile = raise_nofile()
    info = machine_info()
    info["rlimit_nofile"] = nofile
    info["loadavg_start"] = loadavg()
    b = None
    rc = 0
    t0 = time.monotonic()
    try:
        b = Bench(a)
        print(f"tenantgate bench: {info['nproc']} x {info['cpu_model']},"
              f" {info['mem_mib']} MiB, Linux {info['kernel']},"
              f" git {info['git_head']}, load average"
              f" {' '.join(info['loadavg_start'] or [])}", flush=True)
        print(f"closed loop: wrk, {a.requests} requests at concurrency 1,"
              f" {a.requests * 5} above; open loop: tg-openloop"
              f" {a.open_seconds:g} s at {','.join(f'{r:g}' for r in a.rates)}"
              " req/s, 64 connections; no CPU pinning (2 cores shared by"
              " load generator and servers)", flush=True)
        b.start()
        # The harness chained its own cleanup onto SIGTERM/SIGHUP when it
        # started; ours must run instead (the finally: below cleans up).
        catch_signals(on_signal)
        print(f"set-up {b.setup_s} s: upstream {b.upstream.url}, nginx"
              f" {b.nginx.url if b.nginx else '-'}, broker {b.broker.url},"
              f" forwarder {b.fwd.url}\n", flush=True)
        b.run_all()
        info["loadavg_end"] = loadavg()
        # Progress went to stderr; stdout gets the one table.
        print("\n" + report.summary(
            b.results, b.open_results, b.noisy, b.idle, b.expiry,
            report.target_rows(b.results, b.open_results, b.noisy,
                               b.idle)), flush=True)
        if a.callgrind:
            print(f"\nCallgrind: concurrency 1, {a.callgrind_requests}"
                  " requests per scenario after 10 warm-up requests",
                  flush=True)
            b.run_callgrind()
        elapsed = round(time.monotonic() - t0, 1)
        doc = {"machine": info, "elapsed_s": elapsed, "setup_s": b.setup_s,
               "config": {"requests": a.requests, "full": a.full,
                          "concurrency": a.concurrency, "rates": a.rates,
                          "open_seconds": a.open_seconds,
                          "forwarder": FWD_BENCH_CONFIG,
                          "scenarios": {k: (SCENARIOS[k][0] if k in
                                            SCENARIOS else EXTRA.get(k))
                                        for k in a.scenarios},
                          "bin_dir": a.bin_dir, "user": USER,
                          "tenant": TENANT, "jql": JQL},
               "closed_loop": b.results, "open_loop": b.open_results,
               "grant_expiry": b.expiry, "noisy_neighbour": b.noisy,
               "idle_clients": b.idle, "callgrind": b.callgrind,
               "targets": report.target_rows(b.results, b.open_results,
                                             b.noisy, b.idle),
               "side_by_side": report.table(b.results, b.open_results,
                                            b.expiry, a.concurrency),
               "grant_expiry_table": (report.expiry_table(b.expiry)
                                      if b.expiry else None)}
        out = pathlib.Path(a.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        png = out.with_suffix(".png")
        why = plot.draw(b.open_results, png,
                        f"tenantgate bench {info['date']}, git"
                        f" {info['git_head']}, {info['nproc']} cores, load"
                        f" {' '.join(info['loadavg_start'] or [])}")
        doc["plot"] = None if why else png.name
        print(f"plot: {why}" if why else f"plot: {png}", flush=True)
        out.write_text(json.dumps(doc, indent=2) + "\n")
        errors = sum(r["errors"] for r in b.results + b.open_results)
        print(f"\n{len(b.results) + len(b.open_results)} runs, {errors}"
              f" errors, {elapsed} s; load average now"
              f" {' '.join(info['loadavg_end'] or [])}; JSON in {out}",
              flush=True)
    except Interrupted as e:
        sys.stderr.write(f"\nbench: {e}: stopping\n")
        rc = 130
    except Exception as e:
        sys.stderr.write(f"bench: {type(e).__name__}: {e}\n")
        rc = 1
    finally:
        catch_signals(signal.SIG_IGN)
        if b is not None:
            b.close()
        runtime.cleanup()
        leaks = tg_secrets.report()
        if leaks:
            sys.stderr.write("bench: registered secrets found in logs:\n" +
                             "".join(f"  {h} in {w}\n" for w, h in leaks))
            rc = rc or 1
        catch_signals(signal.SIG_DFL)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
