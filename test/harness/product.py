"""tenantgate itself on top of the harness: schema, seed data, and the C
daemons (broker, forwarder) run from the sanitizer build.

    with Stack() as s:
        tg = Tenantgate(s)
        tg.migrate(); tg.seed_demo()
        broker = tg.start_broker()            # logged in via Kubernetes auth
        fwd = tg.start_forwarder(broker)
        tg.user_token("alice@example.com")    # an OIDC token for a demo user

Used by the integration/e2e tests and by `make demo` (scripts/demo.py).
"""

import os
import pathlib
import re
import secrets as pysecrets
import signal
import subprocess

from . import runtime
from . import secrets as tg_secrets
from .proc import Proc, free_port, wait_for

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN_DIR = pathlib.Path(os.environ.get("TG_BIN_DIR", REPO / "build" / "san" / "bin"))
MIGRATIONS = REPO / "migrations"

# The demo's people and tenants (issue 5): who belongs where, with which role.
DEMO_TENANTS = {"google": "Google", "microsoft": "Microsoft", "smallco": "Small Co"}
DEMO_USERS = {
    "alice@example.com": {"google": "editor"},
    "bob@example.com": {"google": "editor", "microsoft": "editor"},
    "carol@example.com": {},
    "dave@example.com": {"smallco": "viewer"},
}
# The built-in tools a role sees (docs/tools.md): what each demo user's
# tools/list must hold, as <tenant>__<tool>.
READ_TOOLS = {"jira_search", "jira_get_issue", "jira_get_transitions",
              "confluence_search", "confluence_get_page"}
WRITE_TOOLS = {"jira_create_issue", "jira_add_comment", "jira_transition_issue"}
DEMO_TOOLS = {email: {f"{t}__{n}" for t, role in ms.items()
                      for n in (READ_TOOLS if role == "viewer" else READ_TOOLS | WRITE_TOOLS)}
              for email, ms in DEMO_USERS.items()}
BROKER_ROLE = "tenantgate-broker"
BROKER_POLICY = """
path "secret/data/tenantgate/*" { capabilities = ["read"] }
path "secret/metadata/tenantgate/*" { capabilities = ["read"] }
"""


def binary(name):
    p = BIN_DIR / name
    if not p.exists():
        raise FileNotFoundError(f"{p} is not built (run make VARIANT=san)")
    return str(p)


def sanitizer_env():
    return {"ASAN_OPTIONS": os.environ.get(
                "ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1"),
            "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}


def sql_quote(s):
    return "'" + str(s).replace("'", "''") + "'"


class Tenantgate:
    def __init__(self, stack):
        self.s = stack
        self.dir = pathlib.Path(runtime.make_tempdir("tenantgate"))
        self.caller_secret = tg_secrets.register(
            "tgcaller-" + pysecrets.token_urlsafe(24))
        self.admin_token = tg_secrets.register(
            "tgadmin-" + pysecrets.token_urlsafe(24))
        self.owui_secret = tg_secrets.register(
            "tgowui-" + pysecrets.token_urlsafe(24))
        self.files = {}
        for name, value in (("caller-secret", self.caller_secret),
                            ("admin-token", self.admin_token),
                            ("openwebui-secret", self.owui_secret)):
            self.files[name] = self._write(name, value + "\n")
        self.signing_key = self._ec_key("signing.pem")

    def _write(self, name, text, mode=0o600):
        p = self.dir / name
        p.write_text(text)
        p.chmod(mode)
        return str(p)

    def _ec_key(self, name):
        p = self.dir / name
        subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey",
                        "-noout", "-out", str(p)], check=True,
                       capture_output=True)
        return str(p)

    # ---- database -----------------------------------------------------

    def migrate(self, dbname=None):
        """Apply migrations/ in order, recorded like the C runner does."""
        return self.s.pg.apply_migrations(MIGRATIONS, dbname=dbname)

    def sql(self, statement):
        return self.s.pg.psql(statement)

    def add_tenant(self, slug, display=None, integrations=("jira", "confluence"),
                   base_url=None):
        base_url = base_url or self.s.atlassian.base_url(slug)
        self.sql(f"insert into tenants(id, display_name) values"
                 f" ({sql_quote(slug)}, {sql_quote(display or slug)})"
                 " on conflict do nothing")
        for kind in integrations:
            path = self.s.vault_path(slug, kind)
            self.sql("insert into tenant_integrations(tenant_id, name, kind,"
                     " base_url, vault_path, cred_version) values"
                     f" ({sql_quote(slug)}, {sql_quote(kind)},"
                     f" {sql_quote(kind)}, {sql_quote(base_url)},"
                     f" {sql_quote(path)}, 1) on conflict do nothing")

    def add_user(self, email, memberships=None):
        self.sql(f"insert into users(email, display_name) values"
                 f" ({sql_quote(email)}, {sql_quote(email.split('@')[0])})"
                 " on conflict do nothing")
        for tenant, role in (memberships or {}).items():
            self.add_member(email, tenant, role)

    def add_member(self, email, tenant, role="editor"):
        self.sql("insert into memberships(user_id, tenant_id, role, granted_by)"
                 f" select id, {sql_quote(tenant)}, {sql_quote(role)}, 'test'"
                 f" from users where email = {sql_quote(email)}"
                 " on conflict (user_id, tenant_id) do update set role ="
                 " excluded.role")

    def remove_member(self, email, tenant):
        self.sql("delete from memberships where tenant_id = "
                 f"{sql_quote(tenant)} and user_id = (select id from users"
                 f" where email = {sql_quote(email)})")

    def seed_demo(self):
        for slug, display in DEMO_TENANTS.items():
            self.add_tenant(slug, display)
        self.s.seed_vault(list(DEMO_TENANTS))
        for email, ms in DEMO_USERS.items():
            self.add_user(email, ms)

    # ---- vault ----------------------------------------------------------

    def broker_k8s_identity(self, token_ttl="1h", max_ttl=None):
        """Vault policy + Kubernetes role for the broker's service account;
        returns the SA token file the broker reads at every login."""
        self.s.bao.write_policy(BROKER_ROLE, BROKER_POLICY)
        self.s.bao.create_k8s_role(BROKER_ROLE, ["broker"], ["tenantgate"],
                                   [BROKER_ROLE], ttl=token_ttl,
                                   max_ttl=max_ttl or "0", mount=self.s.k8s_mount)
        tok = self.s.tokenreview.mint_sa_token("tenantgate", "broker")
        return self.s.tokenreview.write_token_file(
            tok, path=str(self.dir / "broker-sa.jwt"))

    def store_signing_key_in_vault(self, kid="k1", pem_file=None,
                                   previous_kid=None, previous_pem_file=None):
        """Put the grant signing key where the broker reads it by default:
        secret/tenantgate/broker/signing {kid, private_pem[, previous_*]}."""
        doc = {"kid": kid,
               "private_pem": pathlib.Path(pem_file or self.signing_key).read_text()}
        if previous_kid:
            doc["previous_kid"] = previous_kid
            doc["previous_public_pem"] = pathlib.Path(previous_pem_file).read_text()
        tg_secrets.register(doc["private_pem"].strip().splitlines()[1])
        return self.s.bao.kv_put("tenantgate/broker/signing", doc)

    def new_signing_key(self, name):
        return self._ec_key(name)

    # ---- users ------------------------------------------------------------

    def user_token(self, email, ttl=3600, **claims):
        return self.s.oidc.mint({"sub": "u-" + email.split("@")[0],
                                 "email": email, **claims}, ttl=ttl)

    def owui_token(self, email, ttl=300, **claims):
        from .oidc import mint_openwebui
        return mint_openwebui(email, self.owui_secret, ttl=ttl, **claims)

    # ---- daemons ----------------------------------------------------------

    def broker_config(self, port, also_listen=None, **overrides):
        cfg = {
            "listen": f"127.0.0.1:{port}" + (f",{also_listen}" if also_listen else ""),
            "log_level": "info",
            "database_url": self.s.pg.dsn,
            "vault_addr": self.s.bao.addr,
            "vault_auth": "kubernetes",
            "vault_k8s_role": BROKER_ROLE,
            "vault_sa_token_file": self.broker_sa_file,
            "signing_key_source": "file",
            "signing_key_file": self.signing_key,
            "signing_key_id": "k1",
            "oidc_issuer": self.s.oidc.issuer,
            "oidc_audience": self.s.oidc.audience,
            "openwebui_secret_file": self.files["openwebui-secret"],
            "callers_secret_file": self.files["caller-secret"],
            "callers_tokenreview_url": self.s.tokenreview.url,
            "callers_allowed": "tenantgate/forwarder",
            "admin_token_file": self.files["admin-token"],
        }
        cfg.update({k: v for k, v in overrides.items()})
        return "".join(f"{k} = {v}\n" for k, v in cfg.items() if v is not None)

    def start_broker(self, name="broker", token_ttl="1h", max_ttl=None,
                     wait_ready=True, **overrides):
        self.broker_sa_file = self.broker_k8s_identity(token_ttl, max_ttl)
        port = free_port()
        conf = self._write(f"{name}.conf", self.broker_config(port, **overrides))
        cert = overrides.get("tls_cert_file")
        url = f"{'https' if cert else 'http'}://127.0.0.1:{port}"
        probe = url + ("/readyz" if wait_ready else "/healthz")

        def ready(proc):
            import requests
            try:
                return requests.get(probe, timeout=2,
                                    verify=cert or True).status_code == 200
            except requests.RequestException:
                return False
        p = Proc(name, [binary("tenantgate-broker"), "-c", conf],
                 env=sanitizer_env(), ready=ready, ready_timeout=30)
        p.url = url
        p.conf = conf
        p.start()
        return p

    def reconfigure(self, proc, **overrides):
        """Rewrite a daemon's config (same port) and SIGHUP it."""
        port = int(proc.url.rsplit(":", 1)[1])
        pathlib.Path(proc.conf).write_text(self.broker_config(port, **overrides))
        mark = proc.log_mark()
        proc.signal(signal.SIGHUP)
        proc.wait_log(re.compile("reload (done|refused)"), since=mark)

    def forwarder_config(self, port, broker, **overrides):
        cfg = {
            "listen": f"127.0.0.1:{port}",
            "broker_url": broker.url,
            "broker_secret_file": self.files["caller-secret"],
            "log_level": "info",
        }
        cfg.update(overrides)
        return "".join(f"{k} = {v}\n" for k, v in cfg.items() if v is not None)

    def start_forwarder(self, broker, name="forwarder", port=None, **overrides):
        """port: pick one first when the config must name it (resource_url)."""
        port = port or free_port()
        conf = self._write(f"{name}.conf",
                           self.forwarder_config(port, broker, **overrides))
        p = Proc(name, [binary("tenantgate-forwarder"), "-c", conf],
                 env=sanitizer_env(), ready=f"http://127.0.0.1:{port}/health",
                 ready_timeout=30)
        p.url = f"http://127.0.0.1:{port}"
        p.conf = conf
        p.start()
        return p


def wait_until(predicate, timeout=10.0, what="condition"):
    return wait_for(predicate, timeout=timeout, what=what)
