/*
 * vault against a scripted fake Vault in a thread of this test (canned
 * answers per path prefix), plus a listener that never answers (timeout)
 * and a closed port (unreachable). The real OpenBao is exercised by
 * test_vault_live.c from test/integration/test_vault.py.
 */
#define _GNU_SOURCE		/* strcasestr */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <poll.h>
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

#include "clock.h"
#include "err.h"
#include "httpc.h"
#include "secret.h"
#include "vault.h"
#include "testsrv.h"

#define FAKE_TOKEN	"hvs.FAKEt0kenFAKEt0kenFAKE"
#define SA_JWT		"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzYSJ9.c2lnbmF0dXJlc2ln"

struct route {
	const char	*prefix;	/* request path prefix */
	int		 status;
	const char	*body;
};

static struct {
	struct testsrv	 ts;
	pthread_mutex_t	 mu;
	struct route	 routes[8];
	int		 nroutes;
	int		 hits;
	char		 last[8192];
	char		 last_login[8192];
} fk = { .mu = PTHREAD_MUTEX_INITIALIZER };

static char	sa_path[256];

static void
route(const char *prefix, int status, const char *body)
{
	pthread_mutex_lock(&fk.mu);
	for (int i = 0; i < fk.nroutes; i++) {
		if (strcmp(fk.routes[i].prefix, prefix) == 0) {
			fk.routes[i].status = status;
			fk.routes[i].body = body;
			pthread_mutex_unlock(&fk.mu);
			return;
		}
	}
	fk.routes[fk.nroutes++] = (struct route){ prefix, status, body };
	pthread_mutex_unlock(&fk.mu);
}

static int
hits(void)
{
	int n;

	pthread_mutex_lock(&fk.mu);
	n = fk.hits;
	pthread_mutex_unlock(&fk.mu);
	return n;
}

static void
handle(int fd)
{
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	char		 req[8192], path[512] = "", head[256];
	const char	*body = "{\"errors\":[]}";
	size_t		 len = 0, want = 0;
	int		 status = 404;
	char		*eoh, *cl;
	ssize_t		 n;

	while (len < sizeof req - 1 && poll(&pfd, 1, 2000) > 0 &&
	    (n = recv(fd, req + len, sizeof req - 1 - len, 0)) > 0) {
		len += (size_t)n;
		req[len] = '\0';
		if ((eoh = strstr(req, "\r\n\r\n")) == NULL)
			continue;
		want = (size_t)(eoh + 4 - req);
		if ((cl = strcasestr(req, "\r\nContent-Length:")) != NULL && cl < eoh)
			want += strtoul(cl + 17, NULL, 10);
		if (len >= want)
			break;
	}
	req[len] = '\0';
	sscanf(req, "%*s %511s", path);
	pthread_mutex_lock(&fk.mu);
	fk.hits++;
	snprintf(fk.last, sizeof fk.last, "%s", req);
	if (strstr(path, "/login") != NULL)
		snprintf(fk.last_login, sizeof fk.last_login, "%s", req);
	for (int i = 0; i < fk.nroutes; i++) {
		if (strncmp(path, fk.routes[i].prefix, strlen(fk.routes[i].prefix)) == 0) {
			status = fk.routes[i].status;
			body = fk.routes[i].body;
			break;
		}
	}
	pthread_mutex_unlock(&fk.mu);
	snprintf(head, sizeof head, "HTTP/1.1 %d X\r\nConnection: close\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
	    status, strlen(body));
	testsrv_send_all(fd, head, strlen(head));
	testsrv_send_all(fd, body, strlen(body));
}

static int
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int
group_setup(void **state)
{
	(void)state;
	snprintf(sa_path, sizeof sa_path, "/tmp/tg-test-vault-sa-%d", (int)getpid());
	if (write_file(sa_path, SA_JWT "\n") == -1)
		return -1;
	return testsrv_start(&fk.ts, handle);
}

static int
group_teardown(void **state)
{
	(void)state;
	testsrv_stop(&fk.ts);
	unlink(sa_path);
	return 0;
}

static const char login_ok[] = "{\"auth\":{\"client_token\":\"" FAKE_TOKEN
    "\",\"lease_duration\":60,\"renewable\":true}}";
static const char lookup_ok[] = "{\"data\":{\"ttl\":0,\"renewable\":false}}";
static const char kv_v3[] = "{\"data\":{\"data\":{\"email\":\"a@b.c\","
    "\"api_token\":\"atl-123\"},\"metadata\":{\"version\":3,\"deletion_time\":\"\","
    "\"destroyed\":false}}}";

static int
reset(void **state)
{
	(void)state;
	pthread_mutex_lock(&fk.mu);
	fk.nroutes = 0;
	fk.hits = 0;
	fk.last[0] = fk.last_login[0] = '\0';
	pthread_mutex_unlock(&fk.mu);
	route("/v1/auth/kubernetes/login", 200, login_ok);
	route("/v1/auth/token/lookup-self", 200, lookup_ok);
	route("/v1/secret/data/", 200, kv_v3);
	return 0;
}

static struct vault *
k8s_vault(int ttl, int stale)
{
	static char		addr[64];
	struct vault_cfg	cfg = { 0 };
	struct err		e = { 0 };
	struct vault		*v;

	snprintf(addr, sizeof addr, "http://127.0.0.1:%d/", fk.ts.port);
	cfg.addr = addr;
	cfg.auth = VAULT_AUTH_KUBERNETES;
	cfg.k8s_role = "broker";
	cfg.sa_token_path = sa_path;
	cfg.timeout_ms = 1000;
	cfg.cache_ttl_s = ttl;
	cfg.cache_max_stale_s = stale;
	v = vault_new(&cfg, &e);
	assert_non_null(v);
	return v;
}

static void
test_config(void **state)
{
	struct vault_cfg	 cfg = { .addr = "127.0.0.1:8200" };
	struct err		 e = { 0 };
	secret_t		*t = secret_new("a\nb", 3);

	(void)state;
	assert_null(vault_new(&cfg, &e));
	assert_string_equal(e.code, "vault_config");
	cfg.addr = "http://127.0.0.1:8200";
	assert_null(vault_new(&cfg, &e));	/* k8s without role */
	cfg.auth = VAULT_AUTH_TOKEN;
	assert_null(vault_new(&cfg, &e));	/* no token */
	cfg.token = t;
	memset(&e, 0, sizeof e);
	assert_null(vault_new(&cfg, &e));	/* header injection */
	assert_string_equal(e.code, "vault_config");
	secret_free(t);
	cfg.auth = VAULT_AUTH_KUBERNETES;
	cfg.k8s_role = "r";
	cfg.sa_token_path = "/x";
	cfg.kv_mount = "../sys";
	assert_null(vault_new(&cfg, &e));
	assert_string_equal(e.code, "vault_bad_path");
}

static void
test_login_and_read(void **state)
{
	struct vault		*v = k8s_vault(30, 30);
	struct vault_status	 st;
	struct err		 e = { 0 };
	secret_t		*d;
	int			 ver, stale;

	(void)state;
	vault_status(v, &st);
	assert_int_equal(st.logged_in, 0);
	assert_int_equal(vault_login(v, &e), 0);
	/* The JWT from the file went in the body, with the role. */
	assert_non_null(strstr(fk.last_login, "POST /v1/auth/kubernetes/login "));
	assert_non_null(strstr(fk.last_login, "\"role\":\"broker\""));
	assert_non_null(strstr(fk.last_login, "\"jwt\":\"" SA_JWT "\""));
	assert_null(strstr(fk.last_login, "X-Vault-Token"));

	assert_int_equal(vault_kv_read(v, "tenantgate/tenants/g/jira", &d, &ver,
	    &stale, &e), 0);
	assert_string_equal(secret_bytes(d), "{\"email\":\"a@b.c\",\"api_token\":\"atl-123\"}");
	assert_int_equal(ver, 3);
	assert_int_equal(stale, 0);
	assert_non_null(strstr(fk.last, "GET /v1/secret/data/tenantgate/tenants/g/jira HTTP"));
	assert_non_null(strstr(fk.last, "\r\nX-Vault-Token: " FAKE_TOKEN "\r\n"));
	secret_free(d);

	/* Second read: from the cache, no request. */
	pthread_mutex_lock(&fk.mu);
	fk.hits = 0;
	pthread_mutex_unlock(&fk.mu);
	assert_int_equal(vault_kv_read(v, "tenantgate/tenants/g/jira", &d, &ver,
	    &stale, &e), 0);
	secret_free(d);
	assert_int_equal(hits(), 0);

	vault_status(v, &st);
	assert_int_equal(st.logged_in, 1);
	assert_int_equal(st.logins, 1);
	assert_in_range(st.token_ttl_s, 58, 60);
	vault_free(v);
}

static void
test_login_on_demand_and_errors_scrubbed(void **state)
{
	struct vault	*v = k8s_vault(30, 30);
	struct err	 e = { 0 };
	secret_t	*d;
	int		 ver;

	(void)state;
	route("/v1/auth/kubernetes/login", 400, "{\"errors\":[\"invalid role "
	    "name \\\"broker\\\" hvs.ABCDEFGHIJKLMNOPQR " SA_JWT "\"]}");
	/* A read with no token logs in first; the login failure surfaces. */
	assert_int_equal(vault_kv_read(v, "a/b", &d, &ver, NULL, &e), -1);
	assert_int_equal(e.status, 401);
	assert_string_equal(e.code, "vault_login_failed");
	assert_non_null(strstr(e.msg, "invalid role name \"broker\""));
	assert_null(strstr(e.msg, "hvs.ABCDEF"));
	assert_null(strstr(e.msg, "eyJhbGci"));
	assert_non_null(strstr(e.msg, "***"));

	route("/v1/auth/kubernetes/login", 403, "{\"errors\":[\"permission denied\"]}");
	assert_int_equal(vault_login(v, &e), -1);
	assert_int_equal(e.status, 403);
	assert_string_equal(e.code, "vault_login_failed");
	vault_free(v);
}

static void
test_status_mapping(void **state)
{
	struct vault		*v = k8s_vault(-1, -1);
	struct vault_status	 st;
	struct err		 e = { 0 };
	secret_t		*d;
	int			 ver;

	(void)state;
	assert_int_equal(vault_login(v, &e), 0);
	route("/v1/secret/data/", 503, "{\"errors\":[\"Vault is sealed\"]}");
	assert_int_equal(vault_kv_read(v, "a/b", &d, &ver, NULL, &e), -1);
	assert_int_equal(e.status, 503);
	assert_string_equal(e.code, "vault_sealed");
	vault_status(v, &st);
	assert_int_equal(st.sealed, 1);

	route("/v1/secret/data/", 500, "{\"errors\":[\"internal error\"]}");
	assert_int_equal(vault_kv_read(v, "a/b", &d, &ver, NULL, &e), -1);
	assert_int_equal(e.status, 502);
	assert_string_equal(e.code, "vault_error");

	route("/v1/secret/data/", 404, "{\"errors\":[]}");
	assert_int_equal(vault_kv_read(v, "a/b", &d, &ver, NULL, &e), -1);
	assert_int_equal(e.status, 404);
	assert_string_equal(e.code, "vault_not_found");
	vault_status(v, &st);
	assert_int_equal(st.sealed, 0);

	route("/v1/secret/data/", 404, "{\"data\":{\"data\":null,\"metadata\":"
	    "{\"version\":2,\"deletion_time\":\"2026-01-01T00:00:00Z\",\"destroyed\":false}}}");
	assert_int_equal(vault_kv_read(v, "a/b", &d, &ver, NULL, &e), -1);
	assert_int_equal(e.status, 404);
	assert_non_null(strstr(e.msg, "version 2 of a/b was deleted"));

	/* 403 and the token still works (lookup-self 200): a policy denial. */
	route("/v1/secret/data/", 403, "{\"errors\":[\"permission denied\"]}");
	assert_int_equal(vault_kv_read(v, "other/x", &d, &ver, NULL, &e), -1);
	assert_int_equal(e.status, 403);
	assert_string_equal(e.code, "vault_forbidden");
	assert_non_null(strstr(e.msg, "other/x"));
	assert_null(strstr(e.msg, FAKE_TOKEN));
	vault_status(v, &st);
	assert_int_equal(st.logins, 1);

	/* 403 and lookup-self 403 too: the token is dead; log in, retry. */
	route("/v1/auth/token/lookup-self", 403, "{\"errors\":[\"permission denied\"]}");
	assert_int_equal(vault_kv_read(v, "other/x", &d, &ver, NULL, &e), -1);
	vault_status(v, &st);
	assert_int_equal(st.logins, 2);
	assert_true(st.errors >= 6);
	vault_free(v);
}

static void
test_stale_cache(void **state)
{
	struct vault		*v = k8s_vault(1, 2);
	struct vault_status	 st;
	struct err		 e = { 0 };
	secret_t		*d;
	int			 ver, stale;

	(void)state;
	assert_int_equal(vault_kv_read(v, "a/b", &d, &ver, &stale, &e), 0);
	secret_free(d);
	usleep(1100 * 1000);
	route("/v1/secret/data/", 503, "{\"errors\":[\"Vault is sealed\"]}");
	assert_int_equal(vault_kv_read(v, "a/b", &d, &ver, &stale, &e), 0);
	assert_int_equal(stale, 1);
	assert_int_equal(ver, 3);
	assert_non_null(strstr(secret_bytes(d), "atl-123"));
	secret_free(d);
	vault_status(v, &st);
	assert_int_equal(st.serving_stale, 1);

	/* A denial is never masked by the cache, and drops the entry. */
	route("/v1/secret/data/", 403, "{\"errors\":[\"permission denied\"]}");
	assert_int_equal(vault_kv_read(v, "a/b", &d, &ver, &stale, &e), -1);
	assert_int_equal(e.status, 403);
	route("/v1/secret/data/", 503, "{\"errors\":[\"Vault is sealed\"]}");
	assert_int_equal(vault_kv_read(v, "a/b", &d, &ver, &stale, &e), -1);
	assert_string_equal(e.code, "vault_sealed");

	/* Past ttl + max_stale the error comes through. */
	route("/v1/secret/data/", 200, kv_v3);
	assert_int_equal(vault_kv_read(v, "a/b", &d, &ver, &stale, &e), 0);
	assert_int_equal(stale, 0);
	secret_free(d);
	vault_status(v, &st);
	assert_int_equal(st.serving_stale, 0);
	usleep(3100 * 1000);
	route("/v1/secret/data/", 500, "{\"errors\":[\"boom\"]}");
	assert_int_equal(vault_kv_read(v, "a/b", &d, &ver, &stale, &e), -1);
	assert_string_equal(e.code, "vault_error");
	vault_free(v);
}

static void
test_write_cas(void **state)
{
	struct vault	*v = k8s_vault(30, 30);
	struct err	 e = { 0 };
	secret_t	*d;
	int		 ver = 0, stale;

	(void)state;
	assert_int_equal(vault_kv_read(v, "a/b", &d, &ver, &stale, &e), 0);
	secret_free(d);
	route("/v1/secret/data/", 200, "{\"data\":{\"version\":4}}");
	assert_int_equal(vault_kv_write(v, "a/b", "{\"k\":\"v\"}", 3, &ver, &e), 0);
	assert_int_equal(ver, 4);
	assert_non_null(strstr(fk.last, "{\"data\":{\"k\":\"v\"},\"options\":{\"cas\":3}}"));
	route("/v1/secret/data/", 400, "{\"errors\":[\"check-and-set parameter did "
	    "not match the current version\"]}");
	assert_int_equal(vault_kv_write(v, "a/b", "{\"k\":\"v\"}", 3, &ver, &e), -1);
	assert_int_equal(e.status, 409);
	assert_string_equal(e.code, "vault_cas_conflict");
	/* The write dropped the cached value: this read goes to Vault. */
	route("/v1/secret/data/", 404, "{\"errors\":[]}");
	assert_int_equal(vault_kv_read(v, "a/b", &d, &ver, &stale, &e), -1);
	assert_int_equal(e.status, 404);
	assert_int_equal(vault_kv_write(v, "a/b", "[1]", -1, &ver, &e), -1);
	assert_int_equal(e.status, 400);
	assert_int_equal(vault_kv_write(v, "a/b", "{\"k\":", -1, &ver, &e), -1);
	assert_int_equal(e.status, 400);
	vault_free(v);
}

static void
test_bad_paths(void **state)
{
	struct vault	*v = k8s_vault(30, 30);
	struct err	 e = { 0 };
	secret_t	*d;
	int		 ver;
	const char	*bad[] = { "", "/a", "a/", "a//b", "a/../b", "..", "a/./b",
	    "a\nb", NULL };

	(void)state;
	for (int i = 0; bad[i] != NULL; i++) {
		assert_int_equal(vault_kv_read(v, bad[i], &d, &ver, NULL, &e), -1);
		assert_string_equal(e.code, "vault_bad_path");
	}
	assert_int_equal(hits(), 0);
	assert_int_equal(vault_kv_read(v, "a b/c?d", &d, &ver, NULL, &e), 0);
	secret_free(d);
	assert_non_null(strstr(fk.last, "GET /v1/secret/data/a%20b/c%3Fd HTTP"));
	vault_free(v);
}

static void
test_token_auth(void **state)
{
	char			 addr[64];
	secret_t		*tok = secret_new("s.admintokenadmintoken", 22);
	struct vault_cfg	 cfg = { .auth = VAULT_AUTH_TOKEN, .token = tok };
	struct vault_status	 st;
	struct httpc_resp	 r;
	struct err		 e = { 0 };
	struct vault		*v;

	(void)state;
	snprintf(addr, sizeof addr, "http://127.0.0.1:%d", fk.ts.port);
	cfg.addr = addr;
	v = vault_new(&cfg, &e);
	secret_free(tok);
	assert_non_null(v);
	route("/v1/sys/policies/acl/", 204, "");
	assert_int_equal(vault_policy_write(v, "tenantgate-google", "path \"x\" {}", &e), 0);
	assert_non_null(strstr(fk.last, "PUT /v1/sys/policies/acl/tenantgate-google HTTP"));
	assert_non_null(strstr(fk.last, "\r\nX-Vault-Token: s.admintokenadmintoken\r\n"));
	assert_int_equal(vault_policy_write(v, "../x", "", &e), -1);

	assert_int_equal(vault_login(v, &e), 0);
	vault_status(v, &st);
	assert_int_equal(st.logged_in, 1);
	assert_int_equal(st.token_ttl_s, -1);

	route("/v1/sys/mounts", 200, "{\"secret/\":{}}");
	assert_int_equal(vault_request(v, "GET", "sys/mounts", NULL, &r, &e), 0);
	assert_int_equal(r.status, 200);
	httpc_resp_free(&r);
	assert_int_equal(vault_request(v, "GET", "sys/../x", NULL, &r, &e), -1);
	httpc_resp_free(&r);
	route("/v1/sys/auth", 403, "{\"errors\":[\"permission denied\"]}");
	assert_int_equal(vault_request(v, "GET", "sys/auth", NULL, &r, &e), -1);
	assert_int_equal(r.status, 403);
	assert_string_equal(e.code, "vault_forbidden");
	httpc_resp_free(&r);
	vault_free(v);
}

static void
test_timeout_and_unreachable(void **state)
{
	struct vault_cfg	 cfg = { .auth = VAULT_AUTH_KUBERNETES,
	    .k8s_role = "r", .timeout_ms = 300 };
	struct err		 e = { 0 };
	struct vault		*v;
	char			 addr[64];
	secret_t		*d;
	long			 t0;
	int			 port, fd, ver;

	(void)state;
	cfg.sa_token_path = sa_path;
	/* Accepts (the kernel completes the handshake) but never answers. */
	fd = testsrv_listen(&port, 16);
	snprintf(addr, sizeof addr, "http://127.0.0.1:%d", port);
	cfg.addr = addr;
	v = vault_new(&cfg, &e);
	t0 = clock_now_ms();
	assert_int_equal(vault_login(v, &e), -1);
	assert_true(clock_now_ms() - t0 < 2000);
	assert_int_equal(e.status, 504);
	assert_string_equal(e.code, "vault_timeout");
	assert_int_equal(vault_kv_read(v, "a/b", &d, &ver, NULL, &e), -1);
	assert_string_equal(e.code, "vault_timeout");
	vault_free(v);
	close(fd);

	/* Nobody listens there any more. */
	v = vault_new(&cfg, &e);
	assert_int_equal(vault_login(v, &e), -1);
	assert_int_equal(e.status, 503);
	assert_string_equal(e.code, "vault_unreachable");
	assert_non_null(strstr(e.msg, "127.0.0.1"));
	vault_free(v);

	cfg.sa_token_path = "/nonexistent/token";
	cfg.addr = "http://127.0.0.1:1";
	v = vault_new(&cfg, &e);
	assert_int_equal(vault_login(v, &e), -1);
	assert_int_equal(e.status, 500);
	assert_string_equal(e.code, "vault_login_failed");
	vault_free(v);
}

static void
test_thread_stops_at_once(void **state)
{
	struct vault_cfg	 cfg = { .auth = VAULT_AUTH_KUBERNETES,
	    .k8s_role = "r", .addr = "http://127.0.0.1:1", .timeout_ms = 200 };
	struct vault_status	 st;
	struct vault		*v;
	long			 t0;

	(void)state;
	cfg.sa_token_path = sa_path;
	v = vault_new(&cfg, NULL);
	assert_int_equal(vault_start(v), 0);
	assert_int_equal(vault_start(v), -1);
	usleep(300 * 1000);	/* first login failed; now in backoff */
	vault_status(v, &st);
	assert_true(st.errors >= 1);
	assert_int_equal(st.logged_in, 0);
	t0 = clock_now_ms();
	vault_stop(v);
	assert_true(clock_now_ms() - t0 < 500);
	vault_free(v);

	/* Against the fake: logs in from the thread. */
	v = k8s_vault(30, 30);
	assert_int_equal(vault_start(v), 0);
	for (int i = 0; i < 100; i++) {
		vault_status(v, &st);
		if (st.logged_in)
			break;
		usleep(20 * 1000);
	}
	assert_int_equal(st.logged_in, 1);
	vault_free(v);	/* stops the thread */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test_setup(test_login_and_read, reset),
		cmocka_unit_test_setup(test_login_on_demand_and_errors_scrubbed, reset),
		cmocka_unit_test_setup(test_status_mapping, reset),
		cmocka_unit_test_setup(test_stale_cache, reset),
		cmocka_unit_test_setup(test_write_cas, reset),
		cmocka_unit_test_setup(test_bad_paths, reset),
		cmocka_unit_test_setup(test_token_auth, reset),
		cmocka_unit_test_setup(test_timeout_and_unreachable, reset),
		cmocka_unit_test_setup(test_thread_stops_at_once, reset),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
