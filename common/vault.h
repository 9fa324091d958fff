/*
 * vault: a Vault/OpenBao client for the broker (Kubernetes auth, renewed in
 * a background thread) and the admin console (the admin's own token).
 * KV v2 reads are cached per path and may be served stale, within a bound,
 * while Vault is down or sealed; 403 and 404 are never masked.
 *
 * Errors (struct err status / code):
 *   403 vault_forbidden      Vault denied the path (policy)
 *   404 vault_not_found      no such secret, or the version was deleted/destroyed
 *   409 vault_cas_conflict   check-and-set did not match
 *   400 vault_bad_request    Vault refused the request (its own words)
 *   401/403 vault_login_failed  Kubernetes login refused (Vault's words)
 *   503 vault_sealed, 503 vault_unreachable, 504 vault_timeout, 502 vault_error
 *   500 vault_config         bad configuration or a bad argument
 *
 * Thread-safe: one mutex guards the token, the cache and the counters, and
 * is never held across HTTP.
 */
#ifndef TG_VAULT_H
#define TG_VAULT_H

#include <time.h>

#include "secret.h"

struct err;
struct httpc_resp;

enum vault_auth { VAULT_AUTH_KUBERNETES, VAULT_AUTH_TOKEN };

struct vault_cfg {
	const char	*addr;			/* http(s)://host:port */
	enum vault_auth	 auth;
	const char	*k8s_mount;		/* "kubernetes" when NULL */
	const char	*k8s_role;
	const char	*sa_token_path;		/* service-account JWT, read at every login */
	const secret_t	*token;			/* VAULT_AUTH_TOKEN only; copied */
	const char	*kv_mount;		/* "secret" when NULL */
	long		 timeout_ms;		/* per request; 5000 when 0 */
	int		 cache_ttl_s;		/* re-read after this; 30 when 0, no cache when < 0 */
	int		 cache_max_stale_s;	/* serve stale this long past the ttl; 30 when 0, never when < 0 */
	const char	*ca_file;
	int		 insecure;
};

struct vault_status {
	int		 logged_in;
	int		 sealed;		/* the last answer said "sealed" */
	int		 serving_stale;		/* the last read came from cache because Vault failed */
	long		 token_ttl_s;		/* seconds left; -1 = never expires; 0 = no token */
	time_t		 last_ok;		/* wall clock of the last good answer, 0 = never */
	char		 last_error[256];
	unsigned long	 logins, renewals, errors;
};

struct vault	*vault_new(const struct vault_cfg *, struct err *);
/* Stops the renewal thread if it runs, wipes token and cache. */
void		 vault_free(struct vault *);

/* Synchronous login. Kubernetes: POST auth/<mount>/login {role, jwt} with
 * the JWT read from sa_token_path now. Token: lookup-self, to learn the
 * TTL and check the token works. */
int		 vault_login(struct vault *, struct err *);
/* Background thread: login if needed, renew-self at ~2/3 of the TTL, fresh
 * login when renewal fails or stops extending (max TTL reached), backoff
 * with jitter from 1 s to 5 min while Vault is unreachable or sealed.
 * 0 on success, -1 if the thread could not be created (or already runs). */
int		 vault_start(struct vault *);
/* Wakes and joins the thread; returns at once unless an HTTP call is in
 * flight (bounded by timeout_ms). */
void		 vault_stop(struct vault *);

/* KV v2 read of <kv_mount>/data/<path>: *data_json gets the JSON text of
 * .data.data (caller secret_free()s), *version the KV version, *stale 1
 * when served from cache because Vault failed (version and stale may be
 * NULL). Logs in first when there is no token yet. */
int		 vault_kv_read(struct vault *, const char *path, secret_t **data_json,
		    int *version, int *stale, struct err *);
/* One version, never cached. */
int		 vault_kv_read_version(struct vault *, const char *path, int version,
		    secret_t **data_json, struct err *);
/* data_json must be a JSON object. cas -1 = no check-and-set, 0 = create
 * only, N = only if the current version is N. Invalidates the path's cache. */
int		 vault_kv_write(struct vault *, const char *path, const char *data_json,
		    int cas, int *new_version, struct err *);
/* From <kv_mount>/metadata/<path>; a missing secret is *version = 0. */
int		 vault_kv_current_version(struct vault *, const char *path, int *version,
		    struct err *);
void		 vault_cache_invalidate(struct vault *, const char *path /* NULL = all */);

int		 vault_policy_write(struct vault *, const char *name, const char *hcl,
		    struct err *);
/* Raw call of /v1/<api_path> with the current token. resp is always
 * initialised (free it with httpc_resp_free()); returns 0 for a 2xx answer,
 * otherwise -1 with the error mapped as above (resp holds the answer if
 * one arrived). */
int		 vault_request(struct vault *, const char *method, const char *api_path,
		    const char *body_json, struct httpc_resp *, struct err *);

void		 vault_status(struct vault *, struct vault_status *);

#endif
