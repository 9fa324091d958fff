/*
 * reuse: the grant reuse cache (see reuse.h), on common/cache: grant
 * descriptions keyed by the SHA-256 of what the grant says, each expiring
 * when less than REUSE_MIN_LEFT_S of the grant is left; a flush is O(1)
 * and a full cache evicts the least recently used.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cache.h"
#include "jsonx.h"
#include "log.h"
#include "reuse.h"

struct reuse {
	pthread_mutex_t		 lock;
	struct cache		*cache;		/* key -> json_t grant */
};

static void
reuse_grant_free(void *grant)
{
	json_decref(grant);
}

struct reuse *
reuse_new(void)
{
	struct reuse *c;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return NULL;
	if ((c->cache = cache_new(REUSE_MAX_ENTRIES, reuse_grant_free)) == NULL) {
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void
reuse_flush(struct reuse *c)
{
	pthread_mutex_lock(&c->lock);
	cache_flush(c->cache);
	pthread_mutex_unlock(&c->lock);
}

void
reuse_free(struct reuse *c)
{
	if (c == NULL)
		return;
	cache_free(c->cache);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static void
reuse_hash_str(EVP_MD_CTX *ctx, const char *s)
{
	s = s != NULL ? s : "";
	EVP_DigestUpdate(ctx, s, strlen(s) + 1);
}

static void
reuse_hash_json(EVP_MD_CTX *ctx, const json_t *v)
{
	/* Sorted keys: the same versions always hash the same. */
	char *s = v != NULL ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	reuse_hash_str(ctx, s);
	free(s);
}

void
reuse_key(const char *email, const char *tenant, const char *role,
    const json_t *cred_versions, const json_t *tools, const json_t *groups,
    const char *kid, char key[65])
{
	EVP_MD_CTX	*ctx = EVP_MD_CTX_new();
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 len = 0;

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		fatalx("cannot initialise SHA-256");
	reuse_hash_str(ctx, email);
	reuse_hash_str(ctx, tenant);
	reuse_hash_str(ctx, role);
	reuse_hash_json(ctx, cred_versions);
	reuse_hash_json(ctx, tools);
	reuse_hash_json(ctx, groups);
	reuse_hash_str(ctx, kid);
	EVP_DigestFinal_ex(ctx, md, &len);
	EVP_MD_CTX_free(ctx);
	for (unsigned int i = 0; i < 32 && i < len; i++)
		snprintf(key + 2 * i, 3, "%02x", md[i]);
	key[64] = '\0';
}

static time_t
reuse_expires(const json_t *grant)
{
	return (time_t)json_integer_value(json_object_get(grant, "expires_at"));
}

json_t *
reuse_get(struct reuse *c, const char *key, time_t not_after)
{
	json_t	*g, *out = NULL;

	pthread_mutex_lock(&c->lock);
	if ((g = cache_get(c->cache, key, time(NULL))) != NULL &&
	    (not_after == 0 || reuse_expires(g) <= not_after))
		out = json_deep_copy(g);
	pthread_mutex_unlock(&c->lock);
	return out;
}

unsigned long
reuse_gen(struct reuse *c)
{
	unsigned long g;

	pthread_mutex_lock(&c->lock);
	g = (unsigned long)cache_gen(c->cache);
	pthread_mutex_unlock(&c->lock);
	return g;
}

void
reuse_put(struct reuse *c, const char *key, const json_t *grant, unsigned long gen)
{
	json_t *copy;

	if ((copy = json_deep_copy(grant)) == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	/* Reusable while at least REUSE_MIN_LEFT_S is left: the entry is
	 * live until exp - now < REUSE_MIN_LEFT_S. Declined (freed) when a
	 * flush ran since gen. */
	cache_put(c->cache, key, copy, reuse_expires(grant) - REUSE_MIN_LEFT_S + 1, gen);
	pthread_mutex_unlock(&c->lock);
}
