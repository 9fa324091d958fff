/*
 * members: membership cache in front of store_memberships(). Keyed by the
 * email plus the sorted group list, since group_mappings make the answer
 * depend on both. Small and flat: flushed on every change notification,
 * so the common case is a short list of recent users.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "err.h"
#include "log.h"
#include "members.h"

#define MEMBERS_MAX_ENTRIES	65536

struct members_entry {
	unsigned char		 key[SHA256_DIGEST_LENGTH];
	time_t			 fetched;
	struct membership	*list;
	size_t			 n;
	struct members_entry	*next;
};

#define MEMBERS_BUCKETS 4096

struct members {
	struct store		*store;
	int			 ttl_s, max_stale_s;
	pthread_mutex_t		 lock;
	struct members_entry	*buckets[MEMBERS_BUCKETS];
	size_t			 count;
	/* Bumped by every flush: an answer read from PostgreSQL before a
	 * flush must not be cached after it (it may predate the change). */
	unsigned long		 gen;
	unsigned long		 hits, misses, stale_served;
};

struct members *
members_new(struct store *s, int ttl_s, int max_stale_s)
{
	struct members *m;

	if ((m = calloc(1, sizeof *m)) == NULL)
		return NULL;
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

static void
members_flush_locked(struct members *m)
{
	struct members_entry *ent, *next;

	for (size_t i = 0; i < MEMBERS_BUCKETS; i++) {
		for (ent = m->buckets[i]; ent != NULL; ent = next) {
			next = ent->next;
			free(ent->list);
			free(ent);
		}
		m->buckets[i] = NULL;
	}
	m->count = 0;
	m->gen++;
}

void
members_flush(struct members *m)
{
	pthread_mutex_lock(&m->lock);
	members_flush_locked(m);
	pthread_mutex_unlock(&m->lock);
}

void
members_free(struct members *m)
{
	if (m == NULL)
		return;
	members_flush(m);
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

static void
members_key(const char *email, const char *const *groups, size_t ngroups, unsigned char *key)
{
	EVP_MD_CTX	 *ctx = EVP_MD_CTX_new();
	const char	**sorted = NULL;
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
	EVP_DigestFinal_ex(ctx, key, &len);
	EVP_MD_CTX_free(ctx);
}

static struct membership *
members_copy(const struct membership *src, size_t n)
{
	struct membership *dst = malloc(n > 0 ? n * sizeof *dst : 1);

	if (dst != NULL && n > 0)
		memcpy(dst, src, n * sizeof *dst);
	return dst;
}

static struct members_entry *
members_get_locked(struct members *m, const unsigned char *key)
{
	struct members_entry *ent = m->buckets[key[0] | (key[1] & 0x0f) << 8];

	for (; ent != NULL; ent = ent->next)
		if (memcmp(ent->key, key, sizeof ent->key) == 0)
			return ent;
	return NULL;
}

static void
members_put_locked(struct members *m, const unsigned char *key, const struct membership *list,
    size_t n)
{
	struct members_entry	*ent = members_get_locked(m, key);
	struct membership	*copy = members_copy(list, n);
	size_t			 b = key[0] | (key[1] & 0x0f) << 8;

	if (copy == NULL)
		return;
	if (ent == NULL) {
		/* A full cache is simply emptied: it refills from PostgreSQL. */
		if (m->count >= MEMBERS_MAX_ENTRIES)
			members_flush_locked(m);
		if ((ent = calloc(1, sizeof *ent)) == NULL) {
			free(copy);
			return;
		}
		memcpy(ent->key, key, sizeof ent->key);
		ent->next = m->buckets[b];
		m->buckets[b] = ent;
		m->count++;
	}
	free(ent->list);
	ent->list = copy;
	ent->n = n;
	ent->fetched = time(NULL);
}

int
members_lookup(struct members *m, const char *email, const char *const *groups,
    size_t ngroups, struct membership **out, size_t *n, int *stale, struct err *e)
{
	unsigned char		 key[SHA256_DIGEST_LENGTH];
	struct members_entry	*ent;
	struct membership	*fresh = NULL;
	size_t			 nfresh = 0;
	time_t			 now = time(NULL);
	struct err		 dberr;
	unsigned long		 gen;
	int			 max_stale;

	*stale = 0;
	members_key(email, groups, ngroups, key);
	pthread_mutex_lock(&m->lock);
	if ((ent = members_get_locked(m, key)) != NULL && now - ent->fetched < m->ttl_s) {
		*out = members_copy(ent->list, ent->n);
		*n = ent->n;
		m->hits++;
		pthread_mutex_unlock(&m->lock);
		return *out != NULL ? 0 : err_set(e, 500, "nomem", "out of memory");
	}
	m->misses++;
	gen = m->gen;
	pthread_mutex_unlock(&m->lock);

	err_clear(&dberr);
	if (store_memberships(m->store, email, groups, ngroups, &fresh, &nfresh, &dberr) == 0) {
		pthread_mutex_lock(&m->lock);
		if (m->gen == gen)
			members_put_locked(m, key, fresh, nfresh);
		pthread_mutex_unlock(&m->lock);
		*out = fresh;
		*n = nfresh;
		return 0;
	}

	/* PostgreSQL failed: a recent enough answer may stand in; else fail closed. */
	pthread_mutex_lock(&m->lock);
	if ((ent = members_get_locked(m, key)) != NULL && now - ent->fetched <= m->max_stale_s) {
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
