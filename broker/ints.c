/*
 * ints: integration cache in front of store_integrations(). Tenants are
 * few (tens to hundreds), so a short list is enough; a flush empties it.
 * Sets are refcounted so a flush never frees one a handler still reads.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "ints.h"
#include "log.h"

#define INTS_MAX_ENTRIES	4096

struct ints_entry {
	char			 tenant[64];
	time_t			 fetched;
	struct ints_set		*set;
	struct ints_entry	*next;
};

struct ints {
	struct store		*store;
	int			 ttl_s, max_stale_s;
	pthread_mutex_t		 lock;
	struct ints_entry	*list;
	size_t			 count;
	unsigned long		 gen;	/* see members.c: no caching across a flush */
};

struct ints *
ints_new(struct store *s, int ttl_s, int max_stale_s)
{
	struct ints *c;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return NULL;
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

static void
ints_unref_locked(struct ints_set *set)
{
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

static void
ints_flush_locked(struct ints *c)
{
	struct ints_entry *ent, *next;

	for (ent = c->list; ent != NULL; ent = next) {
		next = ent->next;
		ints_unref_locked(ent->set);
		free(ent);
	}
	c->list = NULL;
	c->count = 0;
	c->gen++;
}

void
ints_flush(struct ints *c)
{
	pthread_mutex_lock(&c->lock);
	ints_flush_locked(c);
	pthread_mutex_unlock(&c->lock);
}

void
ints_free(struct ints *c)
{
	if (c == NULL)
		return;
	ints_flush(c);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static struct ints_entry *
ints_get_locked(struct ints *c, const char *tenant)
{
	for (struct ints_entry *ent = c->list; ent != NULL; ent = ent->next)
		if (strcmp(ent->tenant, tenant) == 0)
			return ent;
	return NULL;
}

int
ints_lookup(struct ints *c, const char *tenant, struct ints_set **out, int *stale,
    struct err *e)
{
	struct ints_entry	*ent;
	struct ints_set		*set;
	struct integration	*v = NULL;
	size_t			 n = 0;
	time_t			 now = time(NULL);
	unsigned long		 gen;
	struct err		 dberr;
	int			 max_stale;

	*out = NULL;
	*stale = 0;
	if (strlen(tenant) >= sizeof ent->tenant)
		return err_set(e, 400, "bad_tenant", "tenant name too long");
	pthread_mutex_lock(&c->lock);
	if ((ent = ints_get_locked(c, tenant)) != NULL && now - ent->fetched < c->ttl_s) {
		ent->set->refs++;
		*out = ent->set;
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	gen = c->gen;
	pthread_mutex_unlock(&c->lock);

	err_clear(&dberr);
	if (store_integrations(c->store, tenant, &v, &n, &dberr) == 0) {
		if ((set = calloc(1, sizeof *set)) == NULL) {
			store_integrations_free(v, n);
			return err_set(e, 500, "nomem", "out of memory");
		}
		set->v = v;
		set->n = n;
		set->refs = 1;		/* the caller's */
		pthread_mutex_lock(&c->lock);
		if (c->gen == gen) {
			if ((ent = ints_get_locked(c, tenant)) == NULL) {
				if (c->count >= INTS_MAX_ENTRIES)
					ints_flush_locked(c);
				if ((ent = calloc(1, sizeof *ent)) != NULL) {
					memcpy(ent->tenant, tenant, strlen(tenant) + 1);
					ent->next = c->list;
					c->list = ent;
					c->count++;
				}
			}
			if (ent != NULL) {
				ints_unref_locked(ent->set);
				ent->set = set;
				ent->fetched = now;
				set->refs++;
			}
		}
		pthread_mutex_unlock(&c->lock);
		*out = set;
		return 0;
	}

	/* PostgreSQL failed: a recent enough answer may stand in; else fail closed. */
	pthread_mutex_lock(&c->lock);
	if ((ent = ints_get_locked(c, tenant)) != NULL && now - ent->fetched <= c->max_stale_s) {
		ent->set->refs++;
		*out = ent->set;
		*stale = 1;
		pthread_mutex_unlock(&c->lock);
		log_warnx("integrations of %s served from a %lds old cache: %s", tenant,
		    (long)(now - ent->fetched), dberr.msg);
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
