/*
 * cache: a chained hash table that doubles when full, plus a doubly
 * linked recency list (head = most recent) through the same entries. See
 * cache.h for the contract.
 *
 * Generations: gen counts flushes and drops; live_from is the gen of the
 * last flush. An entry is live while its gen >= live_from, so a flush is
 * two assignments and dead entries are freed whenever they are met.
 */
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "secret.h"

#define CACHE_MIN_BUCKETS	16

struct cache_entry {
	struct cache_entry	*hnext;		/* bucket chain */
	struct cache_entry	*prev, *next;	/* recency list */
	void			*val;
	time_t			 exp;
	uint64_t		 gen;
	size_t			 klen;
	char			 key[];
};

struct cache {
	struct cache_entry	**b;
	size_t			  nb;		/* a power of two */
	struct cache_entry	 *head, *tail;
	size_t			  nlive, ndead, max;
	uint64_t		  gen, live_from;
	cache_free_fn		 *free_val;
};

static uint64_t
cache_hash(const char *key)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	for (const char *p = key; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h;
}

static int
cache_live(const struct cache *c, const struct cache_entry *ce)
{
	return ce->gen >= c->live_from;
}

struct cache *
cache_new(size_t max, cache_free_fn *free_val)
{
	struct cache *c;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return NULL;
	if ((c->b = calloc(CACHE_MIN_BUCKETS, sizeof *c->b)) == NULL) {
		free(c);
		return NULL;
	}
	c->nb = CACHE_MIN_BUCKETS;
	c->max = max;
	c->free_val = free_val;
	return c;
}

static void
cache_list_unlink(struct cache *c, struct cache_entry *ce)
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
cache_list_push(struct cache *c, struct cache_entry *ce)
{
	ce->prev = NULL;
	ce->next = c->head;
	if (c->head != NULL)
		c->head->prev = ce;
	c->head = ce;
	if (c->tail == NULL)
		c->tail = ce;
}

/* Out of the table, the list and memory; the value to its destructor.
 * The key is wiped: keys are often digests of tokens. */
static void
cache_destroy(struct cache *c, struct cache_entry *ce)
{
	struct cache_entry **pp = &c->b[cache_hash(ce->key) & (c->nb - 1)];

	for (; *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == ce) {
			*pp = ce->hnext;
			break;
		}
	}
	cache_list_unlink(c, ce);
	if (cache_live(c, ce))
		c->nlive--;
	else
		c->ndead--;
	if (c->free_val != NULL)
		c->free_val(ce->val);
	secret_wipe(ce->key, ce->klen);
	free(ce);
}

void
cache_free(struct cache *c)
{
	if (c == NULL)
		return;
	while (c->head != NULL)
		cache_destroy(c, c->head);
	free(c->b);
	free(c);
}

static void
cache_trim(struct cache *c, size_t room)
{
	while (c->tail != NULL && c->nlive + c->ndead + room > c->max)
		cache_destroy(c, c->tail);
}

void
cache_set_max(struct cache *c, size_t max)
{
	c->max = max;
	cache_trim(c, 0);
}

/* The entry under key, live or dead, or NULL. */
static struct cache_entry *
cache_lookup(struct cache *c, const char *key)
{
	struct cache_entry *ce;

	for (ce = c->b[cache_hash(key) & (c->nb - 1)]; ce != NULL; ce = ce->hnext)
		if (strcmp(ce->key, key) == 0)
			return ce;
	return NULL;
}

/* A found entry: dead ones are freed on the way, live ones become the
 * most recent. */
static void *
cache_use(struct cache *c, struct cache_entry *ce)
{
	if (ce == NULL)
		return NULL;
	if (!cache_live(c, ce)) {
		cache_destroy(c, ce);
		return NULL;
	}
	cache_list_unlink(c, ce);
	cache_list_push(c, ce);
	return ce->val;
}

void *
cache_find(struct cache *c, const char *key)
{
	return cache_use(c, cache_lookup(c, key));
}

void *
cache_get(struct cache *c, const char *key, time_t now)
{
	struct cache_entry *ce = cache_lookup(c, key);

	if (ce != NULL && ce->exp != 0 && ce->exp <= now)
		return NULL;
	return cache_use(c, ce);
}

uint64_t
cache_gen(const struct cache *c)
{
	return c->gen;
}

/* Double the buckets; on ENOMEM the chains just get longer. */
static void
cache_grow(struct cache *c)
{
	struct cache_entry	**nb, *ce;
	size_t			  n = c->nb * 2;

	if ((nb = calloc(n, sizeof *nb)) == NULL)
		return;
	for (ce = c->head; ce != NULL; ce = ce->next) {
		size_t h = cache_hash(ce->key) & (n - 1);

		ce->hnext = nb[h];
		nb[h] = ce;
	}
	free(c->b);
	c->b = nb;
	c->nb = n;
}

int
cache_put(struct cache *c, const char *key, void *val, time_t exp, uint64_t gen)
{
	struct cache_entry	*ce;
	size_t			 klen = strlen(key), h;

	if (gen != c->gen || c->max == 0 || (ce = malloc(sizeof *ce + klen + 1)) == NULL) {
		if (c->free_val != NULL)
			c->free_val(val);
		return 0;
	}
	memcpy(ce->key, key, klen + 1);
	ce->klen = klen;
	ce->val = val;
	ce->exp = exp;
	ce->gen = c->gen;
	cache_remove(c, key, NULL);
	cache_trim(c, 1);
	if (c->nlive + c->ndead >= c->nb)
		cache_grow(c);
	h = cache_hash(key) & (c->nb - 1);
	ce->hnext = c->b[h];
	c->b[h] = ce;
	cache_list_push(c, ce);
	c->nlive++;
	return 1;
}

int
cache_remove(struct cache *c, const char *key, const void *only)
{
	struct cache_entry *ce = cache_lookup(c, key);

	if (ce == NULL || (only != NULL && ce->val != only))
		return 0;
	cache_destroy(c, ce);
	return 1;
}

size_t
cache_flush(struct cache *c)
{
	size_t n = c->nlive;

	c->live_from = ++c->gen;
	c->ndead += c->nlive;
	c->nlive = 0;
	return n;
}

size_t
cache_drop_if(struct cache *c, cache_match_fn *match, void *arg)
{
	struct cache_entry	*ce, *next;
	size_t			 n = 0;

	c->gen++;
	for (ce = c->head; ce != NULL; ce = next) {
		next = ce->next;
		if (!cache_live(c, ce))
			cache_destroy(c, ce);
		else if (match(ce->key, ce->val, arg)) {
			cache_destroy(c, ce);
			n++;
		}
	}
	return n;
}

size_t
cache_sweep(struct cache *c, time_t now)
{
	struct cache_entry	*ce, *next;
	size_t			 n = 0;

	for (ce = c->head; ce != NULL; ce = next) {
		next = ce->next;
		if (!cache_live(c, ce))
			cache_destroy(c, ce);
		else if (ce->exp != 0 && ce->exp <= now) {
			cache_destroy(c, ce);
			n++;
		}
	}
	return n;
}

size_t
cache_count(const struct cache *c)
{
	return c->nlive;
}
