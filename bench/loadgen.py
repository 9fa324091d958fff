#!/usr/bin/env python3
"""Bounded HTTP load generator: fixed request count, fixed concurrency.

Runs as its own process (so its threads do not share a GIL with the
in-process stand-ins of the harness), reads one JSON job on stdin and
writes one JSON result on stdout:

    {"host": "127.0.0.1", "port": 8190, "concurrency": 8, "requests": 2000,
     "warmup": 50, "timeout": 30, "deadline": 60, "keepalive": true,
     "method": "POST", "path": "/mcp", "headers": {...}, "body": "...",
     "expect_status": 200, "expect_body": "\"isError\":false",
     "vary_header": "Authorization", "vary_values_file": "/tmp/tokens",
     "vary_prefix": "Bearer "}

Every loop is bounded: `requests` measured requests (plus `warmup`
unmeasured ones), each with a socket timeout, and no new request starts
after `deadline` seconds (the result then says "truncated").  One
http.client connection per thread, kept alive unless keepalive is false
(then every request opens a new TCP connection, as an HTTP client without
a connection pool does).  Requests are handed out from one shared counter,
so the threads finish together.

With vary_values_file, request i uses line i of that file (warm-up first,
then the measured ones; vary_offset skips lines) as the value of vary_header: every request then
carries a value never seen before (a fresh user token, for the cold path).
"""

import http.client
import itertools
import json
import math
import sys
import threading
import time


def percentile(sorted_vals, p):
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_vals:
        return None
    k = max(0, min(len(sorted_vals) - 1,
                   math.ceil(p / 100.0 * len(sorted_vals)) - 1))
    return sorted_vals[k]


class Worker(threading.Thread):
    def __init__(self, job, counter, limit, start_evt, deadline_at, values,
                 value_offset):
        super().__init__(daemon=True)
        self.job = job
        self.counter = counter
        self.limit = limit
        self.start_evt = start_evt
        self.deadline_at = deadline_at
        self.values = values
        self.value_offset = value_offset
        self.lat = []
        self.errors = {}
        self.conn = None
        self.last_end = 0.0

    def _conn(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(
                self.job["host"], self.job["port"],
                timeout=self.job.get("timeout", 30))
        return self.conn

    def _drop(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except OSError:
                pass
            self.conn = None

    def _err(self, kind):
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def one(self, i, headers, body):
        job = self.job
        if self.values is not None:
            headers = dict(headers)
            headers[job["vary_header"]] = job.get("vary_prefix", "") + \
                self.values[self.value_offset + i]
        t0 = time.perf_counter()
        try:
            c = self._conn()
            c.request(job["method"], job["path"], body=body, headers=headers)
            r = c.getresponse()
            data = r.read()
            status = r.status
            close = r.will_close or not job.get("keepalive", True)
        except (OSError, http.client.HTTPException) as e:
            t1 = time.perf_counter()
            self._drop()
            self._err(type(e).__name__)
            return t1 - t0, False
        t1 = time.perf_counter()
        if close:
            self._drop()
        if status != job.get("expect_status", 200):
            self._err(f"http_{status}")
            return t1 - t0, False
        want = job.get("expect_body")
        if want and want.encode() not in data:
            self._err("unexpected_body")
            return t1 - t0, False
        return t1 - t0, True

    def run(self):
        job = self.job
        headers = dict(job.get("headers") or {})
        body = job.get("body")
        body = body.encode() if isinstance(body, str) else body
        if body is not None:
            headers.setdefault("Content-Length", str(len(body)))
        if not job.get("keepalive", True):
            headers["Connection"] = "close"
        self.start_evt.wait()
        try:
            while True:
                i = next(self.counter)    # atomic under the GIL
                if i >= self.limit or time.monotonic() > self.deadline_at:
                    break
                dt, ok = self.one(i, headers, body)
                self.last_end = time.perf_counter()
                if ok:
                    self.lat.append(dt)
        finally:
            self._drop()


def phase(job, n, values, value_offset, deadline_s):
    conc = max(1, int(job["concurrency"]))
    counter = itertools.count()
    start = threading.Event()
    deadline_at = time.monotonic() + deadline_s
    workers = [Worker(job, counter, n, start, deadline_at, values,
                      value_offset) for _ in range(conc)]
    for w in workers:
        w.start()
    t0 = time.perf_counter()
    start.set()
    for w in workers:
        w.join()
    t1 = max([w.last_end for w in workers] + [t0])
    return workers, t1 - t0


def run(job):
    n = int(job["requests"])
    warm = int(job.get("warmup", 0))
    values = None
    if job.get("vary_values_file"):
        with open(job["vary_values_file"]) as f:
            values = [ln.strip() for ln in f if ln.strip()]
    off = int(job.get("vary_offset", 0))
    if values is not None and len(values) < off + warm + n:
        raise SystemExit(f"loadgen: {len(values)} values for"
                         f" {off + warm + n} requests")
    deadline = float(job.get("deadline", 120))
    if warm:
        phase(job, warm, values, off, deadline)
    workers, wall = phase(job, n, values, off + warm, deadline)
    lat = sorted(x for w in workers for x in w.lat)
    errors = {}
    for w in workers:
        for k, v in w.errors.items():
            errors[k] = errors.get(k, 0) + v
    done = len(lat) + sum(errors.values())
    ms = lambda v: None if v is None else round(v * 1000.0, 3)  # noqa: E731
    return {
        "requests": n,
        "completed": done,
        "ok": len(lat),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "truncated": done < n,
        "concurrency": int(job["concurrency"]),
        "keepalive": bool(job.get("keepalive", True)),
        "wall_s": round(wall, 4),
        "rps": round(done / wall, 1) if wall > 0 else None,
        "p50_ms": ms(percentile(lat, 50)),
        "p90_ms": ms(percentile(lat, 90)),
        "p99_ms": ms(percentile(lat, 99)),
        "p999_ms": ms(percentile(lat, 99.9)),
        "max_ms": ms(lat[-1] if lat else None),
        "mean_ms": ms(sum(lat) / len(lat) if lat else None),
    }


def main():
    job = json.load(sys.stdin)
    json.dump(run(job), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
