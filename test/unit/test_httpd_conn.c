/*
 * httpd_conn's header-end scanner: it decides when the header deadline and
 * limit give way to the body's, so it must find the blank line evhttp
 * finds (CRLF or bare LF), across any split of the bytes into reads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "httpd_conn.h"

/* Feed `text` in pieces of `step` bytes; return the offset of the header
 * end in the whole text, or -1. */
static long
scan_in_steps(const char *text, size_t step)
{
	size_t	n = strlen(text), off = 0;
	int	st = 0;

	while (off < n) {
		size_t	k = n - off < step ? n - off : step;
		long	end = httpd_conn_scan(&st, text + off, k);

		if (end >= 0)
			return (long)off + end;
		off += k;
	}
	return -1;
}

static void
test_scan_finds_the_blank_line(void **state)
{
	const char *crlf = "GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY";
	const char *lf = "GET / HTTP/1.1\nHost: a\n\nBODY";
	const char *mixed = "GET / HTTP/1.1\r\nHost: a\n\r\nBODY";

	(void)state;
	for (size_t step = 1; step <= 8; step++) {
		assert_int_equal(scan_in_steps(crlf, step), (long)strlen(crlf) - 4);
		assert_int_equal(scan_in_steps(lf, step), (long)strlen(lf) - 4);
		assert_int_equal(scan_in_steps(mixed, step), (long)strlen(mixed) - 4);
	}
}

static void
test_scan_needs_more(void **state)
{
	(void)state;
	/* A trickle of header bytes never ends the headers by itself. */
	assert_int_equal(scan_in_steps("GET / HTTP/1.1\r\nX-Drip: aaaaaaa", 1), -1);
	assert_int_equal(scan_in_steps("GET / HTTP/1.1\r\nA: b\r\n\r", 3), -1);
	/* A line holding only '\r' then text is not a blank line. */
	assert_int_equal(scan_in_steps("GET / HTTP/1.1\r\n\rX: y\r\n", 2), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_finds_the_blank_line),
		cmocka_unit_test(test_scan_needs_more),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
