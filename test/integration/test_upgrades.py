"""Upgrades (issue 16, point 7): migrations are forward-only and apply to a
database at every earlier version, keeping its data, ending in exactly the
schema a fresh database gets; the broker refuses a schema newer (or older)
than it was built for, with a message that says what to do."""
import pathlib
import re
import shutil
import subprocess

import pytest

from harness import runtime
from harness.product import Tenantgate, binary, sanitizer_env

REPO = pathlib.Path(__file__).resolve().parents[2]
FILES = sorted((REPO / "migrations").glob("[0-9][0-9][0-9][0-9]_*.sql"))
NEWEST = int(FILES[-1].name[:4])


def migrate(pg, dbname, upto=None):
    """tenantgate-admin migrate, with migrations/ holding files up to upto."""
    datadir = pathlib.Path(runtime.make_tempdir("upgrade-data"))
    (datadir / "migrations").mkdir()
    for f in FILES:
        if upto is None or int(f.name[:4]) <= upto:
            shutil.copy(f, datadir / "migrations" / f.name)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(datadir), "LANG": "C.UTF-8",
           "TENANTGATE_DATABASE_URL": pg.dsn_for(dbname),
           "TENANTGATE_DATADIR": str(datadir), **sanitizer_env()}
    r = subprocess.run([binary("tenantgate-admin"), "migrate", "--dir",
                        str(datadir / "migrations")], env=env, cwd=datadir,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def schema(pg, dbname):
    out = subprocess.run(
        [*pg._runas, f"{pg.bindir}/pg_dump", "--schema-only", "--no-owner",
         "--no-privileges", "-d", pg.dsn_for(dbname)],
        capture_output=True, text=True, timeout=60, check=True).stdout
    return "\n".join(line for line in out.splitlines()
                     if line and not line.startswith("--") and "pg_dump" not in line
                     and not line.startswith(("\\restrict", "\\unrestrict")))


def test_the_newest_migration_is_what_the_broker_was_built_for():
    out = subprocess.run([binary("tenantgate-broker"), "--version"], capture_output=True,
                         text=True, timeout=10, env=sanitizer_env()).stdout
    assert f"(schema {NEWEST})" in out, (out, FILES[-1].name)
    # numbered 1..N without gaps or repeats: forward-only, one at a time
    assert [int(f.name[:4]) for f in FILES] == list(range(1, NEWEST + 1))


@pytest.mark.parametrize("start", range(0, NEWEST))
def test_migrations_apply_to_a_database_at_every_earlier_version(stack, start):
    pg = stack.pg
    fresh, old = f"upg_fresh_{start}", f"upg_from_{start}"
    pg.create_database(fresh)
    pg.create_database(old)
    try:
        migrate(pg, fresh)
        if start > 0:
            migrate(pg, old, upto=start)
            # data written by that version survives the upgrade
            pg.psql("insert into tenants(id, display_name) values ('acme', 'Acme');"
                    "insert into users(email) values ('ann@example.com');"
                    "insert into memberships(user_id, tenant_id, role, granted_by)"
                    " select id, 'acme', 'editor', 'test' from users"
                    " where email = 'ann@example.com'", dbname=old)
        if start > 0:
            assert int(pg.scalar("select max(version) from schema_migrations",
                                 dbname=old)) == start
        out = migrate(pg, old)
        assert f"applied {NEWEST - start} migration(s)" in out, out
        assert schema(pg, old) == schema(pg, fresh)
        if start > 0:
            assert pg.scalar("select role from memberships m join users u on"
                             " u.id = m.user_id where u.email = 'ann@example.com'",
                             dbname=old) == "editor"
        # and again: nothing to do
        assert "applied 0 migration(s)" in migrate(pg, old)
    finally:
        pg.drop_database(fresh)
        pg.drop_database(old)


@pytest.mark.parametrize("version,words", [
    (NEWEST + 1, "newer than this program knows"),
    (NEWEST - 1, "run `tenantgate-admin migrate` first")])
def test_broker_refuses_a_schema_it_was_not_built_for(stack, version, words):
    pg = stack.pg
    db = f"upg_refuse_{version}"
    pg.create_database(db)
    try:
        migrate(pg, db, upto=min(version, NEWEST))
        if version > NEWEST:
            pg.psql(f"insert into schema_migrations(version, name) values ({version},"
                    " 'from_the_future')", dbname=db)
        tg = Tenantgate(stack)
        tg.broker_sa_file = tg.broker_k8s_identity("1h", None)
        conf = tg._write(f"broker-{db}.conf", tg.broker_config(1, database_url=pg.dsn_for(db)))
        try:
            r = subprocess.run([binary("tenantgate-broker"), "-c", conf],
                               capture_output=True, text=True, timeout=30,
                               env=sanitizer_env())
        except subprocess.TimeoutExpired as e:
            pytest.fail(f"the broker started anyway:\n{e.stderr}")
        assert r.returncode != 0
        assert words in r.stderr, r.stderr
        assert re.search(rf"schema is at version {version}", r.stderr), r.stderr
    finally:
        pg.drop_database(db)
