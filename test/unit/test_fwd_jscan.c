/* jscan: the one-pass scanner of upstream answers. It accepts what
 * json_loadb() accepts, and its read API finds members, iterates arrays,
 * decodes strings and integers, within its limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "buf.h"
#include "../../forwarder/jscan.h"

static int
scan(struct jscan *js, const char *s, int flags)
{
	return jscan_parse(js, s, strlen(s), 1 << 20, 0, flags);
}

/* Same verdict as Jansson on each text, as an answer and as any value. */
static void
test_accepts_what_jansson_accepts(void **state)
{
	static const char *const texts[] = {
		"{}", "[]", " {\"a\" : [1, -0, 0.5, 1e3, 1E-3, -1.5e+2, true, false, null]} ",
		"[\"\\u00e9\\ud83d\\ude00\\/\\b\\f\\n\\r\\t\\\"\\\\\"]", "[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]",
		"[-9223372036854775808, 9223372036854775807]", "[1e-400, 1.7976931348623157e308]",
		"{\"a\":1,\"a\":2}", "[\"\x7f\"]",
		/* and what it refuses */
		"", " ", "{", "[1,]", "{\"a\":1,}", "{\"a\"}", "{1:2}", "[01]", "[-]", "[1.]", "[.1]",
		"[1e]", "[1e+]", "[+1]", "[0x1]", "[NaN]", "[Infinity]", "[tru]", "[nul]", "[True]",
		"[\"\\u0000\"]", "[\"\\ud800\"]", "[\"\\udc00\"]", "[\"\\ud800\\u0041\"]", "[\"\\u12g4\"]",
		"[\"\\a\"]", "[\"a\nb\"]", "[\"\xc0\x80\"]", "[\"\xed\xa0\x80\"]", "[\"\xf4\x90\x80\x80\"]",
		"[\"\xe2\x82\"]", "[\"\x80\"]", "[\"\xff\"]", "[9223372036854775808]",
		"[-9223372036854775809]", "[1e309]", "[-1e309]", "{} {}", "[]]", "[\"a]", "'a'",
		"\"x\"", "1", "true", "null", " 2 ", "[1 2]", "{\"a\":1 \"b\":2}", "\xef\xbb\xbf[]",
	};

	(void)state;
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		for (int any = 0; any <= 1; any++) {
			struct jscan	 js;
			json_t		*v = json_loads(texts[i], any ? JSON_DECODE_ANY : 0, NULL);
			int		 rc = scan(&js, texts[i], any ? JSCAN_ANY : 0);

			if ((rc == 0) != (v != NULL))
				fail_msg("%s (any %d): jscan %d (%s), jansson %s", texts[i], any, rc,
				    js.err, v != NULL ? "ok" : "error");
			jscan_free(&js);
			json_decref(v);
		}
	}
}

static void
test_depth_limit(void **state)
{
	char		*buf = malloc(2 * 2050 + 1);
	struct jscan	 js;

	(void)state;
	/* 2048 values deep is allowed (as in Jansson), 2049 is not. */
	for (int d = 2047; d <= 2049; d++) {
		memset(buf, '[', (size_t)d);
		memset(buf + d, ']', (size_t)d);
		buf[2 * d] = '\0';
		assert_int_equal(scan(&js, buf, 0), d <= 2048 ? 0 : -1);
		jscan_free(&js);
	}
	buf[2047] = '1';	/* a scalar inside 2047 arrays: 2048 deep */
	buf[2048] = '\0';
	memset(buf, '[', 2047);
	memset(buf + 2048, ']', 2047);
	buf[2048 + 2047] = '\0';
	assert_int_equal(scan(&js, buf, 0), 0);
	jscan_free(&js);
	free(buf);
}

static void
test_size_and_token_limits(void **state)
{
	struct jscan js;

	(void)state;
	assert_int_equal(jscan_parse(&js, "[1,2,3]", 7, 6, 0, 0), -1);
	assert_non_null(strstr(js.err, "too long"));
	assert_int_equal(js.nomem, 0);
	jscan_free(&js);
	assert_int_equal(jscan_parse(&js, "[1,2,3]", 7, 7, 3, 0), -1);
	assert_non_null(strstr(js.err, "too many values"));
	jscan_free(&js);
	assert_int_equal(jscan_parse(&js, "[1,2,3]", 7, 7, 4, 0), 0);
	assert_int_equal(js.ntok, 4);
	jscan_free(&js);
	/* Not NUL-terminated: nothing past len is read. */
	assert_int_equal(jscan_parse(&js, "[12]34", 4, 4, 0, 0), 0);
	jscan_free(&js);
	assert_int_equal(jscan_parse(&js, "[\"ab\"]", 4, 4, 0, 0), -1);
	jscan_free(&js);
}

static void
test_read_api(void **state)
{
	const char	*text = "{\"a\":1,\"list\":[\"x\",{\"k\":[]},3,\"\\u00e9\\n\"],\"a\":"
			    "{\"b\":\"deep\"},\"n\\u0061me\":\"v\",\"big\":-9223372036854775808,"
			    "\"r\":1.5,\"t\":true,\"nul\":null}";
	struct jscan	 js;
	struct buf	 b = { 0 };
	char		 buf[8], *s;
	int		 list, c;
	uint32_t	 i;
	long long	 v;

	(void)state;
	assert_int_equal(scan(&js, text, 0), 0);
	assert_int_equal(jscan_type(&js, 0), JSCAN_OBJECT);
	assert_int_equal(jscan_count(&js, 0), 8);
	/* The last "a" wins, as in Jansson's object. */
	assert_int_equal(jscan_type(&js, jscan_get(&js, 0, "a")), JSCAN_OBJECT);
	assert_true(jscan_streq(&js, jscan_get(&js, jscan_get(&js, 0, "a"), "b"), "deep"));
	assert_int_equal(jscan_get(&js, 0, "missing"), -1);
	assert_int_equal(jscan_get(&js, -1, "a"), -1);
	assert_int_equal(jscan_type(&js, -1), JSCAN_NONE);
	/* An escaped key still matches. */
	assert_true(jscan_streq(&js, jscan_get(&js, 0, "name"), "v"));
	assert_false(jscan_streq(&js, jscan_get(&js, 0, "name"), "vv"));
	list = jscan_get(&js, 0, "list");
	assert_int_equal(jscan_items(&js, list), 4);
	assert_int_equal(jscan_items(&js, 0), 0);	/* an object has no items */
	JSCAN_ITEMS(&js, list, i, c) {
		static const enum jscan_type want[] = { JSCAN_STRING, JSCAN_OBJECT, JSCAN_NUMBER,
			JSCAN_STRING };

		assert_int_equal(jscan_type(&js, c), want[i]);
	}
	JSCAN_ITEMS(&js, jscan_get(&js, 0, "nul"), i, c)
		fail();
	/* Strings: decoded, cut, re-escaped. */
	c = list + 1 + 1 + 2 + 1 + 1;	/* "x", {, "k", [], 3 -> the last item */
	assert_int_equal(jscan_type(&js, c), JSCAN_STRING);
	jscan_put_text(&js, c, &b);
	buf_puts(&b, "|");
	jscan_put_str(&js, c, &b);
	s = buf_steal(&b, NULL);
	assert_string_equal(s, "\xc3\xa9\n|\"\xc3\xa9\\n\"");
	free(s);
	jscan_strcpy(&js, jscan_get(&js, jscan_get(&js, 0, "a"), "b"), buf, 3);
	assert_string_equal(buf, "de");
	jscan_strcpy(&js, jscan_get(&js, 0, "t"), buf, sizeof buf);
	assert_string_equal(buf, "");
	/* Numbers. */
	assert_int_equal(jscan_int(&js, jscan_get(&js, 0, "big"), &v), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(jscan_int(&js, jscan_get(&js, 0, "r"), &v), -1);
	assert_int_equal(jscan_int(&js, jscan_get(&js, 0, "t"), &v), -1);
	assert_int_equal(jscan_type(&js, jscan_get(&js, 0, "t")), JSCAN_TRUE);
	assert_int_equal(jscan_type(&js, jscan_get(&js, 0, "nul")), JSCAN_NULL);
	jscan_free(&js);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts_what_jansson_accepts),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_size_and_token_limits),
		cmocka_unit_test(test_read_api),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
