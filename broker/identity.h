/*
 * identity: who is calling? Verifies the user assertion that comes with a
 * request, either an OIDC token (RS256/ES256, keys from the IdP's JWKS) or
 * Open WebUI's forwarded-user JWT (HS256 with a shared secret), and turns
 * it into a verified email, subject and groups.
 */
#ifndef TG_IDENTITY_H
#define TG_IDENTITY_H

#include <stddef.h>
#include <time.h>

#include "email.h"
#include "secret.h"

struct err;
struct idv;

/* Filled by the broker's config table; identity_new() copies what it keeps
 * (the secret too), so the caller may free its own after the call. */
struct identity_cfg {
	const char	*oidc_issuer;	/* NULL = OIDC disabled */
	const char	*oidc_audience;	/* required with oidc_issuer */
	const char	*oidc_jwks_url;	/* NULL = discovered from <issuer>/.well-known/openid-configuration */
	const char *const *oidc_algs;	/* pinned, e.g. {"RS256","ES256",NULL}; NULL = those two */
	const char	*oidc_ca_file;	/* CA bundle for the IdP; NULL = system CAs */
	const char	*email_claim;	/* "email" (NULL) | "upn" | "preferred_username" */
	const char	*groups_claim;	/* "groups" or NULL */
	long		 skew_s;	/* < 0 = 60 */
	long		 jwks_refresh_s; /* 0 = 300; an unknown kid refreshes at most once per 30 s */
	const secret_t	*owui_secret;	/* Open WebUI FORWARD_USER_INFO_HEADER_JWT_SECRET; NULL = disabled */
	const char	*owui_issuer;	/* NULL = "open-webui" */
	size_t		 max_token_len;	/* 0 = 8192 */
	enum email_mode	 email_mode;	/* EMAIL_ASCII (0) refuses non-ASCII emails */
	int		 require_email_verified; /* OIDC with email_claim "email": the
					 * claim must be present (and true) */
};

#define IDENTITY_MAX_GROUPS	256

struct identity {
	char	  email[256];	/* canonical (common/email.h): ASCII lower-cased */
	char	  subject[256];	/* sub claim, "" if absent */
	char	  source[16];	/* "oidc" | "openwebui" */
	char	**groups;	/* strings from the groups claim, at most 256 */
	size_t	  ngroups;
	time_t	  exp;		/* range-checked: 0 .. IDENTITY_TIME_MAX */
	time_t	  iat;		/* 0 when the token has none */
};

/* NumericDate claims past this (9999-12-31T23:59:59Z) are refused before
 * they are converted, so no double ever overflows a time_t. */
#define IDENTITY_TIME_MAX	253402300799.0

/* 500 "bad_config" when the configuration cannot work. Does not fetch the
 * JWKS: identity_refresh() does (a down IdP must not stop start-up). */
struct idv *identity_new(const struct identity_cfg *, struct err *);
/* Drops one reference (identity_new() gives the first). NULL is fine. */
void	 identity_free(struct idv *);
/* Another reference, so a background job may use v while a reload
 * replaces it; returns v. */
struct idv *identity_hold(struct idv *);

/*
 * The JWKS refresh, for a background thread (the broker's janitor), never
 * a request: fetches the IdP's key set when it is due (jwks_refresh_s
 * after the last one, 10 s after a failure, or at once when a request
 * asked), else returns at once. 1 when it fetched (or tried), else 0.
 */
int	 identity_refresh(struct idv *);
/* Who to ask for a fetch a request needs now (no key set yet, or an
 * unknown kid): ask(arg) must arrange identity_refresh() soon on another
 * thread, without blocking; the request waits up to 5 s for the result.
 * Without one a request never waits and answers 503 until a set exists. */
void	 identity_set_refresher(struct idv *, void (*ask)(void *), void *arg);

/*
 * Verify `token` and fill *id (release with identity_clear(), also after a
 * failure). Thread-safe. The unverified header's alg routes it: HS256 to
 * the Open WebUI path (only with owui_secret), RS256/ES256 to OIDC (only
 * the pinned algs). Errors are jwt_verify()'s 401 codes, plus 401
 * "no_email_claim", "email_non_ascii", "email_not_nfc" (email_canon()),
 * "email_not_verified", "token_malformed" (exp/nbf/iat out of range) and
 * 503 "jwks_unavailable" (no key set could be fetched).
 */
int	 identity_verify(struct idv *, const char *token, struct identity *, struct err *);
void	 identity_clear(struct identity *);
/* identity_verify(), except that an OIDC token whose aud is `resource` (the
 * forwarder's RFC 9728 resource, RFC 8707) is accepted as well as one for
 * oidc_audience; a token for any other audience is 401 "bad_audience".
 * resource NULL = identity_verify(). */
int	 identity_verify_resource(struct idv *, const char *token, const char *resource,
	    struct identity *, struct err *);

/* Seconds since the IdP's key set was fetched; -1 when none is held (OIDC
 * off, or not fetched yet). For /readyz and metrics. */
long	 identity_jwks_age(struct idv *);

/* Test hooks. fetch() GETs url into a malloc()ed body (the default uses
 * httpc); now() is the clock (default time()). Set them before any
 * identity_verify() runs. identity_set_jwks() installs a JWKS document as
 * if it had just been fetched. */
struct identity_hooks {
	int	(*fetch)(void *arg, const char *url, char **body, size_t *len, struct err *);
	time_t	(*now)(void *arg);
	void	 *arg;
};
void	 identity_set_hooks(struct idv *, const struct identity_hooks *);
int	 identity_set_jwks(struct idv *, const char *json, size_t len, struct err *);

#endif
