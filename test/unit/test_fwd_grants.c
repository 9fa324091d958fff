/* The broker's grants answer as the forwarder keeps it: parsing, the cache
 * key (SHA-256 of the token, never the token), lookups, and the tool-name
 * split that every call goes through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "err.h"
#include "secret.h"
#include "../../forwarder/grants.h"
#include "../../forwarder/usertools.h"

#define ANSWER \
	"{\"user\":\"bob@example.com\",\"denied\":[],\"grants\":[" \
	"{\"tenant\":\"google\",\"role\":\"editor\",\"token\":\"g1-token-abcdef\"," \
	"\"expires_at\":2000000000,\"integrations\":[{\"name\":\"jira\",\"kind\":\"jira\"," \
	"\"base_url\":\"https://google.atlassian.net/\",\"cred_version\":3},{\"name\":\"bot\"," \
	"\"kind\":\"mcp\",\"base_url\":\"http://127.0.0.1:9/mcp/\",\"cred_version\":1}," \
	"{\"name\":\"ftp\",\"kind\":\"jira\",\"base_url\":\"ftp://evil\"}]," \
	"\"tools\":[\"jira_search\",\"mcp:bot:readonly\"]}," \
	"{\"tenant\":\"bad__name\",\"role\":\"editor\",\"token\":\"x\",\"expires_at\":1}," \
	"{\"tenant\":\"microsoft\",\"role\":\"viewer\",\"token\":\"g2-token-abcdef\"," \
	"\"expires_at\":1900000000,\"integrations\":[],\"tools\":[]}]}"

static void
test_parse(void **state)
{
	json_t			*a = json_loads(ANSWER, 0, NULL);
	struct err		 e;
	struct grantset		*gs;
	const struct grant	*g;
	struct grant_integ	*gi;

	(void)state;
	err_clear(&e);
	gs = grants_parse(a, "k", &e);
	json_decref(a);
	assert_non_null(gs);
	assert_string_equal(gs->user, "bob@example.com");
	assert_int_equal(gs->n, 2);	/* "bad__name" cannot prefix a tool name */
	g = grants_find(gs, "google");
	assert_non_null(g);
	assert_null(grants_find(gs, "smallco"));
	assert_string_equal(g->role, "editor");
	assert_string_equal(secret_bytes(g->token), "g1-token-abcdef");
	assert_int_equal(g->ninteg, 2);	/* the ftp:// one is dropped */
	gi = grants_integration(g, "jira");
	assert_string_equal(gi->base_url, "https://google.atlassian.net");
	assert_int_equal(gi->cred_version, 3);
	assert_int_equal(strncmp(g->jti, "h:", 2), 0);	/* opaque: named by its hash */
	/* An MCP endpoint keeps its exact URL. */
	assert_string_equal(grants_integration_named(g, "bot")->base_url,
	    "http://127.0.0.1:9/mcp/");
	assert_true(grants_has_tool(g, "jira_search"));
	assert_false(grants_has_tool(g, "jira_create_issue"));
	assert_true(grants_has_tool(g, "mcp:bot:readonly"));
	assert_int_equal(grants_find(gs, "microsoft")->expires_at, 1900000000);
	grants_free(gs);

	/* No tenants: an empty set, not an error. */
	gs = grants_parse(NULL, "k", &e);
	assert_non_null(gs);
	assert_int_equal(gs->n, 0);
	assert_null(gs->user);
	grants_free(gs);

	a = json_loads("{\"grants\":[]}", 0, NULL);
	assert_null(grants_parse(a, "k", &e));
	assert_int_equal(e.status, 502);
	json_decref(a);
}

/* Credential kinds (migrations/0004): the gateway URL and the kind are
 * kept; an unknown kind or a non-http gateway drops the integration, so
 * no credential goes out with a header shape nobody asked for. */
#define KINDS \
	"{\"user\":\"kim@example.com\",\"grants\":[{\"tenant\":\"scopeco\"," \
	"\"role\":\"editor\",\"token\":\"g3-token-abcdef\",\"expires_at\":2000000000," \
	"\"integrations\":[" \
	"{\"name\":\"jira\",\"kind\":\"jira\",\"base_url\":\"https://s.atlassian.net\"," \
	"\"cred_kind\":\"scoped\",\"api_url\":\"https://api.atlassian.com/ex/jira/c1/\"}," \
	"{\"name\":\"wiki\",\"kind\":\"confluence\",\"base_url\":\"https://s.atlassian.net\"," \
	"\"cred_kind\":\"classic\",\"api_url\":null}," \
	"{\"name\":\"old\",\"kind\":\"jira\",\"base_url\":\"https://o.atlassian.net\"}," \
	"{\"name\":\"odd\",\"kind\":\"jira\",\"base_url\":\"https://s.atlassian.net\"," \
	"\"cred_kind\":\"oauth\"}," \
	"{\"name\":\"gw\",\"kind\":\"jira\",\"base_url\":\"https://s.atlassian.net\"," \
	"\"cred_kind\":\"service_account\",\"api_url\":\"file:///etc/passwd\"}]," \
	"\"tools\":[]}]}"

static void
test_cred_kinds(void **state)
{
	json_t			*a = json_loads(KINDS, 0, NULL);
	struct err		 e;
	struct grantset		*gs;
	const struct grant	*g;
	struct grant_integ	*gi;

	(void)state;
	assert_non_null(a);
	err_clear(&e);
	gs = grants_parse(a, "k", &e);
	json_decref(a);
	assert_non_null(gs);
	g = grants_find(gs, "scopeco");
	assert_non_null(g);
	assert_int_equal(g->ninteg, 3);		/* "odd" and "gw" are dropped */
	gi = grants_integration_named(g, "jira");
	assert_string_equal(gi->cred_kind, "scoped");
	assert_string_equal(gi->api_url, "https://api.atlassian.com/ex/jira/c1");
	assert_string_equal(grants_request_url(gi), "https://api.atlassian.com/ex/jira/c1");
	assert_string_equal(gi->base_url, "https://s.atlassian.net");
	gi = grants_integration_named(g, "wiki");
	assert_string_equal(gi->cred_kind, "classic");
	assert_null(gi->api_url);
	assert_string_equal(grants_request_url(gi), "https://s.atlassian.net");
	/* An older broker names no kind: classic, as before. */
	assert_string_equal(grants_integration_named(g, "old")->cred_kind, "classic");
	assert_null(grants_integration_named(g, "odd"));
	assert_null(grants_integration_named(g, "gw"));
	grants_free(gs);
}

static void
test_key_is_sha256(void **state)
{
	char key[65];

	(void)state;
	grants_key("abc", key);
	assert_string_equal(key,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(strlen(key), 64);
}

static void
test_split(void **state)
{
	char		 tenant[64];
	const char	*tool;

	(void)state;
	assert_int_equal(usertools_split("google__jira_search", tenant, sizeof tenant, &tool), 0);
	assert_string_equal(tenant, "google");
	assert_string_equal(tool, "jira_search");
	/* Only the first separator splits: backend tools may contain "__". */
	assert_int_equal(usertools_split("acme__do__it", tenant, sizeof tenant, &tool), 0);
	assert_string_equal(tenant, "acme");
	assert_string_equal(tool, "do__it");
	assert_int_equal(usertools_split("nosep", tenant, sizeof tenant, &tool), -1);
	assert_int_equal(usertools_split("__x", tenant, sizeof tenant, &tool), -1);
	assert_int_equal(usertools_split("x__", tenant, sizeof tenant, &tool), -1);
	assert_int_equal(usertools_split("averyveryverylongtenantname__x", tenant, 8, &tool), -1);
}

static void
test_results(void **state)
{
	struct err	 e;
	json_t		*r;

	(void)state;
	r = usertools_result_ok(json_pack("{s:s}", "key", "A-1"));
	assert_false(json_is_true(json_object_get(r, "isError")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(r,
	    "content"), 0), "text")), "{\"key\":\"A-1\"}");
	assert_string_equal(json_string_value(json_object_get(json_object_get(r,
	    "structuredContent"), "key")), "A-1");
	json_decref(r);
	err_set(&e, 504, "upstream_timeout", "Atlassian did not answer");
	r = usertools_result_error(&e);
	assert_true(json_is_true(json_object_get(r, "isError")));
	assert_null(json_object_get(r, "structuredContent"));
	json_decref(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_cred_kinds),
		cmocka_unit_test(test_key_is_sha256),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_results),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
