"""Load engines: run one job (fixed request count, fixed concurrency) and
return one result dict.  Two engines, same job and result shapes:

- "python": bench/loadgen.py in its own process (threads + http.client,
  one keep-alive connection per thread).  Needs nothing extra.
- "wrk": the wrk HTTP benchmark (Debian package `wrk`) driven by a
  generated Lua script that counts responses, checks status and body, and
  stops each thread at its share of the request count.  wrk itself only
  knows durations, so `-d` is the deadline and the script says when every
  thread is done (one line each on stdout), after which wrk gets SIGINT and
  prints its summary.

A job (dict): host, port, method, path, headers, body, concurrency,
requests, warmup, timeout, deadline, keepalive, expect_status,
expect_body, and optionally vary_header / vary_prefix / vary_values_file
(a file with one value per line: every request gets a value of its own).
"""

import json
import math
import os
import pathlib
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
LOADGEN = HERE / "loadgen.py"


class EngineError(RuntimeError):
    pass


class PythonEngine:
    name = "python"

    def __init__(self):
        self.child = None

    def values_needed(self, job):
        return int(job.get("warmup", 0)) + int(job["requests"])

    def run(self, job):
        self.child = subprocess.Popen(
            [sys.executable, str(LOADGEN)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            out, err = self.child.communicate(
                json.dumps(job), timeout=2 * float(job["deadline"]) + 60)
        except subprocess.TimeoutExpired:
            self.kill()
            raise EngineError("loadgen did not finish in time")
        rc = self.child.returncode
        self.child = None
        if rc != 0:
            raise EngineError(f"loadgen exited {rc}: {err.strip()[-500:]}")
        r = json.loads(out)
        r["engine"] = self.name
        return r

    def kill(self):
        c, self.child = self.child, None
        if c is not None and c.poll() is None:
            c.kill()
            c.wait()


def lua_str(s):
    """A Lua string literal for s (bytes outside printable ASCII escaped)."""
    out = []
    for b in s.encode():
        c = chr(b)
        out.append(c if 32 <= b < 127 and c not in '"\\' else "\\%03d" % b)
    return '"' + "".join(out) + '"'


WRK_SCRIPT = r"""
local threads = {}
local nthreads = 0

function setup(thread)
  thread:set("tid", nthreads)
  nthreads = nthreads + 1
  table.insert(threads, thread)
end

function init(args)
  done_n, bad_body, bad_status, said = 0, 0, 0, false
  wrk.method = CFG.method
  wrk.path = CFG.path
  -- HTTP/1.1 needs Host; wrk's own default carries it
  CFG.headers["Host"] = CFG.headers["Host"] or wrk.headers["Host"]
  wrk.headers = CFG.headers
  wrk.body = CFG.body
  if CFG.values_file then
    values, vi = {}, 0
    local i = 0
    for line in io.lines(CFG.values_file) do
      if i >= CFG.offset and (i - CFG.offset) % CFG.threads == tid then
        table.insert(values, line)
      end
      i = i + 1
    end
  else
    req = wrk.format()
  end
end

function request()
  if values then
    vi = vi + 1
    local v = values[vi] or values[#values]
    if CFG.vary_body then
      -- the value goes into the body where the template says @V@
      local a, b = string.find(CFG.body, "@V@", 1, true)
      return wrk.format(nil, nil, nil,
                        string.sub(CFG.body, 1, a - 1) .. v ..
                        string.sub(CFG.body, b + 1))
    end
    local h = {}
    for k, hv in pairs(CFG.headers) do h[k] = hv end
    h[CFG.vary_header] = CFG.vary_prefix .. v
    return wrk.format(nil, nil, h)
  end
  return req
end

function response(status, headers, body)
  if said then return end
  done_n = done_n + 1
  if status ~= CFG.expect_status then
    bad_status = bad_status + 1
  elseif CFG.expect_body and not string.find(body, CFG.expect_body, 1, true) then
    bad_body = bad_body + 1
  end
  if done_n >= CFG.quota then
    said = true
    io.write("TGDONE\n")
    io.stdout:flush()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local n, bb, bs = 0, 0, 0
  for _, t in ipairs(threads) do
    n = n + t:get("done_n")
    bb = bb + t:get("bad_body")
    bs = bs + t:get("bad_status")
  end
  local e = summary.errors
  io.write(string.format(
    'TGRESULT {"completed":%d,"bad_body":%d,"bad_status":%d,' ..
    '"duration_us":%d,"err_connect":%d,"err_read":%d,"err_write":%d,' ..
    '"err_timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f,"bytes":%d}\n',
    n, bb, bs, summary.duration, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean, summary.bytes))
  io.stdout:flush()
end
"""


class WrkEngine:
    name = "wrk"

    def __init__(self, wrk=None):
        self.wrk = wrk or shutil.which("wrk")
        self.child = None
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="tgbench-wrk-"))
        self.ncpu = os.cpu_count() or 1

    def threads(self, conc):
        return max(1, min(int(conc), self.ncpu))

    def values_needed(self, job):
        t = self.threads(job["concurrency"])
        need = 0
        for n in (int(job.get("warmup", 0)), int(job["requests"])):
            need += t * math.ceil(n / t) if n else 0
        return need

    def _script(self, job, n, offset):
        t = self.threads(job["concurrency"])
        headers = dict(job.get("headers") or {})
        if not job.get("keepalive", True):
            headers["Connection"] = "close"
        body = job.get("body")
        cfg = ["CFG = {",
               f"  method = {lua_str(job['method'])},",
               f"  path = {lua_str(job['path'])},",
               "  headers = {" + ", ".join(
                   f"[{lua_str(k)}] = {lua_str(str(v))}"
                   for k, v in headers.items()) + "},",
               f"  body = {lua_str(body) if body is not None else 'nil'},",
               f"  expect_status = {int(job.get('expect_status', 200))},",
               "  expect_body = " + (lua_str(job["expect_body"])
                                     if job.get("expect_body") else "nil") +
               ",",
               f"  quota = {math.ceil(n / t)},",
               f"  threads = {t},",
               f"  offset = {int(offset)},"]
        if job.get("vary_values_file"):
            cfg += [f"  values_file = {lua_str(job['vary_values_file'])},",
                    f"  vary_body = {'true' if job.get('vary_body') else 'false'},",
                    f"  vary_header = {lua_str(job.get('vary_header', ''))},",
                    f"  vary_prefix = {lua_str(job.get('vary_prefix', ''))},"]
        cfg.append("}")
        p = self.tmp / f"job-{time.monotonic_ns()}.lua"
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(cfg) + "\n" + WRK_SCRIPT)
        return p

    def _phase(self, job, n, offset):
        t = self.threads(job["concurrency"])
        conc = max(int(job["concurrency"]), t)
        deadline = float(job["deadline"])
        script = self._script(job, n, offset)
        url = f"http://{job['host']}:{job['port']}"
        argv = [self.wrk, "-t", str(t), "-c", str(conc),
                "-d", f"{max(1, math.ceil(deadline))}s",
                "--timeout", f"{max(1, math.ceil(job.get('timeout', 30)))}s",
                "-s", str(script), url]
        try:
            self.child = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE)
            result, done, buf = None, 0, b""
            end = time.monotonic() + deadline + 30
            fd = self.child.stdout.fileno()
            while time.monotonic() < end:
                ready, _, _ = select.select([fd], [], [], 0.5)
                if not ready:
                    if self.child.poll() is not None:
                        break
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    line = line.decode(errors="replace").strip()
                    if line == "TGDONE":
                        done += 1
                        if done == t:       # every thread has its share
                            self.child.send_signal(signal.SIGINT)
                    elif line.startswith("TGRESULT "):
                        result = json.loads(line[len("TGRESULT "):])
            if self.child.poll() is None:
                try:
                    self.child.wait(timeout=max(1.0, end - time.monotonic()))
                except subprocess.TimeoutExpired:
                    self.kill()
                    raise EngineError("wrk did not finish in time")
            err = self.child.stderr.read().decode(errors="replace")
            rc = self.child.returncode
            self.child = None
        finally:
            os.unlink(script)
        if result is None:
            raise EngineError(f"wrk exited {rc} without a result:"
                              f" {err.strip()[-500:]}")
        return result

    def run(self, job):
        warm = int(job.get("warmup", 0))
        n = int(job["requests"])
        off = int(job.get("vary_offset", 0))
        t = self.threads(job["concurrency"])
        if warm:
            self._phase(job, warm, off)
            off += t * math.ceil(warm / t)
        w = self._phase(job, n, off)
        errors = {}
        for k in ("connect", "read", "write", "timeout"):
            if w[f"err_{k}"]:
                errors[k] = w[f"err_{k}"]
        closes = None
        if not job.get("keepalive", True):
            # The harness's servers close after answering a request that
            # said Connection: close without saying so in the answer; wrk
            # then finds the connection gone when it sends the next request
            # (a "read error") and reconnects.  Those are the closes asked
            # for, not failed requests (every response is counted above).
            closes = errors.pop("read", 0)
        if w["bad_status"]:
            errors["bad_status"] = w["bad_status"]
        if w["bad_body"]:
            errors["unexpected_body"] = w["bad_body"]
        completed = w["completed"]
        nerr = sum(errors.values())
        wall = w["duration_us"] / 1e6
        ms = lambda us: round(us / 1000.0, 3)  # noqa: E731
        return {
            "engine": self.name, "requests": n, "completed": completed,
            "ok": max(0, completed - w["bad_status"] - w["bad_body"]),
            "errors": nerr, "error_kinds": errors,
            "truncated": completed < n,
            "concurrency": int(job["concurrency"]),
            "keepalive": bool(job.get("keepalive", True)),
            "wall_s": round(wall, 4),
            "rps": round(completed / wall, 1) if wall > 0 else None,
            "p50_ms": ms(w["p50_us"]), "p90_ms": ms(w["p90_us"]),
            "p99_ms": ms(w["p99_us"]), "p999_ms": ms(w["p999_us"]),
            "max_ms": ms(w["max_us"]),
            "mean_ms": ms(w["mean_us"]),
            # response size incl. headers (wrk counts every byte read)
            "bytes_per_resp": (round(w["bytes"] / completed)
                               if completed else None),
            "server_closes": closes,
        }

    def kill(self):
        c, self.child = self.child, None
        if c is not None and c.poll() is None:
            c.kill()
            c.wait()

    def close(self):
        self.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)


def make_engine(name):
    """'auto' = wrk when installed, else python."""
    if name == "wrk" or (name == "auto" and shutil.which("wrk")):
        if not shutil.which("wrk"):
            raise EngineError("wrk is not installed (Debian package wrk)")
        return WrkEngine()
    return PythonEngine()
