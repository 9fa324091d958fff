/*
 * jwk: JSON Web Keys (RFC 7517) <-> PEM, for the public keys jwt.c
 * verifies with: RSA (n, e) and EC P-256 (crv, x, y). Symmetric ("oct")
 * keys are never taken from a JWKS: an HS256 key comes only from local
 * configuration.
 */
#ifndef TG_JWK_H
#define TG_JWK_H

#include <stddef.h>

#include <jansson.h>

#include "jwt.h"

struct err;

#define JWKS_MAX_KEYS	64

/* One public JWK -> SubjectPublicKeyInfo PEM (caller frees) and the alg it
 * is pinned to: its "alg" member if present (RS256 or ES256 only), else
 * RS256 for RSA and ES256 for EC P-256. Private members such as "d" are
 * ignored. 400 "jwk_unsupported" (kty, crv, alg) or "jwk_invalid". */
int	 jwk_to_pem(const json_t *jwk, char **pem, enum jwt_alg_pin *alg,
	    struct err *);

/* A JWKS document {"keys":[...]} -> key array (free with jwk_set_free()).
 * Keys with "use" other than "sig", an unknown kty/crv/alg, or a kid
 * longer than JWT_KID_MAX - 1 are skipped with a log line. The keys come
 * prepared (jwt_key_prepare()). A document with no usable key is 502
 * "jwks_invalid". */
int	 jwk_set_parse(const char *json, size_t len, struct jwt_key **keys,
	    size_t *n, struct err *);

/* A public key PEM (EC P-256 or RSA) -> its JWK with kid, alg and
 * "use":"sig", for publishing /jwks.json (old and new key in a rollover). */
json_t	*jwk_from_pem_public(const char *pem, const char *kid, struct err *);

/* The public half of a private key PEM, as PEM (caller frees). */
char	*jwk_public_pem_from_private(const secret_t *private_pem, struct err *);

/* jwt_key_release() on each key, then the array (hmac keys are not owned). */
void	 jwk_set_free(struct jwt_key *, size_t);

#endif
