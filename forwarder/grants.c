/*
 * grants: the per-token grant cache, and the way to a grant's credential
 * (creds.c holds those). The cache is common/cache (expiry, LRU bound,
 * generation) under one mutex that also guards the sets' refcounts;
 * broker calls are made without holding it. The generation, bumped by
 * every change-feed drop, keeps an answer that raced a drop out of the
 * cache (it serves its own request only).
 *
 * Renewal is stale-while-revalidate: from grant_renew_margin before the
 * earliest grant expires until GRANTS_RENEW_SAFETY_S before it, a request
 * is served from the cache at once and hands out one renewal ticket per
 * key (grants_renew() runs it in the background), so no request waits
 * for the broker while every grant is still valid. The ticket carries the
 * generation read when it was issued: a drop during the renewal wins.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "b64url.h"
#include "broker_client.h"
#include "cache.h"
#include "clock.h"
#include "creds.h"
#include "dropset.h"
#include "err.h"
#include "fwdconf.h"
#include "grants.h"
#include "httpc.h"
#include "jsonx.h"
#include "log.h"
#include "secret.h"

#define GRANTS_MAX_TENANTS	256
#define GRANTS_MAX_INTEGS	32
#define GRANTS_MAX_TOOLS	512
/* A cached set is served until this long before its earliest grant
 * expires (a request still has time to use it); after that, requests
 * wait for the broker. */
#define GRANTS_RENEW_SAFETY_S	1
/* A background renewal that failed is tried again after this long. */
#define GRANTS_RENEW_RETRY_MS	1000

/* One background renewal (grants_get() issues it, grants_renew() runs
 * it): a copy of the user token (wiped when freed), the generation at
 * issue, and a reference to the set it renews. */
struct grants_renewal {
	char		 key[65];
	secret_t	*assertion;
	uint64_t	 gen;
	struct grantset	*old;
};

struct grants_cache {
	struct broker_client	*broker;
	struct creds		*creds;
	pthread_mutex_t		 lock;		/* both caches and every set's refs */
	struct cache		*sets;		/* key: grantset.key */
	atomic_long		 feed_ok_until;	/* clock_now_ms() bound; 0 = never */
};

static cache_free_fn grants_unref_locked;

void
grants_key(const char *s, char out[65])
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen = 0;

	EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha256(), NULL);
	for (unsigned int i = 0; i < 32 && i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

struct grants_cache *
grants_cache_new(struct broker_client *broker)
{
	struct grants_cache *c;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return NULL;
	/* The bound comes with each put (grant_cache_max reloads). */
	if ((c->creds = creds_new()) == NULL ||
	    (c->sets = cache_new(0, grants_unref_locked)) == NULL) {
		creds_free(c->creds);
		free(c);
		return NULL;
	}
	c->broker = broker;
	pthread_mutex_init(&c->lock, NULL);
	atomic_init(&c->feed_ok_until, 0);
	return c;
}

static void
grants_clear_one(struct grant *g)
{
	for (size_t j = 0; j < g->ninteg; j++) {
		free(g->integ[j].name);
		free(g->integ[j].kind);
		free(g->integ[j].base_url);
		free(g->integ[j].cred_kind);
		free(g->integ[j].api_url);
	}
	free(g->integ);
	for (size_t j = 0; j < g->ntools; j++)
		free(g->tools[j]);
	free(g->tools);
	free(g->tenant);
	free(g->role);
	free(g->jti);
	secret_free(g->token);
	memset(g, 0, sizeof *g);
}

void
grants_free(struct grantset *gs)
{
	if (gs == NULL)
		return;
	for (size_t i = 0; i < gs->n; i++)
		grants_clear_one(&gs->g[i]);
	free(gs->g);
	free(gs->user);
	free(gs);
}

/* Under the cache lock: drop one reference, free on the last. Also the
 * cache's destructor: an entry holds one reference. */
static void
grants_unref_locked(void *p)
{
	struct grantset *gs = p;

	if (--gs->refs == 0)
		grants_free(gs);
}

void
grants_cache_free(struct grants_cache *c)
{
	if (c == NULL)
		return;
	cache_free(c->sets);
	creds_free(c->creds);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* The grant's id: the answer's "jti", else the token's payload claim, else
 * the token's hash (an opaque token still names one grant). */
static char *
grants_jti(const json_t *jg, const char *token, const char *hash)
{
	const char	*dot1, *dot2, *v;
	unsigned char	*raw;
	size_t		 len;
	json_t		*claims;
	char		*out = NULL;

	if ((v = jsonx_str(jg, "jti")) != NULL && *v != '\0')
		return strdup(v);
	if ((dot1 = strchr(token, '.')) != NULL && (dot2 = strchr(dot1 + 1, '.')) != NULL &&
	    (raw = b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &len)) != NULL) {
		claims = json_loadb((const char *)raw, len, 0, NULL);
		free(raw);
		if ((v = jsonx_str(claims, "jti")) != NULL && *v != '\0' && strlen(v) <= 128)
			out = strdup(v);
		json_decref(claims);
		if (out != NULL)
			return out;
	}
	if ((out = malloc(2 + 65)) != NULL)
		snprintf(out, 2 + 65, "h:%s", hash);
	return out;
}

/* Tenant slugs become tool-name prefixes split at the first "__": hold
 * them to the schema's rule (^[a-z][a-z0-9-]{1,30}$), so no slug can
 * contain or end next to the separator. */
static int
grants_slug_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 2 || n > 31 || !(s[0] >= 'a' && s[0] <= 'z'))
		return 0;
	for (size_t i = 1; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'))
			return 0;
	}
	return 1;
}

static int
grants_http_url(const char *u)
{
	return strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0;
}

static int
grants_cred_kind_ok(const char *k)
{
	return strcmp(k, "classic") == 0 || strcmp(k, "scoped") == 0 ||
	    strcmp(k, "service_account") == 0;
}

/* Drop trailing slashes (keeping "http://x"); NULL is fine. */
static void
grants_trim_slash(char *u)
{
	size_t n = u != NULL ? strlen(u) : 0;

	while (n > 8 && u[n - 1] == '/')
		u[--n] = '\0';
}

static int
grants_parse_one(const json_t *jg, struct grant *g, struct err *e)
{
	const char	*tenant, *role, *token;
	json_t		*ints, *tools, *v;
	json_int_t	 exp;
	size_t		 i;

	tenant = jsonx_str(jg, "tenant");
	role = jsonx_str(jg, "role");
	token = jsonx_str(jg, "token");
	v = json_object_get(jg, "expires_at");
	if (tenant == NULL || role == NULL || token == NULL || !json_is_integer(v))
		return err_set(e, 502, "broker_error", "a grant in the broker's answer lacks "
		    "tenant, role, token or expires_at");
	if (!grants_slug_ok(tenant))
		return err_set(e, 502, "broker_error", "tenant name '%.40s' cannot prefix a tool "
		    "name", tenant);
	exp = json_integer_value(v);
	grants_key(token, g->hash);
	if ((g->tenant = strdup(tenant)) == NULL || (g->role = strdup(role)) == NULL ||
	    (g->token = secret_new(token, strlen(token))) == NULL ||
	    (g->jti = grants_jti(jg, token, g->hash)) == NULL)
		return err_set(e, 500, "nomem", "out of memory");
	g->expires_at = (time_t)exp;

	ints = json_object_get(jg, "integrations");
	if (json_is_array(ints) && json_array_size(ints) > 0) {
		size_t n = json_array_size(ints);

		if (n > GRANTS_MAX_INTEGS)
			n = GRANTS_MAX_INTEGS;
		if ((g->integ = calloc(n, sizeof *g->integ)) == NULL)
			return err_set(e, 500, "nomem", "out of memory");
		for (i = 0; i < n; i++) {
			json_t		*ji = json_array_get(ints, i);
			const char	*name = jsonx_str(ji, "name"), *kind = jsonx_str(ji, "kind");
			const char	*url = jsonx_str(ji, "base_url");
			const char	*ck = jsonx_str(ji, "cred_kind"), *api = jsonx_str(ji, "api_url");
			json_t		*cv = json_object_get(ji, "cred_version");

			if (name == NULL || kind == NULL || url == NULL)
				continue;
			if (!grants_http_url(url) || (api != NULL && *api != '\0' &&
			    !grants_http_url(api))) {
				log_warnx("grants: tenant %s integration %s: base_url or api_url is "
				    "not http(s); ignored", tenant, name);
				continue;
			}
			/* An unknown kind would get the wrong header: skip it. */
			if (ck == NULL)
				ck = "classic";
			if (grants_cred_kind_ok(ck) == 0) {
				log_warnx("grants: tenant %s integration %s: unknown cred_kind '%.32s'; "
				    "ignored", tenant, name, ck);
				continue;
			}
			struct grant_integ *gi = &g->integ[g->ninteg];
			if ((gi->name = strdup(name)) == NULL || (gi->kind = strdup(kind)) == NULL ||
			    (gi->base_url = strdup(url)) == NULL ||
			    (gi->cred_kind = strdup(ck)) == NULL ||
			    (api != NULL && *api != '\0' && (gi->api_url = strdup(api)) == NULL))
				return err_set(e, 500, "nomem", "out of memory");
			/* No trailing slash: paths are appended as "/rest/...". An
			 * MCP endpoint URL is used exactly as configured. */
			grants_trim_slash(strcmp(kind, "mcp") != 0 ? gi->base_url : NULL);
			grants_trim_slash(gi->api_url);
			gi->cred_version = json_is_integer(cv) ? json_integer_value(cv) : 0;
			g->ninteg++;
		}
	}
	tools = json_object_get(jg, "tools");
	if (json_is_array(tools) && json_array_size(tools) > 0) {
		size_t n = json_array_size(tools);

		if (n > GRANTS_MAX_TOOLS)
			n = GRANTS_MAX_TOOLS;
		if ((g->tools = calloc(n, sizeof *g->tools)) == NULL)
			return err_set(e, 500, "nomem", "out of memory");
		for (i = 0; i < n; i++) {
			const char *t = json_string_value(json_array_get(tools, i));

			if (t == NULL)
				continue;
			if ((g->tools[g->ntools] = strdup(t)) == NULL)
				return err_set(e, 500, "nomem", "out of memory");
			g->ntools++;
		}
	}
	return 0;
}

struct grantset *
grants_parse(const json_t *answer, const char *key, struct err *e)
{
	struct grantset	*gs;
	json_t		*list;
	const char	*user;
	size_t		 n;

	if ((gs = calloc(1, sizeof *gs)) == NULL) {
		err_set(e, 500, "nomem", "out of memory");
		return NULL;
	}
	snprintf(gs->key, sizeof gs->key, "%s", key != NULL ? key : "");
	if (answer == NULL)
		return gs;	/* member of no tenant */
	user = jsonx_str(answer, "user");
	list = json_object_get(answer, "grants");
	if (user == NULL || !json_is_array(list)) {
		err_set(e, 502, "broker_error", "the broker's grants answer lacks user or grants");
		goto fail;
	}
	if ((gs->user = strdup(user)) == NULL)
		goto nomem;
	n = json_array_size(list);
	if (n > GRANTS_MAX_TENANTS)
		n = GRANTS_MAX_TENANTS;
	if (n > 0 && (gs->g = calloc(n, sizeof *gs->g)) == NULL)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		struct err ge;

		err_clear(&ge);
		if (grants_parse_one(json_array_get(list, i), &gs->g[gs->n], &ge) == -1) {
			if (ge.status == 500) {
				gs->n++;	/* so grants_free() releases the partial one */
				*e = ge;
				goto fail;
			}
			log_warnx("grants: %s: skipping a grant: %s", user, ge.msg);
			grants_clear_one(&gs->g[gs->n]);
			continue;
		}
		gs->n++;
	}
	return gs;
nomem:
	err_set(e, 500, "nomem", "out of memory");
fail:
	grants_free(gs);
	return NULL;
}

/*
 * When a fresh set leaves the cache (expires) and when its background
 * renewal is due (renew_at): grant_renew_margin before the earliest grant
 * expires, served until GRANTS_RENEW_SAFETY_S before it. Grants shorter
 * than the margin are used to the end and never renewed early (a renewal
 * per request would follow), nor is a set whose margin is under the
 * safety: for both renew_at == expires.
 */
static void
grants_expiry(struct grantset *gs, const struct fwdconf *conf, time_t now)
{
	time_t	earliest = 0, renew;

	if (gs->n == 0) {
		gs->expires = gs->renew_at = now + conf->no_tenant_cache_ttl;
		return;
	}
	for (size_t i = 0; i < gs->n; i++)
		if (earliest == 0 || gs->g[i].expires_at < earliest)
			earliest = gs->g[i].expires_at;
	renew = earliest - conf->grant_renew_margin;
	if (renew <= now) {
		gs->expires = gs->renew_at = earliest;
		return;
	}
	gs->renew_at = renew;
	gs->expires = earliest - GRANTS_RENEW_SAFETY_S;
	if (gs->expires < renew)
		gs->expires = renew;
}

/* Under the lock: is gs (cached, unexpired) due for a background renewal
 * that nobody runs and that did not fail within GRANTS_RENEW_RETRY_MS? */
static int
grants_renew_due(const struct grantset *gs, time_t now, long now_ms)
{
	return now >= gs->renew_at && now < gs->expires && !gs->renewing &&
	    (gs->renew_tried_ms == 0 || now_ms - gs->renew_tried_ms >= GRANTS_RENEW_RETRY_MS);
}

void
grants_feed_ok(struct grants_cache *c, long until_ms)
{
	atomic_store(&c->feed_ok_until, until_ms);
}

int
grants_trusted(struct grants_cache *c)
{
	return clock_now_ms() < atomic_load(&c->feed_ok_until);
}

/* Under the lock: a ticket to renew gs in the background, or NULL (no
 * memory: the next request tries again). */
static struct grants_renewal *
grants_renewal_new(struct grantset *gs, const char *assertion, uint64_t gen, long now_ms)
{
	struct grants_renewal *t;

	if ((t = calloc(1, sizeof *t)) == NULL)
		return NULL;
	if ((t->assertion = secret_new(assertion, strlen(assertion))) == NULL) {
		free(t);
		return NULL;
	}
	memcpy(t->key, gs->key, sizeof t->key);
	t->gen = gen;
	t->old = gs;
	gs->refs++;
	gs->renewing = 1;
	gs->renew_tried_ms = now_ms;
	return t;
}

int
grants_get(struct grants_cache *c, const struct fwdconf *conf, const char *assertion,
    struct grantset **out, struct grants_renewal **renew, struct err *e)
{
	char		 key[65];
	struct grantset	*gs;
	json_t		*answer = NULL;
	time_t		 now = time(NULL);
	uint64_t	 gen;
	int		 trusted = grants_trusted(c);

	*out = NULL;
	if (renew != NULL)
		*renew = NULL;
	grants_key(assertion, key);
	pthread_mutex_lock(&c->lock);
	gen = cache_gen(c->sets);
	if (trusted && (gs = cache_get(c->sets, key, now)) != NULL) {
		gs->refs++;
		if (renew != NULL && grants_renew_due(gs, now, clock_now_ms()))
			*renew = grants_renewal_new(gs, assertion, gen, clock_now_ms());
		pthread_mutex_unlock(&c->lock);
		*out = gs;
		return 0;
	}
	pthread_mutex_unlock(&c->lock);

	if (broker_client_grants(c->broker, conf, assertion, &answer, e) == -1)
		return -1;
	gs = grants_parse(answer, key, e);
	json_decref(answer);
	if (gs == NULL)
		return -1;
	gs->cache = c;
	grants_expiry(gs, conf, now);
	gs->refs = 1;
	log_debug("grants: user=%s tenants=%zu cached for %llds, renewed after %llds%s",
	    gs->user != NULL ? gs->user : "-", gs->n, (long long)(gs->expires - now),
	    (long long)(gs->renew_at - now), trusted ? "" : " (feed not current: "
	    "this request only)");

	pthread_mutex_lock(&c->lock);
	cache_remove(c->sets, key, NULL);
	/* Not stored when the feed is not current, or when a drop ran during
	 * the broker call (cache_put() declines: the answer may predate the
	 * change). The table's reference goes back if it declines. */
	if (conf->grant_cache_max > 0 && trusted && grants_trusted(c)) {
		cache_set_max(c->sets, (size_t)conf->grant_cache_max);
		gs->refs++;
		cache_put(c->sets, key, gs, gs->expires, gen);
	}
	pthread_mutex_unlock(&c->lock);
	*out = gs;
	return 0;
}

/* Under the lock: the ticket's end. A renewal that did not store its
 * answer leaves the old set (still valid) to the next request after
 * GRANTS_RENEW_RETRY_MS. */
static void
grants_renewal_end_locked(struct grants_renewal *t, int stored)
{
	if (!stored)
		t->old->renewing = 0;
	grants_unref_locked(t->old);
	secret_free(t->assertion);
	free(t);
}

int
grants_renew(struct grants_cache *c, const struct fwdconf *conf, struct grants_renewal *t)
{
	struct grantset	*gs = NULL;
	json_t		*answer = NULL;
	struct err	 e;
	time_t		 now = time(NULL);
	int		 stored = 0;
	const char	*why = NULL;
	char		 user[128];

	err_clear(&e);
	snprintf(user, sizeof user, "%s", t->old->user != NULL ? t->old->user : "-");
	if (broker_client_grants(c->broker, conf, secret_bytes(t->assertion), &answer,
	    &e) == 0 && (gs = grants_parse(answer, t->key, &e)) != NULL) {
		gs->cache = c;
		grants_expiry(gs, conf, now);
		gs->refs = 1;	/* the table's, if stored */
	}
	json_decref(answer);

	pthread_mutex_lock(&c->lock);
	if (gs == NULL)
		why = e.msg;
	else if (conf->grant_cache_max <= 0 || !grants_trusted(c)) {
		why = "the change feed is not current";
		grants_unref_locked(gs);
	} else {
		cache_set_max(c->sets, (size_t)conf->grant_cache_max);
		/* Declined (and freed) when a drop ran since the ticket was
		 * issued: the answer may predate it, and the drop wins. */
		if ((stored = cache_put(c->sets, t->key, gs, gs->expires, t->gen)) == 0)
			why = "a change-feed drop ran meanwhile";
	}
	grants_renewal_end_locked(t, stored);
	pthread_mutex_unlock(&c->lock);
	if (stored)
		log_debug("grants: user=%s renewed in the background", user);
	else
		log_info("grants: user=%s background renewal not used: %s", user, why);
	return stored;
}

void
grants_renew_abandon(struct grants_cache *c, struct grants_renewal *t)
{
	if (t == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	grants_renewal_end_locked(t, 0);
	pthread_mutex_unlock(&c->lock);
}

void
grants_put(struct grants_cache *c, struct grantset *gs)
{
	if (gs == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	grants_unref_locked(gs);
	pthread_mutex_unlock(&c->lock);
}

void
grants_invalidate(struct grants_cache *c, struct grantset *gs)
{
	pthread_mutex_lock(&c->lock);
	cache_remove(c->sets, gs->key, gs);	/* the table's reference */
	pthread_mutex_unlock(&c->lock);
}

size_t
grants_sweep(struct grants_cache *c, time_t now)
{
	size_t dropped;

	pthread_mutex_lock(&c->lock);
	dropped = cache_sweep(c->sets, now) + creds_sweep(c->creds, now);
	pthread_mutex_unlock(&c->lock);
	return dropped;
}

/* Does the drop set name this grant set? */
static int
grants_named(const char *key, void *val, void *arg)
{
	const struct dropset	*d = arg;
	const struct grantset	*gs = val;

	(void)key;
	if (dropset_has(d, 'U', gs->user, NULL))
		return 1;
	for (size_t i = 0; i < gs->n; i++)
		if (dropset_has(d, 'S', gs->g[i].tenant, NULL) ||
		    dropset_has(d, 'J', gs->g[i].jti, NULL))
			return 1;
	return 0;
}

size_t
grants_drop(struct grants_cache *c, const struct dropset *d)
{
	size_t dropped = 0;

	if (dropset_empty(d))
		return 0;
	/* Credentials and sets under one lock: no request sees one dropped
	 * and not the other. */
	pthread_mutex_lock(&c->lock);
	dropped += creds_drop(c->creds, d);
	if (d->all || d->all_sets)
		dropped += cache_flush(c->sets);
	else
		dropped += cache_drop_if(c->sets, grants_named, (void *)d);
	pthread_mutex_unlock(&c->lock);
	return dropped;
}

static size_t
grants_size(struct grants_cache *c, int creds)
{
	size_t n;

	pthread_mutex_lock(&c->lock);
	n = creds ? creds_count(c->creds) : cache_count(c->sets);
	pthread_mutex_unlock(&c->lock);
	return n;
}

size_t
grants_count(struct grants_cache *c)
{
	return grants_size(c, 0);
}

size_t
grants_cred_count(struct grants_cache *c)
{
	return grants_size(c, 1);
}

const struct grant *
grants_find(const struct grantset *gs, const char *tenant)
{
	for (size_t i = 0; i < gs->n; i++)
		if (strcmp(gs->g[i].tenant, tenant) == 0)
			return &gs->g[i];
	return NULL;
}

struct grant_integ *
grants_integration(const struct grant *g, const char *kind)
{
	for (size_t i = 0; i < g->ninteg; i++)
		if (strcmp(g->integ[i].kind, kind) == 0)
			return &g->integ[i];
	return NULL;
}

struct grant_integ *
grants_integration_named(const struct grant *g, const char *name)
{
	for (size_t i = 0; i < g->ninteg; i++)
		if (strcmp(g->integ[i].name, name) == 0)
			return &g->integ[i];
	return NULL;
}

int
grants_has_tool(const struct grant *g, const char *tool)
{
	for (size_t i = 0; i < g->ntools; i++)
		if (strcmp(g->tools[i], tool) == 0)
			return 1;
	return 0;
}

const char *
grants_request_url(const struct grant_integ *gi)
{
	return gi->api_url != NULL ? gi->api_url : gi->base_url;
}

/* Equal but for trailing slashes. */
static int
grants_same_url(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	while (la > 0 && a[la - 1] == '/')
		la--;
	while (lb > 0 && b[lb - 1] == '/')
		lb--;
	return la == lb && strncmp(a, b, la) == 0;
}

/* Both absent (NULL or ""), or equal but for trailing slashes. */
static int
grants_same_opt_url(const char *a, const char *b)
{
	int	na = a == NULL || *a == '\0', nb = b == NULL || *b == '\0';

	if (na || nb)
		return na && nb;
	return grants_same_url(a, b);
}

/* Build the header line from a redeem answer's "credential" object. */
static secret_t *
grants_cred_header(const struct grant *g, const struct grant_integ *gi, const json_t *cred,
    struct err *e)
{
	const char	*email = jsonx_str(cred, "email"), *tok = jsonx_str(cred, "api_token");
	const char	*hname = jsonx_str(cred, "header"), *hval = jsonx_str(cred, "value");
	secret_t	*pw, *line = NULL;

	const char	*key = jsonx_str(cred, "api_key");

	if (strcmp(gi->cred_kind, "service_account") == 0) {
		/* A service-account key has no email: Bearer, for the REST
		 * gateway and Atlassian's Remote MCP server alike. */
		if (key != NULL)
			line = secret_header_bytes("Authorization", "Bearer", key, strlen(key));
	} else if (strcmp(gi->kind, "mcp") == 0) {
		if (hname != NULL && hval != NULL)
			line = secret_header_bytes(hname, NULL, hval, strlen(hval));
		else if (email != NULL && tok != NULL &&
		    (pw = secret_new(tok, strlen(tok))) != NULL) {
			/* Atlassian's Remote MCP server with an API token. */
			line = secret_header_basic(email, pw);
			secret_free(pw);
		} else if (!json_is_object(cred) || json_object_size(cred) == 0) {
			/* No stored secret: the backend verifies our grant (JWKS). */
			line = secret_header("Authorization", "Bearer", g->token);
		}
	} else if (email != NULL && tok != NULL && (pw = secret_new(tok, strlen(tok))) != NULL) {
		line = secret_header_basic(email, pw);
		secret_free(pw);
	}
	if (line == NULL)
		err_set(e, 502, "bad_credential", "the credential stored for %s/%s has the wrong "
		    "shape for a %s integration", g->tenant, gi->name, gi->kind);
	return line;
}

static void
grants_ckey(const struct grant *g, const struct grant_integ *gi, struct creds_key *k)
{
	k->jti = g->jti;
	k->integ = gi->name;
	k->grant_hash = g->hash;
}

secret_t *
grants_credential(struct grants_cache *c, const struct fwdconf *conf, struct grantset *gs,
    const struct grant *g, struct grant_integ *gi, struct err *e)
{
	json_t		*answer = NULL;
	secret_t	*line, *out = NULL;
	const char	*tenant, *integ, *url;
	json_t		*cv, *exp;
	time_t		 now = time(NULL), cred_exp;
	long long	 version;
	struct creds_key k;
	uint64_t	 gen;
	int		 trusted = grants_trusted(c);

	grants_ckey(g, gi, &k);
	pthread_mutex_lock(&c->lock);
	gen = creds_gen(c->creds);
	if (trusted)
		out = creds_get(c->creds, &k, now, NULL);
	pthread_mutex_unlock(&c->lock);
	if (out != NULL)
		return out;
	if (g->expires_at <= now) {
		err_set(e, 401, "grant_invalid", "the grant for tenant '%s' has expired", g->tenant);
		return NULL;
	}
	/* No lock held: parallel calls for one grant may each redeem; the
	 * last answer stays cached. */
	if (broker_client_redeem(c->broker, conf, g->token, gi->name, &answer, e) == -1)
		return NULL;
	tenant = jsonx_str(answer, "tenant");
	integ = jsonx_str(answer, "integration");
	url = jsonx_str(answer, "base_url");
	cv = json_object_get(answer, "cred_version");
	exp = json_object_get(answer, "expires_at");
	if (tenant == NULL || strcmp(tenant, g->tenant) != 0 || integ == NULL ||
	    strcmp(integ, gi->name) != 0) {
		err_set(e, 502, "broker_error", "the broker redeemed a credential for another "
		    "tenant or integration; refused");
	} else if ((url != NULL && !grants_same_url(url, gi->base_url)) ||
	    !grants_same_opt_url(jsonx_str(answer, "api_url"), gi->api_url)) {
		/* The credential may only go to the URL the grant named. */
		err_set(e, 502, "broker_error", "the broker named a different base URL for "
		    "%s/%s than the grant did; refused", g->tenant, gi->name);
	} else if (jsonx_str(answer, "cred_kind") != NULL &&
	    strcmp(jsonx_str(answer, "cred_kind"), gi->cred_kind) != 0) {
		/* The header shape must be the one the grant named. */
		err_set(e, 502, "broker_error", "the broker named a different credential kind "
		    "for %s/%s than the grant did; refused", g->tenant, gi->name);
	} else if ((line = grants_cred_header(g, gi, json_object_get(answer, "credential"),
	    e)) != NULL) {
		cred_exp = g->expires_at;
		if (json_is_integer(exp) && json_integer_value(exp) > 0 &&
		    json_integer_value(exp) < (json_int_t)cred_exp)
			cred_exp = (time_t)json_integer_value(exp);
		version = json_is_integer(cv) ? json_integer_value(cv) : 0;
		if (version != gi->cred_version)
			log_info("grants: %s/%s: credential version %lld (grant named %lld)",
			    g->tenant, gi->name, version, gi->cred_version);
		/* Stored only while the feed is current (else per call). */
		if (trusted && grants_trusted(c)) {
			pthread_mutex_lock(&c->lock);
			creds_put(c->creds, (size_t)conf->credential_cache_max, gen, &k, gs->user,
			    g->tenant, line, cred_exp, version);
			pthread_mutex_unlock(&c->lock);
		}
		out = line;
	}
	json_decref(answer);
	return out;
}

/* The credential key of gi, an integration of one of gs's grants; 0 when
 * gs is not a cached set or gi is not among its grants. */
static int
grants_gi_key(const struct grantset *gs, const struct grant_integ *gi, struct creds_key *k)
{
	for (size_t i = 0; gs->cache != NULL && i < gs->n; i++) {
		const struct grant *g = &gs->g[i];

		if (gi >= g->integ && gi < g->integ + g->ninteg) {
			grants_ckey(g, gi, k);
			return 1;
		}
	}
	return 0;
}

long long
grants_cred_version(struct grantset *gs, const struct grant_integ *gi)
{
	struct creds_key	k;
	long long		v;

	if (!grants_gi_key(gs, gi, &k))
		return 0;
	pthread_mutex_lock(&gs->cache->lock);
	v = creds_version(gs->cache->creds, &k);
	pthread_mutex_unlock(&gs->cache->lock);
	return v;
}

void
grants_drop_credential(struct grantset *gs, struct grant_integ *gi)
{
	struct creds_key k;

	if (!grants_gi_key(gs, gi, &k))
		return;
	pthread_mutex_lock(&gs->cache->lock);
	creds_remove(gs->cache->creds, &k);
	pthread_mutex_unlock(&gs->cache->lock);
}
