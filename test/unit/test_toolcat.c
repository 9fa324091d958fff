/* The tool catalogue: every row's schema parses once and is an object
 * schema; names are unique; role rules (viewer = read only). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "toolcat.h"

static void
test_schemas_parse_once(void **state)
{
	(void)state;
	for (size_t i = 0; i < toolcat_len; i++) {
		const json_t *s = toolcat_schema(&toolcat[i]);

		assert_non_null(s);
		assert_ptr_equal(s, toolcat_schema(&toolcat[i]));
		assert_string_equal(json_string_value(json_object_get(s, "type")), "object");
		assert_true(json_is_array(json_object_get(s, "required")));
	}
}

static void
test_names_unique_and_found(void **state)
{
	(void)state;
	for (size_t i = 0; i < toolcat_len; i++) {
		assert_ptr_equal(toolcat_find(toolcat[i].name), &toolcat[i]);
		assert_true(toolcat_kind_known(toolcat[i].kind));
		assert_true(strlen(toolcat[i].name) <= 32);	/* 64-char model limit */
	}
	assert_null(toolcat_find("nope"));
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
		cmocka_unit_test(test_schemas_parse_once),
		cmocka_unit_test(test_names_unique_and_found),
		cmocka_unit_test(test_roles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
