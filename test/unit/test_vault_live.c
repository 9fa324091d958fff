/*
 * vault against the real OpenBao of the test harness. Every test skips
 * unless TG_TEST_VAULT_ADDR is set; test/integration/test_vault.py sets up
 * OpenBao (policies, Kubernetes auth via the TokenReview stand-in, KV data)
 * and runs this binary with:
 *   TG_TEST_VAULT_ADDR            http://127.0.0.1:PORT
 *   TG_TEST_VAULT_ROLE            Kubernetes role (policy tg-broker)
 *   TG_TEST_VAULT_SHORT_ROLE      same, token_ttl 3s, token_max_ttl 6s
 *   TG_TEST_VAULT_SA_TOKEN_FILE   the service-account JWT file
 *   TG_TEST_VAULT_ADMIN_TOKEN     a token with policy tg-admin
 *   TG_TEST_VAULT_EXPECT          api_token at tenantgate/tenants/google/jira
 *   TG_TEST_CTL_OUT, TG_TEST_CTL_IN  pipe fds: we write "seal", "unseal",
 *       "kill", "start", "rotate" lines and wait for "ok" (the harness acts)
 *   TG_TEST_VAULT_CASE            optional cmocka test filter
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "err.h"
#include "httpc.h"
#include "log.h"
#include "secret.h"
#include "vault.h"

#define GOOGLE	"tenantgate/tenants/google/jira"

static const char	*addr, *role, *short_role, *sa_file, *expect;
static secret_t		*admin_token;
static int		 ctl_in = -1, ctl_out = -1;

/* Every log line, to check that no credential reaches a log. */
static pthread_mutex_t	 logs_mu = PTHREAD_MUTEX_INITIALIZER;
static char		*logs;
static size_t		 logs_len;

static void
log_capture(enum log_level l, const char *line, void *arg)
{
	size_t n = strlen(line);

	(void)l;
	(void)arg;
	fprintf(stderr, "%s\n", line);
	pthread_mutex_lock(&logs_mu);
	if ((logs = realloc(logs, logs_len + n + 2)) != NULL) {
		memcpy(logs + logs_len, line, n);
		logs_len += n;
		logs[logs_len++] = '\n';
		logs[logs_len] = '\0';
	}
	pthread_mutex_unlock(&logs_mu);
}

static int
logs_contain(const char *s)
{
	int found;

	pthread_mutex_lock(&logs_mu);
	found = logs != NULL && strstr(logs, s) != NULL;
	pthread_mutex_unlock(&logs_mu);
	return found;
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
need_vault(void)
{
	if (addr == NULL)
		skip();
}

/* Ask the harness to act on OpenBao; fails the test unless it says ok. */
static void
ctl(const char *cmd)
{
	char	buf[256];
	size_t	n = 0;

	if (ctl_out < 0 || ctl_in < 0)
		skip();
	assert_true(dprintf(ctl_out, "%s\n", cmd) > 0);
	while (n < sizeof buf - 1 && read(ctl_in, buf + n, 1) == 1 && buf[n] != '\n')
		n++;
	buf[n] = '\0';
	if (strcmp(buf, "ok") != 0)
		fail_msg("harness action %s: %s", cmd, buf);
}

static struct vault *
broker(const char *r, int ttl, int stale)
{
	struct vault_cfg	 cfg = { 0 };
	struct err		 e = { 0 };
	struct vault		*v;

	cfg.addr = addr;
	cfg.auth = VAULT_AUTH_KUBERNETES;
	cfg.k8s_role = r;
	cfg.sa_token_path = sa_file;
	cfg.timeout_ms = 2000;
	cfg.cache_ttl_s = ttl;
	cfg.cache_max_stale_s = stale;
	if ((v = vault_new(&cfg, &e)) == NULL)
		fail_msg("vault_new: %s", e.msg);
	return v;
}

static struct vault *
admin(void)
{
	struct vault_cfg	 cfg = { 0 };
	struct err		 e = { 0 };
	struct vault		*v;

	cfg.addr = addr;
	cfg.auth = VAULT_AUTH_TOKEN;
	cfg.token = admin_token;
	cfg.cache_ttl_s = -1;
	if ((v = vault_new(&cfg, &e)) == NULL)
		fail_msg("vault_new: %s", e.msg);
	return v;
}

static void
test_login_and_read(void **state)
{
	struct vault		*v;
	struct vault_status	 st;
	struct err		 e = { 0 };
	secret_t		*d;
	int			 ver = 0, stale = -1;

	(void)state;
	need_vault();
	v = broker(role, 30, 30);
	if (vault_login(v, &e) == -1)
		fail_msg("login: %s", e.msg);
	vault_status(v, &st);
	assert_int_equal(st.logged_in, 1);
	assert_int_equal(st.logins, 1);
	assert_in_range(st.token_ttl_s, 3500, 3600);

	if (vault_kv_read(v, GOOGLE, &d, &ver, &stale, &e) == -1)
		fail_msg("read: %s", e.msg);
	assert_non_null(strstr(secret_bytes(d), expect));
	assert_non_null(strstr(secret_bytes(d), "\"email\":\"bot@google.example\""));
	assert_int_equal(ver, 2);
	assert_int_equal(stale, 0);
	secret_free(d);

	assert_int_equal(vault_kv_read_version(v, GOOGLE, 1, &d, &e), 0);
	assert_null(strstr(secret_bytes(d), expect));
	secret_free(d);
	assert_int_equal(vault_kv_current_version(v, GOOGLE, &ver, &e), 0);
	assert_int_equal(ver, 2);
	assert_int_equal(vault_kv_current_version(v, "tenantgate/tenants/nobody/jira",
	    &ver, &e), 0);
	assert_int_equal(ver, 0);
	vault_free(v);
}

static void
test_forbidden_and_not_found(void **state)
{
	struct vault		*v;
	struct vault_status	 st;
	struct err		 e = { 0 };
	secret_t		*d;
	int			 ver;

	(void)state;
	need_vault();
	v = broker(role, 30, 30);
	assert_int_equal(vault_kv_read(v, "other/x", &d, &ver, NULL, &e), -1);
	assert_int_equal(e.status, 403);
	assert_string_equal(e.code, "vault_forbidden");
	assert_non_null(strstr(e.msg, "secret/data/other/x"));
	assert_non_null(strstr(e.msg, "permission denied"));
	/* A policy denial is not a dead token: no second login. */
	vault_status(v, &st);
	assert_int_equal(st.logins, 1);

	assert_int_equal(vault_kv_read(v, "tenantgate/tenants/google/nope", &d, &ver,
	    NULL, &e), -1);
	assert_int_equal(e.status, 404);
	assert_string_equal(e.code, "vault_not_found");

	/* The latest version was deleted: 404, not the older version. */
	assert_int_equal(vault_kv_read(v, "tenantgate/tenants/gone/jira", &d, &ver,
	    NULL, &e), -1);
	assert_int_equal(e.status, 404);
	assert_string_equal(e.code, "vault_not_found");
	assert_non_null(strstr(e.msg, "deleted"));
	vault_free(v);
}

static void
test_login_failed(void **state)
{
	struct vault	*v;
	struct err	 e = { 0 };

	(void)state;
	need_vault();
	v = broker("no-such-role", 30, 30);
	assert_int_equal(vault_login(v, &e), -1);
	assert_true(e.status == 401 || e.status == 403);
	assert_string_equal(e.code, "vault_login_failed");
	assert_non_null(strstr(e.msg, "no-such-role"));
	vault_free(v);
}

static void
test_admin_cas_and_policy(void **state)
{
	struct vault		*v;
	struct httpc_resp	 r;
	struct err		 e = { 0 };
	secret_t		*d;
	char			 path[128];
	int			 ver = -1;

	(void)state;
	need_vault();
	v = admin();
	assert_int_equal(vault_login(v, &e), 0);
	snprintf(path, sizeof path, "tenantgate/tenants/cas%d/jira", (int)getpid());
	assert_int_equal(vault_kv_current_version(v, path, &ver, &e), 0);
	assert_int_equal(ver, 0);
	if (vault_kv_write(v, path, "{\"email\":\"a@b.example\",\"api_token\":\"v1\"}",
	    0, &ver, &e) == -1)
		fail_msg("write: %s", e.msg);
	assert_int_equal(ver, 1);
	/* cas=0 means "create only": it exists now. */
	assert_int_equal(vault_kv_write(v, path, "{\"api_token\":\"v1b\"}", 0, &ver, &e), -1);
	assert_int_equal(e.status, 409);
	assert_string_equal(e.code, "vault_cas_conflict");
	assert_int_equal(vault_kv_write(v, path, "{\"api_token\":\"v2\"}", 1, &ver, &e), 0);
	assert_int_equal(ver, 2);
	assert_int_equal(vault_kv_write(v, path, "{\"api_token\":\"v3\"}", 1, &ver, &e), -1);
	assert_string_equal(e.code, "vault_cas_conflict");
	assert_int_equal(vault_kv_write(v, path, "{\"api_token\":\"v3\"}", -1, &ver, &e), 0);
	assert_int_equal(ver, 3);
	assert_int_equal(vault_kv_current_version(v, path, &ver, &e), 0);
	assert_int_equal(ver, 3);
	assert_int_equal(vault_kv_read_version(v, path, 2, &d, &e), 0);
	assert_string_equal(secret_bytes(d), "{\"api_token\":\"v2\"}");
	secret_free(d);

	assert_int_equal(vault_policy_write(v, "tenantgate-test",
	    "path \"secret/data/tenantgate/tenants/test/*\" {\n"
	    "  capabilities = [\"read\"]\n}\n", &e), 0);
	assert_int_equal(vault_request(v, "GET", "sys/policies/acl/tenantgate-test",
	    NULL, &r, &e), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "tenantgate/tenants/test"));
	httpc_resp_free(&r);
	/* The admin's own token decides: no policy, no access. */
	assert_int_equal(vault_policy_write(v, "root-ish", "path \"*\" {}", &e), -1);
	assert_string_equal(e.code, "vault_forbidden");
	assert_int_equal(vault_request(v, "GET", "sys/auth", NULL, &r, &e), -1);
	assert_int_equal(r.status, 403);
	httpc_resp_free(&r);
	vault_free(v);
}

static void
test_no_credential_in_logs_or_errors(void **state)
{
	struct vault		*v;
	struct httpc_resp	 r;
	struct err		 e = { 0 };
	secret_t		*d, *jwt;
	json_t			*root;
	char			 tok[256];
	int			 ver;

	(void)state;
	need_vault();
	v = broker(role, 30, 30);
	assert_int_equal(vault_request(v, "GET", "auth/token/lookup-self", NULL, &r, &e), 0);
	root = json_loadb(r.body, r.len, 0, NULL);
	snprintf(tok, sizeof tok, "%s", json_string_value(json_object_get(
	    json_object_get(root, "data"), "id")));
	json_decref(root);
	httpc_resp_free(&r);
	assert_true(strlen(tok) > 8);

	assert_int_equal(vault_kv_read(v, "other/x", &d, &ver, NULL, &e), -1);
	assert_null(strstr(e.msg, tok));
	assert_int_equal(vault_kv_read(v, GOOGLE, &d, &ver, NULL, &e), 0);
	secret_free(d);
	assert_int_equal(vault_kv_write(v, GOOGLE, "{\"a\":\"b\"}", -1, &ver, &e), -1);
	assert_string_equal(e.code, "vault_forbidden");
	assert_null(strstr(e.msg, tok));

	jwt = secret_from_file(sa_file, 65536, &e);
	assert_non_null(jwt);
	assert_false(logs_contain(tok));
	assert_false(logs_contain(secret_bytes(jwt)));
	assert_false(logs_contain(expect));
	secret_wipe(tok, sizeof tok);
	secret_free(jwt);
	vault_free(v);
}

struct reader {
	struct vault	*v;
	int		 ok;
};

static void *
read_loop(void *arg)
{
	struct reader	*rd = arg;
	struct err	 e;
	secret_t	*d;
	int		 ver, stale;

	for (int i = 0; i < 100; i++) {
		if (vault_kv_read(rd->v, GOOGLE, &d, &ver, &stale, &e) == 0 &&
		    strstr(secret_bytes(d), expect) != NULL)
			rd->ok++;
		secret_free(d);
		if (i % 25 == 0)
			vault_cache_invalidate(rd->v, i % 50 == 0 ? NULL : GOOGLE);
	}
	return NULL;
}

static void
test_concurrent_reads(void **state)
{
	struct reader		 rd[8];
	pthread_t		 th[8];
	struct vault_status	 st;
	struct vault		*v;

	(void)state;
	need_vault();
	v = broker(role, 1, 30);
	assert_int_equal(vault_start(v), 0);
	for (int i = 0; i < 8; i++) {
		rd[i] = (struct reader){ v, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, read_loop, &rd[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(rd[i].ok, 100);
	}
	vault_status(v, &st);
	/* Logins are serialised: racing readers do not each log in. */
	assert_in_range(st.logins, 1, 2);
	vault_free(v);
}

static void
test_renewal_then_fresh_login(void **state)
{
	struct vault		*v;
	struct vault_status	 st;
	struct err		 e = { 0 };
	secret_t		*d;
	long			 t0;
	int			 ver;

	(void)state;
	need_vault();
	/* token_ttl 3 s, token_max_ttl 6 s: renewed at ~2 s and ~4 s, then
	 * capped, so a fresh Kubernetes login follows before 6 s. */
	v = broker(short_role, -1, -1);
	assert_int_equal(vault_start(v), 0);
	t0 = now_ms();
	do {
		usleep(100 * 1000);
		/* Uncached reads all along: the token never lapses. */
		if (vault_kv_read(v, GOOGLE, &d, &ver, NULL, &e) == -1)
			fail_msg("read at %ld ms: %s", now_ms() - t0, e.msg);
		secret_free(d);
		vault_status(v, &st);
	} while ((st.logins < 2 || st.renewals < 1) && now_ms() - t0 < 15000);
	if (st.logins < 2 || st.renewals < 1)
		fail_msg("after 15 s: logins %lu renewals %lu, last error: %s",
		    st.logins, st.renewals, st.last_error);
	assert_int_equal(st.logged_in, 1);
	assert_in_range(st.token_ttl_s, 0, 6);
	t0 = now_ms();
	vault_stop(v);
	assert_true(now_ms() - t0 < 500);
	vault_free(v);
}

static void
test_sa_token_reread(void **state)
{
	struct vault		*v;
	struct vault_status	 st;
	struct err		 e = { 0 };

	(void)state;
	need_vault();
	v = broker(role, 30, 30);
	assert_int_equal(vault_login(v, &e), 0);
	/* The harness writes a new JWT into the same file and revokes the
	 * old one: only a fresh read of the file can log in now. */
	ctl("rotate");
	if (vault_login(v, &e) == -1)
		fail_msg("login after rotation: %s", e.msg);
	vault_status(v, &st);
	assert_int_equal(st.logins, 2);
	vault_free(v);
}

static void
test_sealed(void **state)
{
	struct vault		*v;
	struct vault_status	 st;
	struct err		 e = { 0 };
	secret_t		*d;
	int			 ver, stale;

	(void)state;
	need_vault();
	v = broker(role, -1, -1);
	assert_int_equal(vault_login(v, &e), 0);
	ctl("seal");
	assert_int_equal(vault_kv_read(v, GOOGLE, &d, &ver, &stale, &e), -1);
	assert_int_equal(e.status, 503);
	assert_string_equal(e.code, "vault_sealed");
	vault_status(v, &st);
	assert_int_equal(st.sealed, 1);
	assert_int_equal(vault_login(v, &e), -1);
	assert_string_equal(e.code, "vault_sealed");
	ctl("unseal");
	if (vault_kv_read(v, GOOGLE, &d, &ver, &stale, &e) == -1)
		fail_msg("read after unseal: %s", e.msg);
	secret_free(d);
	vault_status(v, &st);
	assert_int_equal(st.sealed, 0);
	vault_free(v);
}

static void
test_killed_stale_then_recovery(void **state)
{
	struct vault		*v;
	struct vault_status	 st;
	struct err		 e = { 0 };
	secret_t		*d;
	long			 t0;
	int			 ver, stale;

	(void)state;
	need_vault();
	/* Fresh for 1 s, then stale-servable for 3 s more. */
	v = broker(role, 1, 3);
	assert_int_equal(vault_start(v), 0);
	t0 = now_ms();
	if (vault_kv_read(v, GOOGLE, &d, &ver, &stale, &e) == -1)
		fail_msg("read: %s", e.msg);
	secret_free(d);
	assert_int_equal(stale, 0);
	ctl("kill");

	usleep(1300 * 1000);
	if (vault_kv_read(v, GOOGLE, &d, &ver, &stale, &e) == -1)
		fail_msg("stale read: %s", e.msg);
	assert_int_equal(stale, 1);
	assert_int_equal(ver, 2);
	assert_non_null(strstr(secret_bytes(d), expect));
	secret_free(d);
	vault_status(v, &st);
	assert_int_equal(st.serving_stale, 1);
	assert_true(logs_contain("vault: serving cached " GOOGLE));

	/* Past ttl + max_stale: the failure shows. */
	while (now_ms() - t0 < 4300)
		usleep(50 * 1000);
	assert_int_equal(vault_kv_read(v, GOOGLE, &d, &ver, &stale, &e), -1);
	assert_int_equal(e.status, 503);
	assert_string_equal(e.code, "vault_unreachable");

	/* OpenBao comes back empty and is re-seeded: our token is gone, so
	 * the client must notice and log in again. */
	ctl("start");
	if (vault_kv_read(v, GOOGLE, &d, &ver, &stale, &e) == -1)
		fail_msg("read after restart: %s", e.msg);
	assert_int_equal(stale, 0);
	assert_non_null(strstr(secret_bytes(d), expect));
	secret_free(d);
	vault_status(v, &st);
	assert_int_equal(st.serving_stale, 0);
	assert_int_equal(st.logged_in, 1);
	assert_true(st.logins >= 2);
	vault_free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_login_and_read),
		cmocka_unit_test(test_forbidden_and_not_found),
		cmocka_unit_test(test_login_failed),
		cmocka_unit_test(test_admin_cas_and_policy),
		cmocka_unit_test(test_no_credential_in_logs_or_errors),
		cmocka_unit_test(test_concurrent_reads),
		cmocka_unit_test(test_renewal_then_fresh_login),
		cmocka_unit_test(test_sa_token_reread),
		cmocka_unit_test(test_sealed),
		cmocka_unit_test(test_killed_stale_then_recovery),
	};
	const char	*s;
	int		 rc;

	addr = getenv("TG_TEST_VAULT_ADDR");
	role = getenv("TG_TEST_VAULT_ROLE");
	short_role = getenv("TG_TEST_VAULT_SHORT_ROLE");
	sa_file = getenv("TG_TEST_VAULT_SA_TOKEN_FILE");
	expect = getenv("TG_TEST_VAULT_EXPECT");
	if (addr != NULL && (role == NULL || short_role == NULL || sa_file == NULL ||
	    expect == NULL || getenv("TG_TEST_VAULT_ADMIN_TOKEN") == NULL)) {
		fprintf(stderr, "test_vault_live: TG_TEST_VAULT_ADDR is set but not "
		    "the other TG_TEST_VAULT_* variables\n");
		return 1;
	}
	if (addr != NULL) {
		s = getenv("TG_TEST_VAULT_ADMIN_TOKEN");
		admin_token = secret_new(s, strlen(s));
	}
	if ((s = getenv("TG_TEST_CTL_OUT")) != NULL)
		ctl_out = atoi(s);
	if ((s = getenv("TG_TEST_CTL_IN")) != NULL)
		ctl_in = atoi(s);
	if ((s = getenv("TG_TEST_VAULT_CASE")) != NULL && *s != '\0')
		cmocka_set_test_filter(s);
	log_set_level(LOG_LVL_DEBUG);
	log_set_sink(log_capture, NULL);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	log_set_sink(NULL, NULL);
	secret_free(admin_token);
	free(logs);
	return rc;
}
