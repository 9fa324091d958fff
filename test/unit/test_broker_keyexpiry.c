/*
 * keyexpiry's arithmetic (issue 17, item 2): days left counted as
 * tenantgate-admin key status counts them, the 30/7/1-day thresholds, the
 * date in messages, and label values that cannot break the exposition.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "../../broker/keyexpiry.h"

#define DAY	KEYEXPIRY_DAY

static void
test_days_round_down_and_go_negative(void **state)
{
	const time_t now = 1796083200;	/* 2026-12-01T00:00:00Z */

	(void)state;
	assert_int_equal(keyexpiry_days(now + 5 * DAY + 3600, now), 5);
	assert_int_equal(keyexpiry_days(now + 5 * DAY, now), 5);
	assert_int_equal(keyexpiry_days(now + 5 * DAY - 1, now), 4);
	assert_int_equal(keyexpiry_days(now + 3600, now), 0);
	assert_int_equal(keyexpiry_days(now, now), 0);
	assert_int_equal(keyexpiry_days(now - 1, now), -1);
	assert_int_equal(keyexpiry_days(now - 2 * DAY - 3600, now), -3);
}

static void
test_thresholds(void **state)
{
	const time_t now = 1796083200;

	(void)state;
	assert_int_equal(keyexpiry_level(now + 90 * DAY, now), 0);
	assert_int_equal(keyexpiry_level(now + 31 * DAY, now), 0);
	assert_int_equal(keyexpiry_level(now + 30 * DAY + 10, now), 30);
	assert_int_equal(keyexpiry_level(now + 8 * DAY, now), 30);
	assert_int_equal(keyexpiry_level(now + 7 * DAY + 10, now), 7);
	assert_int_equal(keyexpiry_level(now + 2 * DAY, now), 7);
	assert_int_equal(keyexpiry_level(now + DAY + 10, now), 1);
	assert_int_equal(keyexpiry_level(now + 1, now), 1);
	/* the last second is still usable; at the instant it is expired */
	assert_int_equal(keyexpiry_level(now, now), -1);
	assert_int_equal(keyexpiry_level(now - 400 * DAY, now), -1);
}

static void
test_date_and_labels(void **state)
{
	char buf[64];

	(void)state;
	keyexpiry_date(1796083200 + DAY - 1, buf, sizeof buf);
	assert_string_equal(buf, "2026-12-01");
	keyexpiry_label("google", buf, sizeof buf);
	assert_string_equal(buf, "google");
	keyexpiry_label("jira-2_x", buf, sizeof buf);
	assert_string_equal(buf, "jira-2_x");
	/* a quote, backslash or newline would end the label or the line */
	keyexpiry_label("a\"b\\c\nd}e", buf, sizeof buf);
	assert_string_equal(buf, "a_b_c_d_e");
	keyexpiry_label("abcdef", buf, 4);
	assert_string_equal(buf, "abc");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_days_round_down_and_go_negative),
		cmocka_unit_test(test_thresholds),
		cmocka_unit_test(test_date_and_labels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
