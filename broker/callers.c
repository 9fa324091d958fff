/*
 * callers: authenticate forwarders by client secret or TokenReview.
 *
 * The TokenReview path faces anyone who can reach the broker, so it must
 * not become a way to load the Kubernetes API or to learn from it:
 *  - only a JWT-shaped service-account token (asymmetric alg, sub
 *    "system:serviceaccount:NS:NAME" naming an allowed account, not
 *    expired) is ever sent; user tokens and garbage are refused locally;
 *  - a refused token is remembered (negative cache, bounded, by digest),
 *    so repeating it costs nothing; both caches are common/cache under
 *    the one lock that also guards the review bucket;
 *  - new tokens are reviewed at most callers_review_rate per second (burst
 *    twice that) and at most CALLERS_REVIEW_INFLIGHT at a time, so garbage
 *    can never tie up every worker for the review timeout; beyond: 429;
 *  - the caller gets a generic message; TokenReview's own text goes to the
 *    log only.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "b64url.h"
#include "broker.h"
#include "cache.h"
#include "callers.h"
#include "clock.h"
#include "config.h"
#include "err.h"
#include "httpc.h"
#include "jsonx.h"
#include "log.h"
#include "secret.h"

#define CALLERS_SECRET_MAX	4096
#define CALLERS_TOKEN_MAX	16384
#define CALLERS_CACHE		32
#define CALLERS_CACHE_TTL	60	/* seconds a positive review is reused */
#define CALLERS_NEG_CACHE	256	/* refused token digests remembered */
#define CALLERS_NEG_TTL		60	/* seconds a refusal is remembered */
#define CALLERS_REVIEW_INFLIGHT	2	/* concurrent TokenReview calls */
#define CALLERS_REVIEW_TIMEOUT_MS 3000
#define CALLERS_SA_PREFIX	"system:serviceaccount:"

struct callers {
	secret_t		*client_secret;
	char			*review_url;
	char			*review_token_file;
	char			**allowed;
	char			*audience;	/* NULL: any audience */
	pthread_mutex_t		 lock;
	/* Keyed by the hex SHA-256 of the token: who it was (reviewed and
	 * allowed), or the refusal's code. */
	struct cache		*seen;
	struct cache		*refused;
	/* Token bucket for reviews of tokens not seen before, under lock. */
	int			 rate;		/* per second */
	double			 bucket;
	long			 bucket_ms;
	int			 inflight;
};

const char *
callers_bearer(const char *authorization)
{
	if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
		return NULL;
	authorization += 7;
	while (*authorization == ' ')
		authorization++;
	return *authorization != '\0' ? authorization : NULL;
}

static char **
callers_strv_dup(char *const *v)
{
	size_t	  n = 0;
	char	**out;

	while (v != NULL && v[n] != NULL)
		n++;
	if ((out = calloc(n + 1, sizeof *out)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		out[i] = strdup(v[i]);
	return out;
}

struct callers *
callers_new(const struct broker_cfg *cfg, struct err *e)
{
	struct callers *c;

	if (cfg->callers_secret_file == NULL && cfg->callers_tokenreview_url == NULL) {
		err_set(e, 500, "bad_config", "no way for forwarders to authenticate: set "
		    "callers_secret_file or callers_tokenreview_url");
		return NULL;
	}
	if (cfg->callers_tokenreview_url != NULL &&
	    (cfg->callers_allowed == NULL || cfg->callers_allowed[0] == NULL)) {
		err_set(e, 500, "bad_config", "callers_tokenreview_url needs callers_allowed");
		return NULL;
	}
	if ((c = calloc(1, sizeof *c)) == NULL) {
		err_set(e, 500, "nomem", "out of memory");
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	if ((c->seen = cache_new(CALLERS_CACHE, free)) == NULL ||
	    (c->refused = cache_new(CALLERS_NEG_CACHE, free)) == NULL) {
		callers_free(c);
		err_set(e, 500, "nomem", "out of memory");
		return NULL;
	}
	if (cfg->callers_secret_file != NULL &&
	    (c->client_secret = secret_from_file(cfg->callers_secret_file, CALLERS_SECRET_MAX,
	    e)) == NULL) {
		callers_free(c);
		return NULL;
	}
	if (cfg->callers_tokenreview_url != NULL) {
		c->review_url = strdup(cfg->callers_tokenreview_url);
		c->review_token_file = strdup(cfg->callers_tokenreview_token_file != NULL ?
		    cfg->callers_tokenreview_token_file : cfg->vault_sa_token_file);
		c->allowed = callers_strv_dup(cfg->callers_allowed);
		c->rate = cfg->callers_review_rate > 0 ? cfg->callers_review_rate : 5;
		c->bucket = 2.0 * c->rate;
		c->bucket_ms = clock_now_ms();
		if (cfg->callers_audience != NULL && cfg->callers_audience[0] != '\0')
			c->audience = strdup(cfg->callers_audience);
	}
	return c;
}

void
callers_free(struct callers *c)
{
	if (c == NULL)
		return;
	secret_free(c->client_secret);
	free(c->review_url);
	free(c->review_token_file);
	free(c->audience);
	for (size_t i = 0; c->allowed != NULL && c->allowed[i] != NULL; i++)
		free(c->allowed[i]);
	free(c->allowed);
	pthread_mutex_destroy(&c->lock);
	cache_free(c->seen);
	cache_free(c->refused);
	free(c);
}

/* Hex SHA-256 of the token into out[65]: the caches' key. The cache
 * compares keys with strcmp; how much of a digest matched says nothing
 * usable about any token, so no constant-time compare is needed. */
static void
callers_digest(const char *token, char *out)
{
	unsigned char	md[32];
	unsigned int	len = 32;

	EVP_Digest(token, strlen(token), md, &len, EVP_sha256(), NULL);
	for (unsigned int i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	secret_wipe(md, sizeof md);
}

static int
callers_allowed_sa(struct callers *c, const char *username, char *who, size_t wholen)
{
	const char	*prefix = "system:serviceaccount:";
	char		 nsname[256], *colon;

	if (strncmp(username, prefix, strlen(prefix)) != 0)
		return 0;
	snprintf(nsname, sizeof nsname, "%s", username + strlen(prefix));
	if ((colon = strchr(nsname, ':')) == NULL)
		return 0;
	*colon = '/';
	for (size_t i = 0; c->allowed[i] != NULL; i++) {
		if (strcmp(c->allowed[i], nsname) == 0) {
			snprintf(who, wholen, "%s", nsname);
			return 1;
		}
	}
	return 0;
}

/* Ask the Kubernetes API whether this service-account token is genuine. */
static int
callers_review(struct callers *c, const char *token, char *who, size_t wholen,
    struct err *e)
{
	char			 url[1024], *body = NULL;
	secret_t		*reviewer = NULL, *hdr = NULL;
	struct httpc_req	 req = { 0 };
	struct httpc_resp	 resp = { 0 };
	json_t			*j = NULL, *doc;
	const char		*user = NULL, *why;
	int			 rc = -1, ok = 0;

	snprintf(url, sizeof url, "%s/apis/authentication.k8s.io/v1/tokenreviews", c->review_url);
	/* With an audience, a token the forwarder got for some other service
	 * cannot be replayed here: the API server checks it is ours. */
	doc = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "authentication.k8s.io/v1",
	    "kind", "TokenReview", "spec", "token", token);
	if (doc != NULL && c->audience != NULL)
		json_object_set_new(json_object_get(doc, "spec"), "audiences",
		    json_pack("[s]", c->audience));
	body = jsonx_dump(doc);
	json_decref(doc);
	if (body == NULL)
		return err_set(e, 500, "nomem", "out of memory");
	if ((reviewer = secret_from_file(c->review_token_file, CALLERS_TOKEN_MAX, e)) == NULL) {
		err_prefix(e, "TokenReview credential");
		goto out;
	}
	if ((hdr = secret_header("Authorization", "Bearer", reviewer)) == NULL)
		goto out;
	req.method = "POST";
	req.url = url;
	req.body = body;
	req.body_len = strlen(body);
	req.secret_header = hdr;
	req.timeout_ms = CALLERS_REVIEW_TIMEOUT_MS;
	if (httpc_do(&req, &resp, e) == -1) {
		err_prefix(e, "cannot reach the TokenReview API");
		e->status = 503;
		snprintf(e->code, sizeof e->code, "tokenreview_unavailable");
		goto out;
	}
	if (resp.status != 200 && resp.status != 201) {
		err_set(e, 503, "tokenreview_unavailable", "the TokenReview API answered %ld",
		    resp.status);
		goto out;
	}
	if ((j = jsonx_parse_object(resp.body, resp.len, e)) == NULL)
		goto out;
	ok = json_is_true(json_object_get(json_object_get(j, "status"), "authenticated"));
	user = jsonx_str(json_object_get(json_object_get(j, "status"), "user"), "username");
	if (!ok || user == NULL) {
		why = jsonx_str(json_object_get(j, "status"), "error");
		/* TokenReview's text is for our log, never for the caller. */
		log_warnx("callers: TokenReview refused a token: %.200s",
		    why != NULL ? why : "not authenticated");
		err_set(e, 401, "caller_unauthenticated",
		    "the caller's service-account token was not accepted");
		goto out;
	}
	if (c->audience != NULL && !jsonx_array_has(json_object_get(json_object_get(j, "status"),
	    "audiences"), c->audience)) {
		err_set(e, 401, "caller_unauthenticated", "the caller's service-account token "
		    "was not issued for audience '%s'", c->audience);
		goto out;
	}
	if (!callers_allowed_sa(c, user, who, wholen)) {
		err_set(e, 401, "caller_not_allowed", "service account %s is not in callers_allowed",
		    user);
		goto out;
	}
	rc = 0;
out:
	json_decref(j);
	httpc_resp_free(&resp);
	secret_free(hdr);
	secret_free(reviewer);
	secret_free_str(body);
	return rc;
}

/* A base64url JSON object segment of a JWT, or NULL. */
static json_t *
callers_segment(const char *p, size_t n)
{
	unsigned char	*raw;
	size_t		 len;
	json_t		*j;

	if (n == 0 || (raw = b64url_decode(p, n, &len)) == NULL)
		return NULL;
	j = json_loadb((const char *)raw, len, 0, NULL);
	free(raw);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

/*
 * Is `token` worth asking the Kubernetes API about? Three base64url
 * segments, an asymmetric alg (service-account tokens are RS256 or ES256;
 * HS256 is Open WebUI's, "none" nobody's), an unexpired payload whose sub
 * names a service account. Fills nsname ("ns/name", unverified) on 1.
 */
int
callers_sa_shaped(const char *token, time_t now, char *nsname, size_t nslen)
{
	const char	*d1, *d2, *alg, *sub, *colon;
	json_t		*h = NULL, *p = NULL, *exp;
	size_t		 i, n = strlen(token);
	int		 ok = 0;

	for (i = 0; i < n; i++)
		if (!(token[i] == '.' || token[i] == '-' || token[i] == '_' ||
		    (token[i] >= '0' && token[i] <= '9') || (token[i] >= 'a' && token[i] <= 'z') ||
		    (token[i] >= 'A' && token[i] <= 'Z')))
			return 0;
	if ((d1 = strchr(token, '.')) == NULL || (d2 = strchr(d1 + 1, '.')) == NULL ||
	    strchr(d2 + 1, '.') != NULL || d2[1] == '\0')
		return 0;
	if ((h = callers_segment(token, (size_t)(d1 - token))) == NULL ||
	    (p = callers_segment(d1 + 1, (size_t)(d2 - d1 - 1))) == NULL)
		goto out;
	alg = jsonx_str(h, "alg");
	if (alg == NULL || strlen(alg) != 5 || strspn(alg + 2, "0123456789") != 3 ||
	    (strncmp(alg, "RS", 2) != 0 && strncmp(alg, "ES", 2) != 0 &&
	    strncmp(alg, "PS", 2) != 0))
		goto out;
	exp = json_object_get(p, "exp");
	if (!json_is_number(exp) || json_number_value(exp) <= (double)now)
		goto out;
	sub = jsonx_str(p, "sub");
	if (sub == NULL || strncmp(sub, CALLERS_SA_PREFIX, strlen(CALLERS_SA_PREFIX)) != 0)
		goto out;
	sub += strlen(CALLERS_SA_PREFIX);
	if ((colon = strchr(sub, ':')) == NULL || colon == sub || colon[1] == '\0' ||
	    strchr(colon + 1, ':') != NULL || strlen(sub) >= nslen)
		goto out;
	snprintf(nsname, nslen, "%.*s/%s", (int)(colon - sub), sub, colon + 1);
	ok = 1;
out:
	json_decref(h);
	json_decref(p);
	return ok;
}

static int
callers_in_list(struct callers *c, const char *nsname)
{
	for (size_t i = 0; c->allowed[i] != NULL; i++)
		if (strcmp(c->allowed[i], nsname) == 0)
			return 1;
	return 0;
}

/* A review slot: a token from the bucket and one of the in-flight places. */
static int
callers_review_begin(struct callers *c)
{
	long	now = clock_now_ms();
	int	ok = 0;

	pthread_mutex_lock(&c->lock);
	c->bucket += (double)(now - c->bucket_ms) * c->rate / 1000.0;
	if (c->bucket > 2.0 * c->rate)
		c->bucket = 2.0 * c->rate;
	c->bucket_ms = now;
	if (c->bucket >= 1.0 && c->inflight < CALLERS_REVIEW_INFLIGHT) {
		c->bucket -= 1.0;
		c->inflight++;
		ok = 1;
	}
	pthread_mutex_unlock(&c->lock);
	return ok;
}

static void
callers_review_end(struct callers *c)
{
	pthread_mutex_lock(&c->lock);
	c->inflight--;
	pthread_mutex_unlock(&c->lock);
}

/* A copy of what cache holds for digest while unexpired: 1 and out
 * filled, else 0. */
static int
callers_cached(struct callers *c, struct cache *cache, const char *digest, time_t now,
    char *out, size_t outlen)
{
	const char	*v;
	int		 hit = 0;

	pthread_mutex_lock(&c->lock);
	if ((v = cache_get(cache, digest, now)) != NULL) {
		snprintf(out, outlen, "%s", v);
		hit = 1;
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

/* Remember for ttl seconds. Least recently used out: a flood of distinct
 * garbage only evicts garbage (and costs the flooder the rate limit, not
 * us a review each). */
static void
callers_remember(struct callers *c, struct cache *cache, const char *digest, time_t until,
    const char *what)
{
	char *v = strdup(what);

	if (v == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	cache_put(cache, digest, v, until, cache_gen(cache));
	pthread_mutex_unlock(&c->lock);
}

static int
callers_refuse(struct err *e, const char *code)
{
	if (strcmp(code, "caller_not_allowed") == 0)
		return err_set(e, 401, code,
		    "this service account is not allowed to call the broker");
	return err_set(e, 401, "caller_unauthenticated", "caller credential not accepted");
}

int
callers_check(struct callers *c, const char *authorization, char *who, size_t wholen,
    struct err *e)
{
	const char	*token = callers_bearer(authorization);
	char		 digest[65], nsname[256], code[32];
	time_t		 now = time(NULL);
	struct err	 re;

	if (token == NULL)
		return err_set(e, 401, "caller_unauthenticated",
		    "the broker needs the caller's credential in Authorization: Bearer");
	if (strlen(token) > CALLERS_TOKEN_MAX)
		return err_set(e, 401, "caller_unauthenticated", "caller credential too long");
	if (c->client_secret != NULL && secret_eq(c->client_secret, token, strlen(token))) {
		snprintf(who, wholen, "client-secret");
		return 0;
	}
	if (c->review_url == NULL)
		return err_set(e, 401, "caller_unauthenticated", "caller credential not accepted");
	/* Only a service-account token of an allowed account goes out. */
	if (!callers_sa_shaped(token, now, nsname, sizeof nsname)) {
		log_warnx("callers: credential is not an unexpired service-account JWT; "
		    "not sent to TokenReview");
		return callers_refuse(e, "caller_unauthenticated");
	}
	if (!callers_in_list(c, nsname)) {
		log_warnx("callers: service account %s is not in callers_allowed", nsname);
		return callers_refuse(e, "caller_not_allowed");
	}

	callers_digest(token, digest);
	if (callers_cached(c, c->seen, digest, now, who, wholen))
		return 0;
	if (callers_cached(c, c->refused, digest, now, code, sizeof code)) {
		metrics_inc(&broker_metrics[BM_CALLERS_NEG_HITS]);
		return callers_refuse(e, code);
	}
	if (!callers_review_begin(c)) {
		metrics_inc(&broker_metrics[BM_CALLERS_LIMITED]);
		log_warnx("callers: TokenReview rate limit reached (%d/s, %d in flight)",
		    c->rate, CALLERS_REVIEW_INFLIGHT);
		return err_set(e, 429, "caller_check_limited", "too many new caller credentials "
		    "to check right now; try again in a second");
	}
	metrics_inc(&broker_metrics[BM_CALLERS_REVIEWS]);
	err_clear(&re);
	if (callers_review(c, token, who, wholen, &re) == -1) {
		callers_review_end(c);
		if (re.status == 401) {
			log_warnx("callers: %s", re.msg);
			callers_remember(c, c->refused, digest, now + CALLERS_NEG_TTL, re.code);
			return callers_refuse(e, re.code);
		}
		log_warnx("callers: TokenReview failed: %s", re.msg);
		return err_set(e, 503, "caller_check_unavailable",
		    "the broker cannot check the caller's credential right now; try again shortly");
	}
	callers_review_end(c);
	callers_remember(c, c->seen, digest, now + CALLERS_CACHE_TTL, who);
	return 0;
}
