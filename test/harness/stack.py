"""The whole test stack in one object, for pytest and for `make demo`.

    with Stack() as s:                # or s = Stack().start() ... s.stop()
        s.pg.dsn, s.bao.addr, s.atlassian.base_url("google"), s.oidc.issuer
        s.seed_vault()                # tenant keys -> KV v2
        token_file = s.k8s_identity("broker", policies=["tenantgate-broker"])

Components may be passed in already built (pytest hands over its
session-scoped ones); start() starts only what is not running yet and
stop() stops in reverse order.  PostgreSQL and OpenBao start in parallel.
"""

import threading

from . import runtime
from .atlassian import FakeAtlassian
from .bao import OpenBao
from .oidc import OidcIssuer
from .pg import Postgres
from .proc import (HarnessError, Proc, free_port, free_port_pair,  # noqa
                   wait_for, wait_http)
from .tokenreview import TokenReview

VAULT_PREFIX = "tenantgate"
BROKER_NS, BROKER_SA = "tenantgate", "broker"


def _running(c):
    return getattr(c, "running", False)


class Stack:
    def __init__(self, pg=None, bao=None, tokenreview=None, atlassian=None,
                 oidc=None, k8s_mount="kubernetes"):
        self.pg = pg or Postgres()
        self.bao = bao or OpenBao()
        self.tokenreview = tokenreview or TokenReview()
        self.atlassian = atlassian or FakeAtlassian()
        self.oidc = oidc or OidcIssuer()
        self.k8s_mount = k8s_mount
        self._k8s_done = False

    @property
    def components(self):
        return [self.pg, self.bao, self.tokenreview, self.atlassian,
                self.oidc]

    def start(self):
        errors = []

        def bg(c):
            try:
                if not _running(c):
                    c.start()
            except BaseException as e:  # reported below
                errors.append(e)
        threads = [threading.Thread(target=bg, args=(c,), daemon=True)
                   for c in (self.pg, self.bao)]
        for t in threads:
            t.start()
        try:
            for c in (self.tokenreview, self.atlassian, self.oidc):
                if not _running(c):
                    c.start()
        finally:
            for t in threads:
                t.join()
        if errors:
            self.stop()
            raise errors[0]
        if not self._k8s_done:
            self.bao.enable_kubernetes_auth(self.tokenreview.url,
                                            mount=self.k8s_mount)
            self._k8s_done = True
        return self

    def stop(self):
        for c in reversed(self.components):
            try:
                c.stop()
            except Exception as e:
                import sys
                sys.stderr.write(f"harness: stopping {c!r}: {e}\n")

    def close(self):
        """Stop and remove every component's temp dir."""
        for c in reversed(self.components):
            c.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- conveniences for tests and the demo ------------------------------

    def vault_path(self, tenant, integration):
        return f"{VAULT_PREFIX}/tenants/{tenant}/{integration}"

    def seed_vault(self, tenants=None, integrations=("jira", "confluence")):
        """Write each fake-Atlassian tenant's key to KV v2 at
        secret/tenantgate/tenants/<tenant>/<integration>; returns
        {(tenant, integration): version}."""
        out = {}
        for t in tenants or list(self.atlassian.tenants):
            for i in integrations:
                out[(t, i)] = self.bao.kv_put(
                    self.vault_path(t, i), self.atlassian.credentials(t))
        return out

    def k8s_identity(self, role, namespace=BROKER_NS, name=BROKER_SA,
                     policies=("default",), ttl="1h", token_ttl=3600):
        """Kubernetes role for SA namespace/name plus a fresh SA token in a
        file (what the broker reads at every login); returns the path."""
        self.bao.create_k8s_role(role, [name], [namespace], list(policies),
                                 ttl=ttl, mount=self.k8s_mount)
        tok = self.tokenreview.mint_sa_token(namespace, name, ttl=token_ttl)
        return self.tokenreview.write_token_file(tok)

    def env(self):
        """The stack's addresses as environment variables (demo scripts)."""
        e = {
            "TG_PG_DSN": self.pg.dsn,
            "BAO_ADDR": self.bao.addr, "VAULT_ADDR": self.bao.addr,
            "TG_TOKENREVIEW_URL": self.tokenreview.url,
            "TG_OIDC_ISSUER": self.oidc.issuer,
            "TG_ATLASSIAN_URL": self.atlassian.url,
        }
        return e


def all_log_paths():
    return runtime.all_log_paths()
