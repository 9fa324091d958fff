/*
 * jwk: JWK/JWKS <-> PEM with OpenSSL 3 (EVP_PKEY_fromdata to build keys
 * from their parameters, PEM_write_bio_PUBKEY to hand them to jwt.c).
 * Every imported key is checked (EVP_PKEY_public_check: point on the
 * curve, sane RSA modulus) before it can verify anything.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "b64url.h"
#include "err.h"
#include "jsonx.h"
#include "jwk.h"
#include "jwt.h"
#include "log.h"

#define JWK_RSA_MIN_BITS	2048
#define JWK_RSA_MAX_BITS	16384
#define JWK_P256_LEN		32

static int
no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	return -1;	/* an encrypted key is an error, never a prompt */
}

static char *
pem_of(EVP_PKEY *pk)
{
	BIO	*bio;
	char	*data, *out = NULL;
	long	 len;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (PEM_write_bio_PUBKEY(bio, pk) == 1 &&
	    (len = BIO_get_mem_data(bio, &data)) > 0 &&
	    (out = malloc((size_t)len + 1)) != NULL) {
		memcpy(out, data, (size_t)len);
		out[len] = '\0';
	}
	BIO_free(bio);
	return out;
}

/* A base64url member as bytes. Trailing '=' is tolerated: some JWKS
 * publishers pad, and these are public values. */
static unsigned char *
member_bytes(const json_t *jwk, const char *name, size_t *len, struct err *e)
{
	const char	*s = jsonx_str(jwk, name);
	unsigned char	*b;
	size_t		 n;

	if (s == NULL) {
		err_set(e, 400, "jwk_invalid", "JWK member '%s' is missing", name);
		return NULL;
	}
	for (n = strlen(s); n > 0 && s[n - 1] == '='; n--)
		;
	if (n == 0 || (b = b64url_decode(s, n, len)) == NULL) {
		err_set(e, 400, "jwk_invalid", "JWK member '%s' is not base64url", name);
		return NULL;
	}
	return b;
}

/* Build a public key from parameters and check it; an RSA key must also
 * have JWK_RSA_MIN_BITS to JWK_RSA_MAX_BITS bits. */
static EVP_PKEY *
pkey_build(const char *type, OSSL_PARAM_BLD *bld, struct err *e)
{
	EVP_PKEY_CTX	*ctx = NULL, *chk = NULL;
	OSSL_PARAM	*params = NULL;
	EVP_PKEY	*pk = NULL;
	int		 bits;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1 ||
	    (chk = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) == NULL ||
	    EVP_PKEY_public_check(chk) != 1)
		err_set(e, 400, "jwk_invalid", "JWK is not a valid %s public key", type);
	else if (strcmp(type, "RSA") == 0 &&
	    ((bits = EVP_PKEY_get_bits(pk)) < JWK_RSA_MIN_BITS || bits > JWK_RSA_MAX_BITS))
		err_set(e, 400, "jwk_unsupported", "RSA JWK has %d bits; %d to %d are accepted",
		    bits, JWK_RSA_MIN_BITS, JWK_RSA_MAX_BITS);
	else
		goto done;
	EVP_PKEY_free(pk);
	pk = NULL;
done:
	ERR_clear_error();
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pk;
}

static EVP_PKEY *
jwk_rsa(const json_t *jwk, struct err *e)
{
	OSSL_PARAM_BLD	*bld;
	unsigned char	*nb = NULL, *eb = NULL;
	BIGNUM		*n = NULL, *ex = NULL;
	EVP_PKEY	*pk = NULL;
	size_t		 nlen, elen;

	if ((nb = member_bytes(jwk, "n", &nlen, e)) == NULL ||
	    (eb = member_bytes(jwk, "e", &elen, e)) == NULL)
		goto done;
	if (nlen > JWK_RSA_MAX_BITS / 8 + 1 || elen > 8) {
		err_set(e, 400, "jwk_unsupported", "RSA JWK is larger than supported");
		goto done;
	}
	n = BN_bin2bn(nb, (int)nlen, NULL);
	ex = BN_bin2bn(eb, (int)elen, NULL);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL || n == NULL || ex == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, ex) != 1)
		err_set(e, 500, "nomem", "out of memory");
	else
		pk = pkey_build("RSA", bld, e);
	OSSL_PARAM_BLD_free(bld);
done:
	BN_free(n);
	BN_free(ex);
	free(nb);
	free(eb);
	return pk;
}

static EVP_PKEY *
jwk_ec(const json_t *jwk, struct err *e)
{
	unsigned char	 point[1 + 2 * JWK_P256_LEN], *x = NULL, *y = NULL;
	OSSL_PARAM_BLD	*bld = NULL;
	EVP_PKEY	*pk = NULL;
	const char	*crv = jsonx_str(jwk, "crv");
	size_t		 xlen, ylen;

	if (crv == NULL || strcmp(crv, "P-256") != 0) {
		err_set(e, 400, "jwk_unsupported", "EC JWK curve must be P-256");
		return NULL;
	}
	if ((x = member_bytes(jwk, "x", &xlen, e)) == NULL ||
	    (y = member_bytes(jwk, "y", &ylen, e)) == NULL)
		goto done;
	if (xlen != JWK_P256_LEN || ylen != JWK_P256_LEN) {
		err_set(e, 400, "jwk_invalid", "EC JWK x and y must be 32 bytes each");
		goto done;
	}
	point[0] = 0x04;	/* uncompressed */
	memcpy(point + 1, x, JWK_P256_LEN);
	memcpy(point + 1 + JWK_P256_LEN, y, JWK_P256_LEN);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
	    sizeof point) != 1)
		err_set(e, 500, "nomem", "out of memory");
	else
		pk = pkey_build("EC", bld, e);
done:
	OSSL_PARAM_BLD_free(bld);
	free(x);
	free(y);
	return pk;
}

int
jwk_to_pem(const json_t *jwk, char **pem, enum jwt_alg_pin *alg, struct err *e)
{
	const char		*kty, *a;
	enum jwt_alg_pin	 want;
	EVP_PKEY		*pk;

	*pem = NULL;
	if (!json_is_object(jwk) || (kty = jsonx_str(jwk, "kty")) == NULL)
		return err_set(e, 400, "jwk_invalid", "JWK has no kty");
	if (strcmp(kty, "RSA") == 0)
		want = JWT_ALG_RS256;
	else if (strcmp(kty, "EC") == 0)
		want = JWT_ALG_ES256;
	else
		return err_set(e, 400, "jwk_unsupported",
		    "JWK kty must be RSA or EC (P-256)");
	if (json_object_get(jwk, "alg") != NULL &&
	    ((a = jsonx_str(jwk, "alg")) == NULL || strcmp(a, jwt_alg_name(want)) != 0))
		return err_set(e, 400, "jwk_unsupported", "JWK alg must be %s for kty %s",
		    jwt_alg_name(want), kty);
	if ((pk = want == JWT_ALG_RS256 ? jwk_rsa(jwk, e) : jwk_ec(jwk, e)) == NULL)
		return -1;
	*pem = pem_of(pk);
	EVP_PKEY_free(pk);
	if (*pem == NULL)
		return err_set(e, 500, "nomem", "out of memory");
	*alg = want;
	return 0;
}

/* A kid we can match and print: short, printable ASCII. */
static int
kid_ok(const char *kid)
{
	size_t i;

	for (i = 0; kid[i] != '\0'; i++)
		if ((unsigned char)kid[i] < 0x20 || (unsigned char)kid[i] > 0x7e)
			return 0;
	return i < JWT_KID_MAX;
}

int
jwk_set_parse(const char *json, size_t len, struct jwt_key **keys, size_t *n,
    struct err *e)
{
	json_error_t	 je;
	struct jwt_key	*out;
	struct err	 ke;
	json_t		*doc, *arr, *jwk;
	const char	*kid, *use;
	size_t		 i, cnt = 0;

	*keys = NULL;
	*n = 0;
	if (json == NULL || (doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je)) == NULL)
		return err_set(e, 502, "jwks_invalid", "JWKS is not valid JSON");
	if (!json_is_array(arr = json_object_get(doc, "keys"))) {
		json_decref(doc);
		return err_set(e, 502, "jwks_invalid", "JWKS has no keys array");
	}
	if ((out = calloc(JWKS_MAX_KEYS, sizeof *out)) == NULL) {
		json_decref(doc);
		return err_set(e, 500, "nomem", "out of memory");
	}
	json_array_foreach(arr, i, jwk) {
		kid = jsonx_str(jwk, "kid");
		if (kid == NULL)
			kid = "";
		if (!kid_ok(kid)) {
			log_warnx("jwks: skipping key #%zu: kid too long or not printable", i);
			continue;
		}
		use = jsonx_str(jwk, "use");
		if (json_object_get(jwk, "use") != NULL &&
		    (use == NULL || strcmp(use, "sig") != 0)) {
			log_debug("jwks: skipping key '%s': not a signing key", kid);
			continue;
		}
		if (cnt == JWKS_MAX_KEYS) {
			log_warnx("jwks: more than %d keys, ignoring the rest", JWKS_MAX_KEYS);
			break;
		}
		err_clear(&ke);
		if (jwk_to_pem(jwk, &out[cnt].pem, &out[cnt].alg, &ke) == -1) {
			log_warnx("jwks: skipping key '%s': %s", kid, ke.msg);
			continue;
		}
		memcpy(out[cnt].kid, kid, strlen(kid) + 1);
		if (jwt_key_prepare(&out[cnt], &ke) == -1) {
			log_warnx("jwks: skipping key '%s': %s", kid, ke.msg);
			jwt_key_release(&out[cnt]);
			continue;
		}
		cnt++;
	}
	json_decref(doc);
	if (cnt == 0) {
		free(out);
		return err_set(e, 502, "jwks_invalid", "JWKS has no usable signing key");
	}
	*keys = out;
	*n = cnt;
	return 0;
}

static EVP_PKEY *
pubkey_read(const char *pem)
{
	EVP_PKEY	*pk = NULL;
	BIO		*bio;

	if (pem != NULL && (bio = BIO_new_mem_buf(pem, -1)) != NULL) {
		pk = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
		BIO_free(bio);
	}
	ERR_clear_error();
	return pk;
}

/* A BIGNUM parameter as base64url, left-padded to pad bytes (0 = minimal). */
static char *
param_b64(EVP_PKEY *pk, const char *name, int pad)
{
	unsigned char	 buf[JWK_RSA_MAX_BITS / 8 + 1];
	BIGNUM		*bn = NULL;
	char		*out = NULL;
	int		 len;

	if (EVP_PKEY_get_bn_param(pk, name, &bn) != 1)
		return NULL;
	if (BN_num_bytes(bn) <= (int)sizeof buf) {
		len = pad > 0 ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
		if (len > 0)
			out = b64url_encode(buf, (size_t)len);
	}
	BN_free(bn);
	return out;
}

json_t *
jwk_from_pem_public(const char *pem, const char *kid, struct err *e)
{
	EVP_PKEY	*pk;
	json_t		*jwk = NULL;
	const char	*why = "out of memory";
	char		*a = NULL, *b = NULL, group[32];

	if ((pk = pubkey_read(pem)) == NULL) {
		err_set(e, 500, "jwk_invalid", "not a public key PEM");
		return NULL;
	}
	if (EVP_PKEY_is_a(pk, "EC")) {
		if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group,
		    sizeof group, NULL) != 1 || strcmp(group, "prime256v1") != 0)
			why = "EC key is not on P-256";
		else if ((a = param_b64(pk, OSSL_PKEY_PARAM_EC_PUB_X, JWK_P256_LEN)) != NULL &&
		    (b = param_b64(pk, OSSL_PKEY_PARAM_EC_PUB_Y, JWK_P256_LEN)) != NULL)
			jwk = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "kty", "EC",
			    "crv", "P-256", "x", a, "y", b, "alg", "ES256", "use", "sig");
	} else if (EVP_PKEY_is_a(pk, "RSA")) {
		if ((a = param_b64(pk, OSSL_PKEY_PARAM_RSA_N, 0)) != NULL &&
		    (b = param_b64(pk, OSSL_PKEY_PARAM_RSA_E, 0)) != NULL)
			jwk = json_pack("{s:s,s:s,s:s,s:s,s:s}", "kty", "RSA",
			    "n", a, "e", b, "alg", "RS256", "use", "sig");
	} else
		why = "key type is not EC or RSA";
	if (jwk != NULL && kid != NULL &&
	    json_object_set_new(jwk, "kid", json_string(kid)) != 0) {
		json_decref(jwk);
		jwk = NULL;
	}
	if (jwk == NULL)
		err_set(e, 500, "jwk_unsupported", "%s", why);
	ERR_clear_error();
	EVP_PKEY_free(pk);
	free(a);
	free(b);
	return jwk;
}

char *
jwk_public_pem_from_private(const secret_t *private_pem, struct err *e)
{
	EVP_PKEY	*pk = NULL;
	BIO		*bio;
	char		*pem = NULL;

	if (private_pem != NULL && (bio = BIO_new_mem_buf(secret_bytes(private_pem),
	    (int)secret_len(private_pem))) != NULL) {
		pk = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
		BIO_free(bio);
	}
	ERR_clear_error();
	if (pk == NULL) {
		err_set(e, 500, "jwk_invalid", "not an unencrypted private key PEM");
		return NULL;
	}
	if ((pem = pem_of(pk)) == NULL)
		err_set(e, 500, "nomem", "out of memory");
	EVP_PKEY_free(pk);
	return pem;
}

void
jwk_set_free(struct jwt_key *keys, size_t n)
{
	size_t i;

	if (keys == NULL)
		return;
	for (i = 0; i < n; i++)
		jwt_key_release(&keys[i]);
	free(keys);
}
