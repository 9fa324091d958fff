/*
 * keyexpiry: the broker's watch on tenant keys' expiry dates
 * (tenant_integrations.key_expires_at, migrations/0005, written by
 * tenantgate-admin key rotate / onboard --expires).
 *
 * A thread of its own reads the dates from PostgreSQL whenever it is
 * kicked: by the broker's timer (key_expiry_interval) and by a change
 * NOTIFY. The event loop only kicks, so a slow or absent PostgreSQL never
 * holds it; /metrics (an inline route) only copies the last answer under
 * a mutex. For each key the thread logs once per threshold and key
 * version: a warning at 30, 7 and 1 days left, an error once expired.
 */
#ifndef TG_BROKER_KEYEXPIRY_H
#define TG_BROKER_KEYEXPIRY_H

#include <stddef.h>
#include <time.h>

struct err;
struct keyexpiry;
struct store;

#define KEYEXPIRY_DAY	86400

/* Starts the thread, which reads once at once. NULL with e. */
struct keyexpiry *keyexpiry_new(struct store *, struct err *);
/* Ask for a read soon. Any thread; never blocks on PostgreSQL. */
void	keyexpiry_kick(struct keyexpiry *);
/* Stops and joins the thread (a read in progress ends within the
 * statement timeout). NULL is fine. */
void	keyexpiry_free(struct keyexpiry *);
/*
 * tenantgate_key_expiry_days{tenant,integration}: days left (fractions,
 * negative once expired) for every key of the last read, in the
 * Prometheus text format; malloc'ed, *len set; NULL when out of memory.
 */
char	*keyexpiry_metrics(struct keyexpiry *, time_t now, size_t *len);

/* Whole days left, rounded down (0 on the last day; negative once past),
 * as tenantgate-admin key status counts them (tui/expiry.c). */
long	keyexpiry_days(long long expires_at, time_t now);
/* The threshold reached: -1 expired (now >= expires_at), else 1, 7 or 30
 * (at most that many whole days left), 0 none. */
int	keyexpiry_level(long long expires_at, time_t now);
/* "2026-12-01" (UTC) into buf. */
void	keyexpiry_date(long long expires_at, char *buf, size_t len);
/* A Prometheus label value from a slug: anything outside [A-Za-z0-9_.-]
 * becomes '_', so no name can break the exposition. */
void	keyexpiry_label(const char *s, char *out, size_t len);

#endif
