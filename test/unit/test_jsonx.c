/* jsonx (common/jsonx.c): the JSON-array membership helper. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>

#include "jsonx.h"

static void
test_array_has(void **state)
{
	json_t *a = json_pack("[s, i, s, n]", "alpha", 7, "beta");
	json_t *o = json_pack("{s:s}", "alpha", "alpha");
	json_t *s = json_string("alpha");

	(void)state;
	assert_true(jsonx_array_has(a, "alpha"));
	assert_true(jsonx_array_has(a, "beta"));
	assert_false(jsonx_array_has(a, "gamma"));
	assert_false(jsonx_array_has(a, "7"));		/* a number is not its text */
	assert_false(jsonx_array_has(a, "alph"));
	assert_false(jsonx_array_has(a, NULL));
	/* Not an array: nothing is in it. */
	assert_false(jsonx_array_has(NULL, "alpha"));
	assert_false(jsonx_array_has(o, "alpha"));
	assert_false(jsonx_array_has(s, "alpha"));
	json_decref(a);
	json_decref(o);
	json_decref(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_array_has),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
