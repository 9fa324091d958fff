/* test_admin_expiry: entered key expiries and days left (tui/expiry.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "err.h"
#include "../../tui/expiry.h"

/* 2026-12-06T12:00:00Z */
#define NOW	((time_t)1796558400)

static void
test_parse(void **state)
{
	char		iso[EXPIRY_ISO_MAX];
	struct err	e;

	(void)state;
	assert_int_equal(expiry_parse("90d", NOW, iso, sizeof iso, &e), 0);
	assert_string_equal(iso, "2027-03-06T12:00:00Z");
	assert_int_equal(expiry_parse("1d", NOW, iso, sizeof iso, &e), 0);
	assert_string_equal(iso, "2026-12-07T12:00:00Z");
	/* a date means the end of that day, UTC */
	assert_int_equal(expiry_parse("2027-03-01", NOW, iso, sizeof iso, &e), 0);
	assert_string_equal(iso, "2027-03-01T23:59:59Z");
	assert_int_equal(expiry_parse("2026-12-06", NOW, iso, sizeof iso, &e), 0);
	assert_string_equal(iso, "2026-12-06T23:59:59Z");
	static const char *const bad[] = { "0d", "366d", "-5d", "90", "d", "soon",
	    "2026-12-05", "2027-02-30", "2027-13-01", "2028-12-31", "2027-3-1",
	    "2027-03-01T00:00:00Z", "", "90 d", "90dd" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err_clear(&e);
		if (expiry_parse(bad[i], NOW, iso, sizeof iso, &e) != -1)
			fail_msg("'%s' was accepted as %s", bad[i], iso);
		assert_string_equal(e.code, "bad_expires");
	}
	err_clear(&e);
	assert_int_equal(expiry_parse(NULL, NOW, iso, sizeof iso, &e), -1);
}

static void
test_days(void **state)
{
	long	d;
	char	t[64];

	(void)state;
	assert_int_equal(expiry_days("2026-12-06T12:00:00Z", NOW, &d), 0);
	assert_int_equal(d, 0);
	assert_int_equal(expiry_days("2026-12-07T11:59:59Z", NOW, &d), 0);
	assert_int_equal(d, 0);
	assert_int_equal(expiry_days("2026-12-07T12:00:00Z", NOW, &d), 0);
	assert_int_equal(d, 1);
	assert_int_equal(expiry_days("2026-12-06T11:59:59Z", NOW, &d), 0);
	assert_int_equal(d, -1);
	assert_int_equal(expiry_days("2026-11-26T12:00:00Z", NOW, &d), 0);
	assert_int_equal(d, -10);
	assert_int_equal(expiry_days("2026-12-06", NOW, &d), -1);
	assert_int_equal(expiry_days("garbage", NOW, &d), -1);
	assert_int_equal(expiry_days(NULL, NOW, &d), -1);

	/* the warnings come at 30, 7 and 1 days, then expired */
	assert_int_equal(expiry_level(31), 0);
	assert_int_equal(expiry_level(30), 30);
	assert_int_equal(expiry_level(8), 30);
	assert_int_equal(expiry_level(7), 7);
	assert_int_equal(expiry_level(2), 7);
	assert_int_equal(expiry_level(1), 1);
	assert_int_equal(expiry_level(0), 1);
	assert_int_equal(expiry_level(-1), -1);

	expiry_text(5, t, sizeof t);
	assert_string_equal(t, "expires in 5 days");
	expiry_text(1, t, sizeof t);
	assert_string_equal(t, "expires in 1 day");
	expiry_text(0, t, sizeof t);
	assert_string_equal(t, "expires today");
	expiry_text(-1, t, sizeof t);
	assert_string_equal(t, "EXPIRED 1 day ago");
	expiry_text(-3, t, sizeof t);
	assert_string_equal(t, "EXPIRED 3 days ago");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_days),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
