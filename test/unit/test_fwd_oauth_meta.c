/* oauth_meta: the RFC 9728 challenge string (exact, for the path and root
 * resource forms, with and without a refused token) and the config checks
 * that keep every value safe inside a quoted header parameter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../forwarder/fwdconf.h"
#include "../../forwarder/oauth_meta.h"

static struct fwdconf_snap *
load(const char *resource, const char *servers, const char *scopes, char **causes)
{
	char		 r[512], a[512], s[512];
	const char	*o[8] = { "broker_url=http://127.0.0.1:1", "broker_secret_file=/nonexistent" };
	int		 n = 2;

	if (resource != NULL) {
		snprintf(r, sizeof r, "resource_url=%s", resource);
		o[n++] = r;
	}
	if (servers != NULL) {
		snprintf(a, sizeof a, "authorization_servers=%s", servers);
		o[n++] = a;
	}
	if (scopes != NULL) {
		snprintf(s, sizeof s, "scopes_supported=%s", scopes);
		o[n++] = s;
	}
	o[n] = NULL;
	return fwdconf_load(NULL, o, causes);
}

static void
test_challenge(void **state)
{
	struct fwdconf_snap	*s;
	char			 buf[1024], *causes = NULL;

	(void)state;
	s = load(NULL, NULL, NULL, &causes);
	assert_non_null(s);
	oauth_meta_challenge(fwdconf_get(s), NULL, buf, sizeof buf);
	assert_string_equal(buf, "Bearer realm=\"tenantgate\"");
	oauth_meta_challenge(fwdconf_get(s), "token_expired", buf, sizeof buf);
	assert_string_equal(buf, "Bearer realm=\"tenantgate\", error=\"invalid_token\", "
	    "error_description=\"token_expired\"");
	fwdconf_unref(s);

	s = load("https://tools.example.com/mcp", "https://idp.example.com", NULL, &causes);
	assert_non_null(s);
	oauth_meta_challenge(fwdconf_get(s), NULL, buf, sizeof buf);
	assert_string_equal(buf, "Bearer realm=\"tenantgate\", resource_metadata=\"https://"
	    "tools.example.com/.well-known/oauth-protected-resource/mcp\", scope=\"openid email\"");
	oauth_meta_challenge(fwdconf_get(s), "bad_audience", buf, sizeof buf);
	assert_non_null(strstr(buf, "scope=\"openid email\", error=\"invalid_token\", "
	    "error_description=\"bad_audience\""));
	/* a small buffer cuts, never overflows, and stays a string */
	oauth_meta_challenge(fwdconf_get(s), "bad_audience", buf, 40);
	assert_int_equal(strlen(buf), 39);
	fwdconf_unref(s);

	/* a root resource: the well-known path has no suffix */
	s = load("https://tools.example.com", "https://idp.example.com", "api://tg/mcp.access",
	    &causes);
	assert_non_null(s);
	oauth_meta_challenge(fwdconf_get(s), NULL, buf, sizeof buf);
	assert_string_equal(buf, "Bearer realm=\"tenantgate\", resource_metadata=\"https://"
	    "tools.example.com/.well-known/oauth-protected-resource\", scope=\"api://tg/mcp.access\"");
	fwdconf_unref(s);
}

static void
test_check(void **state)
{
	static const char *const bad[][3] = {
		{ "tools.example.com/mcp", "https://idp", NULL },
		{ "https:///mcp", "https://idp", NULL },
		{ "https://t/mcp?x=1", "https://idp", NULL },
		{ "https://t/mcp#f", "https://idp", NULL },
		{ "https://t/m\"cp", "https://idp", NULL },
		{ "https://t/mcp", NULL, NULL },
		{ "https://t/mcp", "idp.example.com", NULL },
		{ "https://t/mcp", "https://idp", "openid,em\\ail" },
	};
	char *causes = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_null(load(bad[i][0], bad[i][1], bad[i][2], &causes));
		assert_non_null(causes);
		assert_true(strstr(causes, "resource_url") != NULL ||
		    strstr(causes, "authorization_servers") != NULL ||
		    strstr(causes, "scopes_supported") != NULL);
		free(causes);
		causes = NULL;
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_challenge),
		cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
