/* test_b64url: the base64url codec (common/b64url.c) the broker's JWS code
 * and the forwarder's grant reader share: round trips of every length and
 * the strict decoder's refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "b64url.h"

static void
test_b64url(void **state)
{
	unsigned char	 all[256], *d;
	size_t		 i, n, len;
	char		*s;

	for (i = 0; i < sizeof all; i++)
		all[i] = (unsigned char)i;
	for (n = 0; n <= sizeof all; n += 1) {
		s = b64url_encode(all, n);
		assert_null(strchr(s, '='));
		d = b64url_decode(s, strlen(s), &len);
		assert_non_null(d);
		assert_int_equal(len, n);
		assert_memory_equal(d, all, n);
		free(d);
		free(s);
	}
	assert_null(b64url_decode("QQ==", 4, &len));	/* padding */
	assert_null(b64url_decode("QR", 2, &len));		/* non-canonical */
	assert_null(b64url_decode("Q", 1, &len));		/* impossible length */
	assert_null(b64url_decode("Q+/A", 4, &len));	/* base64, not url */
	d = b64url_decode("QQ", 2, &len);
	assert_int_equal(len, 1);
	assert_int_equal(d[0], 'A');
	free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
