/*
 * feed: the forwarder's end of the broker's change feed (GET /v1/changes,
 * docs/api.md). One thread holds a long-poll open, resumes from the last
 * sequence number, and drops exactly the cache entries each event touches
 * (grant sets, redeemed credentials, tenant MCP tool lists). While answers
 * keep coming, the caches are trusted for feed_max_stale past the last
 * one; after that every call asks the broker, and the first answer after
 * such a gap restarts from a reset (events were missed).
 *
 * The thread blocks in httpc_do(): it is not a request thread, so no
 * request ever waits on it; it shares only the caches' short locks.
 */
#ifndef TG_FEED_H
#define TG_FEED_H

#include <jansson.h>

struct dropset;
struct fwd;
struct feed;
struct metric;

/*
 * What a batch of events drops (exposed for unit tests): fills d (sealed).
 * Unknown kinds, and events that lack the field their kind needs, drop
 * everything: a feed the forwarder cannot read must not leave stale
 * entries behind. Returns how many events were read.
 */
size_t		 feed_plan(const json_t *events, struct dropset *d);

/* Start the thread on f's caches; NULL on failure (logged). */
struct feed	*feed_start(struct fwd *f);
/* Wait at most ms for the first answer; 0 when the feed is current. */
int		 feed_wait_current(struct feed *, long ms);
/* Ask the thread to stop after its current poll (during a drain). */
void		 feed_stop_soon(struct feed *);
/* Stop, join and free (waits for the current poll at most). */
void		 feed_stop(struct feed *);

/* The feed's rows for /metrics (the age gauge refreshed). */
size_t		 feed_metric_rows(struct metric **rows, size_t max);

/*
 * The highest change seq this forwarder has applied (0: none). It goes
 * with every /v1/grants: a broker that has not yet processed that change
 * itself (its NOTIFY is still on the way) must not answer from caches
 * that predate it, or a grant this forwarder just dropped would come back.
 */
long long	 feed_seen_seq(void);

#endif
