/* callers: authenticate forwarders by client secret or TokenReview. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "callers.h"
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

struct callers_seen {
	unsigned char	digest[32];
	char		who[128];
	time_t		until;
};

struct callers {
	secret_t		*client_secret;
	char			*review_url;
	char			*review_token_file;
	char			**allowed;
	char			*audience;	/* NULL: any audience */
	pthread_mutex_t		 lock;
	struct callers_seen	 seen[CALLERS_CACHE];
	size_t			 next_seen;
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
	secret_wipe(c->seen, sizeof c->seen);
	free(c);
}

static void
callers_digest(const char *token, unsigned char *out)
{
	unsigned int len = 32;

	EVP_Digest(token, strlen(token), out, &len, EVP_sha256(), NULL);
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

static int
callers_has_audience(const json_t *status, const char *audience)
{
	size_t	 i;
	json_t	*v;

	json_array_foreach(json_object_get(status, "audiences"), i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), audience) == 0)
			return 1;
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
	{
		size_t	 n = secret_len(reviewer) + 32;
		char	*line = malloc(n);

		if (line == NULL)
			goto out;
		snprintf(line, n, "Authorization: Bearer %s", secret_bytes(reviewer));
		hdr = secret_new(line, strlen(line));
		secret_wipe(line, n);
		free(line);
	}
	req.method = "POST";
	req.url = url;
	req.body = body;
	req.body_len = strlen(body);
	req.secret_header = hdr;
	req.timeout_ms = 5000;
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
		err_set(e, 401, "caller_unauthenticated", "the caller's service-account token was "
		    "not accepted by TokenReview%s%s", why ? ": " : "", why ? why : "");
		goto out;
	}
	if (c->audience != NULL && !callers_has_audience(json_object_get(j, "status"),
	    c->audience)) {
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

int
callers_check(struct callers *c, const char *authorization, char *who, size_t wholen,
    struct err *e)
{
	const char	*token = callers_bearer(authorization);
	unsigned char	 digest[32];
	time_t		 now = time(NULL);

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

	callers_digest(token, digest);
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < CALLERS_CACHE; i++) {
		if (c->seen[i].until > now &&
		    CRYPTO_memcmp(c->seen[i].digest, digest, sizeof digest) == 0) {
			snprintf(who, wholen, "%s", c->seen[i].who);
			pthread_mutex_unlock(&c->lock);
			return 0;
		}
	}
	pthread_mutex_unlock(&c->lock);

	if (callers_review(c, token, who, wholen, e) == -1)
		return -1;
	pthread_mutex_lock(&c->lock);
	memcpy(c->seen[c->next_seen].digest, digest, sizeof digest);
	snprintf(c->seen[c->next_seen].who, sizeof c->seen[0].who, "%s", who);
	c->seen[c->next_seen].until = now + CALLERS_CACHE_TTL;
	c->next_seen = (c->next_seen + 1) % CALLERS_CACHE;
	pthread_mutex_unlock(&c->lock);
	return 0;
}
