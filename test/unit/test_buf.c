/*
 * buf (common/buf.c): appends, growth past the first block, printf into
 * the free room and past it, the max limit, and failure that sticks until
 * the buffer is handed over.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

static void
test_put_and_grow(void **state)
{
	struct buf	 b = { 0 };
	char		*s;
	size_t		 len;

	(void)state;
	assert_string_equal(buf_text(&b), "");
	buf_puts(&b, "ab");
	buf_put(&b, "cdef", 2);
	assert_int_equal(b.len, 4);
	assert_string_equal(buf_text(&b), "abcd");
	/* Past the first block, many times over. */
	for (int i = 0; i < 1000; i++)
		buf_puts(&b, "0123456789");
	assert_int_equal(b.len, 10004);
	assert_true(b.cap > b.len);
	assert_int_equal(b.p[b.len], '\0');
	assert_memory_equal(b.p + 9994, "0123456789", 10);
	s = buf_steal(&b, &len);
	assert_non_null(s);
	assert_int_equal(len, 10004);
	assert_int_equal(strlen(s), 10004);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	free(s);
}

static void
test_steal_empty(void **state)
{
	struct buf	 b = { 0 };
	char		*s;
	size_t		 len = 99;

	(void)state;
	s = buf_steal(&b, &len);
	assert_non_null(s);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
}

static void
test_printf(void **state)
{
	struct buf	 b = { 0 };
	char		 big[1000];

	(void)state;
	buf_printf(&b, "%s=%d;", "a", 1);
	assert_string_equal(buf_text(&b), "a=1;");
	/* Longer than the free room: the second pass. */
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	buf_printf(&b, "[%s]", big);
	assert_int_equal(b.len, 4 + 2 + 999);
	assert_int_equal(b.p[4], '[');
	assert_int_equal(b.p[b.len - 1], ']');
	buf_printf(&b, "%s", "");
	assert_int_equal(b.len, 1005);
	buf_free(&b);
}

static void
test_reserve(void **state)
{
	struct buf	 b = { 0 };
	char		*d;

	(void)state;
	buf_puts(&b, "x");
	d = buf_reserve(&b, 500);
	assert_non_null(d);
	memcpy(d, "yz", 2);
	buf_added(&b, 2);
	assert_string_equal(buf_text(&b), "xyz");
	buf_reset(&b);
	assert_string_equal(buf_text(&b), "");
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void
test_max_and_failure(void **state)
{
	struct buf	 b = { .max = 300 };

	(void)state;
	for (int i = 0; i < 30; i++)
		buf_puts(&b, "0123456789");
	assert_false(b.failed);
	assert_int_equal(b.len, 300);
	/* The block never passes max + 1. */
	assert_true(b.cap <= 301);
	buf_puts(&b, "x");
	assert_true(b.failed);
	assert_null(b.p);
	/* It sticks: later appends are dropped, and nothing is handed over. */
	buf_puts(&b, "y");
	assert_null(buf_reserve(&b, 1));
	assert_int_equal(b.len, 0);
	assert_null(buf_steal(&b, NULL));
	/* buf_fail is the same for a caller's own failure. */
	b = (struct buf){ 0 };
	buf_puts(&b, "z");
	buf_fail(&b);
	assert_true(b.failed);
	assert_string_equal(buf_text(&b), "");
	buf_reset(&b);
	buf_puts(&b, "ok");
	assert_string_equal(buf_text(&b), "ok");
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_and_grow),
		cmocka_unit_test(test_steal_empty),
		cmocka_unit_test(test_printf),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_max_and_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
