/*
 * ints: a tenant's integrations, as PostgreSQL says, with a cache that
 * follows the same rules as the membership cache (members.h): fresh for
 * members_cache_ttl, flushed by every change NOTIFY, and while PostgreSQL
 * cannot answer, an entry up to members_max_stale old still answers;
 * anything older fails closed (503). Grant and redeem read integrations
 * only through here, so a PostgreSQL outage is bridged for both.
 */
#ifndef TG_BROKER_INTS_H
#define TG_BROKER_INTS_H

#include <stddef.h>
#include <time.h>

#include "store.h"

struct err;
struct ints;

/* One tenant's list, shared and read-only; ints_release() when done. */
struct ints_set {
	struct integration	*v;
	size_t			 n;
	time_t			 fetched;	/* when PostgreSQL said so */
	int			 refs;		/* under the cache's lock */
};

struct ints	*ints_new(struct store *, int ttl_s, int max_stale_s);
void		 ints_free(struct ints *);
void		 ints_set_limits(struct ints *, int ttl_s, int max_stale_s);
/* *stale is set when the answer came from cache because PostgreSQL
 * failed. -1 with e (503 "db_unavailable") when nothing recent enough. */
int		 ints_lookup(struct ints *, const char *tenant, struct ints_set **,
		    int *stale, struct err *);
void		 ints_release(struct ints *, struct ints_set *);
void		 ints_flush(struct ints *);

#endif
