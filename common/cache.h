/*
 * cache: the one cache every cache in the broker and the forwarder is
 * built on. A hash map from a string key to a value the cache owns, with
 *  - a per-entry expiry (exp, seconds; 0 = none), checked against the
 *    caller's `now`, so tests drive time without a clock;
 *  - a bound with least-recently-used eviction: the victim is the tail of
 *    an intrusive doubly linked list, so making room never scans;
 *  - a generation: cache_flush() forgets everything in O(1) (entries of
 *    an older generation are dead and are reclaimed later, by lookup,
 *    eviction or cache_sweep()), and a caller that read cache_gen() before
 *    a slow fetch has its cache_put() declined when any flush or drop ran
 *    meanwhile (its answer may predate the change);
 *  - a value destructor, called exactly once per value that leaves (a
 *    value holding a secret_t wipes it there).
 *
 * Not thread-safe: the owner locks. Every owner keeps state that must
 * change together with a lookup (refcounts of shared values, hit counters,
 * a review rate bucket), so it already holds its own mutex around each
 * call; a second lock inside the cache would only be taken twice. The
 * destructor runs with the owner's lock held, so it must not take it.
 */
#ifndef TG_CACHE_H
#define TG_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct cache;

typedef void	cache_free_fn(void *val);
/* 1 when the entry is to go. */
typedef int	cache_match_fn(const char *key, void *val, void *arg);

/* max bounds the entries (0: nothing is stored). NULL on ENOMEM. */
struct cache	*cache_new(size_t max, cache_free_fn *);
void		 cache_free(struct cache *);
/* A new bound; entries beyond it go now, least recently used first. */
void		 cache_set_max(struct cache *, size_t max);

/* The value under key when live and unexpired (exp 0 or exp > now), made
 * the most recently used; else NULL. The cache keeps owning it. */
void		*cache_get(struct cache *, const char *key, time_t now);
/* The same, expired or not: for owners that judge age themselves (serve
 * stale while a database is down). */
void		*cache_find(struct cache *, const char *key);

/* Read before a fetch whose answer is to be stored with cache_put(). */
uint64_t	 cache_gen(const struct cache *);
/* Store val under key (copied), replacing what was there, evicting the
 * least recently used when full. The cache owns val from here on: when
 * declined (gen is not the current one, max is 0, ENOMEM) it is freed
 * at once. 1 stored, 0 declined. */
int		 cache_put(struct cache *, const char *key, void *val, time_t exp,
		    uint64_t gen);
/* Free the entry under key; with only != NULL, only if it holds that
 * value (a newer entry under the same key stays). 1 if one went. */
int		 cache_remove(struct cache *, const char *key, const void *only);

/* Forget every entry in O(1); returns how many were live. */
size_t		 cache_flush(struct cache *);
/* Free the live entries match() names (a scan: the change feed's
 * selective drops); counts as a change for cache_put()'s gen check.
 * Returns how many went. */
size_t		 cache_drop_if(struct cache *, cache_match_fn *, void *arg);
/* Free the expired entries and those cache_flush() left dead: the
 * janitor's periodic pass. Returns how many expired ones went. */
size_t		 cache_sweep(struct cache *, time_t now);
/* Live entries (expired ones included until swept). */
size_t		 cache_count(const struct cache *);

#endif
