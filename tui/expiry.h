/*
 * expiry: when a tenant key stops working. Atlassian's API tokens expire
 * 1 to 365 days after they are made; the operator enters the expiry at
 * rotation or onboarding (--expires 90d or 2027-03-01) and it is stored
 * inside the credential in Vault ("expires_at", ISO 8601 UTC), so it
 * travels with exactly the key version it belongs to, and in the audit
 * row. `key status` and the Keys screen count the days left and warn at
 * EXPIRY_WARN_DAYS (30), 7 and 1.
 */
#ifndef TG_TUI_EXPIRY_H
#define TG_TUI_EXPIRY_H

#include <stddef.h>
#include <time.h>

struct err;

#define EXPIRY_ISO_MAX		32
#define EXPIRY_MAX_DAYS		365	/* Atlassian's longest token lifetime */
#define EXPIRY_WARN_DAYS	30

/* "90d" (1..365 days from now) or a date "2027-03-01" (that day's end,
 * UTC, 1..365 days ahead) into "2027-03-01T23:59:59Z". -1 with a 400
 * "bad_expires" (a usage error) otherwise. */
int	expiry_parse(const char *text, time_t now, char *iso, size_t len,
	    struct err *);
/* Whole days from now to iso, rounded down (negative once it is past;
 * 0 on its last day). -1 when iso is not "YYYY-MM-DDTHH:MM:SSZ". */
int	expiry_days(const char *iso, time_t now, long *days);
/* The warning level of days left: -1 expired, 1 (at most a day left),
 * 7, 30 (at most that many), 0 none. */
int	expiry_level(long days);
/* "expires in 5 days", "expires today", "EXPIRED 3 days ago". */
void	expiry_text(long days, char *buf, size_t len);

#endif
