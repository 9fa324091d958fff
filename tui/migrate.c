/*
 * migrate: the schema_migrations runner. Owns the file naming rule
 * (NNNN_name.sql), the order, the advisory lock, and the promise that a
 * failing file leaves neither its tables nor its version row behind.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"
#include "log.h"
#include "migrate.h"

/* pg_advisory_xact_lock key: "tenantga" in ASCII. */
#define MIGRATE_LOCK_KEY	"8387227455434794849"
#define MIGRATE_FILES_MAX	10000
#define MIGRATE_FILE_MAX	(16 * 1024 * 1024)

struct migration {
	int	 version;
	char	*file;		/* "0002_x.sql" */
	char	*name;		/* "x" */
};

static void
migrate_free_list(struct migration *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].file);
		free(m[i].name);
	}
	free(m);
}

static int
migrate_cmp(const void *a, const void *b)
{
	const struct migration *x = a, *y = b;

	return (x->version > y->version) - (x->version < y->version);
}

/* "0002_add_x.sql" -> 2, "add_x"; -1 if the name does not follow the rule. */
static int
migrate_parse_name(const char *f, int *version, char **name)
{
	size_t		 l = strlen(f), digits = 0;
	long		 v = 0;

	while (f[digits] >= '0' && f[digits] <= '9') {
		if (digits >= 9)
			return -1;
		v = v * 10 + (f[digits] - '0');
		digits++;
	}
	if (digits == 0 || f[digits] != '_' || l < digits + 6 ||
	    strcmp(f + l - 4, ".sql") != 0 || v == 0)
		return -1;
	*version = (int)v;
	*name = strndup(f + digits + 1, l - digits - 5);
	return *name != NULL ? 0 : -1;
}

static int
migrate_scan(const char *dir, struct migration **out, size_t *nout,
    struct err *e)
{
	DIR			*d;
	struct dirent		*de;
	struct migration	*m = NULL;
	size_t			 n = 0;

	*out = NULL;
	*nout = 0;
	if ((d = opendir(dir)) == NULL)
		return err_set(e, 500, "migrations_missing", "cannot open "
		    "migrations directory '%s': %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		struct migration	*nm;
		int			 v;
		char			*name;

		if (de->d_name[0] == '.')
			continue;
		if (migrate_parse_name(de->d_name, &v, &name) == -1) {
			size_t l = strlen(de->d_name);
			if (l > 4 && strcmp(de->d_name + l - 4, ".sql") == 0)
				log_warnx("migrations: ignoring %s/%s (not "
				    "NNNN_name.sql)", dir, de->d_name);
			continue;
		}
		if (n >= MIGRATE_FILES_MAX ||
		    (nm = realloc(m, (n + 1) * sizeof *m)) == NULL) {
			free(name);
			closedir(d);
			migrate_free_list(m, n);
			return err_set(e, 500, "migrations_bad",
			    "too many migration files in '%s'", dir);
		}
		m = nm;
		m[n].version = v;
		m[n].name = name;
		if ((m[n].file = strdup(de->d_name)) == NULL) {
			free(name);
			closedir(d);
			migrate_free_list(m, n);
			return err_set(e, 500, "nomem", "out of memory");
		}
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(m, n, sizeof *m, migrate_cmp);
	for (size_t i = 1; i < n; i++) {
		if (m[i].version == m[i - 1].version) {
			err_set(e, 500, "migrations_bad", "two migrations with "
			    "version %d: %s and %s", m[i].version,
			    m[i - 1].file, m[i].file);
			migrate_free_list(m, n);
			return -1;
		}
	}
	*out = m;
	*nout = n;
	return 0;
}

static char *
migrate_read(const char *dir, const char *file, struct err *e)
{
	char		 path[4096];
	FILE		*f;
	struct stat	 st;
	char		*buf;
	size_t		 got;

	snprintf(path, sizeof path, "%s/%s", dir, file);
	if ((f = fopen(path, "r")) == NULL) {
		err_set(e, 500, "migrations_missing", "%s: %s", path,
		    strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) == -1 || st.st_size > MIGRATE_FILE_MAX) {
		fclose(f);
		err_set(e, 500, "migrations_bad", "%s: too large", file);
		return NULL;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		fclose(f);
		err_set(e, 500, "nomem", "out of memory");
		return NULL;
	}
	got = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	buf[got] = '\0';
	return buf;
}

/* A failed result as an err: 503 when the connection is gone. */
static int
migrate_pgerr(PGconn *c, PGresult *r, const char *what, const char *sql,
    struct err *e)
{
	const char	*msg = NULL, *pos;
	char		 where[32] = "";

	if (r != NULL)
		msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	if (msg == NULL)
		msg = PQerrorMessage(c);
	/* Turn the statement position into a line of the file. */
	if (r != NULL && sql != NULL &&
	    (pos = PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION)) != NULL) {
		long	chars = atol(pos), line = 1;

		for (const char *p = sql; *p != '\0' && chars > 1; p++) {
			if (((unsigned char)*p & 0xc0) != 0x80)
				chars--;
			if (*p == '\n')
				line++;
		}
		snprintf(where, sizeof where, " (line %ld)", line);
	}
	if (PQstatus(c) != CONNECTION_OK)
		err_set(e, 503, "db_unavailable", "%s: database connection "
		    "lost: %.*s", what, (int)strcspn(msg, "\n"), msg);
	else
		err_set(e, 500, "migration_failed", "%s: %.*s%s", what,
		    (int)strcspn(msg, "\n"), msg, where);
	return -1;
}

static int
migrate_cmd(PGconn *c, const char *sql, const char *what, struct err *e)
{
	PGresult	*r = PQexec(c, sql);
	int		 ok = r != NULL && (PQresultStatus(r) == PGRES_COMMAND_OK ||
			    PQresultStatus(r) == PGRES_TUPLES_OK);

	if (!ok)
		migrate_pgerr(c, r, what, NULL, e);
	PQclear(r);
	return ok ? 0 : -1;
}

static void
migrate_rollback(PGconn *c)
{
	if (PQtransactionStatus(c) != PQTRANS_IDLE)
		PQclear(PQexec(c, "ROLLBACK"));
}

/* One integer from a query without parameters. */
static int
migrate_int(PGconn *c, const char *sql, int *out, struct err *e)
{
	PGresult	*r = PQexec(c, sql);

	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK ||
	    PQntuples(r) != 1) {
		migrate_pgerr(c, r, "schema_migrations", NULL, e);
		PQclear(r);
		return -1;
	}
	*out = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

static int
migrate_connected(PGconn *c, struct err *e)
{
	if (c == NULL || PQstatus(c) != CONNECTION_OK)
		return err_set(e, 503, "db_unavailable",
		    "database unavailable: %.*s",
		    c != NULL ? (int)strcspn(PQerrorMessage(c), "\n") : 13,
		    c != NULL ? PQerrorMessage(c) : "no connection");
	return 0;
}

/* Apply one file, unless another runner did while we waited for the lock. */
static int
migrate_one(PGconn *c, const char *dir, const struct migration *m,
    int *applied, struct err *e)
{
	char		 vbuf[16];
	const char	*params[2] = { vbuf, m->name };
	PGresult	*r;
	char		*sql;
	int		 done;

	snprintf(vbuf, sizeof vbuf, "%d", m->version);
	if (migrate_cmd(c, "BEGIN", m->file, e) == -1)
		return -1;
	if (migrate_cmd(c, "SET LOCAL client_min_messages = warning", m->file,
	    e) == -1 ||
	    migrate_cmd(c, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")",
	    m->file, e) == -1)
		goto fail;
	r = PQexecParams(c, "SELECT 1 FROM schema_migrations WHERE version = $1",
	    1, NULL, params, NULL, NULL, 0);
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
		migrate_pgerr(c, r, m->file, NULL, e);
		PQclear(r);
		goto fail;
	}
	done = PQntuples(r) > 0;
	PQclear(r);
	if (done)
		return migrate_cmd(c, "COMMIT", m->file, e);

	if ((sql = migrate_read(dir, m->file, e)) == NULL)
		goto fail;
	r = PQexec(c, sql);
	if (r == NULL || (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)) {
		migrate_pgerr(c, r, m->file, sql, e);
		PQclear(r);
		free(sql);
		goto fail;
	}
	PQclear(r);
	free(sql);
	/* A file that ended the transaction itself would escape the rule. */
	if (PQtransactionStatus(c) != PQTRANS_INTRANS) {
		err_set(e, 500, "migration_failed", "%s: must not contain "
		    "BEGIN/COMMIT/ROLLBACK", m->file);
		goto fail;
	}
	r = PQexecParams(c, "INSERT INTO schema_migrations (version, name) "
	    "VALUES ($1, $2)", 2, NULL, params, NULL, NULL, 0);
	if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
		migrate_pgerr(c, r, m->file, NULL, e);
		PQclear(r);
		goto fail;
	}
	PQclear(r);
	if (migrate_cmd(c, "COMMIT", m->file, e) == -1)
		goto fail;
	log_info("migrations: applied %s", m->file);
	(*applied)++;
	return 0;
fail:
	migrate_rollback(c);
	return -1;
}

int
migrate_apply(PGconn *c, const char *dir, int *applied, struct err *e)
{
	struct migration	*m;
	size_t			 n;
	int			 dbv = 0, codev, count = 0, rc = 0;

	if (applied != NULL)
		*applied = 0;
	if (migrate_connected(c, e) == -1)
		return -1;
	if (migrate_scan(dir, &m, &n, e) == -1)
		return -1;
	codev = n > 0 ? m[n - 1].version : 0;

	if (migrate_cmd(c, "BEGIN", "schema_migrations", e) == -1 ||
	    migrate_cmd(c, "SET LOCAL client_min_messages = warning",
	    "schema_migrations", e) == -1 ||
	    migrate_cmd(c, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")",
	    "schema_migrations", e) == -1 ||
	    migrate_cmd(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "version integer PRIMARY KEY, name text NOT NULL, "
	    "applied_at timestamptz NOT NULL DEFAULT now())",
	    "schema_migrations", e) == -1 ||
	    migrate_int(c, "SELECT coalesce(max(version), 0) "
	    "FROM schema_migrations", &dbv, e) == -1 ||
	    migrate_cmd(c, "COMMIT", "schema_migrations", e) == -1) {
		migrate_rollback(c);
		rc = -1;
		goto out;
	}
	if (dbv > codev) {
		rc = err_set(e, 500, "db_too_new", "database is at migration "
		    "%d but this build knows only up to %d; upgrade tenantgate",
		    dbv, codev);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (migrate_one(c, dir, &m[i], &count, e) == -1) {
			rc = -1;
			break;
		}
	}
out:
	migrate_free_list(m, n);
	if (applied != NULL)
		*applied = count;
	return rc;
}

int
migrate_status(PGconn *c, const char *dir, int *db_version,
    int *code_version, struct err *e)
{
	struct migration	*m;
	size_t			 n;
	int			 exists = 0, dbv = 0;

	if (migrate_connected(c, e) == -1)
		return -1;
	if (migrate_scan(dir, &m, &n, e) == -1)
		return -1;
	if (code_version != NULL)
		*code_version = n > 0 ? m[n - 1].version : 0;
	migrate_free_list(m, n);
	/* Where CREATE TABLE in migrate_apply() would put it, not any
	 * schema_migrations further down the search_path. */
	if (migrate_int(c, "SELECT (to_regclass(quote_ident(current_schema()) "
	    "|| '.schema_migrations') IS NOT NULL)::int", &exists, e) == -1)
		return -1;
	if (exists && migrate_int(c, "SELECT coalesce(max(version), 0) "
	    "FROM schema_migrations", &dbv, e) == -1)
		return -1;
	if (db_version != NULL)
		*db_version = dbv;
	return 0;
}
