/* test_admin_policy: tenant slugs and the tenant admin policy template
 * (tui/policy.c, policies/tenant-admin.hcl.tmpl). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"
#include "../../tui/policy.h"

static void
test_slugs(void **state)
{
	static const char *const good[] = { "google", "ms", "small-co", "a1",
	    "abcdefghijklmnopqrstuvwxyz01234" };
	static const char *const bad[] = { "", "a", "Google", "1abc", "-abc", "abc-",
	    "a--b", "a_b", "a.b", "a b", "é", "abcdefghijklmnopqrstuvwxyz012345",
	    "x/../y" };
	struct err e;

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		assert_int_equal(policy_slug_check(good[i], &e), 0);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err_clear(&e);
		assert_int_equal(policy_slug_check(bad[i], &e), -1);
		assert_string_equal(e.code, "bad_tenant");
	}
	assert_int_equal(policy_slug_check(NULL, &e), -1);
}

static void
test_render(void **state)
{
	static const struct policy_var vars[] = {
		{ "tenant", "acme" }, { "kv_mount", "secret" }, { NULL, NULL },
	};
	struct err	 e;
	char		*s;

	(void)state;
	s = policy_render("path \"{{kv_mount}}/data/t/{{ tenant }}/*\" {}\n", vars, &e);
	assert_non_null(s);
	assert_string_equal(s, "path \"secret/data/t/acme/*\" {}\n");
	free(s);
	s = policy_render("no placeholders", vars, &e);
	assert_string_equal(s, "no placeholders");
	free(s);
	err_clear(&e);
	assert_null(policy_render("a\nb {{tenat}}", vars, &e));
	assert_string_equal(e.msg, "line 2: unknown placeholder {{tenat}}");
	err_clear(&e);
	assert_null(policy_render("x {{tenant", vars, &e));
	assert_string_equal(e.msg, "line 1: '{{' without '}}'");
	assert_null(policy_render("x {{tenant\n}}", vars, &e));
}

/* The shipped template renders, and only for the one tenant. */
static void
test_real_template(void **state)
{
	static const struct policy_var vars[] = {
		{ "tenant", "acme" }, { "kv_mount", "secret" },
		{ "kv_prefix", "tenantgate" }, { "policy", "tenantgate-tenant-acme" },
		{ NULL, NULL },
	};
	struct err	 e;
	char		*t, *s;

	(void)state;
	if ((t = policy_read("policies/tenant-admin.hcl.tmpl", &e)) == NULL)
		skip();
	s = policy_render(t, vars, &e);
	assert_non_null(s);
	assert_non_null(strstr(s, "path \"secret/data/tenantgate/tenants/acme/*\""));
	assert_non_null(strstr(s, "path \"secret/metadata/tenantgate/tenants/acme/*\""));
	assert_null(strstr(s, "{{"));
	assert_null(strstr(s, "\"delete\""));
	assert_null(strstr(s, "tenants/*"));
	free(s);
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slugs),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_real_template),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
