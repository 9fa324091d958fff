/*
 * creds: the credential cache, on common/cache (key "jti\x1finteg", LRU
 * bound, generation for racing redeems). This file owns what a cached
 * credential carries and which change-feed drops name it; the grants
 * cache's lock guards it (see creds.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "creds.h"
#include "dropset.h"

struct creds_entry {
	char		*jti;
	char		*integ;
	char		 grant_hash[65];
	char		*user;
	char		*tenant;
	secret_t	*cred;
	long long	 version;
};

struct creds {
	struct cache	*cache;
};

/* The cache key of (jti, integration); 0 when it does not fit (never
 * cached: jti is at most 128 bytes, integration names are short). */
static int
creds_ckey(const struct creds_key *k, char out[512])
{
	int n = snprintf(out, 512, "%s\x1f%s", k->jti, k->integ);

	return n > 0 && n < 512;
}

static void
creds_entry_free(void *p)
{
	struct creds_entry *ce = p;

	secret_free(ce->cred);
	free(ce->jti);
	free(ce->integ);
	free(ce->user);
	free(ce->tenant);
	free(ce);
}

struct creds *
creds_new(void)
{
	struct creds *c;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return NULL;
	/* The bound comes with each put (credential_cache_max reloads). */
	if ((c->cache = cache_new(0, creds_entry_free)) == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

void
creds_free(struct creds *c)
{
	if (c == NULL)
		return;
	cache_free(c->cache);
	free(c);
}

/* The entry for k if it was redeemed with this very
 * grant token; unexpired at *now, or of any age when now is NULL. */
static struct creds_entry *
creds_find(struct creds *c, const struct creds_key *k, const time_t *now)
{
	struct creds_entry	*ce;
	char			 key[512];

	if (!creds_ckey(k, key))
		return NULL;
	ce = now != NULL ? cache_get(c->cache, key, *now) : cache_find(c->cache, key);
	/* Same jti but another token would be a broker bug: do not reuse. */
	return ce != NULL && strcmp(ce->grant_hash, k->grant_hash) == 0 ? ce : NULL;
}

secret_t *
creds_get(struct creds *c, const struct creds_key *k, time_t now, long long *version)
{
	struct creds_entry	*ce;
	secret_t		*out = NULL;

	if ((ce = creds_find(c, k, &now)) != NULL) {
		out = secret_dup(ce->cred);
		if (version != NULL)
			*version = ce->version;
	}
	return out;
}

uint64_t
creds_gen(struct creds *c)
{
	return cache_gen(c->cache);
}

int
creds_put(struct creds *c, size_t max, uint64_t gen, const struct creds_key *k,
    const char *user, const char *tenant, const secret_t *cred, time_t exp, long long version)
{
	struct creds_entry	*ce;
	char			 key[512];

	if (max == 0 || !creds_ckey(k, key) || (ce = calloc(1, sizeof *ce)) == NULL)
		return 0;
	ce->jti = strdup(k->jti);
	ce->integ = strdup(k->integ);
	ce->user = strdup(user != NULL ? user : "");
	ce->tenant = strdup(tenant);
	ce->cred = secret_dup(cred);
	snprintf(ce->grant_hash, sizeof ce->grant_hash, "%s", k->grant_hash);
	ce->version = version;
	if (ce->jti == NULL || ce->integ == NULL || ce->user == NULL || ce->tenant == NULL ||
	    ce->cred == NULL) {
		creds_entry_free(ce);
		return 0;
	}
	cache_set_max(c->cache, max);
	/* Declined when a change-feed drop ran while this was being redeemed:
	 * the answer may predate the change, so it serves one call only. */
	return cache_put(c->cache, key, ce, exp, gen);
}

long long
creds_version(struct creds *c, const struct creds_key *k)
{
	struct creds_entry *ce = creds_find(c, k, NULL);

	return ce != NULL ? ce->version : 0;
}

void
creds_remove(struct creds *c, const struct creds_key *k)
{
	char key[512];

	if (!creds_ckey(k, key))
		return;
	cache_remove(c->cache, key, NULL);
}

static int
creds_named(const char *key, void *val, void *arg)
{
	const struct dropset		*d = arg;
	const struct creds_entry	*ce = val;

	(void)key;
	return dropset_has(d, 'V', ce->user, NULL) ||
	    dropset_has(d, 'M', ce->tenant, ce->user) || dropset_has(d, 'C', ce->tenant, NULL) ||
	    dropset_has(d, 'T', ce->tenant, NULL) ||
	    dropset_has(d, 'I', ce->tenant, ce->integ) || dropset_has(d, 'J', ce->jti, NULL);
}

size_t
creds_drop(struct creds *c, const struct dropset *d)
{
	return d->all ? cache_flush(c->cache) : cache_drop_if(c->cache, creds_named, (void *)d);
}

size_t
creds_sweep(struct creds *c, time_t now)
{
	return cache_sweep(c->cache, now);
}

size_t
creds_count(struct creds *c)
{
	return cache_count(c->cache);
}
