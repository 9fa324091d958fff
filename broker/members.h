/*
 * members: who belongs to which tenant, as PostgreSQL says, with a cache.
 * A lookup is served from cache while fresh (members_cache_ttl); NOTIFY on
 * tenantgate_changes flushes it. When PostgreSQL cannot answer, an entry up
 * to members_max_stale old still answers; anything older fails closed.
 */
#ifndef TG_BROKER_MEMBERS_H
#define TG_BROKER_MEMBERS_H

#include <stddef.h>

#include "store.h"

struct members;
struct err;

struct members	*members_new(struct store *, int ttl_s, int max_stale_s);
void		 members_free(struct members *);
void		 members_set_limits(struct members *, int ttl_s, int max_stale_s);
/* *out is a copy the caller frees with free(); *stale is set when the
 * answer came from cache because PostgreSQL failed. */
int		 members_lookup(struct members *, const char *email,
		    const char *const *groups, size_t ngroups,
		    struct membership **out, size_t *n, int *stale, struct err *);
/* Find one tenant in a lookup result; NULL if absent. */
const struct membership *members_find(const struct membership *, size_t n, const char *tenant);
void		 members_flush(struct members *);
/* store_listen_start() callback: any change flushes everything. */
void		 members_on_change(const char *payload, void *arg);
void		 members_stats(struct members *, unsigned long *hits, unsigned long *misses,
		    unsigned long *stale_served);

#endif
