/*
 * reuse: the grant reuse cache. A grant is handed out again only for the
 * same key, with at least REUSE_MIN_LEFT_S left, never past the presented
 * token's expiry, and never when it was minted across a flush.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../broker/reuse.h"

static json_t *
grant(const char *jti, time_t exp)
{
	return json_pack("{s:s,s:s,s:s,s:I}", "tenant", "google", "jti", jti, "token",
	    "tok-of-" , "expires_at", (json_int_t)exp);
}

static void
key_of(const char *role, const char *versions, const char *kid, char key[65])
{
	json_t *vers = json_loads(versions, 0, NULL), *tools = json_pack("[s]", "jira_search");

	reuse_key("alice@example.com", "google", role, vers, tools, NULL, kid, key);
	json_decref(vers);
	json_decref(tools);
}

static void
test_key_depends_on_every_part(void **state)
{
	char a[65], b[65];

	(void)state;
	key_of("editor", "{\"jira\":1,\"confluence\":2}", "k1", a);
	key_of("editor", "{\"confluence\":2,\"jira\":1}", "k1", b);
	assert_string_equal(a, b);		/* key order does not matter */
	assert_int_equal(strlen(a), 64);
	key_of("viewer", "{\"jira\":1,\"confluence\":2}", "k1", b);
	assert_string_not_equal(a, b);
	key_of("editor", "{\"jira\":2,\"confluence\":2}", "k1", b);
	assert_string_not_equal(a, b);
	key_of("editor", "{\"jira\":1,\"confluence\":2}", "k2", b);
	assert_string_not_equal(a, b);
}

static void
test_get_put_bounds(void **state)
{
	struct reuse	*c = reuse_new();
	char		 k[65];
	time_t		 now = time(NULL);
	json_t		*g, *got;
	unsigned long	 gen;

	(void)state;
	key_of("editor", "{}", "k1", k);
	assert_null(reuse_get(c, k, 0));
	gen = reuse_gen(c);
	g = grant("j1", now + 200);
	reuse_put(c, k, g, gen);
	json_decref(g);
	got = reuse_get(c, k, 0);
	assert_non_null(got);
	assert_string_equal(json_string_value(json_object_get(got, "jti")), "j1");
	json_decref(got);
	/* the presented token expires before the grant: not this one */
	assert_null(reuse_get(c, k, now + 100));
	got = reuse_get(c, k, now + 300);
	assert_non_null(got);
	json_decref(got);
	/* too little left */
	g = grant("j2", now + REUSE_MIN_LEFT_S - 5);
	reuse_put(c, k, g, reuse_gen(c));
	json_decref(g);
	assert_null(reuse_get(c, k, 0));
	/* minted across a flush: not kept */
	gen = reuse_gen(c);
	reuse_flush(c);
	g = grant("j3", now + 200);
	reuse_put(c, k, g, gen);
	json_decref(g);
	assert_null(reuse_get(c, k, 0));
	reuse_free(c);
}

/* A full cache makes room by evicting the least recently used grant; it
 * used to be emptied, losing the grants in use with the rest. */
static void
test_full_evicts_least_recent(void **state)
{
	struct reuse	*c = reuse_new();
	char		 k[65];
	time_t		 now = time(NULL);
	json_t		*g = grant("j", now + 600), *got;

	(void)state;
	for (int i = 0; i < REUSE_MAX_ENTRIES; i++) {
		snprintf(k, sizeof k, "k%d", i);
		reuse_put(c, k, g, reuse_gen(c));
	}
	got = reuse_get(c, "k0", 0);		/* k0 in use: k1 is now the least recent */
	assert_non_null(got);
	json_decref(got);
	reuse_put(c, "one-more", g, reuse_gen(c));
	assert_null(reuse_get(c, "k1", 0));
	got = reuse_get(c, "k0", 0);
	assert_non_null(got);
	json_decref(got);
	got = reuse_get(c, "k2", 0);
	assert_non_null(got);
	json_decref(got);
	json_decref(g);
	reuse_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_depends_on_every_part),
		cmocka_unit_test(test_get_put_bounds),
		cmocka_unit_test(test_full_evicts_least_recent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
