"""A throwaway PostgreSQL 15 cluster on 127.0.0.1:<port>.

initdb into a temp dir, settings in postgresql.conf (so restart and a
start after kill() come back identically on the same port), trust auth
for the unix socket (in the temp dir) and 127.0.0.1, database `tenantgate`.

PostgreSQL refuses to run as root: as root, the cluster belongs to the
system user `tgtest` (created once with useradd --system if missing) and
initdb/pg_ctl run via `runuser -u tgtest --`.  psql is run as root: it is
only a client.  Durability is off (fsync, full_page_writes): tests only.
"""

import getpass
import os
import pathlib
import pwd
import re
import shutil
import signal
import subprocess
import time

from . import runtime
from .proc import HarnessError, free_port

PG_BIN = os.environ.get("TG_PG_BIN", "/usr/lib/postgresql/15/bin")
PG_USER = "tgtest"


class PgError(HarnessError):
    pass


def ensure_pg_user(name=PG_USER):
    """(uid, gid) of the unprivileged cluster owner; create it if needed."""
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        r = subprocess.run(["useradd", "--system", "--no-create-home",
                            "--shell", "/usr/sbin/nologin", name],
                           capture_output=True, text=True)
        # 9: "already exists" (a parallel run got there first)
        if r.returncode not in (0, 9):
            raise PgError(f"useradd {name}: {r.stderr.strip()}")
        pw = pwd.getpwnam(name)
    return pw.pw_uid, pw.pw_gid


class Postgres:
    name = "postgres"

    def __init__(self, port=None, dbname="tenantgate", bindir=PG_BIN,
                 settings=None):
        self.bindir = bindir
        self.dbname = dbname
        self._fixed_port = port is not None
        self.port = port or free_port()
        self.settings = dict(settings or {})
        if os.geteuid() == 0:
            self.user = PG_USER
            self._owner = ensure_pg_user()
            self._runas = ["runuser", "-u", PG_USER, "--"]
        else:
            self.user = getpass.getuser()
            self._owner = None
            self._runas = []
        self.dir = runtime.make_tempdir("pg", owner=self._owner)
        self.datadir = os.path.join(self.dir, "data")
        self.sockdir = self.dir
        self.log_path = runtime.add_log(os.path.join(self.dir, "postgres.log"))
        self._initialized = False
        self._closed = False
        runtime.register(self)

    def __repr__(self):
        return f"<Postgres 127.0.0.1:{self.port}>"

    # ---- addresses -------------------------------------------------------

    @property
    def dsn(self):
        return self.dsn_for(self.dbname)

    def dsn_for(self, dbname):
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}"

    @property
    def socket_dsn(self):
        return (f"postgresql://{self.user}@/{self.dbname}"
                f"?host={self.sockdir}&port={self.port}")

    # ---- running the tools ----------------------------------------------

    def _run(self, tool, *args, timeout=60, check=True):
        argv = self._runas + [os.path.join(self.bindir, tool), *args]
        env = dict(os.environ, TG_HARNESS_DIR=self.dir, LC_ALL="C.UTF-8")
        r = subprocess.run(argv, cwd=self.dir, env=env, capture_output=True,
                           text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise PgError(f"{tool} {' '.join(args)}: exit {r.returncode}\n"
                          f"{r.stdout}{r.stderr}\nlog tail:\n"
                          f"{self.log_tail()}")
        return r

    def _pg_ctl(self, *args, check=True, timeout=60):
        return self._run("pg_ctl", "-D", self.datadir, *args,
                         timeout=timeout, check=check)

    def log_tail(self, lines=20):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    # ---- lifecycle -------------------------------------------------------

    def _initdb(self):
        self._run("initdb", "-D", self.datadir, "-U", self.user,
                  "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8",
                  "--no-sync", "--no-instructions")
        with open(os.path.join(self.datadir, "pg_hba.conf"), "w") as f:
            f.write("local all all trust\n"
                    "host all all 127.0.0.1/32 trust\n")
        self._write_conf()
        self._initialized = True

    def _write_conf(self):
        conf = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.sockdir}'",
            "fsync": "off", "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
            "shared_buffers": "32MB",
            "log_line_prefix": "'%m [%p] %q%u@%d '",
            "log_min_duration_statement": "-1",
            "timezone": "'UTC'",
        }
        conf.update({k: str(v) for k, v in self.settings.items()})
        path = os.path.join(self.datadir, "postgresql.auto.conf")
        with open(path, "w") as f:
            for k, v in conf.items():
                f.write(f"{k} = {v}\n")
        if self._owner:
            os.chown(path, *self._owner)
            os.chown(os.path.join(self.datadir, "pg_hba.conf"), *self._owner)

    @property
    def running(self):
        if not self._initialized:
            return False
        return self._pg_ctl("status", check=False).returncode == 0

    def start(self, timeout=30):
        """Start (initdb + create database on first start)."""
        if self._closed:
            raise PgError("start() after close()")
        first = not self._initialized
        if first:
            self._initdb()
        elif self.running:
            return self
        for attempt in range(3):
            r = self._pg_ctl("start", "-w", "-t", str(timeout),
                             "-l", self.log_path, check=False,
                             timeout=timeout + 10)
            if r.returncode == 0:
                break
            lost_port = "could not bind" in self.log_tail(5) or \
                "Address already in use" in self.log_tail(5)
            if not lost_port or self._fixed_port or attempt == 2:
                raise PgError(f"pg_ctl start: {r.stdout}{r.stderr}\n"
                              f"log tail:\n{self.log_tail()}")
            self.port = free_port()     # someone took it meanwhile
            self._write_conf()
        if first:
            self.psql(f'CREATE DATABASE "{self.dbname}"', dbname="postgres")
        return self

    def stop(self, mode="fast"):
        """Stop the server (files kept; start() brings it back)."""
        if not self._initialized or self._closed:
            return
        r = self._pg_ctl("stop", "-w", "-t", "30", "-m", mode, check=False)
        if r.returncode != 0 and self.running:
            self._pg_ctl("stop", "-w", "-m", "immediate", check=False)
        self._kill_leftovers()

    def kill(self):
        """Crash-like stop (immediate mode: no checkpoint, clients cut)."""
        self.stop(mode="immediate")

    def restart(self, timeout=30):
        """pg_ctl restart: same port, same data; connections are cut."""
        self._pg_ctl("restart", "-w", "-t", str(timeout), "-m", "fast",
                     "-l", self.log_path, timeout=timeout + 10)
        return self

    def _kill_leftovers(self):
        pidfile = os.path.join(self.datadir, "postmaster.pid")
        try:
            with open(pidfile) as f:
                pid = int(f.readline())
        except (OSError, ValueError):
            return
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            return
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except OSError:
                break
            time.sleep(0.02)

    def close(self):
        if self._closed:
            return
        self.stop(mode="immediate")
        self._closed = True
        runtime.unregister(self)
        runtime.remove_tempdir(self.dir)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- SQL -------------------------------------------------------------

    def psql(self, sql=None, dbname=None, file=None, check=True,
             extra_args=(), timeout=60, stdin=None):
        """Run psql -X -A -t with ON_ERROR_STOP=1; returns stdout.

        sql: text (sent on stdin, so several statements are fine) or
        file: a path ("-" reads stdin=).  Raises PgError with stderr."""
        psql = os.path.join(self.bindir, "psql")
        argv = [psql, "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
                "-d", self.dsn_for(dbname or self.dbname), *extra_args]
        if file is not None:
            argv += ["-f", os.fspath(file)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(PGCONNECT_TIMEOUT="10", PGAPPNAME="tgtest-harness")
        r = subprocess.run(argv, input=sql if file is None else stdin,
                           capture_output=True, text=True, env=env,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise PgError(f"psql: exit {r.returncode}: {r.stderr.strip()}")
        return r.stdout

    def query(self, sql, dbname=None):
        """Rows of a query as tuples of strings (NULL -> '')."""
        out = self.psql(sql, dbname=dbname, extra_args=("-F", "\x1f"))
        return [tuple(line.split("\x1f")) for line in out.splitlines()
                if line != ""]

    def scalar(self, sql, dbname=None):
        rows = self.query(sql, dbname=dbname)
        return rows[0][0] if rows else None

    def create_extension(self, name="citext", dbname=None):
        self.psql(f'CREATE EXTENSION IF NOT EXISTS "{name}"', dbname=dbname)

    def create_database(self, name, template=None, extensions=()):
        """A new database (dropped first if it exists); returns its DSN."""
        self.drop_database(name)
        tpl = f' TEMPLATE "{template}"' if template else ""
        self.psql(f'CREATE DATABASE "{name}"{tpl}', dbname="postgres")
        for e in extensions:
            self.create_extension(e, dbname=name)
        return self.dsn_for(name)

    def drop_database(self, name):
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                  dbname="postgres")

    def terminate_backends(self, dbname=None):
        """Cut every client connection to dbname (default: all databases)."""
        where = f"datname = '{dbname}'" if dbname else "datname IS NOT NULL"
        self.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                  f" WHERE pid <> pg_backend_pid() AND {where}",
                  dbname="postgres")

    def apply_sql_files(self, paths, dbname=None):
        """Apply SQL files in order with ON_ERROR_STOP=1."""
        for p in paths:
            self.psql(file=p, dbname=dbname)

    def apply_migrations(self, directory, dbname=None):
        """Apply migrations/NNNN_name.sql the way tui/migrate.c does:
        schema_migrations is created here (the files do not create it),
        each file not yet recorded runs in its own transaction together
        with its version row.  Returns the versions applied."""
        self.psql("SET client_min_messages = warning;"
                  "CREATE TABLE IF NOT EXISTS schema_migrations ("
                  "version integer PRIMARY KEY, name text NOT NULL,"
                  " applied_at timestamptz NOT NULL DEFAULT now())",
                  dbname=dbname)
        done = {int(r[0]) for r in self.query(
            "SELECT version FROM schema_migrations", dbname=dbname)}
        files = []
        for p in sorted(pathlib.Path(directory).glob("*.sql")):
            m = re.match(r"^(\d+)_(.+)\.sql$", p.name)
            if not m:
                raise PgError(f"{p.name}: not NNNN_name.sql")
            files.append((int(m.group(1)), m.group(2), p))
        applied = []
        for version, name, p in sorted(files):
            if version in done:
                continue
            script = (f"SET LOCAL client_min_messages = warning;\n"
                      f"\\i {p}\n"
                      f"INSERT INTO schema_migrations (version, name)"
                      f" VALUES ({version}, '{name}');\n")
            self.psql(dbname=dbname, file="-", stdin=script,
                      extra_args=("--single-transaction",))
            applied.append(version)
        return applied


def have_postgres(bindir=PG_BIN):
    return all(os.access(os.path.join(bindir, t), os.X_OK)
               for t in ("initdb", "pg_ctl", "psql")) and \
        (os.geteuid() != 0 or shutil.which("runuser") is not None)
