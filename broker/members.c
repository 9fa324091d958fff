/*
 * members: membership cache in front of store_memberships(). Keyed by the
 * email plus the sorted group list, since group_mappings make the answer
 * depend on both. On common/cache: flushed (O(1)) on every change
 * notification, bounded with LRU eviction. Entries never expire in the
 * cache: their age is judged here against the current limits (fresh
 * within members_cache_ttl, a stand-in up to members_max_stale), which a
 * SIGHUP may change.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "cache.h"
#include "err.h"
#include "log.h"
#include "members.h"

#define MEMBERS_MAX_ENTRIES	65536

struct members_entry {
	time_t			 fetched;
	size_t			 n;
	struct membership	 list[];
};

struct members {
	struct store		*store;
	int			 ttl_s, max_stale_s;
	pthread_mutex_t		 lock;
	/* Its generation keeps an answer read from PostgreSQL before a flush
	 * out of the cache (it may predate the change). */
	struct cache		*cache;
	unsigned long		 hits, misses, stale_served;
};

struct members *
members_new(struct store *s, int ttl_s, int max_stale_s)
{
	struct members *m;

	if ((m = calloc(1, sizeof *m)) == NULL)
		return NULL;
	if ((m->cache = cache_new(MEMBERS_MAX_ENTRIES, free)) == NULL) {
		free(m);
		return NULL;
	}
	m->store = s;
	m->ttl_s = ttl_s;
	m->max_stale_s = max_stale_s;
	pthread_mutex_init(&m->lock, NULL);
	return m;
}

void
members_set_limits(struct members *m, int ttl_s, int max_stale_s)
{
	pthread_mutex_lock(&m->lock);
	m->ttl_s = ttl_s;
	m->max_stale_s = max_stale_s;
	pthread_mutex_unlock(&m->lock);
}

void
members_flush(struct members *m)
{
	pthread_mutex_lock(&m->lock);
	cache_flush(m->cache);
	pthread_mutex_unlock(&m->lock);
}

void
members_free(struct members *m)
{
	if (m == NULL)
		return;
	cache_free(m->cache);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

void
members_on_change(const char *payload, void *arg)
{
	struct members *m = arg;

	log_debug("membership change (%s): cache flushed", payload != NULL ? payload : "reconnect");
	members_flush(m);
}

static int
members_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Hex SHA-256 of the email and the sorted groups into key[65]. */
static void
members_key(const char *email, const char *const *groups, size_t ngroups, char *key)
{
	EVP_MD_CTX	 *ctx = EVP_MD_CTX_new();
	const char	**sorted = NULL;
	unsigned char	  md[SHA256_DIGEST_LENGTH];
	unsigned int	  len = SHA256_DIGEST_LENGTH;

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		fatalx("cannot initialise SHA-256");
	EVP_DigestUpdate(ctx, email, strlen(email) + 1);
	if (ngroups > 0 && (sorted = malloc(ngroups * sizeof *sorted)) != NULL) {
		memcpy(sorted, groups, ngroups * sizeof *sorted);
		qsort(sorted, ngroups, sizeof *sorted, members_cmp);
		for (size_t i = 0; i < ngroups; i++)
			EVP_DigestUpdate(ctx, sorted[i], strlen(sorted[i]) + 1);
		free(sorted);
	}
	EVP_DigestFinal_ex(ctx, md, &len);
	EVP_MD_CTX_free(ctx);
	for (unsigned int i = 0; i < len; i++)
		snprintf(key + 2 * i, 3, "%02x", md[i]);
}

static struct membership *
members_copy(const struct membership *src, size_t n)
{
	struct membership *dst = malloc(n > 0 ? n * sizeof *dst : 1);

	if (dst != NULL && n > 0)
		memcpy(dst, src, n * sizeof *dst);
	return dst;
}

/* Under the lock: keep a copy, unless a flush ran since gen. */
static void
members_put_locked(struct members *m, const char *key, const struct membership *list,
    size_t n, uint64_t gen)
{
	struct members_entry *ent = malloc(sizeof *ent + n * sizeof *list);

	if (ent == NULL)
		return;
	if (n > 0)
		memcpy(ent->list, list, n * sizeof *list);
	ent->n = n;
	ent->fetched = time(NULL);
	cache_put(m->cache, key, ent, 0, gen);
}

int
members_lookup(struct members *m, const char *email, const char *const *groups,
    size_t ngroups, struct membership **out, size_t *n, int *stale, struct err *e)
{
	char			 key[2 * SHA256_DIGEST_LENGTH + 1];
	struct members_entry	*ent;
	struct membership	*fresh = NULL;
	size_t			 nfresh = 0;
	time_t			 now = time(NULL);
	struct err		 dberr;
	uint64_t		 gen;
	int			 max_stale;

	*stale = 0;
	members_key(email, groups, ngroups, key);
	pthread_mutex_lock(&m->lock);
	if ((ent = cache_find(m->cache, key)) != NULL && now - ent->fetched < m->ttl_s) {
		*out = members_copy(ent->list, ent->n);
		*n = ent->n;
		m->hits++;
		pthread_mutex_unlock(&m->lock);
		return *out != NULL ? 0 : err_set(e, 500, "nomem", "out of memory");
	}
	m->misses++;
	gen = cache_gen(m->cache);
	pthread_mutex_unlock(&m->lock);

	err_clear(&dberr);
	if (store_memberships(m->store, email, groups, ngroups, &fresh, &nfresh, &dberr) == 0) {
		pthread_mutex_lock(&m->lock);
		members_put_locked(m, key, fresh, nfresh, gen);
		pthread_mutex_unlock(&m->lock);
		*out = fresh;
		*n = nfresh;
		return 0;
	}

	/* PostgreSQL failed: a recent enough answer may stand in; else fail closed. */
	pthread_mutex_lock(&m->lock);
	if ((ent = cache_find(m->cache, key)) != NULL && now - ent->fetched <= m->max_stale_s) {
		*out = members_copy(ent->list, ent->n);
		*n = ent->n;
		*stale = 1;
		m->stale_served++;
		pthread_mutex_unlock(&m->lock);
		log_warnx("memberships of %s served from a %lds old cache: %s", email,
		    (long)(now - ent->fetched), dberr.msg);
		return *out != NULL ? 0 : err_set(e, 500, "nomem", "out of memory");
	}
	max_stale = m->max_stale_s;
	pthread_mutex_unlock(&m->lock);
	/* The database's own words name its host: the log gets them, the
	 * caller a plain statement (fail closed). */
	log_warnx("memberships of %s unavailable, nothing cached within %ds: %s", email,
	    max_stale, dberr.msg);
	return err_set(e, 503, "db_unavailable", "the access database is unreachable and "
	    "%s was not looked up in the last %d s (members_max_stale): refusing until it "
	    "is back", email, max_stale);
}

const struct membership *
members_find(const struct membership *list, size_t n, const char *tenant)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i].tenant, tenant) == 0)
			return &list[i];
	return NULL;
}

void
members_stats(struct members *m, unsigned long *hits, unsigned long *misses,
    unsigned long *stale_served)
{
	pthread_mutex_lock(&m->lock);
	*hits = m->hits;
	*misses = m->misses;
	*stale_served = m->stale_served;
	pthread_mutex_unlock(&m->lock);
}
