#!/usr/bin/env python3
"""tenantgate benchmarks: one run, loopback only, every loop bounded.

Starts the test stack (PostgreSQL, OpenBao, TokenReview/OIDC stand-ins, the
fake Atlassian) and the release binaries of the broker and the forwarder,
drives each scenario with a fixed number of requests at fixed concurrency
levels, and reports throughput, latency percentiles, errors, CPU time per
request of every process involved, and ratios between scenarios measured
in the same run.  Method and numbers: docs/benchmarks.md.

    bench/run                   full run (about 2 minutes on 2 cores)
    bench/run --quick           smoke run (about 15 s)
    bench/run --callgrind       also: instructions per request under callgrind
"""

import argparse
import base64
import json
import os
import pathlib
import platform
import resource
import secrets as pysecrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import cg       # noqa: E402
import engines  # noqa: E402
import report   # noqa: E402

DEFAULT_OUT = REPO / "build" / "bench" / "results.json"

USER = "alice@example.com"      # member of google (editor)
TENANT = "google"
JQL = "project = GOOG"
MCP_HEADERS = {"Content-Type": "application/json",
               "Accept": "application/json, text/event-stream",
               "MCP-Protocol-Version": "2025-11-25"}

# name -> (what it measures, share of --requests it gets).
SCENARIOS = {
    "direct":          ("fake Atlassian directly: GET search/jql with the"
                        " tenant's Basic auth, keep-alive (the baseline)", 1.0),
    "direct_newconn":  ("the same, a new TCP connection per request (as the"
                        " forwarder connects upstream)", 1.0),
    "fwd_health":      ("forwarder GET /health (its HTTP layer alone)", 1.0),
    "openapi_execute": ("forwarder POST /tools/google/jira_search/execute,"
                        " warm grant cache", 1.0),
    "mcp_call":        ("forwarder POST /mcp tools/call google__jira_search,"
                        " warm grant cache", 1.0),
    "mcp_list":        ("forwarder POST /mcp tools/list, warm grant cache",
                        1.0),
    "broker_grants":   ("broker POST /v1/grants, warm membership cache", 1.0),
    "broker_redeem":   ("broker POST /v1/redeem, warm Vault cache", 1.0),
    "cold_execute":    ("forwarder execute with a new user token every"
                        " request: broker /v1/grants (identity check) +"
                        " /v1/redeem + upstream", 0.4),
}
CALLGRIND = [("forwarder", ["fwd_health", "mcp_list", "openapi_execute",
                            "mcp_call", "cold_execute"]),
             ("broker", ["broker_grants", "broker_redeem"])]


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
            "wrk": shutil.which("wrk"), "valgrind": shutil.which("valgrind"),
            "git_head": head, "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}


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
    """(ppid, utime + stime, stime) of a process and all its threads, in
    seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        user, sys_ = int(fields[11]) / TICK, int(fields[12]) / TICK
        return int(fields[1]), user + sys_, sys_
    except (OSError, IndexError, ValueError):
        return None, None, None


def children_of(ppid):
    out = []
    for e in os.listdir("/proc"):
        if e.isdigit() and proc_stat(int(e))[0] == ppid:
            out.append(int(e))
    return out


class CpuMeter:
    """CPU seconds used between start() and stop() by: the daemons, the
    PostgreSQL server (postmaster and its backends), OpenBao, this process
    (the in-process Python stand-ins: fake Atlassian, OIDC, TokenReview)
    and the load generator (a waited-for child)."""

    def __init__(self, pids, pg_pidfile=None):
        self.pids = pids            # name -> pid
        self.pg_pidfile = pg_pidfile

    def _pg(self):
        try:
            with open(self.pg_pidfile) as f:
                pm = int(f.readline())
        except (OSError, ValueError, TypeError):
            return {}
        return {p: proc_stat(p)[1] for p in [pm] + children_of(pm)}

    def _now(self):
        ch = resource.getrusage(resource.RUSAGE_CHILDREN)
        v = {}
        for name, pid in self.pids.items():
            _, v[name], v[name + "_sys"] = proc_stat(pid)
        v["standins"] = time.process_time()
        v["client"] = ch.ru_utime + ch.ru_stime
        return v, self._pg()

    def start(self):
        self.a, self.pg_a = self._now()

    def stop(self):
        b, pg_b = self._now()
        out = {k: (round(b[k] - self.a[k], 3)
                   if b[k] is not None and self.a[k] is not None else None)
               for k in b}
        both = [p for p in pg_b if p in self.pg_a and pg_b[p] is not None
                and self.pg_a[p] is not None]
        out["postgres"] = round(sum(pg_b[p] - self.pg_a[p] for p in both), 3) \
            if both else None
        return out


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


def hostport(url):
    u = urllib.parse.urlsplit(url)
    return u.hostname, u.port


class Bench:
    def __init__(self, args):
        self.args = args
        self.engine = engines.make_engine(args.engine)
        self.py_engine = engines.PythonEngine()
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="tgbench-"))
        self.results = []
        self.callgrind = []
        self.rss_start = self.rss_end = {}
        self.startup_s = None

    def start(self):
        from harness import Stack
        from harness.product import Tenantgate
        t0 = time.monotonic()
        self.s = Stack().start()
        self.tg = Tenantgate(self.s)
        self.tg.migrate()
        self.tg.seed_demo()
        self.broker = self.tg.start_broker(name="bench-broker")
        self.fwd = self.tg.start_forwarder(self.broker, name="bench-forwarder", user_rate=0, tenant_rate=0)
        self.startup_s = round(time.monotonic() - t0, 2)
        for standin in (self.s.atlassian, self.s.oidc, self.s.tokenreview):
            quiet_resets(standin)
        self.token = self.tg.user_token(USER)
        cred = self.s.atlassian.credentials(TENANT)
        self.basic = "Basic " + base64.b64encode(
            f"{cred['email']}:{cred['api_token']}".encode()).decode()
        self.rss_start = self.rss()
        bao = getattr(getattr(self.s.bao, "proc", None), "pid", None)
        pids = {"forwarder": self.fwd.pid, "broker": self.broker.pid}
        if bao:
            pids["openbao"] = bao
        self.meter = CpuMeter(pids, os.path.join(self.s.pg.datadir,
                                                 "postmaster.pid"))

    def rss(self):
        return {"forwarder": proc_status(self.fwd.pid),
                "broker": proc_status(self.broker.pid)}

    def mint_tokens(self, n):
        """n distinct user tokens (a random jti each), one per line."""
        p = self.tmp / f"tokens-{time.monotonic_ns()}"
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            for _ in range(n):
                f.write(self.tg.user_token(
                    USER, jti=pysecrets.token_hex(8)) + "\n")
        return p

    def fresh_grant(self, broker_url):
        import requests
        r = requests.post(broker_url + "/v1/grants", timeout=30,
                          json={"assertion": self.token, "tenants": [TENANT]},
                          headers={"Authorization":
                                   "Bearer " + self.tg.caller_secret})
        r.raise_for_status()
        return r.json()["grants"][0]["token"]

    # -- what each scenario sends

    def job(self, name, fwd_url=None, broker_url=None):
        fh, fp = hostport(fwd_url or self.fwd.url)
        broker_url = broker_url or self.broker.url
        bh, bp = hostport(broker_url)
        user = {"Authorization": "Bearer " + self.token}
        execute = {"host": fh, "port": fp, "method": "POST",
                   "path": f"/tools/{TENANT}/jira_search/execute",
                   "body": json.dumps({"jql": JQL}),
                   "headers": {**user, "Content-Type": "application/json"},
                   "expect_body": "GOOG-5"}
        caller = {"Authorization": "Bearer " + self.tg.caller_secret,
                  "Content-Type": "application/json"}
        if name in ("direct", "direct_newconn"):
            h, p = hostport(self.s.atlassian.url)
            query = urllib.parse.urlencode({
                "jql": JQL, "maxResults": "20",
                "fields": "summary,status,assignee,updated,priority,issuetype"})
            return {"host": h, "port": p, "method": "GET",
                    "path": f"/t/{TENANT}/rest/api/3/search/jql?{query}",
                    "headers": {"Authorization": self.basic,
                                "Accept": "application/json"},
                    "expect_body": "GOOG-5", "keepalive": name == "direct"}
        if name == "fwd_health":
            return {"host": fh, "port": fp, "method": "GET",
                    "path": "/health", "headers": {}}
        if name == "openapi_execute":
            return execute
        if name == "cold_execute":
            return {**execute, "headers": {"Content-Type": "application/json"},
                    "vary_header": "Authorization", "vary_prefix": "Bearer "}
        if name in ("mcp_call", "mcp_list"):
            msg = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
            want = f"{TENANT}__jira_search"
            if name == "mcp_call":
                msg = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": {"name": f"{TENANT}__jira_search",
                                  "arguments": {"jql": JQL}}}
                want = '"isError":false'
            return {"host": fh, "port": fp, "method": "POST", "path": "/mcp",
                    "headers": {**user, **MCP_HEADERS},
                    "body": json.dumps(msg), "expect_body": want}
        if name == "broker_grants":
            return {"host": bh, "port": bp, "method": "POST",
                    "path": "/v1/grants", "headers": caller,
                    "body": json.dumps({"assertion": self.token,
                                        "tenants": [TENANT]}),
                    "expect_body": '"grants"'}
        if name == "broker_redeem":
            return {"host": bh, "port": bp, "method": "POST",
                    "path": "/v1/redeem", "headers": caller,
                    "body": json.dumps({"grant": self.fresh_grant(broker_url),
                                        "integration": "jira"}),
                    "expect_body": '"credential"'}
        raise ValueError(name)

    # -- load runs

    def run_one(self, name, conc, n):
        job = self.job(name)
        warm = min(100, max(5, n // 20))
        job.update(concurrency=conc, requests=n, warmup=warm,
                   timeout=self.args.timeout, deadline=self.args.deadline)
        if "vary_header" in job:
            job["vary_values_file"] = str(self.mint_tokens(
                self.engine.values_needed(job)))
        self.s.atlassian.reset_calls()
        self.meter.start()
        try:
            r = self.engine.run(job)
        finally:
            cpu = self.meter.stop()
            if "vary_values_file" in job:
                os.unlink(job["vary_values_file"])
        total = r["completed"] + warm
        r.update(scenario=name, warmup=warm, cpu_s=cpu, rss_kb_after={
                     k: v.get("VmRSS") for k, v in self.rss().items()},
                 cpu_us_per_req={k: (round(v * 1e6 / total)
                                     if v is not None and total else None)
                                 for k, v in cpu.items()
                                 if not k.endswith("_sys")})
        return r

    def run_all(self):
        a = self.args
        for name in a.scenarios:
            n = max(10, int(a.requests * SCENARIOS[name][1]))
            for conc in a.concurrency:
                r = self.run_one(name, conc, n)
                self.results.append(r)
                print(report.row(r), flush=True)
                if not (self.fwd.running and self.broker.running):
                    raise RuntimeError("a daemon exited during the run;"
                                       " see its log")
        self.rss_end = self.rss()

    # -- callgrind

    def _under_callgrind(self, program, outdir):
        from harness.proc import Proc, free_port
        from harness.product import binary
        port = free_port()
        name = f"bench-{program}-cg"
        if program == "forwarder":
            conf = self.tg._write(f"{name}.conf",
                                  self.tg.forwarder_config(port, self.broker, user_rate=0, tenant_rate=0))
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
                    job = self.job(name, **urls)
                    n = a.callgrind_requests
                    job.update(concurrency=1, timeout=60, deadline=600,
                               warmup=0)
                    if "vary_header" in job:
                        job["vary_values_file"] = str(self.mint_tokens(10 + n))
                    self.py_engine.run(dict(job, requests=10))   # warm up
                    before = set(outdir.iterdir())
                    subprocess.run([ctl, "-z", str(p.pid)], check=True,
                                   capture_output=True, timeout=60)
                    r = self.py_engine.run(dict(job, requests=n,
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
        if hasattr(self.engine, "close"):
            self.engine.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


# ---- main ---------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="bench/run", description=__doc__.split("\n\n")[0],
        epilog="scenarios:\n" + "\n".join(
            f"  {k:16s} {v[0]}" for k, v in SCENARIOS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 500 requests per run (about 15 s)")
    ap.add_argument("--requests", type=int, default=None,
                    help="measured requests per run (default 3000; 500 with"
                         " --quick); cold_execute gets 40%% of it")
    ap.add_argument("--concurrency", default="1,8,32",
                    help="comma-separated levels (default 1,8,32)")
    ap.add_argument("--only", default=None,
                    help="comma-separated scenarios (default: all)")
    ap.add_argument("--engine", choices=("auto", "python", "wrk"),
                    default="auto",
                    help="load generator: wrk if installed (auto), or the"
                         " built-in Python one")
    ap.add_argument("--timeout", type=float, default=30.0,
                    help="per-request timeout, s (default 30)")
    ap.add_argument("--deadline", type=float, default=None,
                    help="no new request after this many s of one run"
                         " (default 60; 15 with --quick)")
    ap.add_argument("--callgrind", action="store_true",
                    help="also run the forwarder and the broker under"
                         " valgrind --tool=callgrind and report instructions"
                         " per request (concurrency 1)")
    ap.add_argument("--callgrind-requests", type=int, default=None,
                    help="requests per callgrind scenario (default 200; 30"
                         " with --quick)")
    ap.add_argument("--callgrind-top", type=int, default=12,
                    help="functions kept per callgrind scenario (JSON)")
    ap.add_argument("--bin-dir", default=str(REPO / "build" / "rel" / "bin"),
                    help="where the daemons are (default build/rel/bin)")
    ap.add_argument("--out", default=str(DEFAULT_OUT),
                    help="JSON results (default build/bench/results.json)")
    a = ap.parse_args(argv)
    if a.requests is None:
        a.requests = 500 if a.quick else 3000
    if a.callgrind_requests is None:
        a.callgrind_requests = 30 if a.quick else 200
    if a.deadline is None:
        a.deadline = 15.0 if a.quick else 60.0
    try:
        a.concurrency = [int(x) for x in a.concurrency.split(",")
                         if x.strip()]
    except ValueError:
        ap.error("--concurrency: comma-separated integers")
    if not a.concurrency or min(a.concurrency) < 1 or \
            max(a.concurrency) > 256:
        ap.error("--concurrency: levels between 1 and 256")
    if not 1 <= a.requests <= 1_000_000:
        ap.error("--requests: between 1 and 1000000")
    if not 1 <= a.callgrind_requests <= 100_000:
        ap.error("--callgrind-requests: between 1 and 100000")
    if not 1 <= a.deadline <= 3600:
        ap.error("--deadline: between 1 and 3600 s")
    a.scenarios = list(SCENARIOS)
    if a.only:
        a.scenarios = [x.strip() for x in a.only.split(",") if x.strip()]
        bad = [x for x in a.scenarios if x not in SCENARIOS]
        if bad:
            ap.error(f"unknown scenario(s): {', '.join(bad)}")
    return a


def main(argv):
    a = parse_args(argv)
    # The harness reads TG_BIN_DIR when harness.product is imported.
    os.environ["TG_BIN_DIR"] = a.bin_dir
    for b in ("tenantgate-broker", "tenantgate-forwarder"):
        if not (pathlib.Path(a.bin_dir) / b).exists():
            sys.stderr.write(f"bench: {a.bin_dir}/{b} is not built (make)\n")
            return 2
    sys.path.insert(0, str(REPO / "test"))
    from harness import runtime
    from harness import secrets as tg_secrets

    catch_signals(on_signal)
    info = machine_info()
    b = None
    rc = 0
    t0 = time.monotonic()
    try:
        b = Bench(a)
        info["engine"] = b.engine.name
        print(f"tenantgate bench: {info['nproc']} x {info['cpu_model']},"
              f" {info['mem_mib']} MiB, Linux {info['kernel']},"
              f" Python {info['python']}, git {info['git_head']}", flush=True)
        print(f"engine {b.engine.name}; binaries {a.bin_dir}; {a.requests}"
              f" requests per run (cold_execute"
              f" {int(a.requests * SCENARIOS['cold_execute'][1])}),"
              f" concurrency {','.join(map(str, a.concurrency))}", flush=True)
        b.start()
        # The harness chained its own cleanup onto SIGTERM/SIGHUP when it
        # started; ours must run instead (the finally: below cleans up).
        catch_signals(on_signal)
        print(f"stack up in {b.startup_s} s: broker {b.broker.url},"
              f" forwarder {b.fwd.url}\n", flush=True)
        print(report.HDR, flush=True)
        b.run_all()
        rows = report.ratios(b.results, a.concurrency)
        print("\n" + report.cpu_table(b.results))
        print("\n" + report.ratio_table(rows))
        print("\n" + report.rss_table(b.rss_start, b.rss_end), flush=True)
        if a.callgrind:
            print(f"\nCallgrind: concurrency 1, {a.callgrind_requests}"
                  " requests per scenario after 10 warm-up requests",
                  flush=True)
            b.run_callgrind()
        elapsed = round(time.monotonic() - t0, 1)
        doc = {"machine": info, "elapsed_s": elapsed,
               "startup_s": b.startup_s,
               "config": {"requests": a.requests, "quick": a.quick,
                          "concurrency": a.concurrency,
                          "engine": b.engine.name,
                          "scenarios": {k: SCENARIOS[k][0]
                                        for k in a.scenarios},
                          "bin_dir": a.bin_dir, "user": USER,
                          "tenant": TENANT, "jql": JQL},
               "results": b.results, "ratios": rows,
               "rss_kb": {"start": b.rss_start, "end": b.rss_end},
               "callgrind": b.callgrind}
        out = pathlib.Path(a.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(doc, indent=2) + "\n")
        errors = sum(r["errors"] for r in b.results)
        print(f"\n{len(b.results)} runs, {errors} errors, {elapsed} s;"
              f" JSON in {out}", flush=True)
        if errors or any(r["truncated"] for r in b.results):
            rc = 1
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
