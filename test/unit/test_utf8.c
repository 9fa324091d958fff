/*
 * utf8 (common/utf8.c): encoding, strict decoding, and cutting that never
 * splits a sequence.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "utf8.h"

static void
test_encode_decode(void **state)
{
	static const unsigned long cps[] = { 0x01, 0x41, 0x7F, 0x80, 0xE9, 0x7FF, 0x800,
	    0x20AC, 0xD7FF, 0xE000, 0xFFFD, 0xFFFF, 0x10000, 0x1F600, 0x10FFFF };
	static const size_t lens[] = { 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3, 3, 4, 4, 4 };
	char	buf[UTF8_MAX];
	size_t	n, len;

	(void)state;
	for (size_t i = 0; i < sizeof cps / sizeof cps[0]; i++) {
		n = utf8_encode(cps[i], buf);
		assert_int_equal(n, lens[i]);
		assert_int_equal(utf8_seqlen((unsigned char)buf[0]), n);
		assert_int_equal(utf8_decode(buf, n, &len), (long)cps[i]);
		assert_int_equal(len, n);
		assert_true(utf8_valid(buf, n));
	}
	n = utf8_encode(0x20AC, buf);
	assert_memory_equal(buf, "\xe2\x82\xac", 3);
	/* Surrogates are written as they are; decoding refuses them. */
	assert_int_equal(utf8_encode(0xD800, buf), 3);
	assert_memory_equal(buf, "\xed\xa0\x80", 3);
	assert_int_equal(utf8_decode(buf, 3, &len), -1);
}

static void
test_invalid(void **state)
{
	size_t len;

	(void)state;
	assert_true(utf8_valid("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10));
	assert_true(utf8_valid("", 0));
	assert_false(utf8_valid("\xc3", 1));			/* cut mid-character */
	assert_false(utf8_valid("\xed\xa0\x80", 3));		/* a surrogate */
	assert_false(utf8_valid("\xe0\x80\xaf", 3));		/* overlong */
	assert_false(utf8_valid("\xc0\xaf", 2));		/* overlong '/' */
	assert_false(utf8_valid("\xf4\x90\x80\x80", 4));	/* past U+10FFFF */
	assert_false(utf8_valid("\xf8\x88\x80\x80\x80", 5));	/* no such lead */
	assert_false(utf8_valid("\x80", 1));			/* a stray continuation */
	assert_false(utf8_valid("\xc3\xa9\xc3", 3));
	/* How much a bad sequence covers: a stray byte 1, a missing
	 * continuation the bytes before it, a bad value all of it. */
	assert_int_equal(utf8_decode("\x80x", 2, &len), -1);
	assert_int_equal(len, 1);
	assert_int_equal(utf8_decode("\xe2\x82x", 3, &len), -1);
	assert_int_equal(len, 2);
	assert_int_equal(utf8_decode("\xe2\x82", 2, &len), -1);	/* bounded by n */
	assert_int_equal(len, 2);
	assert_int_equal(utf8_decode("\xc0\xaf", 2, &len), -1);
	assert_int_equal(len, 2);
	/* A NUL is not a continuation byte. */
	assert_int_equal(utf8_decode("\xc3", 2, &len), -1);
	assert_int_equal(len, 1);
}

static void
test_lengths(void **state)
{
	(void)state;
	assert_int_equal(utf8_seqlen('a'), 1);
	assert_int_equal(utf8_seqlen(0x80), 1);
	assert_int_equal(utf8_seqlen(0xc3), 2);
	assert_int_equal(utf8_seqlen(0xe2), 3);
	assert_int_equal(utf8_seqlen(0xf0), 4);
	assert_int_equal(utf8_seqlen(0xf8), 1);
	assert_int_equal(utf8_back("", 0), 0);
	assert_int_equal(utf8_back("ab", 2), 1);
	assert_int_equal(utf8_back("a\xe2\x82\xac", 4), 1);
	assert_int_equal(utf8_back("a\xe2\x82", 3), 1);
	assert_int_equal(utf8_back("\x80\x80", 2), 0);
}

static void
test_prefix(void **state)
{
	const char *s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";	/* a é € 😀 */

	(void)state;
	assert_int_equal(utf8_prefix(s, 0), 0);
	assert_int_equal(utf8_prefix(s, 1), 1);
	assert_int_equal(utf8_prefix(s, 2), 1);
	assert_int_equal(utf8_prefix(s, 3), 3);
	assert_int_equal(utf8_prefix(s, 4), 3);
	assert_int_equal(utf8_prefix(s, 5), 3);
	assert_int_equal(utf8_prefix(s, 6), 6);
	for (size_t n = 7; n < 10; n++)
		assert_int_equal(utf8_prefix(s, n), 6);
	assert_int_equal(utf8_prefix(s, 10), 10);
	/* Nothing to finish: stray continuation bytes stay. */
	assert_int_equal(utf8_prefix("\x80\x80", 2), 2);
}

static void
test_cut_never_splits(void **state)
{
	const char	*s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z";
	char		 buf[32];
	size_t		 n;

	(void)state;
	for (size_t max = 0; max <= strlen(s) + 2; max++) {
		snprintf(buf, sizeof buf, "%s", s);
		utf8_cut(buf, max);
		n = strlen(buf);
		assert_true(n <= max);
		assert_true(utf8_valid(buf, n));
		assert_memory_equal(buf, s, n);
		/* The longest such cut: one more character would not fit. */
		if (n < strlen(s))
			assert_true(n + utf8_seqlen((unsigned char)s[n]) > max);
	}
	snprintf(buf, sizeof buf, "short");
	utf8_cut(buf, 100);
	assert_string_equal(buf, "short");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_decode),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_cut_never_splits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
