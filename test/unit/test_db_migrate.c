/*
 * test_db_migrate: the migration runner against a real PostgreSQL
 * (TG_TEST_DSN). Each test works in its own schema, so the database may
 * be reused; the real migrations come from TG_MIGRATIONS_DIR.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>
#include <cmocka.h>

#include <libpq-fe.h>

#include "err.h"
#include "../../tui/migrate.h"

static const char *
migrations_dir(void)
{
	const char *d = getenv("TG_MIGRATIONS_DIR");

	return d != NULL && *d != '\0' ? d : "migrations";
}

static void
exec_ok(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
}

static int
query_int(PGconn *c, const char *sql)
{
	PGresult	*r = PQexec(c, sql);
	int		 v;

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	v = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

/* How many migration files there are: versions may have gaps (branches
 * number their migrations ahead), so count files, not the last version. */
static int
migration_files(void)
{
	DIR		*d = opendir(migrations_dir());
	struct dirent	*de;
	int		 n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (len > 9 && strspn(de->d_name, "0123456789") == 4 && de->d_name[4] == '_' &&
		    strcmp(de->d_name + len - 4, ".sql") == 0)
			n++;
	}
	closedir(d);
	return n;
}

/* A connection whose search_path is a fresh schema of that name. */
static PGconn *
connect_schema(const char *schema, int fresh)
{
	const char	*dsn = getenv("TG_TEST_DSN");
	PGconn		*c;
	char		 sql[256];

	if (dsn == NULL || *dsn == '\0')
		skip();
	c = PQconnectdb(dsn);
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("connect: %s", PQerrorMessage(c));
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	/* citext lives in public, where every test schema can see it (one
	 * created by 0001_init in a test schema would vanish with it). */
	exec_ok(c, "CREATE EXTENSION IF NOT EXISTS citext SCHEMA public");
	if (fresh) {
		snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", schema);
		exec_ok(c, sql);
		snprintf(sql, sizeof sql, "CREATE SCHEMA %s", schema);
		exec_ok(c, sql);
	}
	snprintf(sql, sizeof sql, "SET search_path = %s, public", schema);
	exec_ok(c, sql);
	return c;
}

static void
write_file(const char *dir, const char *name, const char *text)
{
	char	 path[512];
	FILE	*f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

static void
remove_dir(const char *dir, const char *const *files)
{
	char path[512];

	for (; *files != NULL; files++) {
		snprintf(path, sizeof path, "%s/%s", dir, *files);
		unlink(path);
	}
	rmdir(dir);
}

static void
test_fresh_then_noop(void **state)
{
	PGconn		*c = connect_schema("tgt_mig_fresh", 1);
	struct err	 e;
	int		 applied = -1, dbv = -1, codev = -1;

	err_clear(&e);
	assert_int_equal(migrate_status(c, migrations_dir(), &dbv, &codev, &e), 0);
	assert_int_equal(dbv, 0);
	assert_true(codev >= 1);

	if (migrate_apply(c, migrations_dir(), &applied, &e) != 0)
		fail_msg("migrate_apply: %s", e.msg);
	assert_int_equal(applied, migration_files());
	assert_int_equal(query_int(c, "SELECT count(*) FROM schema_migrations"),
	    migration_files());
	assert_int_equal(query_int(c, "SELECT max(version) FROM schema_migrations"), codev);
	assert_int_equal(query_int(c, "SELECT count(*) FROM schema_migrations "
	    "WHERE version = 1 AND name = 'init'"), 1);
	/* The data model is there. */
	assert_int_equal(query_int(c, "SELECT count(*) FROM information_schema"
	    ".tables WHERE table_schema = 'tgt_mig_fresh' AND table_name IN "
	    "('tenants', 'users', 'memberships', 'group_mappings', "
	    "'tenant_integrations', 'audit_log', 'revoked_grants', "
	    "'user_revocations', 'schema_migrations')"), 9);

	/* Twice is a no-op. */
	applied = -1;
	assert_int_equal(migrate_apply(c, migrations_dir(), &applied, &e), 0);
	assert_int_equal(applied, 0);
	assert_int_equal(migrate_status(c, migrations_dir(), &dbv, &codev, &e), 0);
	assert_int_equal(dbv, codev);
	PQfinish(c);
}

static void
test_newer_db_refused(void **state)
{
	PGconn		*c = connect_schema("tgt_mig_newer", 1);
	struct err	 e;
	int		 applied = -1, codev = 0;
	char		 want[256];

	err_clear(&e);
	assert_int_equal(migrate_apply(c, migrations_dir(), &applied, &e), 0);
	assert_int_equal(migrate_status(c, migrations_dir(), NULL, &codev, &e), 0);
	exec_ok(c, "INSERT INTO schema_migrations (version, name) "
	    "VALUES (999, 'from_the_future')");
	assert_int_equal(migrate_apply(c, migrations_dir(), &applied, &e), -1);
	assert_int_equal(applied, 0);
	snprintf(want, sizeof want, "database is at migration 999 but this "
	    "build knows only up to %d; upgrade tenantgate", codev);
	assert_string_equal(e.msg, want);
	assert_string_equal(e.code, "db_too_new");
	PQfinish(c);
}

static void
test_broken_rolls_back(void **state)
{
	static const char *const files[] = { "0001_ok.sql", "0002_broken.sql",
	    "0003_later.sql", "README", "notes.sql", NULL };
	PGconn		*c = connect_schema("tgt_mig_broken", 1);
	struct err	 e;
	char		 dir[] = "/tmp/test_db_migrate.XXXXXX";
	int		 applied = -1;

	assert_non_null(mkdtemp(dir));
	write_file(dir, "0001_ok.sql", "create table ok_t (id int);\n");
	write_file(dir, "0002_broken.sql",
	    "create table partial_t (id int);\n"
	    "insert into partial_t values (1);\n"
	    "select * from no_such_table;\n");
	write_file(dir, "0003_later.sql", "create table later_t (id int);\n");
	write_file(dir, "README", "not a migration\n");
	write_file(dir, "notes.sql", "-- ignored: no number\n");

	err_clear(&e);
	assert_int_equal(migrate_apply(c, dir, &applied, &e), -1);
	assert_int_equal(applied, 1);
	assert_string_equal(e.msg, "0002_broken.sql: relation \"no_such_table\" "
	    "does not exist (line 3)");
	assert_int_equal(query_int(c, "SELECT count(*) FROM schema_migrations"), 1);
	assert_int_equal(query_int(c, "SELECT (to_regclass('ok_t') IS NOT NULL)"
	    "::int"), 1);
	assert_int_equal(query_int(c, "SELECT (to_regclass('partial_t') IS NOT "
	    "NULL)::int"), 0);
	assert_int_equal(query_int(c, "SELECT (to_regclass('later_t') IS NOT "
	    "NULL)::int"), 0);
	/* The connection is still usable, and outside any transaction. */
	assert_int_equal(PQtransactionStatus(c), PQTRANS_IDLE);

	/* Fixed file: the rest applies. */
	write_file(dir, "0002_broken.sql", "create table partial_t (id int);\n");
	assert_int_equal(migrate_apply(c, dir, &applied, &e), 0);
	assert_int_equal(applied, 2);
	assert_int_equal(query_int(c, "SELECT max(version) FROM "
	    "schema_migrations"), 3);

	/* A file that commits on its own is refused. */
	write_file(dir, "0004_commit.sql", "commit;\n");
	assert_int_equal(migrate_apply(c, dir, &applied, &e), -1);
	assert_non_null(strstr(e.msg, "0004_commit.sql: must not contain"));
	{
		char p[512];
		snprintf(p, sizeof p, "%s/0004_commit.sql", dir);
		unlink(p);
	}

	/* Two files with one version. */
	write_file(dir, "0003_again.sql", "select 1;\n");
	assert_int_equal(migrate_apply(c, dir, &applied, &e), -1);
	assert_non_null(strstr(e.msg, "two migrations with version 3"));
	{
		char p[512];
		snprintf(p, sizeof p, "%s/0003_again.sql", dir);
		unlink(p);
	}
	remove_dir(dir, files);

	/* A missing directory is a clear error. */
	assert_int_equal(migrate_apply(c, "/nonexistent/migrations", &applied,
	    &e), -1);
	assert_string_equal(e.code, "migrations_missing");
	PQfinish(c);
}

struct racer {
	int		 rc, applied;
	struct err	 e;
};

static void *
race_one(void *arg)
{
	struct racer	*r = arg;
	PGconn		*c = PQconnectdb(getenv("TG_TEST_DSN"));

	/* No cmocka asserts off the main thread: report through r. */
	PQclear(PQexec(c, "SET search_path = tgt_mig_race, public"));
	r->rc = migrate_apply(c, migrations_dir(), &r->applied, &r->e);
	PQfinish(c);
	return NULL;
}

/* Two runners at once: the lock makes one apply and the other find it done. */
static void
test_concurrent_runners(void **state)
{
	PGconn		*c = connect_schema("tgt_mig_race", 1);
	struct racer	 r[4];
	pthread_t	 t[4];
	int		 codev = 0, total = 0;

	assert_int_equal(migrate_status(c, migrations_dir(), NULL, &codev,
	    NULL), 0);
	memset(r, 0, sizeof r);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, race_one, &r[i]), 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		if (r[i].rc != 0)
			fail_msg("runner %d: %s", i, r[i].e.msg);
		total += r[i].applied;
	}
	assert_true(codev >= 1);
	assert_int_equal(total, migration_files());
	assert_int_equal(query_int(c, "SELECT count(*) FROM schema_migrations"),
	    migration_files());
	PQfinish(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_then_noop),
		cmocka_unit_test(test_newer_db_refused),
		cmocka_unit_test(test_broken_rolls_back),
		cmocka_unit_test(test_concurrent_runners),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
