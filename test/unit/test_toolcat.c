/* The tool catalogue (the broker's half of each row): names are unique
 * and indexed by toolcat_id; role rules (viewer = read only). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "toolcat.h"

static void
test_names_unique_and_found(void **state)
{
	(void)state;
	for (size_t i = 0; i < toolcat_len; i++) {
		assert_non_null(toolcat[i].name);	/* every toolcat_id has a row */
		assert_ptr_equal(toolcat_find(toolcat[i].name), &toolcat[i]);
		assert_true(toolcat_kind_known(toolcat[i].kind));
		assert_true(strlen(toolcat[i].name) <= 32);	/* 64-char model limit */
	}
	assert_null(toolcat_find("nope"));
	assert_null(toolcat_find(NULL));
	assert_string_equal(toolcat[TC_JIRA_SEARCH].name, "jira_search");
	assert_string_equal(toolcat[TC_CONFLUENCE_GET_PAGE].name, "confluence_get_page");
	assert_false(toolcat_kind_known("mcp"));
}

static void
test_roles(void **state)
{
	(void)state;
	assert_true(toolcat_role_allows("viewer", TOOL_READ));
	assert_false(toolcat_role_allows("viewer", TOOL_WRITE));
	assert_true(toolcat_role_allows("editor", TOOL_WRITE));
	assert_true(toolcat_role_allows("admin", TOOL_WRITE));
	assert_false(toolcat_role_allows("guest", TOOL_READ));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_unique_and_found),
		cmocka_unit_test(test_roles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
