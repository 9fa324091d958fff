/*
 * jwt: JWS compact tokens, verified and minted with OpenSSL.
 *
 * The verifier trusts nothing in the token until the signature checks out:
 * the header is parsed strictly, its `alg` must be one pinned on a key of
 * the caller's key set (so an RS256 public key can never act as an HS256
 * secret, and `none` never passes), then the signature, then every claim
 * (exp/nbf/iat with skew, iss, aud). libjwt 1.10.2 is not used here: it
 * takes `alg` from the token, checks no claim, and refuses `typ` values
 * other than "JWT" (RFC 9068 access tokens say "at+jwt"); and this header's
 * name shadows its <jwt.h> for the files beside it in broker/.
 */
#ifndef TG_JWT_H
#define TG_JWT_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "secret.h"

struct err;

#define JWT_MAX_TOKEN_DEFAULT	8192
#define JWT_KID_MAX		64	/* including the NUL */

enum jwt_alg_pin { JWT_ALG_RS256, JWT_ALG_ES256, JWT_ALG_HS256 };

struct jwt_key {
	char		 kid[JWT_KID_MAX];	/* "" = no kid */
	enum jwt_alg_pin alg;			/* the only alg this key verifies */
	char		*pem;		/* public PEM for RS/ES; NULL for HS */
	const secret_t	*hmac;		/* HS256 key, not owned; NULL for RS/ES */
	void		*pkey;		/* parsed pem (EVP_PKEY), by jwt_key_prepare() */
};

struct jwt_verify_opts {
	const char	*issuer;	/* exact `iss` required unless NULL */
	const char	*audience;	/* NULL = aud not checked (Open WebUI has none) */
	long		 skew_s;	/* leeway for exp/nbf/iat; < 0 counts as 0 */
	time_t		 now;		/* 0 = time(NULL) */
	size_t		 max_token_len;	/* 0 = JWT_MAX_TOKEN_DEFAULT */
	int		 require_exp;	/* 0 (default) or 1: exp required; -1: optional */
};

/*
 * Verify `token` against the key set (see the top of this file for the
 * order of checks). A NULL opts means all defaults. The key is chosen by
 * the header's kid; with no kid, the one key pinned to the header's alg.
 * On success *claims is the payload object (caller decrefs). Every refusal
 * is 401 with one of the codes "token_malformed", "token_too_large",
 * "alg_not_allowed", "unknown_kid", "bad_signature", "token_expired",
 * "token_not_yet_valid", "bad_issuer", "bad_audience", "missing_claim";
 * 500 "nomem" / "jwt_internal" for local failures. Messages never carry
 * the token.
 */
int	 jwt_verify(const char *token, const struct jwt_key *keys, size_t nkeys,
	    const struct jwt_verify_opts *, json_t **claims, struct err *);

/* Parse and check k->pem once (OpenSSL 3 takes ~0.5 ms to parse a PEM,
 * ten times the signature check), so jwt_verify() need not per call. Call
 * before the key is shared between threads. Unprepared keys still work.
 * jwt_key_release() frees pem and the parsed key (not hmac). */
int	 jwt_key_prepare(struct jwt_key *, struct err *);
void	 jwt_key_release(struct jwt_key *);

/* The unverified header's alg and kid ("" when absent), for routing only:
 * never trust them for anything else. 401 "token_malformed" when the header
 * does not parse or a value does not fit its buffer. */
int	 jwt_peek_header(const char *token, char *alg, size_t alglen, char *kid,
	    size_t kidlen, struct err *);

/* Mint a token over `claims` (an object; the caller fills iat/exp).
 * jwt_mint_es256() signs with a P-256 private key PEM and puts `kid` (may
 * be NULL) in the header; jwt_mint_hs256() is for tests and demo tooling.
 * The caller frees the string. */
char	*jwt_mint_es256(const json_t *claims, const secret_t *private_pem,
	    const char *kid, struct err *);
char	*jwt_mint_hs256(const json_t *claims, const secret_t *key, struct err *);

/* The same as jwt_mint_es256() with the private key parsed once, for a
 * signer that mints on every request. Thread-safe once made. */
struct jwt_signer;
struct jwt_signer *jwt_signer_new(const secret_t *private_pem, const char *kid, struct err *);
char	*jwt_signer_mint(const struct jwt_signer *, const json_t *claims, struct err *);
void	 jwt_signer_free(struct jwt_signer *);

/* "RS256" / "ES256" / "HS256", and back (exact, case-sensitive). */
const char *jwt_alg_name(enum jwt_alg_pin);
int	 jwt_alg_parse(const char *, enum jwt_alg_pin *);

#endif
