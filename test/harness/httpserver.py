"""In-process HTTP stand-ins: a threaded server in a background thread.

StandIn is the base of the TokenReview, Atlassian and OIDC stand-ins: it
owns a temp dir with an access log (method, path, status: never headers or
bodies), a loopback port (0 = pick one; restarts keep it), and stop() that
also cuts open keep-alive connections so a stopped stand-in really stops
answering.  Subclasses set `Handler` to a JsonHandler subclass.
"""

import json
import socket
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import runtime


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, handler, standin):
        self.standin = standin
        self.conns = set()
        self.conns_lock = threading.Lock()
        super().__init__(addr, handler)


class JsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True     # headers and body are two writes
    server_version = "tgtest"
    sys_version = ""

    # ---- plumbing --------------------------------------------------------

    def setup(self):
        super().setup()
        with self.server.conns_lock:
            self.server.conns.add(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            with self.server.conns_lock:
                self.server.conns.discard(self.connection)

    @property
    def standin(self):
        return self.server.standin

    def log_message(self, fmt, *args):
        self.standin._log(fmt % args)

    def log_request(self, code="-", size="-"):
        # request line without the query string: queries may carry JQL etc.
        # but never secrets; still, keep the access log minimal.
        path = self.path.split("?", 1)[0]
        self.standin._log(f"{self.command} {path} {code}")

    def _split(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        return u.path, {k: v[0] if len(v) == 1 else v for k, v in q.items()}

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def read_json(self):
        raw = self.read_body()
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return None

    def send_json(self, status, obj=None, headers=None):
        body = b"" if obj is None else json.dumps(obj).encode()
        self.send_response(status)
        if obj is not None:
            self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    def do_PATCH(self):
        self.dispatch()

    def dispatch(self):
        self.send_json(404, {"error": "not found"})


class StandIn:
    """In-process stand-in: start()/stop()/close(), .url, .log_path."""

    name = "standin"
    Handler = JsonHandler

    def __init__(self, port=None):
        self.port = port
        self.dir = runtime.make_tempdir(self.name)
        self.log_path = runtime.add_log(f"{self.dir}/{self.name}.log")
        self._logf = open(self.log_path, "a", buffering=1)
        self._loglock = threading.Lock()
        self._server = None
        self._thread = None
        self._closing = threading.Event()   # set while stopped: ends hangs
        self._closed = False
        runtime.register(self)

    def __repr__(self):
        return f"<{type(self).__name__} {self.url if self.port else '-'}>"

    def _log(self, line):
        with self._loglock:
            if not self._logf.closed:
                self._logf.write(f"{time.strftime('%H:%M:%S')} {line}\n")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self):
        return self._server is not None

    def start(self):
        if self._server is not None:
            return self
        if self._closed:
            raise RuntimeError(f"{self.name}: start() after close()")
        self._closing.clear()
        self._server = _Server(("127.0.0.1", self.port or 0), self.Handler,
                               self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"{self.name}:{self.port}", daemon=True)
        self._thread.start()
        self._log(f"listening on {self.url}")
        return self

    def stop(self):
        srv = self._server
        if srv is None:
            return
        self._server = None
        self._closing.set()
        srv.shutdown()
        srv.server_close()
        with srv.conns_lock:
            conns = list(srv.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(5)
        self._log("stopped")

    def close(self):
        if self._closed:
            return
        self._closed = True
        self.stop()
        with self._loglock:
            self._logf.close()
        runtime.unregister(self)
        runtime.remove_tempdir(self.dir)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
