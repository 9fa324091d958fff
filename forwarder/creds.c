/*
 * creds: the credential cache. A chained hash table on (jti, integration)
 * plus a doubly linked LRU list; both under one mutex that is only held
 * for memory work.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "creds.h"
#include "dropset.h"

#define CREDS_BUCKETS	4096

struct creds_entry {
	char			*jti;
	char			*integ;
	char			 grant_hash[65];
	char			*user;
	char			*tenant;
	secret_t		*cred;
	time_t			 exp;
	long long		 version;
	struct creds_entry	*hnext;		/* bucket chain */
	struct creds_entry	*prev, *next;	/* LRU: head = most recent */
};

struct creds {
	pthread_mutex_t		 lock;
	struct creds_entry	*b[CREDS_BUCKETS];
	struct creds_entry	*head, *tail;
	size_t			 count;
	uint64_t		 gen;
};

static size_t
creds_hash(const char *jti, const char *integ)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	for (const char *p = jti; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h = (h ^ 0x1f) * 1099511628211ULL;
	for (const char *p = integ; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return (size_t)(h % CREDS_BUCKETS);
}

struct creds *
creds_new(void)
{
	struct creds *c;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

static void
creds_entry_free(struct creds_entry *ce)
{
	secret_free(ce->cred);
	free(ce->jti);
	free(ce->integ);
	free(ce->user);
	free(ce->tenant);
	free(ce);
}

void
creds_free(struct creds *c)
{
	struct creds_entry *ce, *next;

	if (c == NULL)
		return;
	for (ce = c->head; ce != NULL; ce = next) {
		next = ce->next;
		creds_entry_free(ce);
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* Under the lock. */
static struct creds_entry *
creds_find(struct creds *c, const struct creds_key *k)
{
	struct creds_entry *ce;

	for (ce = c->b[creds_hash(k->jti, k->integ)]; ce != NULL; ce = ce->hnext)
		if (strcmp(ce->jti, k->jti) == 0 && strcmp(ce->integ, k->integ) == 0)
			return ce;
	return NULL;
}

static void
creds_lru_unlink(struct creds *c, struct creds_entry *ce)
{
	if (ce->prev != NULL)
		ce->prev->next = ce->next;
	else
		c->head = ce->next;
	if (ce->next != NULL)
		ce->next->prev = ce->prev;
	else
		c->tail = ce->prev;
	ce->prev = ce->next = NULL;
}

static void
creds_lru_push(struct creds *c, struct creds_entry *ce)
{
	ce->prev = NULL;
	ce->next = c->head;
	if (c->head != NULL)
		c->head->prev = ce;
	c->head = ce;
	if (c->tail == NULL)
		c->tail = ce;
}

/* Under the lock: out of the table, the list, and memory. */
static void
creds_remove_locked(struct creds *c, struct creds_entry *ce)
{
	struct creds_entry **pp = &c->b[creds_hash(ce->jti, ce->integ)];

	for (; *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == ce) {
			*pp = ce->hnext;
			break;
		}
	}
	creds_lru_unlink(c, ce);
	c->count--;
	creds_entry_free(ce);
}

secret_t *
creds_get(struct creds *c, const struct creds_key *k, time_t now, long long *version)
{
	struct creds_entry	*ce;
	secret_t		*out = NULL;

	pthread_mutex_lock(&c->lock);
	ce = creds_find(c, k);
	/* Same jti but another token would be a broker bug: do not reuse. */
	if (ce != NULL && ce->exp > now && strcmp(ce->grant_hash, k->grant_hash) == 0) {
		creds_lru_unlink(c, ce);
		creds_lru_push(c, ce);
		out = secret_dup(ce->cred);
		if (version != NULL)
			*version = ce->version;
	}
	pthread_mutex_unlock(&c->lock);
	return out;
}

uint64_t
creds_gen(struct creds *c)
{
	uint64_t g;

	pthread_mutex_lock(&c->lock);
	g = c->gen;
	pthread_mutex_unlock(&c->lock);
	return g;
}

int
creds_put(struct creds *c, size_t max, uint64_t gen, const struct creds_key *k,
    const char *user, const char *tenant, const secret_t *cred, time_t exp, long long version)
{
	struct creds_entry	*ce, *old;
	size_t			 h;

	if (max == 0)
		return 0;
	if ((ce = calloc(1, sizeof *ce)) == NULL)
		return 0;
	ce->jti = strdup(k->jti);
	ce->integ = strdup(k->integ);
	ce->user = strdup(user != NULL ? user : "");
	ce->tenant = strdup(tenant);
	ce->cred = secret_dup(cred);
	snprintf(ce->grant_hash, sizeof ce->grant_hash, "%s", k->grant_hash);
	ce->exp = exp;
	ce->version = version;
	if (ce->jti == NULL || ce->integ == NULL || ce->user == NULL || ce->tenant == NULL ||
	    ce->cred == NULL) {
		creds_entry_free(ce);
		return 0;
	}
	pthread_mutex_lock(&c->lock);
	if (c->gen != gen) {
		/* A change-feed drop ran while this was being redeemed: the
		 * answer may predate the change, so it serves one call only. */
		pthread_mutex_unlock(&c->lock);
		creds_entry_free(ce);
		return 0;
	}
	if ((old = creds_find(c, k)) != NULL)
		creds_remove_locked(c, old);
	while (c->count >= max && c->tail != NULL)
		creds_remove_locked(c, c->tail);
	h = creds_hash(ce->jti, ce->integ);
	ce->hnext = c->b[h];
	c->b[h] = ce;
	creds_lru_push(c, ce);
	c->count++;
	pthread_mutex_unlock(&c->lock);
	return 1;
}

long long
creds_version(struct creds *c, const struct creds_key *k)
{
	struct creds_entry	*ce;
	long long		 v = 0;

	pthread_mutex_lock(&c->lock);
	if ((ce = creds_find(c, k)) != NULL && strcmp(ce->grant_hash, k->grant_hash) == 0)
		v = ce->version;
	pthread_mutex_unlock(&c->lock);
	return v;
}

void
creds_remove(struct creds *c, const struct creds_key *k)
{
	struct creds_entry *ce;

	pthread_mutex_lock(&c->lock);
	if ((ce = creds_find(c, k)) != NULL)
		creds_remove_locked(c, ce);
	pthread_mutex_unlock(&c->lock);
}

static int
creds_named(const struct dropset *d, const struct creds_entry *ce)
{
	return d->all || dropset_has(d, 'V', ce->user, NULL) ||
	    dropset_has(d, 'M', ce->tenant, ce->user) || dropset_has(d, 'C', ce->tenant, NULL) ||
	    dropset_has(d, 'T', ce->tenant, NULL) ||
	    dropset_has(d, 'I', ce->tenant, ce->integ) || dropset_has(d, 'J', ce->jti, NULL);
}

size_t
creds_drop(struct creds *c, const struct dropset *d)
{
	struct creds_entry	*ce, *next;
	size_t			 n = 0;

	pthread_mutex_lock(&c->lock);
	c->gen++;
	for (ce = c->head; ce != NULL; ce = next) {
		next = ce->next;
		if (creds_named(d, ce)) {
			creds_remove_locked(c, ce);
			n++;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return n;
}

size_t
creds_sweep(struct creds *c, time_t now)
{
	struct creds_entry	*ce, *next;
	size_t			 n = 0;

	pthread_mutex_lock(&c->lock);
	for (ce = c->head; ce != NULL; ce = next) {
		next = ce->next;
		if (ce->exp <= now) {
			creds_remove_locked(c, ce);
			n++;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return n;
}

size_t
creds_count(struct creds *c)
{
	size_t n;

	pthread_mutex_lock(&c->lock);
	n = c->count;
	pthread_mutex_unlock(&c->lock);
	return n;
}
