"""The exit-code rule of tenantgate-admin, as docs/admin.md writes it down:
every row of its "Exit status" table is run against a database holding
exactly the world the table names, and must exit as the row says. The
table must cover every command of the command table (and every group's
--help), so a new command without a row fails here.
"""

import pathlib
import re
import shlex

import pytest

from integration.test_admin_cli import Admin, seed_tenant, write_repo_policy

REPO = pathlib.Path(__file__).resolve().parents[2]
DB = "tg_admin_exitcodes"


def exit_table():
    doc = (REPO / "docs" / "admin.md").read_text()
    m = re.search(r"^### Exit status\n(.*?)^#", doc, re.S | re.M)
    assert m, "docs/admin.md has no 'Exit status' section"
    rows = re.findall(r"^\| `([^`]+)` \| `([^`]+)` \| (\d) \| (.*?) \|$",
                      m.group(1), re.M)
    assert rows, "the Exit status table is empty"
    return [(cmd, inv, int(code), why) for cmd, inv, code, why in rows]


TABLE = exit_table()


@pytest.fixture(scope="module")
def world(stack):
    stack.pg.create_database(DB)
    write_repo_policy(stack.bao, "tenantgate-onboarding",
                      "tenantgate-onboarding.hcl")
    a = Admin(stack, DB, stack.bao.create_token(["tenantgate-onboarding"]))
    a.ok("migrate")
    seed_tenant(a, "ecorp", integrations=("jira",))
    a.sql("insert into users(email, display_name) values"
          " ('ann@ecorp.example', 'Ann'), ('bo@ecorp.example', 'Bo')")
    a.ok("member", "add", "ann@ecorp.example", "ecorp")
    a.ok("group", "add", "ecorp-eng", "ecorp")
    return a


def test_table_covers_every_command_and_group(world):
    names = re.findall(r"^  ([a-z]+(?: [a-z]+)?)\s{2,}", world.ok("help").stdout,
                       re.M)
    assert len(names) >= 20
    groups = {n.split()[0] for n in names if " " in n}
    covered = {cmd for cmd, *_ in TABLE}
    missing = (set(names) | groups) - covered
    assert not missing, f"docs/admin.md 'Exit status' has no row for {missing}"
    assert covered <= set(names) | groups, covered - set(names) - groups
    for g in groups:
        assert (g, f"{g} --help", 0) in {r[:3] for r in TABLE}, g
    # a usage case for every command, so 2 is checked everywhere
    no_usage = [n for n in names
                if not any(c == n and code == 2 for c, _, code, _ in TABLE)]
    assert not no_usage, f"no exit-2 row for {no_usage}"


@pytest.mark.parametrize("cmd,invocation,code,why", TABLE,
                         ids=[r[1] for r in TABLE])
def test_exit_code(world, cmd, invocation, code, why):
    args = shlex.split(invocation)
    assert " ".join(args[:len(cmd.split())]) == cmd, invocation
    r = world.run(*args, input="")
    assert r.returncode == code, f"{invocation}: {why}\n{r.stdout}\n{r.stderr}"
    if code == 0 and "nothing to do" in why:
        # an idempotent no-op says so, on stderr, and audits nothing
        assert re.search(r"nothing (to do|was changed)|already", r.stderr + r.stdout), \
            r.stderr
    if code != 0:
        assert "tenantgate-admin: " in r.stderr, r.stderr


def test_noops_write_no_audit_rows(world):
    before = world.scalar("select count(*) from audit_log")
    for _, inv, code, why in TABLE:
        if code == 0 and "nothing to do" in why:
            world.run(*shlex.split(inv))
    assert world.scalar("select count(*) from audit_log") == before


def test_json_errors_keep_the_exit_code(world):
    r = world.run("--json", "member", "add", "ann@ecorp.example", "ecorp", "--role",
                  "superuser")
    assert r.returncode == 2
    assert '"code": "bad_role"' in r.stdout or '"code":"bad_role"' in r.stdout
