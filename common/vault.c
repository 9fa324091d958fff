/*
 * vault: configuration, logging in (Kubernetes, or a static token),
 * HTTP plumbing with error mapping, and the raw request / policy calls.
 * The token's state lives in vault_state.c, KV v2 and the cache in
 * vault_kv.c, the renewal thread in vault_renew.c.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "err.h"
#include "httpc.h"
#include "log.h"
#include "secret.h"
#include "clock.h"
#include "vault.h"
#include "vault_int.h"

#define VAULT_TOKEN_HDR		"X-Vault-Token"

long
vault_expiry_ms(long now, long ttl_s)
{
	long ms = ttl_s * 1000;

	if (ttl_s <= 0)
		return 0;
	/* Vault counts whole seconds and rounds: the token may die up to a
	 * second before now + ttl. */
	return now + ms - (ms / 2 < 1000 ? ms / 2 : 1000);
}

/* ---- errors ------------------------------------------------------------ */

static int
vault_tokenish(const char *w, size_t n)
{
	static const char *const prefixes[] = { "hvs.", "hvb.", "hvr.", "s.", "b.", "r." };

	if (n >= 24 || (n >= 10 && strncmp(w, "eyJ", 3) == 0))
		return 1;
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		size_t pl = strlen(prefixes[i]);

		if (n >= pl + 8 && strncmp(w, prefixes[i], pl) == 0)
			return 1;
	}
	return 0;
}

static int
vault_wordch(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
	    c == '+' || c == '=';
}

/*
 * Vault's own error strings, joined and scrubbed. They carry no secret by
 * design, but a word that looks like a token or a JWT becomes "***" anyway,
 * and control characters become spaces.
 */
static void
vault_errors_text(const struct httpc_resp *r, char *out, size_t outlen)
{
	json_t		*root, *errs, *it;
	char		 raw[512];
	size_t		 i, o = 0, n = 0;

	out[0] = raw[0] = '\0';
	if (r->body == NULL || r->len == 0)
		return;
	if ((root = json_loadb(r->body, r->len, 0, NULL)) == NULL)
		return;
	errs = json_object_get(root, "errors");
	json_array_foreach(errs, i, it) {
		const char *s = json_string_value(it);

		if (s == NULL || *s == '\0')
			continue;
		n += (size_t)snprintf(raw + n, sizeof raw - n, "%s%s",
		    n > 0 ? "; " : "", s);
		if (n >= sizeof raw - 1)
			break;
	}
	json_decref(root);
	for (i = 0; raw[i] != '\0' && o + 4 < outlen;) {
		if (vault_wordch(raw[i])) {
			size_t w = i;

			while (raw[w] != '\0' && vault_wordch(raw[w]))
				w++;
			if (vault_tokenish(raw + i, w - i)) {
				memcpy(out + o, "***", 3);
				o += 3;
			} else {
				size_t cp = w - i < outlen - 1 - o ? w - i : outlen - 1 - o;

				memcpy(out + o, raw + i, cp);
				o += cp;
			}
			i = w;
		} else {
			unsigned char c = (unsigned char)raw[i++];

			out[o++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
		}
	}
	out[o] = '\0';
	secret_wipe(raw, sizeof raw);
}

void
vault_note_ok(struct vault *v)
{
	pthread_mutex_lock(&v->mu);
	v->last_ok = time(NULL);
	v->sealed = 0;
	pthread_mutex_unlock(&v->mu);
}

void
vault_note_err(struct vault *v, const struct err *e)
{
	pthread_mutex_lock(&v->mu);
	v->errors++;
	snprintf(v->last_error, sizeof v->last_error, "%s", e->msg);
	if (strcmp(e->code, "vault_sealed") == 0)
		v->sealed = 1;
	else if (e->status < 500)
		v->sealed = 0;		/* it answered, so it is unsealed */
	pthread_mutex_unlock(&v->mu);
}

int
vault_map_status(struct vault *v, const struct httpc_resp *r, const char *what,
    struct err *e)
{
	char	verr[200];

	vault_errors_text(r, verr, sizeof verr);
	if (r->status == 403)
		err_set(e, 403, "vault_forbidden", "Vault denied access to %s: %s",
		    what, verr[0] != '\0' ? verr : "permission denied");
	else if (r->status == 404)
		err_set(e, 404, "vault_not_found", "Vault has no secret at %s", what);
	else if (r->status == 503 && strstr(verr, "sealed") != NULL)
		err_set(e, 503, "vault_sealed", "Vault is sealed (%s)", what);
	else if (r->status == 400)
		err_set(e, 400, "vault_bad_request", "Vault refused %s: %s", what,
		    verr[0] != '\0' ? verr : "bad request");
	else
		err_set(e, 502, "vault_error", "Vault failed on %s: HTTP %ld%s%s",
		    what, r->status, verr[0] != '\0' ? ": " : "", verr);
	vault_note_err(v, e);
	return -1;
}

/* ---- HTTP -------------------------------------------------------------- */

int
vault_http(struct vault *v, const char *method, const char *api_path,
    const char *body, size_t body_len, const secret_t *tok,
    struct httpc_resp *r, struct err *e)
{
	static const char *const hdrs[] = { "X-Vault-Request: true", NULL };
	struct httpc_req	 req = { 0 };
	struct err		 he = { 0 };
	char			*url, origin[192];
	size_t			 n;
	int			 rc;

	n = strlen(v->addr) + strlen(api_path) + 5;
	if ((url = malloc(n)) == NULL) {
		memset(r, 0, sizeof *r);
		return err_set(e, 500, "nomem", "out of memory");
	}
	snprintf(url, n, "%s/v1/%s", v->addr, api_path);
	req.method = method;
	req.url = url;
	req.body = body;
	req.body_len = body_len;
	req.headers = hdrs;
	req.secret_header = tok;
	req.timeout_ms = v->timeout_ms;
	req.connect_timeout_ms = v->timeout_ms < 3000 ? v->timeout_ms : 3000;
	req.retries = strcmp(method, "GET") == 0 ? 1 : 0;
	req.insecure = v->insecure;
	req.ca_file = v->ca_file;
	rc = httpc_do(&req, r, &he);
	free(url);
	if (rc == 0)
		return 0;
	httpc_url_origin(v->addr, origin, sizeof origin);
	if (strcmp(he.code, "upstream_timeout") == 0)
		err_set(e, 504, "vault_timeout",
		    "Vault at %s did not answer %s %s within %ld ms", origin, method,
		    api_path, v->timeout_ms);
	else if (strcmp(he.code, "nomem") == 0 || strcmp(he.code, "bad_request") == 0)
		err_set(e, 500, "vault_config", "request to Vault failed: %s", he.msg);
	else if (strcmp(he.code, "upstream_too_large") == 0)
		err_set(e, 502, "vault_error", "Vault answer too large for %s", api_path);
	else
		err_set(e, 503, "vault_unreachable", "Vault is unreachable: %s", he.msg);
	vault_note_err(v, e);
	return -1;
}

static int
vault_expired_locked(const struct vault *v, long now)
{
	return v->tok_expiry_ms != 0 && now >= v->tok_expiry_ms;
}

static int
vault_parse_auth(const struct httpc_resp *r, const char **tok, long *ttl,
    int *renewable, json_t **rootp)
{
	json_t *root, *auth;

	*rootp = NULL;
	if ((root = json_loadb(r->body, r->len, 0, NULL)) == NULL)
		return -1;
	auth = json_object_get(root, "auth");
	*tok = json_string_value(json_object_get(auth, "client_token"));
	*ttl = (long)json_integer_value(json_object_get(auth, "lease_duration"));
	*renewable = json_is_true(json_object_get(auth, "renewable"));
	if (*tok == NULL || **tok == '\0' || *ttl < 0) {
		json_decref(root);
		return -1;
	}
	*rootp = root;
	return 0;
}

static int
vault_login_k8s(struct vault *v, struct err *e)
{
	struct httpc_resp	 r;
	struct err		 fe = { 0 };
	secret_t		*sa;
	json_t			*o, *root;
	char			*body, path[256], verr[200];
	const char		*tok;
	secret_t		*hdr;
	char			 why[200];
	long			 ttl;
	int			 renewable, rc;

	/* Read fresh every time: kubelet rotates the projected token. */
	if ((sa = secret_from_file(v->sa_token_path, VAULT_SA_TOKEN_MAX, &fe)) == NULL) {
		err_set(e, 500, "vault_login_failed",
		    "cannot read the service-account token: %s", fe.msg);
		vault_note_err(v, e);
		return -1;
	}
	o = json_pack("{s:s, s:s}", "role", v->k8s_role, "jwt", secret_bytes(sa));
	secret_free(sa);
	body = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (body == NULL)
		return err_set(e, 500, "nomem", "out of memory");
	snprintf(path, sizeof path, "auth/%s/login", v->k8s_mount);
	rc = vault_http(v, "POST", path, body, strlen(body), NULL, &r, e);
	secret_free_str(body);
	if (rc == -1)
		return -1;
	if (r.status != 200) {
		if (r.status >= 500 || r.status == 429)
			vault_map_status(v, &r, path, e);
		else {
			vault_errors_text(&r, verr, sizeof verr);
			err_set(e, r.status == 403 ? 403 : 401, "vault_login_failed",
			    "Vault refused the Kubernetes login as role %s: %s",
			    v->k8s_role, verr[0] != '\0' ? verr : "no reason given");
			vault_note_err(v, e);
		}
		httpc_resp_free(&r);
		return -1;
	}
	if (vault_parse_auth(&r, &tok, &ttl, &renewable, &root) == -1) {
		httpc_resp_free(&r);
		err_set(e, 502, "vault_error", "Vault's login answer has no token");
		vault_note_err(v, e);
		return -1;
	}
	hdr = secret_header_bytes(VAULT_TOKEN_HDR, NULL, tok, strlen(tok));
	json_decref(root);
	httpc_resp_free(&r);
	if (hdr == NULL && errno == ENOMEM)
		return err_set(e, 500, "nomem", "out of memory");
	if (hdr == NULL) {
		err_set(e, 502, "vault_error", "Vault's login answer has a malformed token");
		vault_note_err(v, e);
		return -1;
	}
	snprintf(why, sizeof why, "logged in with Kubernetes role %s, token ttl %ld s%s",
	    v->k8s_role, ttl, renewable ? ", renewable" : "");
	if (vault_token_update(v, VAULT_UPD_LOGIN, hdr, 0, ttl, renewable, why) == -1)
		return err_set(e, 500, "vault_state", "the new token was not installed");
	return 0;
}

/* A static token: ask Vault what it is (TTL, renewable) and whether it
 * still works. */
static int
vault_login_token(struct vault *v, struct err *e)
{
	unsigned long	gen;
	long		ttl;
	int		renewable;

	if (vault_token_self(v, 0, &ttl, &renewable, &gen, e) == -1)
		return -1;
	if (vault_token_update(v, VAULT_UPD_LOGIN, NULL, gen, ttl, renewable,
	    "token looked up") == -1)
		return err_set(e, 500, "vault_state", "the token was not accepted");
	return 0;
}

int
vault_login(struct vault *v, struct err *e)
{
	struct err	tmp;
	int		rc;

	if (e == NULL)
		e = &tmp;
	pthread_mutex_lock(&v->login_mu);
	rc = v->auth == VAULT_AUTH_KUBERNETES ? vault_login_k8s(v, e) :
	    vault_login_token(v, e);
	pthread_mutex_unlock(&v->login_mu);
	return rc;
}

int
vault_relogin(struct vault *v, unsigned long seen, struct err *e)
{
	int fresh, rc = 0;

	pthread_mutex_lock(&v->login_mu);
	pthread_mutex_lock(&v->mu);
	fresh = v->tok_hdr != NULL && vault_state_ok(v->state) && v->tok_gen != seen &&
	    !vault_expired_locked(v, clock_now_ms());
	pthread_mutex_unlock(&v->mu);
	if (!fresh)
		rc = v->auth == VAULT_AUTH_KUBERNETES ? vault_login_k8s(v, e) :
		    vault_login_token(v, e);
	pthread_mutex_unlock(&v->login_mu);
	return rc;
}

int
vault_token_self(struct vault *v, int renew, long *ttl, int *renewable,
    unsigned long *gen, struct err *e)
{
	const char		*path = renew ? "auth/token/renew-self" : "auth/token/lookup-self";
	struct httpc_resp	 r;
	secret_t		*tok;
	json_t			*root, *o;
	int			 rc;

	pthread_mutex_lock(&v->mu);
	*gen = v->tok_gen;
	tok = v->tok_hdr != NULL ? secret_dup(v->tok_hdr) : NULL;
	pthread_mutex_unlock(&v->mu);
	if (tok == NULL)
		return err_set(e, 401, "vault_login_failed", "no Vault token to %s",
		    renew ? "renew" : "look up");
	/* Not vault_call(): a dead token must surface here, not be replaced
	 * behind the caller's back. */
	rc = vault_http(v, renew ? "POST" : "GET", path, renew ? "{}" : NULL,
	    renew ? 2 : 0, tok, &r, e);
	secret_free(tok);
	if (rc == -1)
		return -1;
	if (r.status == 200 && (root = json_loadb(r.body, r.len, 0, NULL)) != NULL) {
		/* renew-self answers like a login, lookup-self with the token's data. */
		o = json_object_get(root, renew ? "auth" : "data");
		*ttl = (long)json_integer_value(json_object_get(o, renew ? "lease_duration" : "ttl"));
		*renewable = json_is_true(json_object_get(o, "renewable"));
		json_decref(root);
	} else if (r.status == 200) {
		*ttl = 0;
		*renewable = 0;
	} else if (r.status == 403 && !renew) {
		rc = err_set(e, 403, "vault_login_failed",
		    "Vault does not accept this token (expired or revoked)");
		vault_note_err(v, e);
	} else
		rc = vault_map_status(v, &r, path, e);
	httpc_resp_free(&r);
	return rc;
}

static secret_t *
vault_token_get(struct vault *v, unsigned long *gen, struct err *e)
{
	secret_t	*tok = NULL;
	int		 usable, tries;

	for (tries = 0; tries < 2; tries++) {
		pthread_mutex_lock(&v->mu);
		*gen = v->tok_gen;
		/* A static token is always sent: Vault has the last word. */
		usable = v->tok_hdr != NULL && (v->auth == VAULT_AUTH_TOKEN ||
		    !vault_expired_locked(v, clock_now_ms()));
		if (usable && (tok = secret_dup(v->tok_hdr)) == NULL) {
			pthread_mutex_unlock(&v->mu);
			err_set(e, 500, "nomem", "out of memory");
			return NULL;
		}
		pthread_mutex_unlock(&v->mu);
		if (tok != NULL)
			return tok;
		if (vault_relogin(v, *gen, e) == -1)
			return NULL;
	}
	err_set(e, 503, "vault_unreachable", "no usable Vault token");
	return NULL;
}

/* After a 403: is the token itself dead (Vault restarted with empty
 * storage, token revoked or expired) rather than the policy saying no? */
static int
vault_token_dead(struct vault *v, const secret_t *tok)
{
	struct httpc_resp	r;
	struct err		e = { 0 };
	int			dead;

	if (vault_http(v, "GET", "auth/token/lookup-self", NULL, 0, tok, &r, &e) == -1)
		return 0;
	dead = r.status == 403 || r.status == 401;
	httpc_resp_free(&r);
	return dead;
}

int
vault_call(struct vault *v, const char *method, const char *api_path,
    const char *body, size_t body_len, struct httpc_resp *r, struct err *e)
{
	secret_t	*tok;
	unsigned long	 gen;
	int		 attempt, dead;

	memset(r, 0, sizeof *r);
	r->retry_after = -1;
	for (attempt = 0; attempt < 2; attempt++) {
		if ((tok = vault_token_get(v, &gen, e)) == NULL)
			return -1;
		if (vault_http(v, method, api_path, body, body_len, tok, r, e) == -1) {
			secret_free(tok);
			return -1;
		}
		dead = r->status == 403 && v->auth == VAULT_AUTH_KUBERNETES &&
		    attempt == 0 && vault_token_dead(v, tok);
		secret_free(tok);
		if (!dead)
			break;
		vault_token_drop(v, gen, "token no longer accepted (Vault "
		    "restarted or token revoked); logging in again");
		httpc_resp_free(r);
	}
	if (r->status < 500)
		vault_note_ok(v);
	return 0;
}

/* ---- paths ------------------------------------------------------------- */

char *
vault_path_encode(const char *path, const char *what, struct err *e)
{
	char		*out, *enc, *p;
	const char	*s, *end;
	size_t		 n;

	if (path == NULL || (n = strlen(path)) == 0 || n > VAULT_PATH_MAX)
		goto bad;
	for (s = path; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			goto bad;
	if ((out = malloc(n * 3 + 1)) == NULL) {
		err_set(e, 500, "nomem", "out of memory");
		return NULL;
	}
	p = out;
	for (s = path;; s = end + 1) {
		char seg[VAULT_PATH_MAX + 1];

		end = strchr(s, '/');
		n = end != NULL ? (size_t)(end - s) : strlen(s);
		memcpy(seg, s, n);
		seg[n] = '\0';
		if (n == 0 || strcmp(seg, ".") == 0 || strcmp(seg, "..") == 0 ||
		    (enc = httpc_urlencode(seg)) == NULL) {
			free(out);
			goto bad;
		}
		p += sprintf(p, "%s%s", p == out ? "" : "/", enc);
		free(enc);
		if (end == NULL)
			break;
	}
	return out;
bad:
	err_set(e, 400, "vault_bad_path", "invalid %s", what);
	return NULL;
}

/* ---- lifecycle --------------------------------------------------------- */

static int
vault_dupstr(char **dst, const char *src, const char *dflt)
{
	const char *s = src != NULL && *src != '\0' ? src : dflt;

	if (s == NULL) {
		*dst = NULL;
		return 0;
	}
	return (*dst = strdup(s)) == NULL ? -1 : 0;
}

struct vault *
vault_new(const struct vault_cfg *cfg, struct err *e)
{
	pthread_condattr_t	 ca;
	struct vault		*v;
	char			*enc;
	size_t			 n;

	if (cfg == NULL || cfg->addr == NULL ||
	    (strncmp(cfg->addr, "http://", 7) != 0 &&
	    strncmp(cfg->addr, "https://", 8) != 0)) {
		err_set(e, 500, "vault_config", "Vault address must be http(s)://host:port");
		return NULL;
	}
	if (cfg->auth == VAULT_AUTH_KUBERNETES &&
	    (cfg->k8s_role == NULL || *cfg->k8s_role == '\0' ||
	    cfg->sa_token_path == NULL || *cfg->sa_token_path == '\0')) {
		err_set(e, 500, "vault_config",
		    "Kubernetes auth needs a role and a service-account token path");
		return NULL;
	}
	if (cfg->auth == VAULT_AUTH_TOKEN && (cfg->token == NULL ||
	    secret_len(cfg->token) == 0 ||
	    strpbrk(secret_bytes(cfg->token), "\r\n") != NULL)) {
		err_set(e, 500, "vault_config", "token auth needs a (one-line) Vault token");
		return NULL;
	}
	if ((v = calloc(1, sizeof *v)) == NULL) {
		err_set(e, 500, "nomem", "out of memory");
		return NULL;
	}
	pthread_mutex_init(&v->mu, NULL);
	pthread_mutex_init(&v->login_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&v->cv, &ca);
	pthread_condattr_destroy(&ca);
	v->auth = cfg->auth;
	v->insecure = cfg->insecure;
	v->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : VAULT_TIMEOUT_MS_DEFAULT;
	v->cache_ttl_s = cfg->cache_ttl_s != 0 ? cfg->cache_ttl_s : VAULT_CACHE_TTL_DEFAULT;
	v->cache_max_stale_s = cfg->cache_max_stale_s != 0 ?
	    cfg->cache_max_stale_s : VAULT_CACHE_STALE_DEFAULT;
	if (vault_dupstr(&v->addr, cfg->addr, NULL) == -1 ||
	    vault_dupstr(&v->k8s_role, cfg->k8s_role, NULL) == -1 ||
	    vault_dupstr(&v->sa_token_path, cfg->sa_token_path, NULL) == -1 ||
	    vault_dupstr(&v->ca_file, cfg->ca_file, NULL) == -1) {
		err_set(e, 500, "nomem", "out of memory");
		goto fail;
	}
	/* Mounts may nest ("kv/prod"); store them encoded once. */
	if ((enc = vault_path_encode(cfg->k8s_mount != NULL && *cfg->k8s_mount ?
	    cfg->k8s_mount : "kubernetes", "Kubernetes auth mount", e)) == NULL)
		goto fail;
	v->k8s_mount = enc;
	if ((enc = vault_path_encode(cfg->kv_mount != NULL && *cfg->kv_mount ?
	    cfg->kv_mount : "secret", "KV mount", e)) == NULL)
		goto fail;
	v->kv_mount = enc;
	if (v->k8s_role != NULL && strpbrk(v->k8s_role, "\r\n\"\\") != NULL) {
		err_set(e, 500, "vault_config", "bad Kubernetes role name");
		goto fail;
	}
	n = strlen(v->addr);
	while (n > 0 && v->addr[n - 1] == '/')
		v->addr[--n] = '\0';
	if (cfg->auth == VAULT_AUTH_TOKEN) {
		if ((v->tok_hdr = secret_header(VAULT_TOKEN_HDR, NULL, cfg->token)) == NULL) {
			if (errno == ENOMEM)
				err_set(e, 500, "nomem", "out of memory");
			else
				err_set(e, 500, "vault_config", "the Vault token is empty "
				    "or holds a line break");
			goto fail;
		}
		/* Not shared yet, so no lock for the state. */
		vault_set_state(v, VAULT_ST_UNCHECKED, "static token configured");
	}
	return v;
fail:
	vault_free(v);
	return NULL;
}

void
vault_free(struct vault *v)
{
	if (v == NULL)
		return;
	vault_stop(v);
	pthread_mutex_lock(&v->mu);
	vault_cache_clear_locked(v);
	pthread_mutex_unlock(&v->mu);
	vault_token_drop(v, v->tok_gen, "client closed");
	free(v->addr);
	free(v->k8s_mount);
	free(v->k8s_role);
	free(v->sa_token_path);
	free(v->kv_mount);
	free(v->ca_file);
	pthread_cond_destroy(&v->cv);
	pthread_mutex_destroy(&v->login_mu);
	pthread_mutex_destroy(&v->mu);
	free(v);
}

void
vault_status(struct vault *v, struct vault_status *st)
{
	long now = clock_now_ms();

	memset(st, 0, sizeof *st);
	pthread_mutex_lock(&v->mu);
	st->logged_in = v->tok_hdr != NULL && vault_state_ok(v->state) &&
	    !vault_expired_locked(v, now);
	st->sealed = v->sealed;
	st->serving_stale = v->serving_stale;
	if (!st->logged_in)
		st->token_ttl_s = 0;
	else if (v->tok_expiry_ms == 0)
		st->token_ttl_s = -1;
	else
		st->token_ttl_s = (v->tok_expiry_ms - now) / 1000;
	st->last_ok = v->last_ok;
	snprintf(st->last_error, sizeof st->last_error, "%s", v->last_error);
	st->logins = v->logins;
	st->renewals = v->renewals;
	st->errors = v->errors;
	pthread_mutex_unlock(&v->mu);
}

/* ---- raw requests and policies ----------------------------------------- */

static int
vault_api_path_ok(const char *p)
{
	size_t n;

	if (p == NULL || (n = strlen(p)) == 0 || n > 1024 || p[0] == '/')
		return 0;
	for (const char *s = p; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f || *s == '#' || *s == '\\')
			return 0;
	if (strstr(p, "/../") != NULL || strncmp(p, "../", 3) == 0 ||
	    strstr(p, "/./") != NULL || strncmp(p, "./", 2) == 0 ||
	    (n >= 3 && strcmp(p + n - 3, "/..") == 0) || strcmp(p, "..") == 0)
		return 0;
	return 1;
}

int
vault_request(struct vault *v, const char *method, const char *api_path,
    const char *body_json, struct httpc_resp *r, struct err *e)
{
	struct err tmp;

	if (e == NULL)
		e = &tmp;
	memset(r, 0, sizeof *r);
	r->retry_after = -1;
	if (!vault_api_path_ok(api_path))
		return err_set(e, 400, "vault_bad_path", "invalid Vault API path");
	if (method == NULL)
		method = body_json != NULL ? "POST" : "GET";
	if (vault_call(v, method, api_path, body_json,
	    body_json != NULL ? strlen(body_json) : 0, r, e) == -1)
		return -1;
	if (r->status >= 200 && r->status < 300)
		return 0;
	return vault_map_status(v, r, api_path, e);
}

int
vault_policy_write(struct vault *v, const char *name, const char *hcl,
    struct err *e)
{
	struct httpc_resp	 r;
	struct err		 tmp;
	json_t			*o;
	char			*body, path[192];
	int			 rc;

	if (e == NULL)
		e = &tmp;
	if (name == NULL || *name == '\0' || strlen(name) > 128 ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_-.") != strlen(name) || name[0] == '.')
		return err_set(e, 400, "vault_bad_path", "invalid policy name");
	if (hcl == NULL)
		return err_set(e, 400, "vault_bad_request", "empty policy");
	snprintf(path, sizeof path, "sys/policies/acl/%s", name);
	if ((o = json_pack("{s:s}", "policy", hcl)) == NULL ||
	    (body = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		return err_set(e, 500, "nomem", "out of memory");
	}
	json_decref(o);
	rc = vault_call(v, "PUT", path, body, strlen(body), &r, e);
	free(body);
	if (rc == 0 && (r.status < 200 || r.status >= 300))
		rc = vault_map_status(v, &r, path, e);
	httpc_resp_free(&r);
	return rc;
}
