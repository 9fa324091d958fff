"""tenantgate-admin as a scriptable CLI, against the harness's real
PostgreSQL (a database of its own) and OpenBao, with the fake Atlassian
Cloud checking new keys: every subcommand, --help everywhere, --json,
exit codes 0/1/2, and the hard cases of issue 6: a wrong key, a concurrent
rotation, a Vault token without the tenant's policy, the database down, a
rotation and an onboarding interrupted halfway and finished by re-running.
No key may appear in any output, audit row or log (grep test at the end).
"""

import json
import os
import pathlib
import re
import secrets as pysecrets
import subprocess
import time

import pytest

from harness import runtime
from harness import secrets as tg_secrets
from harness.product import binary, sanitizer_env
from harness.proc import free_port

REPO = pathlib.Path(__file__).resolve().parents[2]
DB = "tg_admin_cli"
ACTOR = "ops-alice"
PREFIX = "tenantgate/tenants"
# Count files, not versions: branches number their migrations ahead.
MIGRATION_FILES = sorted(REPO.glob("migrations/[0-9][0-9][0-9][0-9]_*.sql"))
LAST_VERSION = int(MIGRATION_FILES[-1].name[:4])
OUTPUTS = []            # everything the binary printed, for the leak check
# migrations/NNNN_*.sql: the newest number is the schema version


def q(s):
    return "'" + str(s).replace("'", "''") + "'"


def new_key():
    return tg_secrets.register("ATATT3xAdmin" + pysecrets.token_urlsafe(30))


class Admin:
    """Runs tenantgate-admin with a clean environment: the operator's DSN,
    Vault address and token, and nothing inherited that could change it."""

    def __init__(self, stack, dbname, token, actor=ACTOR):
        self.s = stack
        self.db = dbname
        self.dsn = stack.pg.dsn_for(dbname)
        self.token = token
        self.actor = actor
        self.home = runtime.make_tempdir("admin-home")

    def env(self, token=None, dsn=None, **extra):
        e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
             "HOME": self.home, "LANG": "C.UTF-8",
             "TENANTGATE_DATABASE_URL": dsn or self.dsn,
             "VAULT_ADDR": self.s.bao.addr,
             "VAULT_TOKEN": self.token if token is None else token,
             "TENANTGATE_ACTOR": self.actor,
             "TENANTGATE_DATADIR": str(REPO)}
        e.update(sanitizer_env())
        e.update({k: v for k, v in extra.items() if v is not None})
        return e

    def popen(self, *args, input=None, **kw):
        p = subprocess.Popen([binary("tenantgate-admin"), *args],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True,
                             cwd=self.home, env=self.env(**kw))
        return p

    def run(self, *args, input=None, timeout=60, **kw):
        p = self.popen(*args, **kw)
        out, err = p.communicate(input=input, timeout=timeout)
        OUTPUTS.append(out + err)
        tg_secrets.scan_text(out + err, f"tenantgate-admin {args[:2]}")
        assert "AddressSanitizer" not in err and "runtime error" not in err, err
        return subprocess.CompletedProcess(args, p.returncode, out, err)

    def ok(self, *args, **kw):
        r = self.run(*args, **kw)
        assert r.returncode == 0, f"{args}: rc={r.returncode}\n{r.stdout}\n{r.stderr}"
        return r

    def json(self, *args, **kw):
        return json.loads(self.ok(*args, "--json", **kw).stdout)

    # ---- the database, directly -------------------------------------

    def sql(self, stmt):
        return self.s.pg.psql(stmt, dbname=self.db)

    def rows(self, stmt):
        return self.s.pg.query(stmt, dbname=self.db)

    def scalar(self, stmt):
        return self.s.pg.scalar(stmt, dbname=self.db)

    def audit(self, action=None, tenant=None):
        where = ["true"]
        if action:
            where.append(f"action = {q(action)}")
        if tenant:
            where.append(f"tenant_id = {q(tenant)}")
        return [json.loads(r[0]) for r in self.rows(
            "select json_build_object('actor', actor, 'action', action,"
            " 'tenant', tenant_id, 'subject', subject, 'detail', detail)"
            f" from audit_log where {' and '.join(where)} order by id")]


def seed_tenant(admin, slug, integrations=("jira", "confluence")):
    """A tenant as the broker tests have them: rows, and the fake
    Atlassian's key in Vault at version >= 1."""
    at = admin.s.atlassian
    if slug not in at.tenants:
        at.add_tenant(slug)
    admin.sql(f"insert into tenants(id, display_name) values ({q(slug)},"
              f" {q(slug.title())}) on conflict do nothing")
    for kind in integrations:
        path = f"{PREFIX}/{slug}/{kind}"
        v = admin.s.bao.kv_put(path, at.credentials(slug))
        admin.sql("insert into tenant_integrations(tenant_id, name, kind,"
                  " base_url, vault_path, cred_version) values"
                  f" ({q(slug)}, {q(kind)}, {q(kind)}, {q(at.base_url(slug))},"
                  f" {q(path)}, {v}) on conflict (tenant_id, name) do update"
                  " set cred_version = excluded.cred_version")


def kv_version(bao, path):
    return bao.kv_get(path)["metadata"]["version"]


def write_repo_policy(bao, name, file):
    bao.write_policy(name, (REPO / "policies" / file).read_text())


def write_tenant_policy(bao, tenant):
    """policies/tenant-admin.hcl.tmpl rendered as onboard does."""
    hcl = (REPO / "policies" / "tenant-admin.hcl.tmpl").read_text()
    name = f"tenantgate-tenant-{tenant}"
    for k, v in {"tenant": tenant, "kv_mount": "secret",
                 "kv_prefix": "tenantgate", "policy": name}.items():
        hcl = re.sub(r"\{\{\s*%s\s*\}\}" % k, v, hcl)
    bao.write_policy(name, hcl)
    return name


@pytest.fixture(scope="module")
def admin(stack):
    stack.pg.create_database(DB)
    write_repo_policy(stack.bao, "tenantgate-onboarding",
                      "tenantgate-onboarding.hcl")
    token = stack.bao.create_token(["tenantgate-onboarding"])
    a = Admin(stack, DB, token)
    r = a.ok("migrate")
    assert f"applied {len(MIGRATION_FILES)} migration(s)" in r.stdout
    for t in ("initech", "hooli"):
        seed_tenant(a, t)
    a.sql("insert into users(email, display_name) values"
          " ('alice@initech.example', 'Alice'), ('bob@initech.example', 'Bob')")
    yield a
    runtime.remove_tempdir(a.home)


# ---- help, usage, exit codes ---------------------------------------------

def test_help_everywhere(admin):
    r = admin.ok("--help")
    assert "usage: tenantgate-admin" in r.stdout and "key rotate" in r.stdout
    assert admin.ok("help").stdout == r.stdout
    names = re.findall(r"^  ([a-z]+(?: [a-z]+)?)\s{2,}", r.stdout, re.M)
    assert "member add" in names and "onboard" in names and len(names) >= 20
    for name in names:
        h = admin.ok(*name.split(), "--help").stdout
        assert h.startswith(f"usage: tenantgate-admin {name}"), h
        assert "-h, --help" in h
        assert admin.ok("help", *name.split()).stdout == h
    assert "tenant commands:" in admin.ok("help", "ten").stdout


@pytest.mark.parametrize("args,code,message", [
    (["frobnicate"], 2, "unknown command: frobnicate"),
    (["g", "l"], 2, "ambiguous command: g, could be: grant, group"),
    (["tenant"], 2, "tenant: which one? add, disable, enable, list, show"),
    (["tenant", "x"], 2, "unknown command: tenant x"),
    (["member", "add", "a@b.c"], 2, "'member add' needs USER TENANT"),
    (["member", "add", "a@b.c", "t", "--role"], 2, "--role needs a value"),
    (["key", "rotate", "initech", "jira", "--key", "x"], 2,
     "unknown option --key for 'key rotate'"),
    (["tenant", "disable", "initech"], 2, "give --yes"),
    (["audit", "--since", "yesterday"], 2, "--since takes a duration"),
    (["user", "list", "--limit", "0"], 2, "--limit is 1 to 100000"),
])
def test_usage_errors_exit_2(admin, args, code, message):
    r = admin.run(*args)
    assert r.returncode == code, r.stderr
    assert message in r.stderr
    assert r.stdout == ""


def test_no_command_without_a_terminal(admin):
    r = admin.run()
    assert r.returncode == 2 and "no command given" in r.stderr
    assert admin.ok("-V").stdout.startswith("tenantgate-admin ")


def test_vault_token_from_file(admin):
    """VAULT_TOKEN unset: ~/.vault-token, as `vault login` leaves it."""
    tokfile = pathlib.Path(admin.home) / ".vault-token"
    tokfile.write_text(admin.token + "\n")
    tokfile.chmod(0o600)
    try:
        rows = admin.json("key", "status", "initech", token="")
        assert {r["state"] for r in rows} == {"ok"}
    finally:
        tokfile.unlink()
    rows = admin.json("key", "status", "initech", token="")
    assert "no Vault token" in rows[0]["state"]


def test_json_errors(admin):
    r = admin.run("--json", "g")
    assert r.returncode == 2
    assert json.loads(r.stdout)["error"]["code"] == "usage"
    r = admin.run("tenant", "show", "nosuch", "--json")
    assert r.returncode == 1
    assert json.loads(r.stdout) == {"error": {
        "code": "no_tenant", "message": "no tenant 'nosuch'"}}


def test_prefixes_work(admin):
    assert admin.ok("ten", "l").stdout == admin.ok("tenant", "list").stdout
    assert admin.ok("log", "--limit", "1").returncode == 0


def test_docs_match_the_tables(admin):
    """docs/admin.md carries `help --markdown` verbatim between markers,
    so the reference cannot drift from the tables (pgbouncer optscan)."""
    gen = admin.ok("help", "--markdown").stdout
    for name in ("### `key rotate`", "### Keys (key `3`)", "| `vault_kv_prefix` |"):
        assert name in gen
    doc = (REPO / "docs" / "admin.md").read_text()
    m = re.search(r"<!-- BEGIN generated.*?-->\n(.*)<!-- END generated -->", doc, re.S)
    assert m, "docs/admin.md lacks the generated block"
    assert m.group(1) == gen, "docs/admin.md is stale: regenerate the block " \
        "with `tenantgate-admin help --markdown`"


# ---- migrate, database down ------------------------------------------------

def test_migrate_is_idempotent(admin):
    assert f"applied 0 migration(s); the database is at version {LAST_VERSION}" in \
        admin.ok("migrate").stdout
    assert f"database at version {LAST_VERSION}" in admin.ok("migrate", "--status").stdout


def test_database_down(admin):
    pw = tg_secrets.register("pgpw-" + pysecrets.token_urlsafe(12))
    dead = f"postgresql://ops:{pw}@127.0.0.1:{free_port()}/x?connect_timeout=2"
    t0 = time.monotonic()
    for args in (["tenant", "list"], ["member", "add", "a@b.c", "t"],
                 ["audit"], ["migrate"]):
        r = admin.run(*args, dsn=dead)
        assert r.returncode == 1, r.stderr
        assert "cannot connect to PostgreSQL" in r.stderr
        assert pw not in r.stderr
    assert time.monotonic() - t0 < 30
    r = admin.run("key", "rotate", "initech", "jira", "--yes", input=new_key(),
                  dsn=dead)
    assert r.returncode == 1 and "cannot connect to PostgreSQL" in r.stderr


# ---- tenants ------------------------------------------------------------------

def test_tenant_list_and_show(admin):
    rows = admin.json("tenant", "list")
    t = {r["tenant"]: r for r in rows}
    assert {"initech", "hooli"} <= set(t)
    assert {i["name"] for i in t["initech"]["integrations"]} == \
        {"jira", "confluence"}
    table = admin.ok("tenant", "list").stdout
    assert table.splitlines()[0].split()[:3] == ["TENANT", "STATUS", "NAME"]
    assert re.search(r"^initech\s+active\s+Initech\s+confluence v\d+, jira v\d+",
                     table, re.M)
    show = admin.json("tenant", "show", "initech")
    assert show["tenant"] == "initech"
    assert {i["integration"] for i in show["integrations"]} == \
        {"jira", "confluence"}
    assert "Integrations:" in admin.ok("tenant", "show", "initech").stdout


def test_tenant_add_disable_enable(admin):
    r = admin.run("tenant", "add", "Bad_Slug")
    assert r.returncode == 2 and "tenant slug" in r.stderr
    admin.ok("tenant", "add", "vandelay", "--name", "Vandelay Industries")
    r = admin.run("tenant", "add", "vandelay")      # nothing to do: 0, a note
    assert r.returncode == 0 and r.stdout == ""
    assert "tenant vandelay already exists: nothing was changed" in r.stderr
    r = admin.ok("tenant", "disable", "vandelay", "--yes")
    assert r.stdout == "tenant vandelay disabled\n"
    assert admin.scalar("select status from tenants where id='vandelay'") == \
        "disabled"
    assert "was already disabled" in admin.ok("-y", "tenant", "disable",
                                               "vandelay").stdout
    admin.ok("tenant", "enable", "vandelay")
    assert admin.scalar("select status from tenants where id='vandelay'") == \
        "active"
    acts = [a["action"] for a in admin.audit(tenant="vandelay")]
    assert acts == ["tenant.add", "tenant.disable", "tenant.enable"]
    assert all(a["actor"] == ACTOR for a in admin.audit(tenant="vandelay"))
    r = admin.run("tenant", "enable", "nosuch")
    assert r.returncode == 1 and "no tenant 'nosuch'" in r.stderr


# ---- users, memberships, groups -------------------------------------------------

def test_user_and_membership(admin):
    r = admin.run("user", "add", "not-an-email")
    assert r.returncode == 2 and "not an email address" in r.stderr
    admin.ok("user", "add", "carol@initech.example", "--name", "Carol")
    r = admin.ok("member", "add", "carol@initech.example", "initech")
    assert r.stdout == "carol@initech.example added to initech as viewer\n"
    r = admin.ok("member", "add", "carol@initech.example", "initech",
                 "--role", "editor")
    assert "is now editor in initech (was viewer)" in r.stdout
    assert "already is editor" in admin.ok(
        "member", "add", "carol@initech.example", "initech", "--role",
        "editor").stdout
    u = admin.json("user", "show", "carol@initech.example")
    assert [(m["tenant"], m["role"]) for m in u["tenants"]] == \
        [("initech", "editor")]
    r = admin.run("member", "add", "carol@initech.example", "initech",
                  "--role", "owner")
    assert r.returncode == 2 and "viewer, editor or admin" in r.stderr
    r = admin.run("member", "add", "nobody@x.example", "initech")
    assert r.returncode == 1 and "no user 'nobody@x.example'" in r.stderr
    r = admin.run("member", "add", "carol@initech.example", "nosuch")
    assert r.returncode == 1 and "no tenant 'nosuch'" in r.stderr
    assert admin.run("member", "remove", "carol@initech.example",
                     "initech").returncode == 2
    admin.ok("member", "remove", "carol@initech.example", "initech", "--yes")
    r = admin.run("member", "remove", "carol@initech.example", "initech", "-y")
    assert r.returncode == 0 and "is not a member of initech: nothing to do" \
        in r.stderr
    trail = [(a["action"], a["detail"].get("role"), a["detail"].get("old_role"))
             for a in admin.audit(tenant="initech")
             if a["subject"] == "carol@initech.example"]
    assert trail == [("member.add", "viewer", None),
                     ("member.role", "editor", "viewer"),
                     ("member.remove", None, "editor")]
    a = admin.audit(action="member.add")[-1]
    assert a["actor"] == ACTOR and a["detail"]["via"] == "cli"
    assert a["detail"]["db_user"]


def test_user_search_over_thousands(admin):
    admin.sql("insert into users(email, display_name) select"
              " format('user%s@bulk.example', lpad(i::text, 5, '0')),"
              " format('Bulk User %s', i) from generate_series(1, 5000) i"
              " on conflict do nothing")
    rows = admin.json("user", "list", "--search", "user04242")
    assert [r["email"] for r in rows] == ["user04242@bulk.example"]
    rows = admin.json("user", "list", "--search", "user0424")
    assert len(rows) == 10 and rows[0]["total"] == 10
    r = admin.ok("user", "list", "--search", "bulk.example", "--limit", "5")
    assert len(r.stdout.splitlines()) == 6
    assert "(5 of 5000 shown" in r.stderr
    # LIKE wildcards in the search are literal
    assert admin.json("user", "list", "--search", "user_424") == []
    assert [r["email"] for r in admin.json(
        "user", "list", "--tenant", "initech")] == []


def test_group_mappings(admin):
    admin.ok("group", "add", "okta-initech-eng", "initech", "--role", "editor")
    assert "already gives" in admin.ok("group", "add", "okta-initech-eng",
                                       "initech", "--role", "editor").stdout
    assert admin.json("group", "list", "--tenant", "initech") == [
        {"group": "okta-initech-eng", "tenant": "initech", "role": "editor"}]
    assert admin.run("group", "remove", "okta-initech-eng",
                     "initech").returncode == 2
    admin.ok("group", "remove", "okta-initech-eng", "initech", "--yes")
    assert admin.json("group", "list") == []
    r = admin.run("group", "remove", "okta-initech-eng", "initech", "--yes")
    assert r.returncode == 0 and "not mapped to initech: nothing to do" in r.stderr
    r = admin.run("group", "remove", "okta-initech-eng", "nosuch", "--yes")
    assert r.returncode == 1 and "no tenant 'nosuch'" in r.stderr
    assert [a["action"] for a in admin.audit() if a["subject"] ==
            "okta-initech-eng"] == ["group.add", "group.remove"]


# ---- keys -------------------------------------------------------------------------

class Listener:
    """LISTEN tenantgate_changes with psql for `seconds`; psql prints the
    notifications it got when its statement finishes."""

    def __init__(self, admin, seconds=4):
        psql = os.path.join(admin.s.pg.bindir, "psql")
        self.p = subprocess.Popen(
            [psql, "-X", "-d", admin.dsn], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("PG")})
        self.p.stdin.write(f"LISTEN tenantgate_changes;\nSELECT pg_sleep({seconds});\n")
        self.p.stdin.flush()
        time.sleep(0.5)

    def payloads(self):
        out, _ = self.p.communicate("\\q\n", timeout=30)
        return [json.loads(m) for m in re.findall(
            r'payload "(.*)" received', out)]


def test_key_status(admin):
    rows = {(r["tenant"], r["integration"]): r
            for r in admin.json("key", "status")}
    r = rows[("initech", "jira")]
    assert r["vault_version"] == r["cred_version"] >= 1 and r["state"] == "ok"
    assert admin.json("key", "status", "hooli", "--no-vault")[0]["tenant"] == \
        "hooli"


def test_rotate_unknown_integration_asks_for_no_key(admin):
    r = admin.run("key", "rotate", "initech", "nosuch", "--yes", input="")
    assert r.returncode == 1
    assert "tenant 'initech' has no integration 'nosuch'" in r.stderr


def test_rotate_with_wrong_key_writes_nothing(admin):
    path = f"{PREFIX}/initech/jira"
    before = kv_version(admin.s.bao, path)
    db_before = admin.scalar("select cred_version from tenant_integrations"
                             " where tenant_id='initech' and name='jira'")
    n_audit = len(admin.audit(action="key.rotate"))
    r = admin.run("key", "rotate", "initech", "jira", "--yes",
                  input=new_key() + "\n")
    assert r.returncode == 1
    assert "nothing was written" in r.stderr and "refused the new key" in r.stderr
    assert kv_version(admin.s.bao, path) == before
    assert admin.scalar("select cred_version from tenant_integrations where"
                        " tenant_id='initech' and name='jira'") == db_before
    assert len(admin.audit(action="key.rotate")) == n_audit


def test_rotate_verified_cas_audit_notify(admin):
    at, bao = admin.s.atlassian, admin.s.bao
    path = f"{PREFIX}/initech/jira"
    before = kv_version(bao, path)
    creds = at.set_credentials("initech")
    listener = Listener(admin)
    r = admin.run("key", "rotate", "initech", "jira", "-y",
                  input=creds["api_token"] + "\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"initech/jira rotated: version {before} -> {before + 1}" \
        " (verified)\n"
    assert "check-and-set on version" in r.stderr
    got = bao.kv_get(path)
    assert got["metadata"]["version"] == before + 1
    assert got["data"] == creds
    row = admin.rows("select cred_version, rotated_by, rotated_at is not null"
                     " from tenant_integrations where tenant_id='initech'"
                     " and name='jira'")[0]
    assert row == (str(before + 1), ACTOR, "t")
    a = admin.audit(action="key.rotate")[-1]
    assert a["tenant"] == "initech" and a["subject"] == "jira"
    assert a["detail"]["old_version"] == before
    assert a["detail"]["new_version"] == before + 1
    assert a["detail"]["verified"] is True and a["detail"]["no_verify"] is False
    notes = listener.payloads()
    assert {"table": "tenant_integrations", "op": "ROTATE", "tenant": "initech",
            "integration": "jira", "cred_version": before + 1} in notes
    assert any(n.get("op") == "UPDATE" and n.get("table") ==
               "tenant_integrations" for n in notes)
    # the same key again: nothing to do, and says so
    r = admin.ok("key", "rotate", "initech", "jira", "--yes",
                 input=creds["api_token"])
    assert "already uses this key" in r.stdout
    assert kv_version(bao, path) == before + 1
    # the confluence integration takes the same account key from a file
    keyfile = pathlib.Path(admin.home) / "key.txt"
    keyfile.write_text(creds["api_token"] + "\n")
    keyfile.chmod(0o600)
    r = admin.ok("key", "rotate", "initech", "confluence", "--yes",
                 "--from-file", str(keyfile), "--json")
    res = json.loads(r.stdout)
    assert res["wrote_vault"] and res["verified"]
    keyfile.unlink()


def test_rotate_no_verify_is_audited(admin):
    key = new_key()
    r = admin.ok("key", "rotate", "hooli", "confluence", "--no-verify", "--yes",
                 "--email", "svc@hooli.example", input=key)
    assert "(not verified)" in r.stdout
    a = admin.audit(action="key.rotate")[-1]
    assert a["tenant"] == "hooli" and a["detail"]["no_verify"] is True
    assert a["detail"]["verified"] is False
    assert admin.s.bao.kv_get(f"{PREFIX}/hooli/confluence")["data"] == \
        {"email": "svc@hooli.example", "api_token": key}


def test_concurrent_rotation_is_a_cas_conflict(admin):
    """The site hangs while our key is checked; meanwhile someone else
    writes a new version. Ours must fail and overwrite nothing."""
    at, bao = admin.s.atlassian, admin.s.bao
    path = f"{PREFIX}/hooli/jira"
    before = kv_version(bao, path)
    db_before = admin.scalar("select cred_version from tenant_integrations"
                             " where tenant_id='hooli' and name='jira'")
    creds = at.set_credentials("hooli")
    theirs = {"email": "other-admin@hooli.example", "api_token": new_key()}
    at.fault("hooli", hang=3, path="/rest/api/3/myself")
    p = admin.popen("key", "rotate", "hooli", "jira", "--yes")
    p.stdin.write(creds["api_token"])
    p.stdin.close()
    time.sleep(1.2)             # it has read version `before` and waits on the site
    bao.kv_put(path, theirs)                  # the other rotation wins
    out, err = p.stdout.read(), p.stderr.read()
    p.wait(timeout=30)
    OUTPUTS.append(out + err)
    assert p.returncode == 1, err
    assert f"someone else changed hooli/jira in Vault since version {before}" \
        f" (it is now at version {before + 1}): nothing was overwritten" in err
    got = bao.kv_get(path)
    assert got["metadata"]["version"] == before + 1 and got["data"] == theirs
    assert admin.scalar("select cred_version from tenant_integrations where"
                        " tenant_id='hooli' and name='jira'") == db_before
    at.clear_faults("hooli")


def test_rotate_without_the_tenants_policy_is_a_clear_403(admin):
    bao = admin.s.bao
    path = f"{PREFIX}/initech/jira"
    before = kv_version(bao, path)
    # an admin of hooli only
    hooli_admin = bao.create_token([write_tenant_policy(bao, "hooli")])
    r = admin.run("key", "rotate", "initech", "jira", "--yes",
                  input=new_key(), token=hooli_admin)
    assert r.returncode == 1
    assert "Vault refused your token (403 permission denied) for tenant" \
        " 'initech' keys: it needs the policy tenantgate-tenant-initech." \
        " Nothing was changed." in r.stderr
    assert kv_version(bao, path) == before
    r = admin.json("key", "status", "initech", token=hooli_admin)
    assert {x["state"] for x in r} == {"vault denied (no policy for this tenant)"}
    r = admin.run("key", "status", token="not-a-token")
    assert "Vault does not accept this token" in r.stdout
    # the same token does rotate its own tenant
    r = admin.ok("key", "rotate", "hooli", "confluence", "--no-verify", "--yes",
                 input=new_key(), token=hooli_admin)
    assert "rotated" in r.stdout


def test_rotate_interrupted_after_vault_write_then_rerun(admin):
    """PostgreSQL refuses the update after Vault took the key: the command
    says exactly where things stand; re-running finishes without a second
    Vault write."""
    bao = admin.s.bao
    path = f"{PREFIX}/initech/confluence"
    admin.s.pg.psql("do $$ begin create role tg_admin_ro login; exception when"
                    " duplicate_object then null; end $$", dbname=DB)
    admin.sql("grant select on all tables in schema public to tg_admin_ro;"
              " grant insert on audit_log to tg_admin_ro;"
              " grant usage on all sequences in schema public to tg_admin_ro")
    ro = admin.s.pg.dsn_for(DB).replace(f"{admin.s.pg.user}@", "tg_admin_ro@")
    before = kv_version(bao, path)
    db_before = int(admin.scalar("select cred_version from tenant_integrations"
                                 " where tenant_id='initech' and name='confluence'"))
    key = new_key()
    r = admin.run("key", "rotate", "initech", "confluence", "--no-verify",
                  "--yes", input=key, dsn=ro)
    assert r.returncode == 1
    assert f"State: Vault holds the new key as version {before + 1} of" \
        f" secret/{path} (written by this run), but recording it in" \
        " PostgreSQL failed: PostgreSQL refused: permission denied for table" \
        " tenant_integrations." in r.stderr
    assert f"tenant_integrations still says version {db_before}" in r.stderr
    assert "To finish: run `tenantgate-admin key rotate initech confluence`" \
        " again with the same key" in r.stderr
    assert kv_version(bao, path) == before + 1
    st = {x["integration"]: x for x in admin.json("key", "status", "initech")}
    assert st["confluence"]["state"] == "vault ahead: re-run key rotate to record"
    r = admin.ok("key", "rotate", "initech", "confluence", "--no-verify",
                 "--yes", input=key)
    assert r.stdout == "initech/confluence: finished the earlier rotation to" \
        f" version {before + 1}\n"
    assert kv_version(bao, path) == before + 1          # no second write
    assert admin.scalar("select cred_version from tenant_integrations where"
                        " tenant_id='initech' and name='confluence'") == \
        str(before + 1)
    a = admin.audit(action="key.rotate")[-1]
    assert a["detail"]["finished_earlier_write"] is True
    # and again: nothing left to do
    assert "already uses this key" in admin.ok(
        "key", "rotate", "initech", "confluence", "--yes", input=key).stdout


# ---- onboarding ------------------------------------------------------------------

def onboard_args(slug, *extra):
    return ["onboard", slug, "--site", None, "--email", f"bot@{slug}.example.com",
            "--name", f"{slug.title()} Inc", *extra]


def run_onboard(admin, slug, *extra, key=None, token=None):
    at = admin.s.atlassian
    if slug not in at.tenants:
        at.add_tenant(slug)
    args = onboard_args(slug, "--insecure-site", *extra)
    args[3] = at.base_url(slug)
    return admin.run(*args, input=key if key is not None else
                     at.credentials(slug)["api_token"], token=token)


def test_onboard_dry_run_changes_nothing(admin):
    r = run_onboard(admin, "acme", "--dry-run", "--k8s-admins", "acme-ops/admin")
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    assert lines[0] == "Would onboard tenant acme:"
    assert "[would] write Vault policy tenantgate-tenant-acme" in lines[1]
    assert "[would] bind tenantgate-tenant-acme to Kubernetes service accounts" \
        " acme-ops/admin" in lines[2]
    assert sum("[would] verify the key" in x for x in lines) == 2
    assert "[would] insert tenant acme (Acme Inc)" in r.stderr
    assert lines[-1] == "dry run: nothing was changed"
    assert admin.scalar("select count(*) from tenants where id='acme'") == "0"
    assert admin.s.bao.api("GET", "sys/policies/acl/tenantgate-tenant-acme"
                           ).status_code == 404
    assert admin.s.bao.kv_get(f"{PREFIX}/acme/jira") is None
    assert admin.audit(tenant="acme") == []
    assert admin.run("onboard", "acme", "--site", "ftp://x").returncode == 2
    assert admin.run("onboard", "Acme", "--site", "https://x").returncode == 2


def test_onboard_refuses_http_without_insecure_site(admin):
    site = admin.s.atlassian.base_url("acme")
    r = admin.run("onboard", "acme", "--site", site, "--dry-run")
    assert r.returncode == 2
    assert f"{site} is plain http: the key would travel unencrypted. Use" \
        " https, or give --insecure-site" in r.stderr
    assert admin.audit(tenant="acme") == []


def test_onboard_dry_run_json_plan_on_stdout(admin):
    r = run_onboard(admin, "acme", "--dry-run", "--json", "--k8s-admins",
                    "acme-ops/admin")
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    assert plan["tenant"] == "acme" and plan["dry_run"] is True
    assert plan["update"] is False
    assert plan["site"] == admin.s.atlassian.base_url("acme")
    steps = plan["steps"]
    assert {s["step"] for s in steps} == {"would"}
    assert steps[0]["what"].startswith("write Vault policy tenantgate-tenant-acme")
    assert sum(s["what"].startswith("verify the key") for s in steps) == 2
    assert steps[-1]["what"].startswith("insert tenant acme (Acme Inc)")
    # the people's version is still on stderr
    assert "[would] write Vault policy tenantgate-tenant-acme" in r.stderr
    assert admin.scalar("select count(*) from tenants where id='acme'") == "0"
    # an error with --json is one JSON document, not a plan
    r = admin.run("onboard", "acme", "--site", "http://x", "--json")
    assert r.returncode == 2
    assert json.loads(r.stdout)["error"]["code"] == "insecure_site"


def test_onboard_end_to_end_and_idempotent(admin):
    bao = admin.s.bao
    r = run_onboard(admin, "acme", "--yes", "--k8s-admins", "acme-ops/admin")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "tenant acme onboarded\n"
    pol = bao.api("GET", "sys/policies/acl/tenantgate-tenant-acme").json()
    hcl = pol["data"]["policy"]
    assert 'path "secret/data/tenantgate/tenants/acme/*"' in hcl
    assert "{{" not in hcl and "tenants/initech" not in hcl
    role = bao.api("GET", "auth/kubernetes/role/tenantgate-tenant-acme").json()
    assert role["data"]["token_policies"] == ["tenantgate-tenant-acme"]
    assert role["data"]["bound_service_account_names"] == ["admin"]
    assert role["data"]["bound_service_account_namespaces"] == ["acme-ops"]
    for kind in ("jira", "confluence"):
        got = bao.kv_get(f"{PREFIX}/acme/{kind}")
        assert got["data"] == admin.s.atlassian.credentials("acme")
        meta = bao.api("GET", f"secret/metadata/{PREFIX}/acme/{kind}").json()
        assert meta["data"]["cas_required"] is True
    t = admin.json("tenant", "show", "acme")
    assert t["name"] == "Acme Inc" and t["status"] == "active"
    assert {(i["integration"], i["cred_version"], i["rotated_by"])
            for i in t["integrations"]} == {("jira", 1, ACTOR),
                                            ("confluence", 1, ACTOR)}
    assert [a["action"] for a in admin.audit(tenant="acme")] == [
        "onboard.policy", "onboard.k8s_role", "onboard.key", "onboard.key",
        "onboard.tenant"]
    # an existing tenant is refused without --update ...
    r = run_onboard(admin, "acme", "--yes")
    assert r.returncode == 1
    assert "tenant 'acme' already exists: nothing was changed (use --update" in \
        r.stderr
    # ... and with it, a re-run changes nothing that is already so
    r = run_onboard(admin, "acme", "--yes", "--update", "--keep-key")
    assert r.returncode == 0, r.stderr
    assert "[skip] Vault policy tenantgate-tenant-acme is already as rendered" \
        in r.stderr
    assert "[skip] key for jira already in Vault" in r.stderr
    assert kv_version(bao, f"{PREFIX}/acme/jira") == 1


def test_onboard_interrupted_halfway_then_rerun(admin):
    """An operator token that may write policies but not keys: onboarding
    stops at the key step and says what is done; the same command with a
    sufficient token finishes it, skipping what is done."""
    bao = admin.s.bao
    bao.write_policy("tg-test-policies-only", """
path "sys/policies/acl/tenantgate-tenant-*" { capabilities = ["create", "read", "update"] }
path "secret/metadata/tenantgate/tenants/*" { capabilities = ["read"] }
""")
    weak = bao.create_token(["tg-test-policies-only"])
    r = run_onboard(admin, "globex", "--yes", token=weak)
    assert r.returncode == 1
    err = r.stderr
    assert "[done] Vault policy tenantgate-tenant-globex written" in err
    assert "[failed] Vault refused your token (403 permission denied) for" \
        " tenant 'globex' keys" in err
    assert "State: done so far: Vault policy tenantgate-tenant-globex written;" \
        " the key works at" in err
    assert "The tenant row is written last, so the tenant is not onboarded" \
        " yet. Fix the cause and run the same command again" in err
    assert admin.scalar("select count(*) from tenants where id='globex'") == "0"
    assert [a["action"] for a in admin.audit(tenant="globex")] == \
        ["onboard.policy"]
    r = run_onboard(admin, "globex", "--yes")
    assert r.returncode == 0, r.stderr
    assert "[skip] Vault policy tenantgate-tenant-globex is already as" \
        " rendered" in r.stderr
    assert "[done] tenant globex recorded with 2 integration(s)" in r.stderr
    assert [a["action"] for a in admin.audit(tenant="globex")] == [
        "onboard.policy", "onboard.key", "onboard.key", "onboard.tenant"]
    # a wrong key: verification fails before anything is stored
    r = run_onboard(admin, "umbrella", "--yes", key=new_key())
    assert r.returncode == 1 and "refused the new key" in r.stderr
    assert admin.s.bao.kv_get(f"{PREFIX}/umbrella/jira") is None


# ---- grants, audit ---------------------------------------------------------------

def issue_grant(admin, user, tenant, age_s=0):
    """A grant.issue row shaped like the broker's (broker/api.c)."""
    jti = pysecrets.token_urlsafe(16)
    admin.sql("insert into audit_log(at, actor, action, tenant_id, subject,"
              f" detail) values (now() - interval '{int(age_s)} seconds',"
              f" {q(user)}, 'grant.issue', {q(tenant)}, {q(jti)},"
              " jsonb_build_object('caller', 'tenantgate/forwarder', 'role',"
              " 'editor', 'tools', jsonb_build_array('jira_search')))")
    return jti


def test_grant_list_and_revoke(admin):
    j1 = issue_grant(admin, "alice@initech.example", "initech")
    j2 = issue_grant(admin, "alice@initech.example", "hooli")
    j3 = issue_grant(admin, "bob@initech.example", "initech")
    issue_grant(admin, "bob@initech.example", "initech", age_s=900)  # expired
    rows = admin.json("grant", "list")
    assert [r["jti"] for r in rows][:3] == [j3, j2, j1]
    assert all(0 < r["expires_in"] <= 300 for r in rows)
    assert {r["jti"] for r in admin.json("grant", "list", "--tenant",
                                         "hooli")} == {j2}
    assert admin.run("grant", "revoke", j1).returncode == 2
    assert admin.run("grant", "revoke", j1, "--user", "x@y.z",
                     "--yes").returncode == 2
    assert admin.ok("grant", "revoke", j1, "--yes").stdout == \
        f"grant {j1} revoked\n"
    assert admin.scalar(f"select revoked_by from revoked_grants where jti={q(j1)}") \
        == ACTOR
    assert j1 not in {r["jti"] for r in admin.json("grant", "list")}
    admin.ok("grant", "revoke", "--user", "alice@initech.example", "--yes")
    left = {r["jti"] for r in admin.json("grant", "list")}
    assert j2 not in left and j3 in left
    acts = [(a["subject"], a["detail"]["by"]) for a in
            admin.audit(action="grant.revoke")]
    assert acts[-2:] == [(j1, "jti"), ("alice@initech.example", "user")]


def test_audit_filters(admin):
    rows = admin.json("audit", "--tenant", "initech", "--limit", "500")
    assert rows and all(r["tenant"] == "initech" for r in rows)
    ats = [r["at"] for r in rows]
    assert ats == sorted(ats, reverse=True)               # newest first
    rows = admin.json("audit", "--action", "key.")
    assert rows and {r["action"] for r in rows} == {"key.rotate",
                                                    "key.rotate_refused"}
    rows = admin.json("audit", "--exclude", "key.rotate_", "--limit", "5000")
    assert "key.rotate" in {r["action"] for r in rows}
    assert "key.rotate_refused" not in {r["action"] for r in rows}
    assert admin.json("audit", "--actor", "nobody-at-all") == []
    assert admin.json("audit", "--since", "1h", "--limit", "3").__len__() == 3
    assert admin.json("audit", "--since", "2000-01-01", "--action",
                      "tenant.")[0]["action"].startswith("tenant.")
    assert admin.json("audit", "--since", "2099-01-01") == []
    rows = admin.json("audit", "--grep", "okta-initech")
    assert {r["action"] for r in rows} == {"group.add", "group.remove"}
    table = admin.ok("audit", "--limit", "2").stdout.splitlines()
    assert table[0].split()[:4] == ["TIME", "(UTC)", "ACTOR", "ACTION"]
    r = admin.run("audit", "--since", "2026-13-45")
    assert r.returncode == 1 and "out of range" in r.stderr


# ---- no secret anywhere ------------------------------------------------------------

def test_no_key_in_outputs_audit_or_logs(admin):
    """Every key these tests used is registered; none may be in what the
    binary printed, in the audit log, or in any harness log."""
    audit = admin.s.pg.psql("select actor, action, tenant_id, subject,"
                            " detail::text from audit_log", dbname=DB)
    leaked = tg_secrets.scan_text(audit, "audit_log", record=False)
    leaked += tg_secrets.scan_text("\n".join(OUTPUTS), "outputs", record=False)
    assert leaked == []
    assert "api_token" not in audit
    for p in runtime.all_log_paths():
        assert tg_secrets.scan_file(p, record=False) == [], p


# ---- issue 17: the operator's first hour -----------------------------------------

def test_database_url_precedence(admin):
    """TENANTGATE_DATABASE_URL, then DATABASE_URL, then libpq's PG*."""
    dead = f"postgresql://nobody@127.0.0.1:{free_port()}/x?connect_timeout=2"
    base = {k: v for k, v in admin.env().items()
            if k not in ("TENANTGATE_DATABASE_URL",)}

    def run(**env):
        e = dict(base, **env)
        p = subprocess.run([binary("tenantgate-admin"), "tenant", "list", "--json"],
                           capture_output=True, text=True, env=e, cwd=admin.home,
                           timeout=60)
        OUTPUTS.append(p.stdout + p.stderr)
        return p
    # DATABASE_URL alone, as `. .demo/env` leaves it
    r = run(DATABASE_URL=admin.dsn)
    assert r.returncode == 0, r.stderr
    assert "initech" in {t["tenant"] for t in json.loads(r.stdout)}
    # ours wins over DATABASE_URL
    assert run(TENANTGATE_DATABASE_URL=admin.dsn, DATABASE_URL=dead).returncode == 0
    r = run(TENANTGATE_DATABASE_URL=dead, DATABASE_URL=admin.dsn)
    assert r.returncode == 1 and "cannot connect to PostgreSQL" in r.stderr
    # empty counts as unset
    assert run(TENANTGATE_DATABASE_URL="", DATABASE_URL=admin.dsn).returncode == 0
    # neither: libpq's PG* variables
    pg = admin.s.pg
    r = run(PGHOST="127.0.0.1", PGPORT=str(pg.port), PGUSER=pg.user,
            PGDATABASE=DB)
    assert r.returncode == 0, r.stderr
    assert "initech" in {t["tenant"] for t in json.loads(r.stdout)}
    # and -d beats them all
    r = subprocess.run([binary("tenantgate-admin"), "-d", admin.dsn, "tenant",
                        "list"], capture_output=True, text=True, timeout=60,
                       env=dict(base, TENANTGATE_DATABASE_URL=dead,
                                DATABASE_URL=dead), cwd=admin.home)
    assert r.returncode == 0, r.stderr


def test_every_refused_rotation_is_audited(admin):
    """A wrong key, an unknown integration, a Vault 403 and an empty key
    each leave a key.rotate_refused row with the reason; the operator
    saying no leaves none."""
    def refusals():
        return [a for a in admin.audit(action="key.rotate_refused")]
    n = len(refusals())
    r = admin.run("key", "rotate", "hooli", "jira", "--yes", input=new_key())
    assert r.returncode == 1 and "refused the new key" in r.stderr
    r = admin.run("key", "rotate", "hooli", "nosuch", "--yes", input="")
    assert r.returncode == 1
    hooli_admin = admin.s.bao.create_token([write_tenant_policy(admin.s.bao,
                                                                "hooli")])
    r = admin.run("key", "rotate", "initech", "jira", "--yes", input=new_key(),
                  token=hooli_admin)
    assert r.returncode == 1 and "403" in r.stderr
    r = admin.run("key", "rotate", "hooli", "jira", "--yes", input="\n")
    assert r.returncode == 1 and "the key is empty" in r.stderr
    got = refusals()[n:]
    assert [(a["tenant"], a["subject"], a["detail"]["reason"]) for a in got] == [
        ("hooli", "jira", "key_rejected"),
        ("hooli", "nosuch", "no_integration"),
        ("initech", "jira", "vault_forbidden"),
        ("hooli", "jira", "empty_key")]
    assert all(a["actor"] == ACTOR and a["detail"]["via"] == "cli" and
               a["detail"]["message"] for a in got)
    # no terminal and no --yes: a usage error, not a refusal
    r = admin.run("key", "rotate", "hooli", "jira", input=new_key())
    assert r.returncode == 2
    assert len(refusals()) == n + 4


def test_group_help_exits_0(admin):
    for g in ("tenant", "user", "member", "group", "key", "grant"):
        r = admin.run(g, "--help")
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith(f"{g} commands:\n")
        assert r.stdout == admin.ok("help", g).stdout
    assert admin.run("tenant").returncode == 2


# ---- issue 17: key expiry ------------------------------------------------------

def iso_in(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds))


def put_key_with_expiry(admin, tenant, integration, expires_at):
    """A key as `key rotate --expires` stores it, recorded in the database."""
    creds = dict(admin.s.atlassian.credentials(tenant), expires_at=expires_at)
    v = admin.s.bao.kv_put(f"{PREFIX}/{tenant}/{integration}", creds)
    admin.sql(f"update tenant_integrations set cred_version = {v} where"
              f" tenant_id = {q(tenant)} and name = {q(integration)}")


def test_key_expiry_stored_shown_and_warned(admin):
    seed_tenant(admin, "cyberdyne")
    at, bao = admin.s.atlassian, admin.s.bao
    key = at.credentials("cyberdyne")["api_token"]
    r = admin.run("key", "rotate", "cyberdyne", "jira", "--yes", "--expires",
                  "soon", input=key)
    assert r.returncode == 2 and "--expires takes days (90d) or a date" in r.stderr
    r = admin.run("key", "rotate", "cyberdyne", "jira", "--yes", "--expires",
                  "400d", input=key)
    assert r.returncode == 2 and "at most 365 days" in r.stderr
    before = kv_version(bao, f"{PREFIX}/cyberdyne/jira")
    # the same key with an expiry is a new version: the expiry belongs to it
    r = admin.ok("key", "rotate", "cyberdyne", "jira", "--yes", "--expires",
                 "90d", input=key)
    assert f"version {before} -> {before + 1} (verified)" in r.stdout
    got = bao.kv_get(f"{PREFIX}/cyberdyne/jira")["data"]
    assert got["api_token"] == key and got["expires_at"][:10] == iso_in(90 * 86400)[:10]
    a = admin.audit(action="key.rotate")[-1]
    assert a["detail"]["expires_at"] == got["expires_at"]
    # once more: already so, nothing to do
    r = admin.ok("key", "rotate", "cyberdyne", "jira", "--yes", "--expires",
                 got["expires_at"][:10], input=key)
    assert r.returncode == 0
    # the warnings: none beyond 30 days, then 30, 7, 1, expired
    put_key_with_expiry(admin, "cyberdyne", "confluence", iso_in(25 * 86400 + 3600))
    rows = {x["integration"]: x for x in admin.json("key", "status", "cyberdyne")}
    assert rows["jira"]["days_left"] in (89, 90) and rows["jira"]["state"] == "ok"
    assert rows["confluence"]["days_left"] == 25
    assert rows["confluence"]["state"] == "expires in 25 days"
    for secs, days, state in ((5 * 86400 + 3600, 5, "expires in 5 days"),
                              (86400 + 3600, 1, "expires in 1 day"),
                              (3600, 0, "expires today"),
                              (-2 * 86400 - 3600, -3, "EXPIRED 3 days ago")):
        put_key_with_expiry(admin, "cyberdyne", "confluence", iso_in(secs))
        row = [x for x in admin.json("key", "status", "cyberdyne")
               if x["integration"] == "confluence"][0]
        assert (row["days_left"], row["state"]) == (days, state), row
    table = admin.ok("key", "status", "cyberdyne").stdout
    assert re.search(r"(?m)^cyberdyne\s+confluence\s+confluence\s+\d+\s+\d+\s+.*"
                     r"\s-3\s+EXPIRED 3 days ago$", table), table
    assert table.splitlines()[0].split()[-3:] == ["DAYS", "LEFT", "STATE"]
    # a key without a recorded expiry shows none
    seed_tenant(admin, "cyberdyne", integrations=("confluence",))
    row = [x for x in admin.json("key", "status", "cyberdyne")
           if x["integration"] == "confluence"][0]
    assert row["days_left"] is None and row["state"] == "ok"


def test_onboard_stores_the_key_expiry(admin):
    r = run_onboard(admin, "tyrell", "--yes", "--expires", "60d")
    assert r.returncode == 0, r.stderr
    for kind in ("jira", "confluence"):
        got = admin.s.bao.kv_get(f"{PREFIX}/tyrell/{kind}")["data"]
        assert got["expires_at"][:10] == iso_in(60 * 86400)[:10]
    assert {a["detail"].get("expires_at")[:10] for a in admin.audit(
        action="onboard.key", tenant="tyrell")} == {iso_in(60 * 86400)[:10]}
    rows = admin.json("key", "status", "tyrell")
    assert {r["days_left"] for r in rows} <= {59, 60}
    r = run_onboard(admin, "tyrell2", "--yes", "--expires", "2020-01-01")
    assert r.returncode == 2 and "in the past" in r.stderr
