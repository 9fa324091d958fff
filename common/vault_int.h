/*
 * vault_int: what vault.c (login, HTTP, errors), vault_state.c (the token's
 * state and its one update), vault_kv.c (KV v2 and the cache) and
 * vault_renew.c (the renewal thread) share. Not for other users.
 */
#ifndef TG_VAULT_INT_H
#define TG_VAULT_INT_H

#include <pthread.h>
#include <stddef.h>
#include <time.h>

#include "secret.h"
#include "vault.h"

struct err;
struct httpc_resp;

#define VAULT_TIMEOUT_MS_DEFAULT	5000
#define VAULT_CACHE_TTL_DEFAULT		30
#define VAULT_CACHE_STALE_DEFAULT	30
#define VAULT_CACHE_MAX			4096
#define VAULT_SA_TOKEN_MAX		(64 * 1024)
#define VAULT_PATH_MAX			512

/* The token, as far as Vault has told us (vault_state.c has the moves). */
enum vault_state {
	VAULT_ST_NONE,		/* no token: before the first Kubernetes login, or dropped */
	VAULT_ST_UNCHECKED,	/* a configured static token, not looked up yet */
	VAULT_ST_VALID,		/* Vault accepted it; renewing extends it (or it never expires) */
	VAULT_ST_CAPPED,	/* accepted, but renewal stopped extending it (max TTL) */
	VAULT_ST_REFUSED,	/* Vault refused to renew it (4xx); sent still, Vault decides */
	VAULT_ST_EXPIRED,	/* a static token ran out and cannot be renewed */
	VAULT_ST_COUNT
};

enum vault_upd { VAULT_UPD_LOGIN, VAULT_UPD_RENEW };

struct vault_cent {
	struct vault_cent	*next;
	char			*path;
	secret_t		*data;		/* JSON text of .data.data */
	int			 version;
	long			 fetched_ms;	/* monotonic */
};

struct vault {
	pthread_mutex_t		 mu;		/* everything below marked "mu" */
	pthread_cond_t		 cv;		/* wakes the renewal thread (monotonic) */
	pthread_mutex_t		 login_mu;	/* one login at a time; held across HTTP */

	/* Immutable after vault_new(). */
	char			*addr;
	enum vault_auth		 auth;
	char			*k8s_mount;
	char			*k8s_role;
	char			*sa_token_path;
	char			*kv_mount;
	char			*ca_file;
	int			 insecure;
	long			 timeout_ms;
	int			 cache_ttl_s;		/* < 0: no cache */
	int			 cache_max_stale_s;	/* < 0: never stale */

	/* mu: the token. */
	enum vault_state	 state;		/* only vault_set_state() writes it */
	secret_t		*tok_hdr;	/* "X-Vault-Token: <token>"; NULL iff state none */
	unsigned long		 tok_gen;	/* bumped by every new header */
	long			 tok_expiry_ms;	/* monotonic; 0 = never expires */
	long			 tok_login_ttl;	/* TTL a fresh login grants */
	int			 tok_renewable;

	/* mu: the KV cache. */
	struct vault_cent	*cache;
	size_t			 ncache;
	unsigned long		 cache_gen;	/* bumped by every invalidation */

	/* mu: status. */
	int			 sealed;
	int			 serving_stale;
	time_t			 last_ok;
	char			 last_error[256];
	unsigned long		 logins, renewals, errors;

	/* mu: the renewal thread. */
	pthread_t		 th;
	int			 th_running;
	int			 th_stop;
};

/* Monotonic deadline for a token granted ttl_s seconds now (0 = never). */
long	 vault_expiry_ms(long now, long ttl_s);

/* One HTTP call of /v1/<api_path> with token tok (may be NULL); transport
 * failures become vault_timeout / vault_unreachable. 0 = an answer arrived. */
int	 vault_http(struct vault *, const char *method, const char *api_path,
	    const char *body, size_t body_len, const secret_t *tok,
	    struct httpc_resp *, struct err *);
/* One HTTP call of /v1/<api_path> with the current token, logging in first
 * when there is none and once more when Vault says the token is dead.
 * 0 = an answer arrived (any status); -1 = transport or login failure. */
int	 vault_call(struct vault *, const char *method, const char *api_path,
	    const char *body, size_t body_len, struct httpc_resp *, struct err *);
/* Log in unless another thread did since the caller saw token generation
 * `seen` (logins are serialised; racing callers share one). */
int	 vault_relogin(struct vault *, unsigned long seen, struct err *);
/* A non-2xx answer as an err (see vault.h); always returns -1. */
int	 vault_map_status(struct vault *, const struct httpc_resp *,
	    const char *what, struct err *);
void	 vault_note_ok(struct vault *);
void	 vault_note_err(struct vault *, const struct err *);

/* A relative path of safe segments (no "", ".", ".."; no control chars),
 * percent-encoded per segment; caller frees. NULL + 400 err when bad. */
char	*vault_path_encode(const char *path, const char *what, struct err *);
/* renew-self; the new TTL goes through vault_token_update(). */
int	 vault_renew_self(struct vault *, struct err *);
/* lookup-self (renew 0) or renew-self (renew 1) with the current token:
 * its TTL, whether it is renewable, and the token generation it was. */
int	 vault_token_self(struct vault *, int renew, long *ttl, int *renewable,
	    unsigned long *gen, struct err *);

/* mu held. Logs "vault: old -> new (why)"; -1 (logged as an error, state
 * kept) when the table does not allow the change. */
int	 vault_set_state(struct vault *, enum vault_state to, const char *why);
const char *vault_state_name(enum vault_state);
/* valid or capped: Vault accepted the token last time it was asked. */
int	 vault_state_ok(enum vault_state);
/* mu not held. The one place the token's facts change after Vault answered:
 * a login (hdr a new header, taken; NULL keeps a static token's) or a
 * renewal of token generation gen (ignored, 1, when that token is gone).
 * Sets the state (valid, or capped when a renewal stopped extending),
 * expiry, counters. -1 when the state change was refused. */
int	 vault_token_update(struct vault *, enum vault_upd, secret_t *hdr,
	    unsigned long gen, long ttl, int renewable, const char *why);
/* Forget token generation gen (Vault no longer accepts it); a newer one
 * stays. mu not held. */
void	 vault_token_drop(struct vault *, unsigned long gen, const char *why);
/* Frees and clears the cache (mu held). */
void	 vault_cache_clear_locked(struct vault *);

#endif
