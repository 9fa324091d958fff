/*
 * reuse: the grant reuse cache (see reuse.h). A hash table of descriptions
 * keyed by the SHA-256 of what the grant says; expired entries are simply
 * overwritten or dropped by a flush, and a full table is emptied.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "jsonx.h"
#include "log.h"
#include "reuse.h"

#define REUSE_BUCKETS		4096
#define REUSE_MAX_ENTRIES	65536

struct reuse_entry {
	char			 key[65];
	time_t			 exp;
	json_t			*grant;
	struct reuse_entry	*next;
};

struct reuse {
	pthread_mutex_t		 lock;
	struct reuse_entry	*buckets[REUSE_BUCKETS];
	size_t			 count;
	unsigned long		 gen;
	unsigned long		 hits, misses;
};

struct reuse *
reuse_new(void)
{
	struct reuse *c;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

static void
reuse_flush_locked(struct reuse *c)
{
	struct reuse_entry *ent, *next;

	for (size_t i = 0; i < REUSE_BUCKETS; i++) {
		for (ent = c->buckets[i]; ent != NULL; ent = next) {
			next = ent->next;
			json_decref(ent->grant);
			free(ent);
		}
		c->buckets[i] = NULL;
	}
	c->count = 0;
	c->gen++;
}

void
reuse_flush(struct reuse *c)
{
	pthread_mutex_lock(&c->lock);
	reuse_flush_locked(c);
	pthread_mutex_unlock(&c->lock);
}

void
reuse_free(struct reuse *c)
{
	if (c == NULL)
		return;
	reuse_flush(c);
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

static size_t
reuse_bucket(const char *key)
{
	return strtoul((char[4]){ key[0], key[1], key[2], '\0' }, NULL, 16) % REUSE_BUCKETS;
}

static struct reuse_entry *
reuse_find_locked(struct reuse *c, const char *key)
{
	for (struct reuse_entry *ent = c->buckets[reuse_bucket(key)]; ent != NULL;
	    ent = ent->next)
		if (strcmp(ent->key, key) == 0)
			return ent;
	return NULL;
}

json_t *
reuse_get(struct reuse *c, const char *key, time_t not_after)
{
	struct reuse_entry	*ent;
	json_t			*out = NULL;
	time_t			 now = time(NULL);

	pthread_mutex_lock(&c->lock);
	if ((ent = reuse_find_locked(c, key)) != NULL && ent->exp - now >= REUSE_MIN_LEFT_S &&
	    (not_after == 0 || ent->exp <= not_after))
		out = json_deep_copy(ent->grant);
	if (out != NULL)
		c->hits++;
	else
		c->misses++;
	pthread_mutex_unlock(&c->lock);
	return out;
}

unsigned long
reuse_gen(struct reuse *c)
{
	unsigned long g;

	pthread_mutex_lock(&c->lock);
	g = c->gen;
	pthread_mutex_unlock(&c->lock);
	return g;
}

void
reuse_put(struct reuse *c, const char *key, const json_t *grant, unsigned long gen)
{
	struct reuse_entry	*ent;
	json_t			*copy;
	size_t			 b = reuse_bucket(key);

	if ((copy = json_deep_copy(grant)) == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	if (c->gen != gen) {
		pthread_mutex_unlock(&c->lock);
		json_decref(copy);
		return;
	}
	if ((ent = reuse_find_locked(c, key)) == NULL) {
		if (c->count >= REUSE_MAX_ENTRIES) {
			reuse_flush_locked(c);
			c->gen = gen;	/* emptied for room, nothing changed */
		}
		if ((ent = calloc(1, sizeof *ent)) == NULL) {
			pthread_mutex_unlock(&c->lock);
			json_decref(copy);
			return;
		}
		memcpy(ent->key, key, 65);
		ent->next = c->buckets[b];
		c->buckets[b] = ent;
		c->count++;
	}
	json_decref(ent->grant);
	ent->grant = copy;
	ent->exp = (time_t)json_integer_value(json_object_get(grant, "expires_at"));
	pthread_mutex_unlock(&c->lock);
}

void
reuse_stats(struct reuse *c, unsigned long *hits, unsigned long *misses)
{
	pthread_mutex_lock(&c->lock);
	*hits = c->hits;
	*misses = c->misses;
	pthread_mutex_unlock(&c->lock);
}
