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
};

#define IDENTITY_MAX_GROUPS	256

struct identity {
	char	  email[256];	/* lowercased, exactly one '@' */
	char	  subject[256];	/* sub claim, "" if absent */
	char	  source[16];	/* "oidc" | "openwebui" */
	char	**groups;	/* strings from the groups claim, at most 256 */
	size_t	  ngroups;
	time_t	  exp;
};

/* 500 "bad_config" when the configuration cannot work. Does not fetch the
 * JWKS: the first OIDC token does (a down IdP must not stop start-up). */
struct idv *identity_new(const struct identity_cfg *, struct err *);
void	 identity_free(struct idv *);

/*
 * Verify `token` and fill *id (release with identity_clear(), also after a
 * failure). Thread-safe. The unverified header's alg routes it: HS256 to
 * the Open WebUI path (only with owui_secret), RS256/ES256 to OIDC (only
 * the pinned algs). Errors are jwt_verify()'s 401 codes, plus 401
 * "no_email_claim" and 503 "jwks_unavailable" (no key set could be fetched).
 */
int	 identity_verify(struct idv *, const char *token, struct identity *, struct err *);
void	 identity_clear(struct identity *);
/* identity_verify(), except that an OIDC token whose aud is `resource` (the
 * forwarder's RFC 9728 resource, RFC 8707) is accepted as well as one for
 * oidc_audience; a token for any other audience is 401 "bad_audience".
 * resource NULL = identity_verify(). */
int	 identity_verify_resource(struct idv *, const char *token, const char *resource,
	    struct identity *, struct err *);

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
