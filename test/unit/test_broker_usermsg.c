/*
 * usermsg (what users read of an error) and callers_sa_shaped (what may be
 * sent to the Kubernetes TokenReview API): issue 14, points 6 and 7.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "b64url.h"
#include "err.h"
#include "../../broker/callers.h"
#include "../../broker/usermsg.h"

static void
test_internal_failures_are_503_for_users(void **state)
{
	static const char *const codes[] = {
		"vault_login_failed", "vault_forbidden", "vault_unreachable", "vault_sealed",
		"db_unavailable", "db_error", "jwks_unavailable", "upstream_timeout",
	};
	static const int statuses[] = { 403, 403, 502, 503, 503, 500, 503, 504 };
	struct err in, out;

	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		err_set(&in, statuses[i], codes[i], "POST http://10.1.2.3:8200/v1/auth/"
		    "kubernetes/login: permission denied; host=db.internal port=5432");
		assert_int_equal(usermsg_from_err(&in, &out), 1);
		assert_int_equal(out.status, 503);
		assert_string_equal(out.code, codes[i]);
		assert_null(strstr(out.msg, "10.1.2.3"));
		assert_null(strstr(out.msg, "5432"));
		assert_null(strstr(out.msg, "http"));
		assert_non_null(strstr(out.msg, "try again"));
	}
	/* Any other 5xx: a sentence naming the code, not the detail. */
	err_set(&in, 500, "bad_key", "Vault path secret/x at https://vault:8200 is broken");
	assert_int_equal(usermsg_from_err(&in, &out), 1);
	assert_int_equal(out.status, 500);
	assert_null(strstr(out.msg, "vault:8200"));
	assert_non_null(strstr(out.msg, "bad_key"));
	/* In place works too. */
	err_set(&in, 403, "vault_login_failed", "login at https://vault.internal:8200 refused");
	usermsg_from_err(&in, &in);
	assert_int_equal(in.status, 503);
	assert_null(strstr(in.msg, "vault.internal"));
}

static void
test_scrub(void **state)
{
	static const char *const cases[][2] = {
		{ "cannot reach http://127.0.0.1:8200/v1/sys/health now",
		  "cannot reach [internal address] now" },
		{ "connection to server at \"10.0.0.5\", port 5432 failed",
		  "connection to server at \"[internal address]\", port 5432 failed" },
		{ "db.internal:5432 refused (pg.example.org:6432)",
		  "[internal address] refused ([internal address])" },
		{ "ask [::1]:8200, then 192.168.1.1.",
		  "ask [internal address], then [internal address]." },
		{ "tenant 'google' has no enabled integration 'jira'",
		  "tenant 'google' has no enabled integration 'jira'" },
		{ "token expired 12 s ago: at 12:30", "token expired 12 s ago: at 12:30" },
	};
	char buf[ERR_MSG_MAX];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(buf, sizeof buf, "%s", cases[i][0]);
		usermsg_scrub(buf, sizeof buf);
		assert_string_equal(buf, cases[i][1]);
	}
	/* 4xx messages keep their code and status, lose the address. */
	{
		struct err in, out;

		err_set(&in, 401, "bad_issuer", "token was not issued by https://idp.corp:8443/realms/x");
		assert_int_equal(usermsg_from_err(&in, &out), 1);
		assert_int_equal(out.status, 401);
		assert_string_equal(out.msg, "token was not issued by [internal address]");
		err_set(&in, 403, "not_member", "alice@example.com is no longer a member of tenant 'g'");
		assert_int_equal(usermsg_from_err(&in, &out), 0);
		assert_string_equal(out.msg, in.msg);
	}
}

static void
test_cut_at_word_boundary(void **state)
{
	struct err	in, out;
	char		long_msg[ERR_MSG_MAX * 2];
	size_t		n;

	/* A message vsnprintf() cut mid-word is cut again at a space. */
	memset(long_msg, 0, sizeof long_msg);
	for (n = 0; n + 12 < sizeof long_msg; n += 12)
		memcpy(long_msg + n, "abcdefghijk ", 12);
	err_set(&in, 403, "x", "%s", long_msg);
	assert_int_equal(strlen(in.msg), ERR_MSG_MAX - 1);
	usermsg_from_err(&in, &out);
	n = strlen(out.msg);
	assert_true(n <= USERMSG_MAX);
	assert_string_equal(out.msg + n - 3, "...");
	assert_true(out.msg[n - 4] == 'k');	/* the last whole word */
	/* Multi-byte text is never split: cuts fall on spaces only. */
	memset(long_msg, 0, sizeof long_msg);
	for (n = 0; n + 7 < sizeof long_msg; n += 7)
		memcpy(long_msg + n, "\xc3\xa9t\xc3\xa9s ", 7);
	err_set(&in, 400, "x", "%s", long_msg);
	usermsg_from_err(&in, &out);
	n = strlen(out.msg);
	assert_true(n <= USERMSG_MAX);
	assert_memory_equal(out.msg + n - 9, "\xc3\xa9t\xc3\xa9s...", 9);
	/* Short messages are left alone. */
	err_set(&in, 400, "x", "short and sweet");
	assert_int_equal(usermsg_from_err(&in, &out), 0);
	assert_string_equal(out.msg, "short and sweet");
	/* One long word: cut to nothing but the ellipsis rather than mid-word. */
	memset(long_msg, 'a', 300);
	long_msg[300] = '\0';
	err_set(&in, 400, "x", "%s", long_msg);
	usermsg_from_err(&in, &out);
	assert_string_equal(out.msg, "...");
}

static char *
seg(const char *json)
{
	return b64url_encode((const unsigned char *)json, strlen(json));
}

static char *
token(const char *hdr, const char *payload)
{
	char	*h = seg(hdr), *p = seg(payload), *t = malloc(strlen(h) + strlen(p) + 8);

	sprintf(t, "%s.%s.c2ln", h, p);
	free(h);
	free(p);
	return t;
}

static void
test_only_sa_jwts_go_to_tokenreview(void **state)
{
	static const char *const bad_hdr[] = {
		"{\"alg\":\"none\"}", "{\"alg\":\"HS256\"}", "{\"alg\":\"RS25\"}", "[]", "{}",
	};
	char	 ns[256], *t;
	time_t	 now = 1767225600;
	const char *sa = "{\"sub\":\"system:serviceaccount:tenantgate:forwarder\","
	    "\"exp\":1767229200}";

	t = token("{\"alg\":\"RS256\",\"kid\":\"x\"}", sa);
	assert_int_equal(callers_sa_shaped(t, now, ns, sizeof ns), 1);
	assert_string_equal(ns, "tenantgate/forwarder");
	/* Expired: refused locally. */
	assert_int_equal(callers_sa_shaped(t, 1767229200, ns, sizeof ns), 0);
	free(t);
	t = token("{\"alg\":\"ES256\"}", sa);
	assert_int_equal(callers_sa_shaped(t, now, ns, sizeof ns), 1);
	free(t);
	for (size_t i = 0; i < sizeof bad_hdr / sizeof bad_hdr[0]; i++) {
		t = token(bad_hdr[i], sa);
		assert_int_equal(callers_sa_shaped(t, now, ns, sizeof ns), 0);
		free(t);
	}
	/* A user's OIDC token is JWT-shaped but names no service account. */
	t = token("{\"alg\":\"RS256\"}", "{\"sub\":\"u-alice\",\"email\":\"alice@example.com\","
	    "\"exp\":1767229200}");
	assert_int_equal(callers_sa_shaped(t, now, ns, sizeof ns), 0);
	free(t);
	t = token("{\"alg\":\"RS256\"}", "{\"sub\":\"system:serviceaccount:a:b:c\",\"exp\":1767229200}");
	assert_int_equal(callers_sa_shaped(t, now, ns, sizeof ns), 0);
	free(t);
	t = token("{\"alg\":\"RS256\"}", "{\"sub\":\"system:serviceaccount:tg:fwd\"}");
	assert_int_equal(callers_sa_shaped(t, now, ns, sizeof ns), 0);	/* no exp */
	free(t);
	/* Not JWTs at all. */
	assert_int_equal(callers_sa_shaped("not-a-jwt", now, ns, sizeof ns), 0);
	assert_int_equal(callers_sa_shaped("a.b", now, ns, sizeof ns), 0);
	assert_int_equal(callers_sa_shaped("a.b.c.d", now, ns, sizeof ns), 0);
	assert_int_equal(callers_sa_shaped("a.b.", now, ns, sizeof ns), 0);
	assert_int_equal(callers_sa_shaped("a b.c.d", now, ns, sizeof ns), 0);
	assert_int_equal(callers_sa_shaped("", now, ns, sizeof ns), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_internal_failures_are_503_for_users),
		cmocka_unit_test(test_scrub),
		cmocka_unit_test(test_cut_at_word_boundary),
		cmocka_unit_test(test_only_sa_jwts_go_to_tokenreview),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
