/* test_admin_text: terminal-safe text (tui/text.c), CLI tables (tui/out.c)
 * and the statement table's shape (tui/db.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <jansson.h>

#include "../../tui/db.h"
#include "../../tui/out.h"
#include "../../tui/text.h"

static int
setup(void **state)
{
	(void)state;
	if (setlocale(LC_ALL, "C.UTF-8") == NULL)
		setlocale(LC_ALL, "");
	text_init();
	return 0;
}

static void
test_width(void **state)
{
	(void)state;
	assert_int_equal(text_width("google"), 6);
	assert_int_equal(text_width(""), 0);
	assert_int_equal(text_width(NULL), 0);
	if (text_utf8()) {
		assert_int_equal(text_width("Zoë"), 3);
		assert_int_equal(text_width("日本"), 4);	/* wide: two columns each */
	}
	/* An escape sequence is shown as '?' characters, one column each. */
	assert_int_equal(text_width("a\x1b[31mb"), 7);
	/* Bad UTF-8 (a lone continuation byte, an overlong '/'). */
	assert_int_equal(text_width("a\x80" "b"), 3);
	assert_int_equal(text_width("\xc0\xaf"), 1);
}

static void
test_fit_cleans_and_cuts(void **state)
{
	char	buf[64];
	wchar_t	wb[64];

	(void)state;
	assert_int_equal(text_fit(buf, sizeof buf, "a\x1b]0;pwned\x07z", 40, 1), 12);
	assert_string_equal(buf, "a?]0;pwned?z");
	assert_int_equal(text_fit(buf, sizeof buf, "abcdefgh", 5, 1), 5);
	assert_string_equal(buf, "abcd~");
	assert_int_equal(text_fit(buf, sizeof buf, "abcdefgh", 5, 0), 5);
	assert_string_equal(buf, "abcde");
	if (text_utf8()) {
		/* A wide character never straddles the edge. */
		assert_int_equal(text_fit(buf, sizeof buf, "ab日本", 5, 0), 4);
		assert_string_equal(buf, "ab日");
		assert_int_equal(text_wfit(wb, 64, "日本語", 4, 1), 3);
		assert_true(wb[0] == 0x65e5 && wb[1] == L'~' && wb[2] == 0);
	}
	/* A tiny buffer is never overrun. */
	assert_int_equal(text_fit(buf, 4, "abcdef", 10, 0), 3);
	assert_string_equal(buf, "abc");
}

static void
test_durations(void **state)
{
	char	buf[64];

	(void)state;
	assert_int_equal(text_duration("90"), 90);
	assert_int_equal(text_duration("30s"), 30);
	assert_int_equal(text_duration("15m"), 900);
	assert_int_equal(text_duration("2h"), 7200);
	assert_int_equal(text_duration("7d"), 604800);
	assert_int_equal(text_duration("1w"), 604800);
	assert_int_equal(text_duration("1x"), -1);
	assert_int_equal(text_duration("-1"), -1);
	assert_int_equal(text_duration("1hh"), -1);
	assert_int_equal(text_duration(""), -1);
	assert_int_equal(text_since("1h", 1764100000, buf, sizeof buf), 0);
	assert_string_equal(buf, "2025-11-25T18:46:40Z");
	assert_int_equal(text_since("2026-01-31", 0, buf, sizeof buf), 0);
	assert_string_equal(buf, "2026-01-31");
	assert_int_equal(text_since("2026-01-31T14:00:00Z", 0, buf, sizeof buf), 0);
	assert_int_equal(text_since("yesterday", 0, buf, sizeof buf), -1);
	assert_int_equal(text_since("2026-01-31'; drop", 0, buf, sizeof buf), -1);
	text_short_time("2026-01-31T14:05:09Z", buf, sizeof buf);
	assert_string_equal(buf, "2026-01-31 14:05");
	text_short_time(NULL, buf, sizeof buf);
	assert_string_equal(buf, "-");
}

static void
test_lines(void **state)
{
	char	**l;
	int	  n;

	(void)state;
	l = text_lines("one two three four\nfive", 9, 1, &n);
	assert_int_equal(n, 4);
	assert_string_equal(l[0], "one two");
	assert_string_equal(l[1], "three");
	assert_string_equal(l[2], "four");
	assert_string_equal(l[3], "five");
	text_lines_free(l, n);
	l = text_lines("one two three four\nfive", 9, 0, &n);
	assert_int_equal(n, 2);
	assert_string_equal(l[0], "one two three four");
	text_lines_free(l, n);
	/* Narrower than a wide character: one character per line, and an end. */
	l = text_lines("ab\xe4\xb8\xad" "cd", 1, 1, &n);
	assert_int_equal(n, 5);
	assert_string_equal(l[2], "\xe4\xb8\xad");
	text_lines_free(l, n);
}

static void
test_table(void **state)
{
	static const struct out_col cols[] = {
		{ "tenant", "TENANT", 0, 0 },
		{ "n", "N", OUT_RIGHT, 0 },
		{ "at", "WHEN", OUT_TIME, 0 },
		{ "ints", "INTEGRATIONS", 0, 0 },
		{ NULL, NULL, 0, 0 },
	};
	json_t		*rows = json_loads("[{\"tenant\":\"google\",\"n\":12,"
			    "\"at\":\"2026-01-31T14:05:09Z\",\"ints\":[{\"name\":\"jira\","
			    "\"cred_version\":3}]},{\"tenant\":\"b\\u001b[2Jx\",\"n\":3,"
			    "\"at\":null,\"ints\":[]}]", 0, NULL);
	struct out	*o = out_buffer();

	(void)state;
	assert_non_null(rows);
	out_table(o, rows, cols);
	assert_string_equal(out_text(o),
	    "TENANT   N  WHEN              INTEGRATIONS\n"
	    "google  12  2026-01-31 14:05  jira v3\n"
	    "b?[2Jx   3  -                 -\n");
	out_clear(o);
	out_rows(o, 1, rows, cols);
	assert_non_null(strstr(out_text(o), "\"tenant\": \"google\""));
	out_clear(o);
	json_decref(rows);
	rows = json_array();
	out_rows(o, 0, rows, cols);
	assert_string_equal(out_text(o), "(none)\n");
	out_free(o);
	json_decref(rows);
}

static void
test_like(void **state)
{
	char *s;

	(void)state;
	assert_null(db_like(NULL));
	assert_null(db_like(""));
	s = db_like("a_b%c\\d");
	assert_string_equal(s, "%a\\_b\\%c\\\\d%");
	free(s);
}

/* Every statement uses exactly the parameters its row declares: a $N
 * beyond them (or one never used) is a mistake PostgreSQL would only
 * report at run time. */
static void
test_statement_params(void **state)
{
	const char	*sql, *p;
	int		 n, max, seen[16];

	(void)state;
	for (int q = 0; q < DBQ_COUNT_; q++) {
		sql = db_sql((enum db_q)q, &n);
		assert_non_null(sql);
		memset(seen, 0, sizeof seen);
		max = 0;
		for (p = sql; (p = strchr(p, '$')) != NULL; p++) {
			int k = atoi(p + 1);

			if (k > 0 && k < 16) {
				seen[k] = 1;
				if (k > max)
					max = k;
			}
		}
		if (max != n)
			fail_msg("statement %d uses $%d but declares %d parameters", q, max, n);
		for (int k = 1; k <= n; k++)
			if (!seen[k])
				fail_msg("statement %d never uses $%d", q, k);
		/* Nothing is ever built from strings: no format directives. */
		assert_null(strstr(sql, "%s"));
	}
	assert_null(db_sql(DBQ_COUNT_, &n));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_width),
		cmocka_unit_test(test_fit_cleans_and_cuts),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_like),
		cmocka_unit_test(test_statement_params),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
