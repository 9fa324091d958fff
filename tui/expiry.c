/*
 * expiry: parsing an entered expiry, and days left. See expiry.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "expiry.h"

#define EXPIRY_DAY	86400L

static void
expiry_iso(time_t t, char *iso, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(iso, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "YYYY-MM-DD" (then "THH:MM:SSZ" when full) into UTC seconds; -1. */
static int
expiry_time(const char *s, int full, time_t *t)
{
	struct tm	 tm;
	int		 y, mo, d, h = 23, mi = 59, se = 59, n;
	char		 tail;

	if (s == NULL || strlen(s) != (full ? 20u : 10u))
		return -1;
	for (size_t i = 0; s[i] != '\0'; i++)
		if (!isdigit((unsigned char)s[i]) && strchr("-T:Z", s[i]) == NULL)
			return -1;
	if (full)
		n = sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &se,
		    &tail) == 7 && tail == 'Z';
	else
		n = sscanf(s, "%4d-%2d-%2d", &y, &mo, &d) == 3;
	if (!n || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return -1;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*t = timegm(&tm);
	/* timegm() normalises 2027-02-31 into March: refuse that. */
	gmtime_r(t, &tm);
	return tm.tm_mday == d && tm.tm_mon == mo - 1 ? 0 : -1;
}

int
expiry_parse(const char *text, time_t now, char *iso, size_t len, struct err *e)
{
	char	*end;
	long	 days;
	time_t	 t;

	if (text != NULL && isdigit((unsigned char)text[0]) &&
	    (days = strtol(text, &end, 10)) > 0 && strcmp(end, "d") == 0) {
		if (days > EXPIRY_MAX_DAYS)
			return err_set(e, 400, "bad_expires", "--expires is at most %d days "
			    "(Atlassian's longest token lifetime)", EXPIRY_MAX_DAYS);
		expiry_iso(now + days * EXPIRY_DAY, iso, len);
		return 0;
	}
	if (expiry_time(text, 0, &t) == -1)
		return err_set(e, 400, "bad_expires", "--expires takes days (90d) or a "
		    "date (2027-03-01), not '%s'", text != NULL ? text : "");
	if (t <= now)
		return err_set(e, 400, "bad_expires", "--expires %s is in the past", text);
	if (t - now > (EXPIRY_MAX_DAYS + 1) * EXPIRY_DAY)
		return err_set(e, 400, "bad_expires", "--expires is at most %d days ahead "
		    "(Atlassian's longest token lifetime)", EXPIRY_MAX_DAYS);
	expiry_iso(t, iso, len);
	return 0;
}

int
expiry_days(const char *iso, time_t now, long *days)
{
	time_t	t;
	long	d;

	if (expiry_time(iso, 1, &t) == -1)
		return -1;
	d = (long)(t - now);
	/* Round towards minus infinity: one second past is day -1. */
	*days = d >= 0 ? d / EXPIRY_DAY : -((-d + EXPIRY_DAY - 1) / EXPIRY_DAY);
	return 0;
}

int
expiry_level(long days)
{
	if (days < 0)
		return -1;
	if (days <= 1)
		return 1;
	if (days <= 7)
		return 7;
	if (days <= EXPIRY_WARN_DAYS)
		return 30;
	return 0;
}

void
expiry_text(long days, char *buf, size_t len)
{
	if (days < 0)
		snprintf(buf, len, "EXPIRED %ld day%s ago", -days, days == -1 ? "" : "s");
	else if (days == 0)
		snprintf(buf, len, "expires today");
	else
		snprintf(buf, len, "expires in %ld day%s", days, days == 1 ? "" : "s");
}
