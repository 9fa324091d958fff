/*
 * ints: integration cache in front of store_integrations(), on
 * common/cache keyed by tenant: a flush is O(1), the bound evicts the
 * least recently used. Sets are refcounted (the cache holds one
 * reference) so a flush never frees one a handler still reads. As in
 * members.c, age is judged here against the current limits.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "err.h"
#include "ints.h"
#include "log.h"

#define INTS_MAX_ENTRIES	4096

#define INTS_TENANT_MAX		64

struct ints {
	struct store		*store;
	int			 ttl_s, max_stale_s;
	pthread_mutex_t		 lock;	/* the cache and every set's refs */
	struct cache		*cache;	/* see members.c: no caching across a flush */
};

static cache_free_fn ints_unref_locked;

struct ints *
ints_new(struct store *s, int ttl_s, int max_stale_s)
{
	struct ints *c;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return NULL;
	if ((c->cache = cache_new(INTS_MAX_ENTRIES, ints_unref_locked)) == NULL) {
		free(c);
		return NULL;
	}
	c->store = s;
	c->ttl_s = ttl_s;
	c->max_stale_s = max_stale_s;
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void
ints_set_limits(struct ints *c, int ttl_s, int max_stale_s)
{
	pthread_mutex_lock(&c->lock);
	c->ttl_s = ttl_s;
	c->max_stale_s = max_stale_s;
	pthread_mutex_unlock(&c->lock);
}

/* Also the cache's destructor: an entry holds one reference. */
static void
ints_unref_locked(void *p)
{
	struct ints_set *set = p;

	if (set != NULL && --set->refs == 0) {
		store_integrations_free(set->v, set->n);
		free(set);
	}
}

void
ints_release(struct ints *c, struct ints_set *set)
{
	if (set == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	ints_unref_locked(set);
	pthread_mutex_unlock(&c->lock);
}

void
ints_flush(struct ints *c)
{
	pthread_mutex_lock(&c->lock);
	cache_flush(c->cache);
	pthread_mutex_unlock(&c->lock);
}

void
ints_free(struct ints *c)
{
	if (c == NULL)
		return;
	cache_free(c->cache);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int
ints_lookup(struct ints *c, const char *tenant, struct ints_set **out, int *stale,
    struct err *e)
{
	struct ints_set		*set;
	struct integration	*v = NULL;
	size_t			 n = 0;
	time_t			 now = time(NULL);
	uint64_t		 gen;
	struct err		 dberr;
	int			 max_stale;

	*out = NULL;
	*stale = 0;
	if (strlen(tenant) >= INTS_TENANT_MAX)
		return err_set(e, 400, "bad_tenant", "tenant name too long");
	pthread_mutex_lock(&c->lock);
	if ((set = cache_find(c->cache, tenant)) != NULL && now - set->fetched < c->ttl_s) {
		set->refs++;
		*out = set;
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	gen = cache_gen(c->cache);
	pthread_mutex_unlock(&c->lock);

	err_clear(&dberr);
	if (store_integrations(c->store, tenant, &v, &n, &dberr) == 0) {
		if ((set = calloc(1, sizeof *set)) == NULL) {
			store_integrations_free(v, n);
			return err_set(e, 500, "nomem", "out of memory");
		}
		set->v = v;
		set->n = n;
		set->fetched = now;
		set->refs = 2;		/* the caller's and the cache's */
		pthread_mutex_lock(&c->lock);
		/* Declined (the cache's reference dropped) when a flush ran
		 * during the query. */
		cache_put(c->cache, tenant, set, 0, gen);
		pthread_mutex_unlock(&c->lock);
		*out = set;
		return 0;
	}

	/* PostgreSQL failed: a recent enough answer may stand in; else fail closed. */
	pthread_mutex_lock(&c->lock);
	if ((set = cache_find(c->cache, tenant)) != NULL && now - set->fetched <= c->max_stale_s) {
		set->refs++;
		*out = set;
		*stale = 1;
		pthread_mutex_unlock(&c->lock);
		log_warnx("integrations of %s served from a %lds old cache: %s", tenant,
		    (long)(now - set->fetched), dberr.msg);
		return 0;
	}
	max_stale = c->max_stale_s;
	pthread_mutex_unlock(&c->lock);
	/* The database's own words name its host: the log gets them, the
	 * caller a plain statement (fail closed). */
	log_warnx("integrations of %s unavailable, nothing cached within %ds: %s", tenant,
	    max_stale, dberr.msg);
	return err_set(e, 503, "db_unavailable", "the access database is unreachable and "
	    "tenant '%s' was not looked up in the last %d s (members_max_stale): "
	    "refusing until it is back", tenant, max_stale);
}
