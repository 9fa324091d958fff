/*
 * identity: verifies user assertions. Owns the routing by header alg (the
 * HS256 Open WebUI key and the IdP's RS/ES keys never share a key set, so
 * neither can stand in for the other), the JWKS cache and its refresh
 * policy, and the mapping of verified claims to a struct identity.
 *
 * JWKS cache: a refcounted, immutable key set swapped under `mu`. A
 * request never fetches: the broker's janitor calls identity_refresh()
 * every few seconds and it fetches when due (every jwks_refresh_s; after a
 * failure no sooner than 10 s later). A request that has no set, or meets
 * an unknown kid (IdP key rollover; at most once per 30 s), asks the
 * refresher and waits a bounded time for that fetch's result; concurrent
 * askers share one fetch. A failed refresh keeps the old set.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "clock.h"
#include "email.h"
#include "err.h"
#include "httpc.h"
#include "identity.h"
#include "jsonx.h"
#include "jwk.h"
#include "jwt.h"
#include "log.h"

#define IDENTITY_SKEW_DEFAULT		60
#define IDENTITY_REFRESH_DEFAULT	300
#define IDENTITY_KID_REFRESH_S		30	/* unknown kid: refresh at most this often */
#define IDENTITY_RETRY_S		10	/* after a failed fetch */
#define IDENTITY_FETCH_TIMEOUT_MS	5000
/* How long a request waits for a fetch it asked for: one attempt of the
 * JWKS document (a discovery first may make it miss; it then gets 503). */
#define IDENTITY_ASK_WAIT_MS		IDENTITY_FETCH_TIMEOUT_MS
#define IDENTITY_FETCH_MAX		(512 * 1024)
#define IDENTITY_DISCOVERY		"/.well-known/openid-configuration"

struct keyset {
	int		 refs;		/* under idv.mu */
	struct jwt_key	*keys;
	size_t		 n;
};

struct idv {
	/* Immutable after identity_new(). */
	char		*issuer;
	char		*audience;
	char		*jwks_url;	/* configured, or NULL */
	char		*ca_file;
	char		*email_claim;
	char		*groups_claim;
	char		*owui_issuer;
	secret_t	*owui_secret;
	struct jwt_key	 owui_key;	/* HS256, pinned */
	int		 alg_ok[3];	/* by enum jwt_alg_pin */
	long		 skew_s;
	long		 refresh_s;
	size_t		 max_len;
	enum email_mode	 email_mode;
	int		 require_email_verified;
	struct identity_hooks hooks;
	void		(*ask)(void *);	/* the refresher; NULL = none */
	void		*ask_arg;
	_Atomic int	 refs;		/* identity_hold() */

	pthread_mutex_t	 fetch_mu;	/* one fetch at a time */
	char		*jwks_uri;	/* discovered; under fetch_mu */

	pthread_mutex_t	 mu;
	pthread_cond_t	 done;		/* gen moved; CLOCK_MONOTONIC */
	struct keyset	*ks;		/* current set or NULL */
	unsigned long	 gen;		/* fetch attempts finished */
	int		 fetching;	/* an attempt is under way */
	int		 asked;		/* a request wants a fetch now */
	time_t		 fetched_at;	/* last success */
	time_t		 attempt_at;	/* last attempt, 0 = never */
	time_t		 forced_at;	/* last unknown-kid refresh, 0 = never */
	char		 last_error[ERR_MSG_MAX];
};

static time_t
identity_now(struct idv *v)
{
	return v->hooks.now != NULL ? v->hooks.now(v->hooks.arg) : time(NULL);
}

/* GET url with httpc; the IdP's documents are public, but bounded. */
static int
identity_fetch_httpc(void *arg, const char *url, char **body, size_t *len, struct err *e)
{
	static const char *const hdrs[] = { "Accept: application/json", NULL };
	struct idv		*v = arg;
	struct httpc_req	 req = {
		.method = "GET", .url = url, .headers = hdrs,
		.timeout_ms = IDENTITY_FETCH_TIMEOUT_MS, .retries = 1,
		.max_response = IDENTITY_FETCH_MAX, .ca_file = v->ca_file,
	};
	struct httpc_resp	 resp;
	char			 origin[128];
	int			 rc = -1;

	if (httpc_do(&req, &resp, e) == 0) {
		if (resp.status != 200)
			err_set(e, 502, "jwks_fetch", "GET %s: HTTP %ld",
			    httpc_url_origin(url, origin, sizeof origin), resp.status);
		else if ((*body = malloc(resp.len + 1)) == NULL)
			err_set(e, 500, "nomem", "out of memory");
		else {
			memcpy(*body, resp.body, resp.len);
			(*body)[resp.len] = '\0';
			*len = resp.len;
			rc = 0;
		}
	}
	httpc_resp_free(&resp);
	return rc;
}

static int
identity_get(struct idv *v, const char *url, char **body, size_t *len, struct err *e)
{
	*body = NULL;
	*len = 0;
	if (v->hooks.fetch != NULL)
		return v->hooks.fetch(v->hooks.arg, url, body, len, e);
	return identity_fetch_httpc(v, url, body, len, e);
}

static void
keyset_unref(struct idv *v, struct keyset *ks)
{
	int last;

	if (ks == NULL)
		return;
	pthread_mutex_lock(&v->mu);
	last = --ks->refs == 0;
	pthread_mutex_unlock(&v->mu);
	if (last) {
		jwk_set_free(ks->keys, ks->n);
		free(ks);
	}
}

/* Install a parsed key set as current (takes the keys). */
static int
keyset_install(struct idv *v, struct jwt_key *keys, size_t n, struct err *e)
{
	struct keyset *ks, *old;

	if ((ks = calloc(1, sizeof *ks)) == NULL) {
		jwk_set_free(keys, n);
		return err_set(e, 500, "nomem", "out of memory");
	}
	ks->refs = 1;
	ks->keys = keys;
	ks->n = n;
	pthread_mutex_lock(&v->mu);
	old = v->ks;
	v->ks = ks;
	v->fetched_at = identity_now(v);
	pthread_mutex_unlock(&v->mu);
	keyset_unref(v, old);
	return 0;
}

/* <issuer>/.well-known/openid-configuration -> jwks_uri (OIDC Discovery
 * 1.0 section 4: the document's issuer must be ours). */
static int
identity_discover(struct idv *v, struct err *e)
{
	json_t		*doc;
	const char	*iss, *uri;
	char		*url, *body;
	size_t		 n, len;
	int		 rc = -1;

	n = strlen(v->issuer);
	while (n > 0 && v->issuer[n - 1] == '/')
		n--;
	if ((url = malloc(n + sizeof IDENTITY_DISCOVERY)) == NULL)
		return err_set(e, 500, "nomem", "out of memory");
	memcpy(url, v->issuer, n);
	memcpy(url + n, IDENTITY_DISCOVERY, sizeof IDENTITY_DISCOVERY);
	if (identity_get(v, url, &body, &len, e) == -1) {
		free(url);
		return err_prefix(e, "OIDC discovery");
	}
	free(url);
	doc = json_loadb(body, len, 0, NULL);
	free(body);
	iss = jsonx_str(doc, "issuer");
	uri = jsonx_str(doc, "jwks_uri");
	if (iss == NULL || strcmp(iss, v->issuer) != 0)
		err_set(e, 502, "jwks_fetch",
		    "OIDC discovery: not a discovery document for issuer %s", v->issuer);
	else if (uri == NULL || (strncmp(uri, "https://", 8) != 0 &&
	    strncmp(uri, "http://", 7) != 0))
		err_set(e, 502, "jwks_fetch", "OIDC discovery: no usable jwks_uri");
	else if ((v->jwks_uri = strdup(uri)) == NULL)
		err_set(e, 500, "nomem", "out of memory");
	else
		rc = 0;
	json_decref(doc);
	return rc;
}

static int
identity_fetch_jwks(struct idv *v, struct err *e)
{
	struct jwt_key	*keys;
	const char	*url;
	char		*body;
	size_t		 len, n;
	int		 rc;

	if (v->jwks_url == NULL && v->jwks_uri == NULL && identity_discover(v, e) == -1)
		return -1;
	url = v->jwks_url != NULL ? v->jwks_url : v->jwks_uri;
	if (identity_get(v, url, &body, &len, e) == -1) {
		/* Discover again next time: the IdP may have moved its keys. */
		free(v->jwks_uri);
		v->jwks_uri = NULL;
		return err_prefix(e, "JWKS");
	}
	rc = jwk_set_parse(body, len, &keys, &n, e);
	free(body);
	if (rc == -1)
		return -1;
	log_info("jwks: %zu keys from %s", n, v->issuer);
	return keyset_install(v, keys, n, e);
}

/* Wait (v->mu held) until fetch generation until_gen has finished, at
 * most IDENTITY_ASK_WAIT_MS. */
static void
identity_wait(struct idv *v, unsigned long until_gen)
{
	struct timespec	 until;

	clock_deadline(CLOCK_MONOTONIC, IDENTITY_ASK_WAIT_MS, &until);
	while ((long)(v->gen - until_gen) < 0 &&
	    pthread_cond_timedwait(&v->done, &v->mu, &until) == 0)
		;
}

/*
 * The key set to verify with (a reference; keyset_unref() it). force: an
 * unknown kid asks for a fetch now. Asking hands the fetch to the
 * refresher; this thread only waits for its result.
 */
static struct keyset *
identity_keys(struct idv *v, int force, struct err *e)
{
	struct keyset	*ks;
	time_t		 now = identity_now(v);
	int		 ask;

	pthread_mutex_lock(&v->mu);
	if (force)
		ask = v->forced_at == 0 || now - v->forced_at >= IDENTITY_KID_REFRESH_S;
	else
		ask = v->ks == NULL &&
		    (v->attempt_at == 0 || now - v->attempt_at >= IDENTITY_RETRY_S);
	if (ask && force)
		v->forced_at = now;
	if (ask && v->ask != NULL) {
		/* Counted before asking: the fetch may finish before we wait.
		 * One under way may predate the ask (and miss the new key):
		 * then the one after it. */
		unsigned long until_gen = v->gen + (v->fetching ? 2 : 1);

		v->asked = 1;
		pthread_mutex_unlock(&v->mu);
		v->ask(v->ask_arg);
		pthread_mutex_lock(&v->mu);
		identity_wait(v, until_gen);
	}
	if ((ks = v->ks) != NULL)
		ks->refs++;
	else
		err_set(e, 503, "jwks_unavailable",
		    "the identity provider's keys are not available: %s",
		    v->last_error[0] != '\0' ? v->last_error :
		    v->fetching ? "still being fetched" : "not fetched yet");
	pthread_mutex_unlock(&v->mu);
	return ks;
}

int
identity_refresh(struct idv *v)
{
	struct err	 fe;
	unsigned long	 gen;
	time_t		 now = identity_now(v);
	int		 due, have;

	if (v == NULL || v->issuer == NULL)
		return 0;
	pthread_mutex_lock(&v->mu);
	have = v->ks != NULL;
	gen = v->gen;
	due = v->asked || ((!have || now - v->fetched_at >= v->refresh_s) &&
	    (v->attempt_at == 0 || now - v->attempt_at >= IDENTITY_RETRY_S));
	pthread_mutex_unlock(&v->mu);
	if (!due)
		return 0;
	pthread_mutex_lock(&v->fetch_mu);
	pthread_mutex_lock(&v->mu);
	/* Another caller fetched while this one waited for fetch_mu. */
	due = v->gen == gen;
	if (due) {
		v->asked = 0;
		v->fetching = 1;
	}
	pthread_mutex_unlock(&v->mu);
	if (due) {
		err_clear(&fe);
		if (identity_fetch_jwks(v, &fe) == -1)
			log_warnx("jwks: fetch for %s failed%s: %s", v->issuer,
			    have ? ", keeping the previous keys" : "", fe.msg);
		pthread_mutex_lock(&v->mu);
		v->gen++;
		v->fetching = 0;
		v->attempt_at = now;
		if (err_isset(&fe))
			memcpy(v->last_error, fe.msg, sizeof v->last_error);
		pthread_cond_broadcast(&v->done);
		pthread_mutex_unlock(&v->mu);
	}
	pthread_mutex_unlock(&v->fetch_mu);
	return due;
}

void
identity_set_refresher(struct idv *v, void (*ask)(void *), void *arg)
{
	pthread_mutex_lock(&v->mu);
	v->ask = ask;
	v->ask_arg = arg;
	pthread_mutex_unlock(&v->mu);
}

struct idv *
identity_hold(struct idv *v)
{
	if (v != NULL)
		v->refs++;
	return v;
}

static int
identity_groups(const json_t *claim, struct identity *id, struct err *e)
{
	const json_t	*g;
	const char	*s;
	size_t		 i, n;

	if (json_is_string(claim))
		n = 1;
	else if (json_is_array(claim))
		n = json_array_size(claim);
	else
		return 0;
	if (n > IDENTITY_MAX_GROUPS)
		n = IDENTITY_MAX_GROUPS;
	if ((id->groups = calloc(n, sizeof *id->groups)) == NULL && n > 0)
		return err_set(e, 500, "nomem", "out of memory");
	for (i = 0; i < n; i++) {
		g = json_is_string(claim) ? claim : json_array_get(claim, i);
		if ((s = json_string_value(g)) == NULL || *s == '\0' || strlen(s) > 255)
			continue;
		if ((id->groups[id->ngroups] = strdup(s)) == NULL)
			return err_set(e, 500, "nomem", "out of memory");
		id->ngroups++;
	}
	return 0;
}

/*
 * A NumericDate claim, range-checked before it becomes a time_t: jwt_verify()
 * compares doubles, but a cast of 1e300 would be undefined behaviour. 1 with
 * *out set, 0 absent, -1 malformed or out of range.
 */
static int
identity_time(const json_t *c, const char *name, time_t *out, struct err *e)
{
	const json_t	*v = json_object_get(c, name);
	double		 d;

	if (v == NULL)
		return 0;
	if (!json_is_number(v))
		return err_set(e, 401, "token_malformed", "claim '%s' must be a number", name);
	d = json_number_value(v);
	if (!(d >= 0.0 && d <= IDENTITY_TIME_MAX))	/* also false for NaN */
		return err_set(e, 401, "token_malformed",
		    "claim '%s' is not a time between 1970 and 9999", name);
	*out = (time_t)d;
	return 1;
}

/*
 * email_verified, when present, must be the JSON value true: "false", 0,
 * "true" and null are refused rather than guessed at, since a string
 * "false" read as truthy is how an unverified address gets in.
 */
static int
identity_email_verified(struct idv *v, const json_t *c, const char *email_claim,
    int oidc, struct err *e)
{
	const json_t *ev = json_object_get(c, "email_verified");

	/* email_verified speaks about the email claim only. */
	if (strcmp(email_claim, "email") != 0)
		return 0;
	if (ev != NULL && !json_is_true(ev))
		return err_set(e, 401, "email_not_verified", json_is_false(ev) ?
		    "the identity provider has not verified this email address" :
		    "the token's email_verified claim is not the JSON value true");
	if (ev == NULL && oidc && v->require_email_verified)
		return err_set(e, 401, "email_not_verified", "the token does not say the "
		    "email address is verified (require_email_verified is set)");
	return 0;
}

static int
identity_from_claims(struct idv *v, const json_t *c, const char *email_claim,
    const char *groups_claim, const char *source, struct identity *id, struct err *e)
{
	const char	*email, *sub;
	struct err	 ce;
	time_t		 t;

	email = jsonx_str(c, email_claim);
	err_clear(&ce);
	if (email == NULL || (email_canon(email, v->email_mode, id->email, &ce) == -1 &&
	    strcmp(ce.code, "bad_email") == 0))
		return err_set(e, 401, "no_email_claim",
		    "the token's '%s' claim is missing or not an email address", email_claim);
	if (err_isset(&ce))
		return err_set(e, 401, ce.code, "%s", ce.msg);
	if (identity_email_verified(v, c, email_claim, strcmp(source, "oidc") == 0, e) == -1)
		return -1;
	if (identity_time(c, "exp", &id->exp, e) == -1 ||
	    identity_time(c, "nbf", &t, e) == -1 ||
	    identity_time(c, "iat", &id->iat, e) == -1)
		return -1;

	if ((sub = jsonx_str(c, "sub")) != NULL) {
		if (strlen(sub) >= sizeof id->subject)
			return err_set(e, 401, "token_malformed", "the token's sub claim is too long");
		memcpy(id->subject, sub, strlen(sub) + 1);
	}
	snprintf(id->source, sizeof id->source, "%s", source);
	if (groups_claim != NULL)
		return identity_groups(json_object_get(c, groups_claim), id, e);
	return 0;
}

static int
identity_owui(struct idv *v, const char *token, struct identity *id, struct err *e)
{
	struct jwt_verify_opts	 o = {
		.issuer = v->owui_issuer, .audience = NULL, .skew_s = v->skew_s,
		.now = identity_now(v), .max_token_len = v->max_len,
	};
	json_t			*claims;
	int			 rc;

	if (v->owui_secret == NULL)
		return err_set(e, 401, "alg_not_allowed",
		    "HS256 tokens (Open WebUI) are not accepted: no shared secret is configured");
	if (jwt_verify(token, &v->owui_key, 1, &o, &claims, e) == -1)
		return -1;
	rc = identity_from_claims(v, claims, "email", NULL, "openwebui", id, e);
	json_decref(claims);
	return rc;
}

static int
identity_oidc(struct idv *v, enum jwt_alg_pin alg, const char *token, const char *audience,
    struct identity *id, struct err *e)
{
	struct jwt_verify_opts	 o = {
		.issuer = v->issuer, .audience = audience, .skew_s = v->skew_s,
		.now = identity_now(v), .max_token_len = v->max_len,
	};
	struct keyset		*ks, *again;
	json_t			*claims;
	int			 rc;

	if (v->issuer == NULL || !v->alg_ok[alg])
		return err_set(e, 401, "alg_not_allowed", "algorithm %s is not accepted%s",
		    jwt_alg_name(alg), v->issuer == NULL ? ": OIDC is not configured" : "");
	if ((ks = identity_keys(v, 0, e)) == NULL)
		return -1;
	rc = jwt_verify(token, ks->keys, ks->n, &o, &claims, e);
	if (rc == -1 && strcmp(e->code, "unknown_kid") == 0) {
		/* The IdP may have rolled its keys since we fetched them. */
		if ((again = identity_keys(v, 1, NULL)) != NULL && again != ks) {
			err_clear(e);
			rc = jwt_verify(token, again->keys, again->n, &o, &claims, e);
		}
		keyset_unref(v, again);
	}
	keyset_unref(v, ks);
	if (rc == -1)
		return -1;
	rc = identity_from_claims(v, claims, v->email_claim, v->groups_claim, "oidc", id, e);
	json_decref(claims);
	return rc;
}

int
identity_verify(struct idv *v, const char *token, struct identity *id, struct err *e)
{
	enum jwt_alg_pin	alg;
	struct err		local;
	char			algname[16], kid[JWT_KID_MAX];
	int			rc;

	if (e == NULL)
		e = &local;	/* identity_oidc() reads the code back */
	memset(id, 0, sizeof *id);
	if (token == NULL || *token == '\0')
		return err_set(e, 401, "token_malformed", "no token was given");
	if (strnlen(token, v->max_len + 1) > v->max_len)
		return err_set(e, 401, "token_too_large", "token is longer than %zu bytes",
		    v->max_len);
	if (jwt_peek_header(token, algname, sizeof algname, kid, sizeof kid, e) == -1)
		return -1;
	if (jwt_alg_parse(algname, &alg) == -1)
		return err_set(e, 401, "alg_not_allowed", "the token's algorithm is not allowed");
	if (alg == JWT_ALG_HS256)
		rc = identity_owui(v, token, id, e);
	else
		rc = identity_oidc(v, alg, token, v->audience, id, e);
	if (rc == -1)
		identity_clear(id);
	return rc;
}

void
identity_clear(struct identity *id)
{
	size_t i;

	if (id == NULL)
		return;
	for (i = 0; i < id->ngroups; i++)
		free(id->groups[i]);
	free(id->groups);
	memset(id, 0, sizeof *id);
}

static char *
dup_or_null(const char *s, int *fail)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*fail = 1;
	return d;
}

struct idv *
identity_new(const struct identity_cfg *cfg, struct err *e)
{
	static const char *const default_algs[] = { "RS256", "ES256", NULL };
	const char *const	*a;
	enum jwt_alg_pin	 alg;
	struct idv		*v;
	int			 fail = 0;

	if (cfg->oidc_issuer == NULL && cfg->owui_secret == NULL) {
		err_set(e, 500, "bad_config",
		    "no way to verify users: configure an OIDC issuer or the Open WebUI secret");
		return NULL;
	}
	if (cfg->oidc_issuer != NULL && (cfg->oidc_audience == NULL || *cfg->oidc_audience == '\0')) {
		err_set(e, 500, "bad_config", "oidc_audience is required with oidc_issuer: "
		    "without it any token the IdP issued to any application would be accepted");
		return NULL;
	}
	if (cfg->require_email_verified && cfg->email_claim != NULL &&
	    strcmp(cfg->email_claim, "email") != 0) {
		err_set(e, 500, "bad_config", "require_email_verified needs email_claim = email: "
		    "email_verified says nothing about the '%s' claim", cfg->email_claim);
		return NULL;
	}
	if (cfg->owui_secret != NULL && secret_len(cfg->owui_secret) == 0) {
		err_set(e, 500, "bad_config", "the Open WebUI secret is empty");
		return NULL;
	}
	if ((v = calloc(1, sizeof *v)) == NULL) {
		err_set(e, 500, "nomem", "out of memory");
		return NULL;
	}
	for (a = cfg->oidc_algs != NULL ? cfg->oidc_algs : default_algs; *a != NULL; a++) {
		if (jwt_alg_parse(*a, &alg) == -1 || alg == JWT_ALG_HS256) {
			err_set(e, 500, "bad_config", "oidc_algs: '%.32s' is not RS256 or ES256", *a);
			free(v);
			return NULL;
		}
		v->alg_ok[alg] = 1;
	}
	if (cfg->oidc_issuer != NULL && !v->alg_ok[JWT_ALG_RS256] && !v->alg_ok[JWT_ALG_ES256]) {
		err_set(e, 500, "bad_config", "oidc_algs is empty");
		free(v);
		return NULL;
	}
	pthread_mutex_init(&v->mu, NULL);
	pthread_mutex_init(&v->fetch_mu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&v->done, &ca);
		pthread_condattr_destroy(&ca);
	}
	v->refs = 1;
	v->issuer = dup_or_null(cfg->oidc_issuer, &fail);
	v->audience = dup_or_null(cfg->oidc_audience, &fail);
	v->jwks_url = dup_or_null(cfg->oidc_jwks_url, &fail);
	v->ca_file = dup_or_null(cfg->oidc_ca_file, &fail);
	v->email_claim = dup_or_null(cfg->email_claim != NULL ? cfg->email_claim : "email", &fail);
	v->groups_claim = dup_or_null(cfg->groups_claim, &fail);
	v->owui_issuer = dup_or_null(cfg->owui_issuer != NULL ? cfg->owui_issuer : "open-webui",
	    &fail);
	if (cfg->owui_secret != NULL && (v->owui_secret = secret_dup(cfg->owui_secret)) == NULL)
		fail = 1;
	v->owui_key.alg = JWT_ALG_HS256;
	v->owui_key.hmac = v->owui_secret;
	v->skew_s = cfg->skew_s >= 0 ? cfg->skew_s : IDENTITY_SKEW_DEFAULT;
	v->refresh_s = cfg->jwks_refresh_s > 0 ? cfg->jwks_refresh_s : IDENTITY_REFRESH_DEFAULT;
	v->max_len = cfg->max_token_len > 0 ? cfg->max_token_len : JWT_MAX_TOKEN_DEFAULT;
	v->email_mode = cfg->email_mode;
	v->require_email_verified = cfg->require_email_verified;
	if (fail) {
		identity_free(v);
		err_set(e, 500, "nomem", "out of memory");
		return NULL;
	}
	if (v->owui_secret != NULL && secret_len(v->owui_secret) < 32)
		log_warnx("identity: the Open WebUI secret is shorter than 32 bytes");
	return v;
}

void
identity_free(struct idv *v)
{
	if (v == NULL || --v->refs > 0)
		return;
	keyset_unref(v, v->ks);
	pthread_cond_destroy(&v->done);
	pthread_mutex_destroy(&v->mu);
	pthread_mutex_destroy(&v->fetch_mu);
	free(v->issuer);
	free(v->audience);
	free(v->jwks_url);
	free(v->jwks_uri);
	free(v->ca_file);
	free(v->email_claim);
	free(v->groups_claim);
	free(v->owui_issuer);
	secret_free(v->owui_secret);
	free(v);
}

long
identity_jwks_age(struct idv *v)
{
	time_t	now = identity_now(v);
	long	age = -1;

	pthread_mutex_lock(&v->mu);
	if (v->ks != NULL)
		age = now > v->fetched_at ? (long)(now - v->fetched_at) : 0;
	pthread_mutex_unlock(&v->mu);
	return age;
}

void
identity_set_hooks(struct idv *v, const struct identity_hooks *h)
{
	v->hooks = *h;
}

int
identity_set_jwks(struct idv *v, const char *json, size_t len, struct err *e)
{
	struct jwt_key	*keys;
	size_t		 n;

	if (jwk_set_parse(json, len, &keys, &n, e) == -1)
		return -1;
	return keyset_install(v, keys, n, e);
}

/*
 * RFC 8707: a token an MCP client got for one protected resource (aud = that
 * forwarder's public URL) is good there and nowhere else. The resource was
 * checked against oidc_resources by the caller; oidc_audience stays valid
 * too (Open WebUI's system_oauth tokens, IdPs without resource indicators).
 * Every other check is identity_oidc()'s, so the two paths cannot drift.
 */
int
identity_verify_resource(struct idv *v, const char *token, const char *resource,
    struct identity *id, struct err *e)
{
	enum jwt_alg_pin	alg;
	struct err		local;
	char			algname[16], kid[JWT_KID_MAX];

	if (resource == NULL || *resource == '\0')
		return identity_verify(v, token, id, e);
	if (e == NULL)
		e = &local;
	if (identity_verify(v, token, id, e) == 0)
		return 0;
	if (strcmp(e->code, "bad_audience") != 0 ||
	    jwt_peek_header(token, algname, sizeof algname, kid, sizeof kid, e) == -1 ||
	    jwt_alg_parse(algname, &alg) == -1 || alg == JWT_ALG_HS256)
		return -1;
	err_clear(e);
	if (identity_oidc(v, alg, token, resource, id, e) == 0)
		return 0;
	identity_clear(id);
	if (strcmp(e->code, "bad_audience") == 0)
		err_set(e, 401, "bad_audience", "the token is meant neither for this resource "
		    "(%.200s) nor for %.200s", resource, v->audience);
	return -1;
}
