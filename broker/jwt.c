/*
 * jwt: strict JWS compact verification and minting (RS256, ES256, HS256)
 * with OpenSSL 3. Owns the order of checks that keeps the classic attacks
 * out: size, structure, strict base64url, header JSON, pinned alg, key by
 * kid, signature, then the claims. Nothing from the token is trusted, or
 * even parsed beyond the header, before the signature verifies.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "b64url.h"
#include "err.h"
#include "jsonx.h"
#include "jwt.h"
#include "log.h"

#define JWT_PEEK_MAX		65536	/* jwt_peek_header() has no opts */
#define JWT_RSA_MIN_BITS	2048
#define JWT_ES256_SIGLEN	64
#define JWT_SAFE_MAX		48	/* attacker text quoted in a message */

/* The three segments of a compact JWS, pointing into the token. */
struct jws {
	const char	*h, *p, *s;
	size_t		 hlen, plen, slen;
};

static const char *const alg_names[] = {
	[JWT_ALG_RS256] = "RS256",
	[JWT_ALG_ES256] = "ES256",
	[JWT_ALG_HS256] = "HS256",
};

const char *
jwt_alg_name(enum jwt_alg_pin alg)
{
	if ((size_t)alg >= sizeof alg_names / sizeof alg_names[0])
		return "?";
	return alg_names[alg];
}

int
jwt_alg_parse(const char *s, enum jwt_alg_pin *out)
{
	size_t i;

	for (i = 0; s != NULL && i < sizeof alg_names / sizeof alg_names[0]; i++) {
		if (strcmp(s, alg_names[i]) == 0) {
			*out = (enum jwt_alg_pin)i;
			return 0;
		}
	}
	return -1;
}

/* Copy attacker-supplied text into a message: short, printable, no quotes. */
static void
safe_copy(char *dst, size_t dstlen, const char *src)
{
	size_t	i;
	char	c;

	for (i = 0; i + 1 < dstlen && src[i] != '\0'; i++) {
		c = src[i];
		dst[i] = (c >= 0x21 && c <= 0x7e && c != '"' && c != '\\') ? c : '?';
	}
	dst[i] = '\0';
}

static int
jws_split(const char *token, size_t max, struct jws *j, struct err *e)
{
	const char	*d1, *d2;
	size_t		 len;

	if (token == NULL || *token == '\0')
		return err_set(e, 401, "token_malformed", "no token was given");
	if ((len = strnlen(token, max + 1)) > max)
		return err_set(e, 401, "token_too_large",
		    "token is longer than %zu bytes", max);
	if ((d1 = memchr(token, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token))) == NULL ||
	    memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)) != NULL)
		return err_set(e, 401, "token_malformed",
		    "token must have three dot-separated parts");
	j->h = token;
	j->hlen = (size_t)(d1 - token);
	j->p = d1 + 1;
	j->plen = (size_t)(d2 - j->p);
	j->s = d2 + 1;
	j->slen = len - (size_t)(j->s - token);
	if (j->hlen == 0 || j->plen == 0)
		return err_set(e, 401, "token_malformed",
		    "token header or payload is empty");
	return 0;
}

/* base64url -> JSON object, strictly: duplicate keys would let two
 * parsers read different claims from the same signed bytes. */
static json_t *
jws_object(const char *b64, size_t len, const char *what, struct err *e)
{
	json_error_t	 je;
	unsigned char	*raw;
	json_t		*v;
	size_t		 n;

	if ((raw = b64url_decode(b64, len, &n)) == NULL) {
		err_set(e, 401, "token_malformed", "token %s is not valid base64url", what);
		return NULL;
	}
	v = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, &je);
	free(raw);
	if (v == NULL) {
		err_set(e, 401, "token_malformed", "token %s is not valid JSON", what);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		err_set(e, 401, "token_malformed", "token %s is not a JSON object", what);
		return NULL;
	}
	return v;
}

/* Parse the header; *alg and *kid point into it ("" for no kid). */
static json_t *
jws_header(const struct jws *j, const char **alg, const char **kid, struct err *e)
{
	json_t	*h, *v;

	if ((h = jws_object(j->h, j->hlen, "header", e)) == NULL)
		return NULL;
	if ((*alg = jsonx_str(h, "alg")) == NULL) {
		json_decref(h);
		err_set(e, 401, "token_malformed", "token header has no alg");
		return NULL;
	}
	*kid = "";
	if ((v = json_object_get(h, "kid")) != NULL) {
		if (!json_is_string(v)) {
			json_decref(h);
			err_set(e, 401, "token_malformed", "token header kid is not a string");
			return NULL;
		}
		*kid = json_string_value(v);
	}
	/* RFC 7515 4.1.11: we understand no extension, so any crit fails. */
	if (json_object_get(h, "crit") != NULL) {
		json_decref(h);
		err_set(e, 401, "token_malformed", "token header has unsupported crit");
		return NULL;
	}
	return h;
}

int
jwt_peek_header(const char *token, char *alg, size_t alglen, char *kid,
    size_t kidlen, struct err *e)
{
	struct jws	 j;
	json_t		*h;
	const char	*a, *k;
	int		 rc = -1;

	if (jws_split(token, JWT_PEEK_MAX, &j, e) == -1)
		return -1;
	if ((h = jws_header(&j, &a, &k, e)) == NULL)
		return -1;
	if (strlen(a) >= alglen || strlen(k) >= kidlen)
		err_set(e, 401, "token_malformed", "token header alg or kid is too long");
	else {
		memcpy(alg, a, strlen(a) + 1);
		memcpy(kid, k, strlen(k) + 1);
		rc = 0;
	}
	json_decref(h);
	return rc;
}

/*
 * Pick the key: by kid if the header has one, else the only key pinned to
 * this alg. A key whose pinned alg differs from the header's is refused
 * even when its kid matches: that is the algorithm-confusion attack.
 */
static const struct jwt_key *
key_select(const struct jwt_key *keys, size_t nkeys, enum jwt_alg_pin alg,
    const char *kid, struct err *e)
{
	const struct jwt_key	*found = NULL;
	size_t			 i, nalg = 0;
	int			 kid_other_alg = 0;
	char			 safe[JWT_SAFE_MAX];

	for (i = 0; i < nkeys; i++) {
		if (keys[i].alg == alg)
			nalg++;
		if (*kid == '\0' || strcmp(keys[i].kid, kid) != 0)
			continue;
		if (keys[i].alg != alg)
			kid_other_alg = 1;
		else if (found == NULL)
			found = &keys[i];
	}
	if (found != NULL)
		return found;
	if (nalg == 0 || kid_other_alg) {
		err_set(e, 401, "alg_not_allowed", "algorithm %s is not allowed for %s",
		    jwt_alg_name(alg), kid_other_alg ? "this key" : "these keys");
		return NULL;
	}
	if (*kid != '\0') {
		safe_copy(safe, sizeof safe, kid);
		err_set(e, 401, "unknown_kid", "no key with kid '%s'", safe);
		return NULL;
	}
	for (i = 0; i < nkeys; i++)
		if (keys[i].alg == alg)
			found = &keys[i];
	if (nalg > 1) {
		err_set(e, 401, "unknown_kid",
		    "token has no kid and %zu keys accept %s", nalg, jwt_alg_name(alg));
		return NULL;
	}
	return found;
}

/* Parse a public PEM and check it can do what alg says. */
static EVP_PKEY *
pubkey_parse(const char *pem, enum jwt_alg_pin alg, const char *kid, struct err *e)
{
	EVP_PKEY	*pk = NULL;
	BIO		*bio;
	char		 group[32];
	int		 ok = 0;

	if (pem != NULL && (bio = BIO_new_mem_buf(pem, -1)) != NULL) {
		pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	if (pk != NULL && alg == JWT_ALG_RS256)
		ok = EVP_PKEY_is_a(pk, "RSA") && EVP_PKEY_get_bits(pk) >= JWT_RSA_MIN_BITS;
	else if (pk != NULL && alg == JWT_ALG_ES256)
		ok = EVP_PKEY_is_a(pk, "EC") &&
		    EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME,
		    group, sizeof group, NULL) == 1 && strcmp(group, "prime256v1") == 0;
	ERR_clear_error();
	if (!ok) {
		EVP_PKEY_free(pk);
		log_warnx("jwt: key '%s' is not a usable %s public key", kid, jwt_alg_name(alg));
		err_set(e, 500, "jwt_key_invalid", "key '%s' is not a usable %s public key",
		    kid, jwt_alg_name(alg));
		return NULL;
	}
	return pk;
}

int
jwt_key_prepare(struct jwt_key *k, struct err *e)
{
	EVP_PKEY *pk;

	if (k->alg == JWT_ALG_HS256)
		return 0;
	if ((pk = pubkey_parse(k->pem, k->alg, k->kid, e)) == NULL)
		return -1;
	EVP_PKEY_free(k->pkey);
	k->pkey = pk;
	return 0;
}

void
jwt_key_release(struct jwt_key *k)
{
	if (k == NULL)
		return;
	free(k->pem);
	k->pem = NULL;
	EVP_PKEY_free(k->pkey);
	k->pkey = NULL;
}

/* JWS ES256 signatures are R||S; OpenSSL wants DER. */
static unsigned char *
es256_to_der(const unsigned char *sig, int *derlen)
{
	ECDSA_SIG	*es;
	BIGNUM		*r, *s;
	unsigned char	*der = NULL;

	r = BN_bin2bn(sig, 32, NULL);
	s = BN_bin2bn(sig + 32, 32, NULL);
	if ((es = ECDSA_SIG_new()) == NULL || r == NULL || s == NULL ||
	    ECDSA_SIG_set0(es, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return NULL;
	}
	if ((*derlen = i2d_ECDSA_SIG(es, &der)) <= 0)
		der = NULL;
	ECDSA_SIG_free(es);
	return der;
}

/* 1 good, 0 bad, -1 local failure (err set). */
static int
sig_check(const struct jwt_key *k, const char *input, size_t inlen,
    const unsigned char *sig, size_t slen, struct err *e)
{
	unsigned char	 mac[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int	 maclen = 0;
	EVP_MD_CTX	*md;
	EVP_PKEY	*pk;
	int		 derlen = 0, rc;

	if (k->alg == JWT_ALG_HS256) {
		if (k->hmac == NULL || secret_len(k->hmac) == 0)
			return err_set(e, 500, "jwt_key_invalid", "HS256 key is empty");
		if (HMAC(EVP_sha256(), secret_bytes(k->hmac), (int)secret_len(k->hmac),
		    (const unsigned char *)input, inlen, mac, &maclen) == NULL)
			return err_set(e, 500, "jwt_internal", "HMAC failed");
		rc = slen == maclen && CRYPTO_memcmp(mac, sig, maclen) == 0;
		secret_wipe(mac, sizeof mac);
		return rc;
	}
	if (k->alg == JWT_ALG_ES256) {
		if (slen != JWT_ES256_SIGLEN)
			return 0;
		if ((der = es256_to_der(sig, &derlen)) == NULL)
			return err_set(e, 500, "nomem", "out of memory");
		sig = der;
		slen = (size_t)derlen;
	}
	/* A prepared key is only read here: safe to share between threads. */
	if ((pk = k->pkey) == NULL && (pk = pubkey_parse(k->pem, k->alg, k->kid, e)) == NULL) {
		OPENSSL_free(der);
		return -1;
	}
	rc = (md = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1 &&
	    EVP_DigestVerify(md, sig, slen, (const unsigned char *)input, inlen) == 1;
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	if (pk != k->pkey)
		EVP_PKEY_free(pk);
	OPENSSL_free(der);
	return rc;
}

/* A NumericDate claim: 1 present (value in *out), 0 absent, -1 malformed. */
static int
claim_time(const json_t *claims, const char *name, double *out, struct err *e)
{
	json_t *v = json_object_get(claims, name);

	if (v == NULL)
		return 0;
	if (!json_is_number(v))
		return err_set(e, 401, "token_malformed", "claim '%s' must be a number", name);
	*out = json_number_value(v);
	return 1;
}

static int
claims_check(const json_t *c, const struct jwt_verify_opts *o, struct err *e)
{
	double		 now, skew, t;
	json_t		*aud, *v;
	const char	*iss;
	int		 rc;

	now = (double)(o->now != 0 ? o->now : time(NULL));
	skew = o->skew_s > 0 ? (double)o->skew_s : 0.0;

	if ((rc = claim_time(c, "exp", &t, e)) == -1)
		return -1;
	if (rc == 0 && o->require_exp >= 0)
		return err_set(e, 401, "missing_claim", "token has no exp claim");
	if (rc == 1 && now >= t + skew)
		return err_set(e, 401, "token_expired", "token expired %.0f s ago",
		    now - t);
	if ((rc = claim_time(c, "nbf", &t, e)) == -1)
		return -1;
	if (rc == 1 && now + skew < t)
		return err_set(e, 401, "token_not_yet_valid",
		    "token is not valid for another %.0f s", t - now);
	if ((rc = claim_time(c, "iat", &t, e)) == -1)
		return -1;
	if (rc == 1 && now + skew < t)
		return err_set(e, 401, "token_not_yet_valid",
		    "token was issued %.0f s in the future", t - now);

	if (o->issuer != NULL) {
		if ((v = json_object_get(c, "iss")) == NULL)
			return err_set(e, 401, "missing_claim", "token has no iss claim");
		if ((iss = json_string_value(v)) == NULL || strcmp(iss, o->issuer) != 0)
			return err_set(e, 401, "bad_issuer",
			    "token was not issued by %s", o->issuer);
	}
	if (o->audience != NULL) {
		if ((aud = json_object_get(c, "aud")) == NULL)
			return err_set(e, 401, "missing_claim", "token has no aud claim");
		if (!(json_is_string(aud) && strcmp(json_string_value(aud), o->audience) == 0) &&
		    !jsonx_array_has(aud, o->audience))
			return err_set(e, 401, "bad_audience",
			    "token is not meant for audience %s", o->audience);
	}
	return 0;
}

int
jwt_verify(const char *token, const struct jwt_key *keys, size_t nkeys,
    const struct jwt_verify_opts *opts, json_t **claims, struct err *e)
{
	static const struct jwt_verify_opts defaults;
	const struct jwt_key	*key;
	struct jws		 j;
	enum jwt_alg_pin	 alg;
	unsigned char		*sig = NULL;
	const char		*algname, *kid;
	json_t			*h = NULL, *c = NULL;
	size_t			 slen = 0;
	char			 safe[JWT_SAFE_MAX];
	int			 rc;

	*claims = NULL;
	if (opts == NULL)
		opts = &defaults;
	if (jws_split(token, opts->max_token_len != 0 ? opts->max_token_len :
	    JWT_MAX_TOKEN_DEFAULT, &j, e) == -1)
		return -1;
	if ((h = jws_header(&j, &algname, &kid, e)) == NULL)
		return -1;
	if (jwt_alg_parse(algname, &alg) == -1) {
		safe_copy(safe, sizeof safe, algname);
		err_set(e, 401, "alg_not_allowed", "algorithm '%s' is not allowed", safe);
		goto fail;
	}
	if ((key = key_select(keys, nkeys, alg, kid, e)) == NULL)
		goto fail;
	if (j.slen == 0 || (sig = b64url_decode(j.s, j.slen, &slen)) == NULL) {
		err_set(e, 401, "token_malformed", "token signature is not valid base64url");
		goto fail;
	}
	/* The payload is decoded and parsed only once the signature holds. */
	if ((rc = sig_check(key, j.h, j.hlen + 1 + j.plen, sig, slen, e)) != 1) {
		if (rc == 0)
			err_set(e, 401, "bad_signature", "token signature does not verify");
		goto fail;
	}
	if ((c = jws_object(j.p, j.plen, "payload", e)) == NULL)
		goto fail;
	if (claims_check(c, opts, e) == -1)
		goto fail;
	free(sig);
	json_decref(h);
	*claims = c;
	return 0;
fail:
	free(sig);
	json_decref(h);
	json_decref(c);
	return -1;
}

/* "<b64 header>.<b64 payload>", the bytes a JWS signature covers. */
static char *
jws_input(json_t *header, const json_t *claims, struct err *e)
{
	char	*hj = NULL, *pj = NULL, *hb = NULL, *pb = NULL, *out = NULL;
	size_t	 hl, pl;

	if (!json_is_object(claims)) {
		err_set(e, 500, "jwt_internal", "claims must be a JSON object");
		return NULL;
	}
	if (header != NULL &&
	    (hj = json_dumps(header, JSON_COMPACT)) != NULL &&
	    (pj = json_dumps(claims, JSON_COMPACT)) != NULL &&
	    (hb = b64url_encode((unsigned char *)hj, strlen(hj))) != NULL &&
	    (pb = b64url_encode((unsigned char *)pj, strlen(pj))) != NULL) {
		hl = strlen(hb);
		pl = strlen(pb);
		if ((out = malloc(hl + 1 + pl + 1)) != NULL) {
			memcpy(out, hb, hl);
			out[hl] = '.';
			memcpy(out + hl + 1, pb, pl + 1);
		}
	}
	if (out == NULL)
		err_set(e, 500, "nomem", "out of memory");
	free(hj);
	free(pj);
	free(hb);
	free(pb);
	return out;
}

/* input + "." + base64url(sig); frees input. */
static char *
jws_finish(char *input, const unsigned char *sig, size_t slen, struct err *e)
{
	char	*sb, *out = NULL;
	size_t	 il;

	if ((sb = b64url_encode(sig, slen)) != NULL) {
		il = strlen(input);
		if ((out = malloc(il + 1 + strlen(sb) + 1)) != NULL) {
			memcpy(out, input, il);
			out[il] = '.';
			memcpy(out + il + 1, sb, strlen(sb) + 1);
		}
	}
	if (out == NULL)
		err_set(e, 500, "nomem", "out of memory");
	free(sb);
	free(input);
	return out;
}

static int
no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1;	/* never prompt on a terminal */
}

/* DER ECDSA signature -> 64-byte R||S. */
static int
es256_from_der(const unsigned char *der, size_t derlen, unsigned char out[64])
{
	const BIGNUM	*r, *s;
	ECDSA_SIG	*es;
	int		 ok;

	if ((es = d2i_ECDSA_SIG(NULL, &der, (long)derlen)) == NULL)
		return -1;
	ECDSA_SIG_get0(es, &r, &s);
	ok = BN_bn2binpad(r, out, 32) == 32 && BN_bn2binpad(s, out + 32, 32) == 32;
	ECDSA_SIG_free(es);
	return ok ? 0 : -1;
}

struct jwt_signer {
	EVP_PKEY	*pk;
	char		 kid[JWT_KID_MAX];	/* "" = none in the header */
};

struct jwt_signer *
jwt_signer_new(const secret_t *private_pem, const char *kid, struct err *e)
{
	struct jwt_signer	*sg;
	EVP_PKEY		*pk = NULL;
	BIO			*bio;
	char			 group[32];

	if (kid != NULL && strlen(kid) >= JWT_KID_MAX) {
		err_set(e, 500, "jwt_internal", "kid is longer than %d bytes", JWT_KID_MAX - 1);
		return NULL;
	}
	if (private_pem != NULL && (bio = BIO_new_mem_buf(secret_bytes(private_pem),
	    (int)secret_len(private_pem))) != NULL) {
		pk = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
		BIO_free(bio);
	}
	ERR_clear_error();
	if (pk == NULL || !EVP_PKEY_is_a(pk, "EC") ||
	    EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group,
	    sizeof group, NULL) != 1 || strcmp(group, "prime256v1") != 0) {
		EVP_PKEY_free(pk);
		err_set(e, 500, "jwt_key_invalid",
		    "signing key is not an unencrypted P-256 private key PEM");
		return NULL;
	}
	if ((sg = calloc(1, sizeof *sg)) == NULL) {
		EVP_PKEY_free(pk);
		err_set(e, 500, "nomem", "out of memory");
		return NULL;
	}
	sg->pk = pk;
	if (kid != NULL)
		memcpy(sg->kid, kid, strlen(kid) + 1);
	return sg;
}

void
jwt_signer_free(struct jwt_signer *sg)
{
	if (sg == NULL)
		return;
	EVP_PKEY_free(sg->pk);	/* clears the private scalar */
	free(sg);
}

char *
jwt_signer_mint(const struct jwt_signer *sg, const json_t *claims, struct err *e)
{
	unsigned char	 der[128], rs[JWT_ES256_SIGLEN];
	EVP_MD_CTX	*md;
	json_t		*header;
	char		*input;
	size_t		 derlen = sizeof der;
	int		 ok;

	header = sg->kid[0] != '\0' ?
	    json_pack("{s:s,s:s,s:s}", "alg", "ES256", "typ", "JWT", "kid", sg->kid) :
	    json_pack("{s:s,s:s}", "alg", "ES256", "typ", "JWT");
	input = jws_input(header, claims, e);
	json_decref(header);
	if (input == NULL)
		return NULL;
	ok = (md = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, sg->pk) == 1 &&
	    EVP_DigestSign(md, der, &derlen, (unsigned char *)input, strlen(input)) == 1 &&
	    es256_from_der(der, derlen, rs) == 0;
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	if (!ok) {
		free(input);
		err_set(e, 500, "jwt_internal", "ES256 signing failed");
		return NULL;
	}
	return jws_finish(input, rs, sizeof rs, e);
}

char *
jwt_mint_es256(const json_t *claims, const secret_t *private_pem, const char *kid,
    struct err *e)
{
	struct jwt_signer	*sg;
	char			*tok;

	if ((sg = jwt_signer_new(private_pem, kid, e)) == NULL)
		return NULL;
	tok = jwt_signer_mint(sg, claims, e);
	jwt_signer_free(sg);
	return tok;
}

char *
jwt_mint_hs256(const json_t *claims, const secret_t *key, struct err *e)
{
	unsigned char	 mac[EVP_MAX_MD_SIZE];
	unsigned int	 maclen = 0;
	json_t		*header;
	char		*input;

	if (key == NULL || secret_len(key) == 0) {
		err_set(e, 500, "jwt_key_invalid", "HS256 key is empty");
		return NULL;
	}
	header = json_pack("{s:s,s:s}", "alg", "HS256", "typ", "JWT");
	input = jws_input(header, claims, e);
	json_decref(header);
	if (input == NULL)
		return NULL;
	if (HMAC(EVP_sha256(), secret_bytes(key), (int)secret_len(key),
	    (unsigned char *)input, strlen(input), mac, &maclen) == NULL) {
		free(input);
		err_set(e, 500, "jwt_internal", "HMAC failed");
		return NULL;
	}
	return jws_finish(input, mac, maclen, e);
}
