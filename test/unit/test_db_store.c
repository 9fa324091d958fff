/*
 * test_db_store: the broker's PostgreSQL access against a real server
 * (TG_TEST_DSN). Applies migrations/ (TG_MIGRATIONS_DIR) to the public
 * schema first and resets the data, so the database may be reused.
 *
 * TG_TEST_RESTART_CMD, when set, restarts that server (the pytest wrapper
 * runs this binary once more against a private cluster with it, and with
 * TG_TEST_FILTER=test_restart); without it test_restart is skipped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <libpq-fe.h>

#include "err.h"
#include "../../broker/store.h"
#include "../../tui/db.h"
#include "../../tui/migrate.h"

static const char	*dsn;
static PGconn		*admin;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void
sql(const char *q)
{
	PGresult *r = PQexec(admin, q);

	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", q, PQerrorMessage(admin));
	PQclear(r);
}

/* One value of a query with one text parameter. */
static char *
sql_value(const char *q, const char *param)
{
	const char	*params[1] = { param };
	PGresult	*r = PQexecParams(admin, q, param != NULL ? 1 : 0, NULL,
			    params, NULL, NULL, 0);
	char		*v;

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		fail_msg("%s: %s", q, PQerrorMessage(admin));
	v = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

static struct store *
open_store(int n)
{
	struct err	 e;
	struct store	*s;

	err_clear(&e);
	if ((s = store_open(dsn, n, &e)) == NULL)
		fail_msg("store_open: %s", e.msg);
	return s;
}

/* A loopback port nobody listens on. */
static int
closed_port(void)
{
	struct sockaddr_in	sa;
	socklen_t		len = sizeof sa;
	int			fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* ---- what the listener saw ------------------------------------------- */

struct notes {
	pthread_mutex_t	 mu;
	int		 nulls;		/* cb(NULL): (re)connects */
	int		 n;
	char		*p[256];
};

static void
note_cb(const char *payload, void *arg)
{
	struct notes *nt = arg;

	pthread_mutex_lock(&nt->mu);
	if (payload == NULL)
		nt->nulls++;
	else if (nt->n < 256)
		nt->p[nt->n++] = strdup(payload);
	pthread_mutex_unlock(&nt->mu);
}

static void
notes_init(struct notes *nt)
{
	memset(nt, 0, sizeof *nt);
	pthread_mutex_init(&nt->mu, NULL);
}

static void
notes_free(struct notes *nt)
{
	for (int i = 0; i < nt->n; i++)
		free(nt->p[i]);
	pthread_mutex_destroy(&nt->mu);
}

static int
wait_nulls(struct notes *nt, int atleast, int ms)
{
	int64_t	end = now_ms() + ms;
	int	got;

	for (;;) {
		pthread_mutex_lock(&nt->mu);
		got = nt->nulls;
		pthread_mutex_unlock(&nt->mu);
		if (got >= atleast || now_ms() > end)
			return got >= atleast;
		sleep_ms(10);
	}
}

/* Wait for a payload holding both strings; returns ms waited or -1. */
static int
wait_payload(struct notes *nt, const char *a, const char *b, int ms)
{
	int64_t	start = now_ms(), end = start + ms;

	for (;;) {
		pthread_mutex_lock(&nt->mu);
		for (int i = 0; i < nt->n; i++) {
			if (strstr(nt->p[i], a) != NULL &&
			    (b == NULL || strstr(nt->p[i], b) != NULL)) {
				pthread_mutex_unlock(&nt->mu);
				return (int)(now_ms() - start);
			}
		}
		pthread_mutex_unlock(&nt->mu);
		if (now_ms() > end)
			return -1;
		sleep_ms(5);
	}
}

/* ---- setup ------------------------------------------------------------- */

static int
group_setup(void **state)
{
	const char	*dir = getenv("TG_MIGRATIONS_DIR");
	struct err	 e;
	int		 applied;

	dsn = getenv("TG_TEST_DSN");
	if (dsn == NULL || *dsn == '\0')
		return 0;	/* each test skips */
	admin = PQconnectdb(dsn);
	if (PQstatus(admin) != CONNECTION_OK) {
		fprintf(stderr, "connect: %s", PQerrorMessage(admin));
		return -1;
	}
	PQclear(PQexec(admin, "SET client_min_messages = warning"));
	err_clear(&e);
	if (migrate_apply(admin, dir != NULL && *dir != '\0' ? dir :
	    "migrations", &applied, &e) == -1) {
		fprintf(stderr, "migrate_apply: %s\n", e.msg);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	PQfinish(admin);
	return 0;
}

/* Seed data shared by the tests; every test starts from it. */
static int
test_setup(void **state)
{
	if (admin == NULL)
		return 0;
	sql("DELETE FROM tenants; DELETE FROM users; "
	    "DELETE FROM revoked_grants; DELETE FROM user_revocations");
	sql("INSERT INTO tenants (id, display_name, status) VALUES "
	    "('google', 'Google', 'active'), ('microsoft', 'Microsoft', 'active'), "
	    "('smallco', 'Small Co', 'active'), ('oldco', 'Old Co', 'disabled')");
	sql("INSERT INTO users (email, status) VALUES "
	    "('alice@example.com', 'active'), ('bob@example.com', 'disabled')");
	sql("INSERT INTO memberships (user_id, tenant_id, role, granted_by) "
	    "SELECT id, t, r, 'test' FROM users, (VALUES "
	    "('alice@example.com', 'google', 'viewer'), "
	    "('alice@example.com', 'oldco', 'admin'), "
	    "('bob@example.com', 'google', 'admin')) AS v(em, t, r) "
	    "WHERE email = em");
	sql("INSERT INTO group_mappings (idp_group, tenant_id, role) VALUES "
	    "('eng', 'google', 'admin'), ('eng', 'microsoft', 'editor'), "
	    "('ops', 'smallco', 'viewer'), ('eng', 'oldco', 'admin'), "
	    "('we\"ird\\grp', 'smallco', 'editor')");
	sql("INSERT INTO tenant_integrations (tenant_id, kind, base_url, "
	    "vault_path) VALUES ('google', 'jira', 'https://google.atlassian.net', "
	    "'tenantgate/tenants/google/jira')");
	sql("INSERT INTO tenant_integrations (tenant_id, name, kind, base_url, "
	    "vault_path, enabled_tools, cred_version, enabled) VALUES "
	    "('google', 'wiki', 'confluence', 'https://google.atlassian.net/wiki', "
	    "'tenantgate/tenants/google/wiki', ARRAY['search', 'get_page'], 3, "
	    "false), "
	    "('microsoft', 'mcp', 'mcp', 'http://127.0.0.1:9/mcp', "
	    "'tenantgate/tenants/microsoft/mcp', '{}', 1, true), "
	    "('oldco', 'jira', 'jira', 'https://oldco.atlassian.net', "
	    "'tenantgate/tenants/oldco/jira', NULL, 0, true)");
	return 0;
}

#define NEED_DB()	do { if (admin == NULL) skip(); } while (0)

/* ---- tests ------------------------------------------------------------- */

static void
expect_members(struct store *s, const char *email, const char *const *groups,
    size_t ng, const char *want)
{
	struct membership	*m = NULL;
	size_t			 n = 99;
	struct err		 e;
	char			 got[512] = "";

	err_clear(&e);
	if (store_memberships(s, email, groups, ng, &m, &n, &e) != 0)
		fail_msg("store_memberships(%s): %s", email, e.msg);
	for (size_t i = 0; i < n; i++)
		snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s:%s",
		    i > 0 ? " " : "", m[i].tenant, m[i].role);
	if (strcmp(got, want) != 0)
		fail_msg("%s: got \"%s\", want \"%s\"", email, got, want);
	if (n == 0)
		assert_null(m);
	free(m);
}

static void
test_memberships(void **state)
{
	static const char *const eng[] = { "eng" };
	static const char *const ops_weird[] = { "ops", "we\"ird\\grp" };
	static const char *const ops[] = { "ops" };
	struct store		*s;
	struct membership	*m;
	size_t			 n;
	struct err		 e;

	NEED_DB();
	s = open_store(2);
	/* direct only; the disabled tenant is left out */
	expect_members(s, "alice@example.com", NULL, 0, "google:viewer");
	/* email is case-insensitive; a group's higher role wins */
	expect_members(s, "ALICE@Example.COM", eng, 1,
	    "google:admin microsoft:editor");
	/* groups with quotes and backslashes travel intact */
	expect_members(s, "alice@example.com", ops_weird, 2,
	    "google:viewer smallco:editor");
	/* a disabled user gets nothing, not even through groups */
	expect_members(s, "bob@example.com", eng, 1, "");
	/* no users row: group mappings still apply */
	expect_members(s, "carol@example.com", ops, 1, "smallco:viewer");
	expect_members(s, "nobody@example.com", NULL, 0, "");
	expect_members(s, "x' OR '1'='1", eng + 0, 0, "");

	err_clear(&e);
	assert_int_equal(store_memberships(s, NULL, NULL, 0, &m, &n, &e), -1);
	assert_int_equal(e.status, 400);
	store_close(s);
}

static void
test_integrations(void **state)
{
	struct store		*s;
	struct integration	*v;
	size_t			 n;
	struct err		 e;

	NEED_DB();
	s = open_store(1);
	err_clear(&e);
	assert_int_equal(store_integrations(s, "google", &v, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].tenant, "google");
	assert_string_equal(v[0].name, "jira");	/* defaulted to the kind */
	assert_string_equal(v[0].kind, "jira");
	assert_string_equal(v[0].base_url, "https://google.atlassian.net");
	assert_string_equal(v[0].vault_path, "tenantgate/tenants/google/jira");
	assert_null(v[0].enabled_tools);
	assert_int_equal(v[0].cred_version, 0);
	assert_int_equal(v[0].enabled, 1);
	assert_string_equal(v[1].name, "wiki");
	assert_string_equal(v[1].kind, "confluence");
	assert_non_null(v[1].enabled_tools);
	assert_string_equal(v[1].enabled_tools[0], "search");
	assert_string_equal(v[1].enabled_tools[1], "get_page");
	assert_null(v[1].enabled_tools[2]);
	assert_int_equal(v[1].cred_version, 3);
	assert_int_equal(v[1].enabled, 0);
	store_integrations_free(v, n);

	/* an empty list is not "all" */
	assert_int_equal(store_integrations(s, "microsoft", &v, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_non_null(v[0].enabled_tools);
	assert_null(v[0].enabled_tools[0]);
	store_integrations_free(v, n);

	/* disabled and unknown tenants have none */
	assert_int_equal(store_integrations(s, "oldco", &v, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_null(v);
	assert_int_equal(store_integrations(s, "nope", &v, &n, &e), 0);
	assert_int_equal(n, 0);
	store_integrations_free(v, n);
	store_close(s);
}

static void
test_audit(void **state)
{
	struct store	*s;
	struct err	 e;
	char		 actor[64], *v;
	const char	*params[1] = { actor };
	PGresult	*r;

	NEED_DB();
	s = open_store(1);
	snprintf(actor, sizeof actor, "test-audit-%d-%lld", (int)getpid(),
	    (long long)now_ms());
	err_clear(&e);
	assert_int_equal(store_audit(s, actor, "grant.mint", "google",
	    "alice@example.com", "{\"tools\": [\"jira_search\"]}", &e), 0);
	assert_int_equal(store_audit(s, actor, "login", NULL, NULL, NULL, &e), 0);

	v = sql_value("SELECT count(*) FROM audit_log WHERE actor = $1", actor);
	assert_string_equal(v, "2");
	free(v);
	v = sql_value("SELECT detail::text || '|' || coalesce(tenant_id, '-') "
	    "FROM audit_log WHERE actor = $1 AND action = 'login'", actor);
	assert_string_equal(v, "{}|-");
	free(v);
	v = sql_value("SELECT detail->'tools'->>0 || '|' || tenant_id || '|' || "
	    "subject FROM audit_log WHERE actor = $1 AND action = 'grant.mint'",
	    actor);
	assert_string_equal(v, "jira_search|google|alice@example.com");
	free(v);

	/* bad JSON is refused, the connection stays usable */
	assert_int_equal(store_audit(s, actor, "x", NULL, NULL, "{nope", &e), -1);
	assert_int_equal(e.status, 500);
	assert_string_equal(e.code, "db_error");
	assert_int_equal(store_audit(s, actor, "y", NULL, NULL, NULL, &e), 0);
	assert_int_equal(store_audit(s, NULL, "y", NULL, NULL, NULL, &e), -1);
	assert_int_equal(e.status, 400);

	/* append-only */
	r = PQexecParams(admin, "UPDATE audit_log SET action = 'forged' "
	    "WHERE actor = $1", 1, NULL, params, NULL, NULL, 0);
	assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
	assert_string_equal(PQresultErrorField(r, PG_DIAG_SQLSTATE), "42501");
	PQclear(r);
	r = PQexecParams(admin, "DELETE FROM audit_log WHERE actor = $1", 1,
	    NULL, params, NULL, NULL, 0);
	assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
	PQclear(r);
	v = sql_value("SELECT count(*) FROM audit_log WHERE actor = $1", actor);
	assert_string_equal(v, "3");
	free(v);
	store_close(s);
}

/* The broker (store_audit) and the admin (db_audit) write their rows with
 * one statement (common/auditsql.c): the same columns and detail, the
 * admin's with the database role added as db_user. */
static void
test_audit_both_programs(void **state)
{
	struct store	*s;
	struct err	 e;
	char		 actor[64], *v;
	json_t		*detail;

	NEED_DB();
	s = open_store(1);
	snprintf(actor, sizeof actor, "test-audit2-%d-%lld", (int)getpid(),
	    (long long)now_ms());
	err_clear(&e);
	detail = json_pack("{s:s, s:[s]}", "role", "viewer", "tools", "jira_search");
	assert_non_null(detail);
	assert_int_equal(store_audit(s, actor, "member.add", "google",
	    "alice@example.com", "{\"role\": \"viewer\", \"tools\": [\"jira_search\"]}",
	    &e), 0);
	assert_int_equal(db_audit(admin, actor, "member.add", "google",
	    "alice@example.com", detail, &e), 0);
	assert_int_equal(store_audit(s, actor, "login", NULL, NULL, NULL, &e), 0);
	assert_int_equal(db_audit(admin, actor, "login", NULL, NULL, NULL, &e), 0);
	json_decref(detail);

	/* Apart from db_user, each pair of rows is one row written twice. */
	v = sql_value("SELECT count(DISTINCT (action, tenant_id, subject,"
	    " detail - 'db_user'))::text || '|' || count(*) FROM audit_log"
	    " WHERE actor = $1", actor);
	assert_string_equal(v, "2|4");
	free(v);
	v = sql_value("SELECT string_agg(action || '=' || (detail - 'db_user')::text,"
	    " ' ' ORDER BY action) FROM (SELECT DISTINCT action, detail FROM"
	    " audit_log WHERE actor = $1 AND NOT detail ? 'db_user') a", actor);
	assert_string_equal(v, "login={} member.add={\"role\": \"viewer\", "
	    "\"tools\": [\"jira_search\"]}");
	free(v);
	/* db_user on the admin's two rows only, and it is the writer's role */
	v = sql_value("SELECT count(*) FILTER (WHERE detail->>'db_user' = current_user)"
	    " || '|' || count(*) FILTER (WHERE detail ? 'db_user') FROM audit_log"
	    " WHERE actor = $1", actor);
	assert_string_equal(v, "2|2");
	free(v);
	store_close(s);
}

static void
test_revocation(void **state)
{
	struct store	*s;
	struct err	 e;
	time_t		 now = time(NULL);
	char		 jti[64], old[64];

	NEED_DB();
	s = open_store(2);
	snprintf(jti, sizeof jti, "jti-%d-live", (int)getpid());
	snprintf(old, sizeof old, "jti-%d-old", (int)getpid());
	err_clear(&e);

	assert_int_equal(store_grant_revoked(s, jti, "dave@example.com", now,
	    &e), 0);
	assert_int_equal(store_revoke_jti(s, jti, now + 300, "admin@x", &e), 0);
	assert_int_equal(store_revoke_jti(s, jti, now + 300, "admin@x", &e), 0);
	assert_int_equal(store_grant_revoked(s, jti, "dave@example.com", now,
	    &e), 1);
	assert_int_equal(store_grant_revoked(s, jti, NULL, now, &e), 1);
	assert_int_equal(store_grant_revoked(s, "other", "dave@example.com",
	    now, &e), 0);

	/* revoke everything Dave was granted until now */
	/* Emails are stored only in canonical form (0003_email_canonical):
	 * the broker and the admin tool canonicalise before calling. */
	assert_int_equal(store_revoke_user(s, "Dave@Example.com", "admin@x",
	    &e), -1);
	assert_int_equal(store_revoke_user(s, "dave@example.com", "admin@x",
	    &e), 0);
	assert_int_equal(store_grant_revoked(s, "other", "dave@example.com",
	    now - 10, &e), 1);
	assert_int_equal(store_grant_revoked(s, "other", "dave@example.com",
	    now, &e), 1);	/* same second: the safe side */
	assert_int_equal(store_grant_revoked(s, "other", "dave@example.com",
	    now + 2, &e), 0);
	assert_int_equal(store_grant_revoked(s, "other", "erin@example.com",
	    now - 10, &e), 0);
	assert_int_equal(store_grant_revoked(s, NULL, NULL, now, &e), 0);
	/* a second revocation moves the cut-off forward, never back */
	assert_int_equal(store_revoke_user(s, "dave@example.com", "admin@y",
	    &e), 0);

	/* purge drops only what has expired */
	assert_int_equal(store_revoke_jti(s, old, now - 10, "admin@x", &e), 0);
	assert_int_equal(store_grant_revoked(s, old, NULL, now, &e), 1);
	assert_true(store_purge_expired(s, &e) >= 1);
	assert_int_equal(store_grant_revoked(s, old, NULL, now, &e), 0);
	assert_int_equal(store_grant_revoked(s, jti, NULL, now, &e), 1);
	assert_int_equal(store_purge_expired(s, &e), 0);

	assert_int_equal(store_revoke_jti(s, NULL, now, NULL, &e), -1);
	assert_int_equal(e.status, 400);
	store_close(s);
}

static void
test_listen(void **state)
{
	struct store	*s;
	struct notes	 nt;
	struct err	 e;
	int		 ms;
	int64_t		 t0;

	NEED_DB();
	notes_init(&nt);
	s = open_store(1);
	err_clear(&e);
	assert_int_equal(store_listen_start(s, NULL, note_cb, &nt, &e), 0);
	assert_int_equal(store_listen_start(s, NULL, note_cb, &nt, &e), -1);
	assert_true(wait_nulls(&nt, 1, 5000));

	sql("INSERT INTO users (email) VALUES ('erin@example.com')");
	sql("INSERT INTO memberships (user_id, tenant_id, role) SELECT id, "
	    "'smallco', 'editor' FROM users WHERE email = 'erin@example.com'");
	ms = wait_payload(&nt, "\"table\": \"memberships\"", "erin@example.com",
	    1000);
	if (ms < 0)
		fail_msg("no memberships notification within 1 s");
	assert_true(wait_payload(&nt, "\"tenant\": \"smallco\"", "INSERT",
	    100) >= 0);

	sql("UPDATE tenant_integrations SET cred_version = 4 "
	    "WHERE tenant_id = 'google' AND name = 'wiki'");
	assert_true(wait_payload(&nt, "tenant_integrations", "google",
	    1000) >= 0);
	sql("INSERT INTO revoked_grants (jti, expires_at) VALUES "
	    "('jti-listen', now() + interval '1 minute')");
	assert_true(wait_payload(&nt, "\"jti\": \"jti-listen\"", NULL,
	    1000) >= 0);

	t0 = now_ms();
	store_listen_stop(s);
	assert_true(now_ms() - t0 < 1000);
	store_listen_stop(s);	/* twice is harmless */
	assert_int_equal(nt.nulls, 1);
	store_close(s);
	notes_free(&nt);
}

static void
test_db_down(void **state)
{
	char		 ci[256];
	struct store	*s;
	struct err	 e;
	struct notes	 nt;
	struct membership *m;
	size_t		 n;
	int64_t		 t0;
	int		 port = closed_port();

	snprintf(ci, sizeof ci, "host=127.0.0.1 port=%d dbname=tg user=tg "
	    "password=hunter2-pw connect_timeout=2", port);
	err_clear(&e);
	assert_non_null(s = store_open(ci, 2, &e));	/* lazy: no error yet */
	assert_int_equal(store_ping(s, &e), -1);
	assert_int_equal(e.status, 503);
	assert_string_equal(e.code, "db_unavailable");
	assert_non_null(strstr(e.msg, "database unavailable"));
	assert_null(strstr(e.msg, "hunter2"));
	assert_null(strchr(e.msg, '\n'));

	/* within the backoff: at once, same answer */
	t0 = now_ms();
	for (int i = 0; i < 4; i++) {
		assert_int_equal(store_memberships(s, "alice@example.com", NULL,
		    0, &m, &n, &e), -1);
		assert_string_equal(e.code, "db_unavailable");
		assert_null(strstr(e.msg, "hunter2"));
	}
	assert_true(now_ms() - t0 < 500);

	/* a listener on a dead server never calls back and stops at once */
	notes_init(&nt);
	assert_int_equal(store_listen_start(s, NULL, note_cb, &nt, &e), 0);
	sleep_ms(300);
	t0 = now_ms();
	store_close(s);
	assert_true(now_ms() - t0 < 1000);
	assert_int_equal(nt.nulls, 0);
	notes_free(&nt);

	/* a URI with a password */
	snprintf(ci, sizeof ci, "postgresql://tg:s3cr3t-uri-pw@127.0.0.1:%d/tg",
	    port);
	assert_non_null(s = store_open(ci, 1, &e));
	assert_int_equal(store_ping(s, &e), -1);
	assert_string_equal(e.code, "db_unavailable");
	assert_null(strstr(e.msg, "s3cr3t"));
	store_close(s);

	/* a conninfo that is not one */
	assert_null(store_open("host=127.0.0.1 password", 1, &e));
	assert_int_equal(e.status, 400);
	assert_string_equal(e.code, "bad_conninfo");
}

/* pg_terminate_backend() cuts every store connection: the next calls,
 * writes included, work on fresh ones and the listener comes back. */
static void
test_connections_cut(void **state)
{
	struct store	*s;
	struct notes	 nt;
	struct err	 e;
	struct membership *m;
	size_t		 n;
	char		*v;

	NEED_DB();
	notes_init(&nt);
	s = open_store(2);
	err_clear(&e);
	assert_int_equal(store_listen_start(s, NULL, note_cb, &nt, &e), 0);
	assert_true(wait_nulls(&nt, 1, 5000));
	for (int i = 0; i < 4; i++)
		assert_int_equal(store_ping(s, &e), 0);

	v = sql_value("SELECT count(pg_terminate_backend(pid)) FROM "
	    "pg_stat_activity WHERE datname = current_database() AND "
	    "backend_type = 'client backend' AND pid <> pg_backend_pid()", NULL);
	assert_true(atoi(v) >= 2);	/* pooled (opened lazily) and the listener */
	free(v);
	sleep_ms(200);

	if (store_audit(s, "test-cut", "after.cut", NULL, NULL, NULL, &e) != 0)
		fail_msg("write after cut: %s", e.msg);
	if (store_memberships(s, "alice@example.com", NULL, 0, &m, &n, &e) != 0)
		fail_msg("read after cut: %s", e.msg);
	free(m);
	assert_int_equal(store_ping(s, &e), 0);

	assert_true(wait_nulls(&nt, 2, 5000));
	sql("UPDATE tenants SET display_name = 'G' WHERE id = 'google'");
	assert_true(wait_payload(&nt, "\"table\": \"tenants\"", "google",
	    1000) >= 0);
	store_close(s);
	notes_free(&nt);
}

struct hammer {
	struct store	*s;
	int		 fails;
	char		 last[ERR_MSG_MAX];
};

static void *
hammer_main(void *arg)
{
	static const char *const eng[] = { "eng" };
	struct hammer		*h = arg;
	struct membership	*m;
	size_t			 n;
	struct err		 e;

	for (int i = 0; i < 100; i++) {
		if (store_memberships(h->s, "alice@example.com", eng, 1, &m, &n,
		    &e) != 0 || n != 2) {
			h->fails++;
			snprintf(h->last, sizeof h->last, "%s", e.msg);
		}
		free(m);
		if (store_grant_revoked(h->s, "j", "alice@example.com", 0,
		    &e) != 0) {
			h->fails++;
			snprintf(h->last, sizeof h->last, "%s", e.msg);
		}
	}
	return NULL;
}

/* As many threads as connections query while as many again wait for one:
 * none fails. (More would get a fast 503 db_busy by design; see
 * test/integration/test_broker_isolation.py.) */
static void
test_threads(void **state)
{
	struct hammer	h[6];
	pthread_t	t[6];
	struct store	*s;

	NEED_DB();
	s = open_store(3);
	for (int i = 0; i < 6; i++) {
		memset(&h[i], 0, sizeof h[i]);
		h[i].s = s;
		assert_int_equal(pthread_create(&t[i], NULL, hammer_main, &h[i]), 0);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(t[i], NULL);
		if (h[i].fails != 0)
			fail_msg("thread %d: %d failures, last: %s", i,
			    h[i].fails, h[i].last);
	}
	store_close(s);
}

struct restarter {
	const char	*cmd;
	int		 rc;
	volatile int	 done;
};

static void *
restart_main(void *arg)
{
	struct restarter *r = arg;

	r->rc = system(r->cmd);
	r->done = 1;
	return NULL;
}

/* The server restarts under a busy store: calls fail fast with 503 while
 * it is down and work again soon after it is back, listener included. */
static void
test_restart(void **state)
{
	const char		*cmd = getenv("TG_TEST_RESTART_CMD");
	struct restarter	 rs = { cmd, -1, 0 };
	struct store		*s;
	struct notes		 nt;
	struct err		 e;
	pthread_t		 t;
	int64_t			 back = 0, deadline;
	int			 fails = 0, oks = 0;

	NEED_DB();
	if (cmd == NULL || *cmd == '\0')
		skip();
	notes_init(&nt);
	s = open_store(2);
	err_clear(&e);
	assert_int_equal(store_listen_start(s, NULL, note_cb, &nt, &e), 0);
	assert_true(wait_nulls(&nt, 1, 5000));
	assert_int_equal(store_ping(s, &e), 0);
	assert_int_equal(store_ping(s, &e), 0);

	assert_int_equal(pthread_create(&t, NULL, restart_main, &rs), 0);
	deadline = now_ms() + 60000;
	/* Keep calling until the restart is over and calls work again. */
	while (now_ms() < deadline) {
		if (store_ping(s, &e) == 0) {
			if (rs.done && ++oks >= 3)
				break;
		} else {
			assert_int_equal(e.status, 503);
			assert_string_equal(e.code, "db_unavailable");
			fails++;
		}
		if (rs.done && back == 0)
			back = now_ms();
		sleep_ms(20);
	}
	pthread_join(t, NULL);
	assert_int_equal(rs.rc, 0);
	assert_true(oks >= 3);
	/* Back within the longest backoff (5 s) plus slack. */
	assert_true(now_ms() - back < 7000);
	print_message("restart: %d calls failed while the server was away\n",
	    fails);

	if (store_audit(s, "test-restart", "after.restart", NULL, NULL, NULL,
	    &e) != 0)
		fail_msg("write after restart: %s", e.msg);
	assert_true(wait_nulls(&nt, 2, 10000));
	PQreset(admin);		/* the test's own connection was cut too */
	assert_int_equal(PQstatus(admin), CONNECTION_OK);
	sql("UPDATE tenants SET display_name = 'Back' WHERE id = 'smallco'");
	assert_true(wait_payload(&nt, "\"tenant\": \"smallco\"", "UPDATE",
	    1000) >= 0);
	store_close(s);
	notes_free(&nt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_memberships, test_setup),
		cmocka_unit_test_setup(test_integrations, test_setup),
		cmocka_unit_test_setup(test_audit, test_setup),
		cmocka_unit_test_setup(test_audit_both_programs, test_setup),
		cmocka_unit_test_setup(test_revocation, test_setup),
		cmocka_unit_test_setup(test_listen, test_setup),
		cmocka_unit_test(test_db_down),
		cmocka_unit_test_setup(test_connections_cut, test_setup),
		cmocka_unit_test_setup(test_threads, test_setup),
		cmocka_unit_test_setup(test_restart, test_setup),
	};
	const char *filter = getenv("TG_TEST_FILTER");

	if (filter != NULL && *filter != '\0')
		cmocka_set_test_filter(filter);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
