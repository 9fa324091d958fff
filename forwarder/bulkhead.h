/*
 * bulkhead: per-tenant isolation in time. Every upstream call (a tenant's
 * Atlassian, each tenant MCP backend) first takes a slot in its pool: a cap
 * on concurrent calls and a short FIFO queue, a token bucket for the pool
 * and one for each (user, pool), and the pool's shared 429 back-off. A call
 * that cannot get a slot soon gets an answer at once (429 or 503 with
 * Retry-After) and never waits behind another tenant's calls.
 *
 * Loop thread only: waiting parks the caller's coroutine (coro.h).
 */
#ifndef TG_BULKHEAD_H
#define TG_BULKHEAD_H

#include <stddef.h>
#include <time.h>

struct err;
struct fwdconf;
struct metric;
struct histogram;
struct bulkhead_set;
struct bulkhead_pool;

/* Why a call was refused (metrics label). */
enum bulkhead_reason { BH_QUEUE_FULL, BH_QUEUE_TIMEOUT, BH_TENANT_RATE, BH_USER_RATE,
	BH_UPSTREAM_BACKOFF, BH__REASONS };

struct bulkhead_slot {
	struct bulkhead_pool	*pool;
	long			 started_ms;
};

struct bulkhead_set	*bulkhead_new(void);
void			 bulkhead_free(struct bulkhead_set *);

/* Take a slot in pool `name` (a tenant slug, or "tenant/integration") for
 * user. 0 with slot filled; -1 with e = 429/503 and e->retry_after. */
int	bulkhead_enter(struct bulkhead_set *, const char *name, const char *user,
	    const struct fwdconf *, struct bulkhead_slot *, struct err *);
/* Give the slot back (hands it to the next queued call of that pool). */
void	bulkhead_leave(struct bulkhead_slot *);
/* The upstream answered 429: every user of the pool waits this long. */
void	bulkhead_backoff(struct bulkhead_set *, const char *name, long seconds);

/* Janitor: forget idle per-user buckets. */
void	bulkhead_sweep(struct bulkhead_set *, time_t now);
/* Rejections since the last call, for one summary log line. */
unsigned long bulkhead_take_rejections(struct bulkhead_set *);

/* Metric rows grouped by name (caller frees the arrays, not the rows). */
int	bulkhead_metrics(struct bulkhead_set *, struct metric ***rows, size_t *nrows,
	    struct histogram ***hists, size_t *nhists);

#endif
