"""The C tests that need a real PostgreSQL (test/unit/test_db_*.c).

`make check` skips build/<variant>/test/test_db_* in its plain unit run;
here each of them runs against the harness server (fixture `pg`) with
TG_TEST_DSN pointing at a database of its own, created fresh.  The binaries
come from build/san (TG_BIN_DIR's parent when set, as scripts/check sets it
to build/san/bin).

test_db_store's restart test needs the server to go away and come back
under it: it runs once more, alone (TG_TEST_FILTER), against a private
cluster whose `pg_ctl restart` it calls through TG_TEST_RESTART_CMD, so a
restart never disturbs the session's shared server.
"""

import os
import pathlib
import shlex
import subprocess

import pytest

import harness

REPO = pathlib.Path(__file__).resolve().parents[2]
TIMEOUT = 300


def _variant_dir():
    bindir = os.environ.get("TG_BIN_DIR")
    if bindir:
        return pathlib.Path(bindir).resolve().parent
    return REPO / "build" / "san"


TEST_BIN_DIR = _variant_dir() / "test"
BINARIES = sorted(p for p in TEST_BIN_DIR.glob("test_db_*")
                  if p.is_file() and os.access(p, os.X_OK))


def _run(binary, dsn, **extra):
    env = dict(os.environ)
    # libpq must take everything from the DSN, not from the caller's PG*.
    for k in list(env):
        if k.startswith("PG"):
            del env[k]
    env.update(TG_TEST_DSN=dsn,
               TG_MIGRATIONS_DIR=str(REPO / "migrations"))
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    env.update(extra)
    r = subprocess.run([str(binary)], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=TIMEOUT)
    out = f"{r.stdout}\n--- stderr ---\n{r.stderr}"
    # shown by pytest for failing tests (and scanned for leaked secrets)
    print(out)
    return r.returncode, out


@pytest.mark.parametrize("binary", BINARIES, ids=lambda p: p.name)
def test_db_unit(pg, binary):
    dsn = pg.create_database(f"unit_{binary.name}")
    try:
        rc, out = _run(binary, dsn)
        assert rc == 0, f"{binary.name} exited with {rc}:\n{out}"
    finally:
        pg.drop_database(f"unit_{binary.name}")


def _restart_cmd(p):
    runas = ["runuser", "-u", p.user, "--"] if os.geteuid() == 0 else []
    argv = runas + [os.path.join(p.bindir, "pg_ctl"), "-D", p.datadir,
                    "-l", p.log_path, "-w", "-t", "30", "-m", "fast",
                    "restart"]
    return shlex.join(argv) + " >/dev/null"


@pytest.mark.skipif(not (TEST_BIN_DIR / "test_db_store").exists(),
                    reason="build/<variant>/test/test_db_store not built")
def test_db_store_survives_restart():
    p = harness.Postgres().start()
    try:
        rc, out = _run(TEST_BIN_DIR / "test_db_store", p.dsn,
                       TG_TEST_FILTER="test_restart",
                       TG_TEST_RESTART_CMD=_restart_cmd(p))
        assert rc == 0, f"test_db_store (restart) exited with {rc}:\n{out}"
        assert "[  SKIPPED ]" not in out, out
        assert "[       OK ] test_restart" in out, out
    finally:
        p.close()
