/*
 * jwt_verify() against the classic JWT attacks, one case each, asserting
 * the exact error code; plus the good paths, PyJWT interop and minting.
 * Fixtures (keys, PyJWT tokens, the algorithm-confusion tokens) live in
 * test/fixtures/jwt/ (make_fixtures.py); run from the repository top.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "b64url.h"
#include "err.h"
#include "secret.h"
#include "fixture.h"
#include "../../broker/jwt.h"

#define NOW		1767225600	/* make_fixtures.py NOW */
#define ISSUER		"https://idp.test"
#define AUDIENCE	"tenantgate"
#define OWUI_SECRET	"owui-test-secret-0123456789abcdef0123456789"

#define OIDC_CLAIMS	"{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\"," \
			"\"sub\":\"u-alice\",\"email\":\"alice@example.com\"," \
			"\"iat\":1767225600,\"exp\":1767226200}"

static char *
b64(const char *s)
{
	return b64url_encode((const unsigned char *)s, strlen(s));
}

/*
 * Build a token from raw header and payload JSON, signed as `how` says:
 * 'n' empty signature, 'h' HMAC with key text, 'r' RSA / 'e' EC private
 * key fixture file, 'x' a fixed junk signature.
 */
static char *
craft(const char *header, const char *payload, char how, const char *key)
{
	unsigned char	 sig[1024], der[256];
	const unsigned char *dp;
	const BIGNUM	*r, *s;
	ECDSA_SIG	*es;
	EVP_MD_CTX	*md;
	EVP_PKEY	*pk;
	BIO		*bio;
	char		*hb = b64(header), *pb = b64(payload), *in, *sb, *out, *pem;
	size_t		 slen = 0, dlen = sizeof der;
	unsigned int	 hl = 0;

	in = malloc(strlen(hb) + strlen(pb) + 2);
	sprintf(in, "%s.%s", hb, pb);
	if (how == 'h') {
		HMAC(EVP_sha256(), key, (int)strlen(key), (unsigned char *)in, strlen(in),
		    sig, &hl);
		slen = hl;
	} else if (how == 'r' || how == 'e') {
		pem = fx_read(key);
		bio = BIO_new_mem_buf(pem, -1);
		pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		assert_non_null(pk);
		md = EVP_MD_CTX_new();
		assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk), 1);
		if (how == 'r') {
			slen = sizeof sig;
			assert_int_equal(EVP_DigestSign(md, sig, &slen,
			    (unsigned char *)in, strlen(in)), 1);
		} else {
			assert_int_equal(EVP_DigestSign(md, der, &dlen,
			    (unsigned char *)in, strlen(in)), 1);
			dp = der;
			es = d2i_ECDSA_SIG(NULL, &dp, (long)dlen);
			ECDSA_SIG_get0(es, &r, &s);
			BN_bn2binpad(r, sig, 32);
			BN_bn2binpad(s, sig + 32, 32);
			slen = 64;
			ECDSA_SIG_free(es);
		}
		EVP_MD_CTX_free(md);
		EVP_PKEY_free(pk);
		BIO_free(bio);
		free(pem);
	} else if (how == 'x') {
		memset(sig, 0x5a, 64);
		slen = 64;
	}
	sb = b64url_encode(sig, slen);
	out = malloc(strlen(in) + strlen(sb) + 2);
	sprintf(out, "%s.%s", in, sb);
	free(hb);
	free(pb);
	free(in);
	free(sb);
	return out;
}

/* The usual key set: rsa-1 (RS256), ec-1 (ES256), optionally an HS256 key. */
struct keyset {
	struct jwt_key	 k[4];
	size_t		 n;
	secret_t	*hs;
};

static void
keyset_init(struct keyset *ks, const char *hs_secret)
{
	memset(ks, 0, sizeof *ks);
	snprintf(ks->k[0].kid, sizeof ks->k[0].kid, "rsa-1");
	ks->k[0].alg = JWT_ALG_RS256;
	ks->k[0].pem = fx_read("rsa_public.pem");
	snprintf(ks->k[1].kid, sizeof ks->k[1].kid, "ec-1");
	ks->k[1].alg = JWT_ALG_ES256;
	ks->k[1].pem = fx_read("ec_public.pem");
	ks->n = 2;
	if (hs_secret != NULL) {
		ks->hs = secret_new(hs_secret, strlen(hs_secret));
		ks->k[2].alg = JWT_ALG_HS256;
		ks->k[2].hmac = ks->hs;
		ks->n = 3;
	}
}

static void
keyset_free(struct keyset *ks)
{
	size_t i;

	for (i = 0; i < ks->n; i++)
		free(ks->k[i].pem);
	secret_free(ks->hs);
}

static struct jwt_verify_opts
oidc_opts(void)
{
	struct jwt_verify_opts o = {
		.issuer = ISSUER, .audience = AUDIENCE, .skew_s = 60, .now = NOW,
	};
	return o;
}

/* Verify must fail with 401 `code`, and the message must not quote the token. */
static void
expect_fail_opts(const char *token, const struct keyset *ks,
    const struct jwt_verify_opts *o, const char *code)
{
	struct err	 e;
	json_t		*claims = (json_t *)1;

	err_clear(&e);
	assert_int_equal(jwt_verify(token, ks->k, ks->n, o, &claims, &e), -1);
	assert_null(claims);
	assert_string_equal(e.code, code);
	assert_int_equal(e.status, 401);
	assert_true(e.msg[0] != '\0');
	if (token != NULL && strlen(token) > 8)
		assert_null(strstr(e.msg, token));
}

static void
expect_fail(const char *token, const char *code)
{
	struct keyset		ks;
	struct jwt_verify_opts	o = oidc_opts();

	keyset_init(&ks, NULL);
	expect_fail_opts(token, &ks, &o, code);
	keyset_free(&ks);
}

static json_t *
expect_ok_opts(const char *token, const struct keyset *ks, const struct jwt_verify_opts *o)
{
	struct err	 e;
	json_t		*claims = NULL;

	err_clear(&e);
	if (jwt_verify(token, ks->k, ks->n, o, &claims, &e) != 0)
		fail_msg("verify failed: %s: %s", e.code, e.msg);
	assert_true(json_is_object(claims));
	return claims;
}

static void
expect_ok(const char *token, const char *email)
{
	struct keyset		ks;
	struct jwt_verify_opts	o = oidc_opts();
	json_t			*c;

	keyset_init(&ks, NULL);
	c = expect_ok_opts(token, &ks, &o);
	assert_string_equal(json_string_value(json_object_get(c, "email")), email);
	json_decref(c);
	keyset_free(&ks);
}

/* --- good paths --- */

static void
test_rs256_ok(void **state)
{
	char *t = craft("{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}", OIDC_CLAIMS, 'r',
	    "rsa_private.pem");

	expect_ok(t, "alice@example.com");
	free(t);
}

static void
test_es256_ok_typ_at_jwt(void **state)
{
	/* RFC 9068 access tokens carry typ at+jwt, which libjwt refuses. */
	char *t = craft("{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"ec-1\"}",
	    OIDC_CLAIMS, 'e', "ec_private.pem");

	expect_ok(t, "alice@example.com");
	free(t);
}

static void
test_no_kid_single_key_ok(void **state)
{
	char *t = craft("{\"alg\":\"ES256\"}", OIDC_CLAIMS, 'e', "ec_private.pem");

	expect_ok(t, "alice@example.com");
	free(t);
}

static void
test_pyjwt_es256_interop(void **state)
{
	char *t = fx_read("pyjwt_es256.jwt");

	expect_ok(t, "Alice@Example.COM");
	free(t);
}

static void
test_pyjwt_rs256_interop(void **state)
{
	char *t = fx_read("pyjwt_rs256.jwt");

	expect_ok(t, "Alice@Example.COM");
	free(t);
}

static void
test_owui_hs256_ok(void **state)
{
	struct keyset		 ks;
	struct jwt_verify_opts	 o = { .issuer = "open-webui", .skew_s = 60, .now = NOW };
	char			*t = fx_read("pyjwt_owui_hs256.jwt");
	json_t			*c;

	keyset_init(&ks, OWUI_SECRET);
	free(ks.k[0].pem);
	ks.k[0] = ks.k[2];	/* the Open WebUI path has the HS256 key alone */
	ks.n = 1;
	c = expect_ok_opts(t, &ks, &o);
	assert_string_equal(json_string_value(json_object_get(c, "role")), "user");
	assert_string_equal(json_string_value(json_object_get(c, "iss")), "open-webui");
	assert_null(json_object_get(c, "aud"));
	json_decref(c);
	free(ks.k[1].pem);
	secret_free(ks.hs);
	free(t);
}

static void
test_mint_es256_roundtrip(void **state)
{
	struct keyset		 ks;
	struct jwt_verify_opts	 o = oidc_opts();
	struct err		 e;
	secret_t		*priv;
	char			*pem = fx_read("ec_private.pem"), alg[16], kid[64], *t;
	json_t			*claims, *c;

	priv = secret_new(pem, strlen(pem));
	free(pem);
	claims = json_loads(OIDC_CLAIMS, 0, NULL);
	err_clear(&e);
	t = jwt_mint_es256(claims, priv, "ec-1", &e);
	assert_non_null(t);
	assert_int_equal(jwt_peek_header(t, alg, sizeof alg, kid, sizeof kid, &e), 0);
	assert_string_equal(alg, "ES256");
	assert_string_equal(kid, "ec-1");
	keyset_init(&ks, NULL);
	c = expect_ok_opts(t, &ks, &o);
	assert_true(json_equal(c, claims));
	json_decref(c);
	free(t);

	/* An RSA key cannot mint ES256, and an error never echoes key bytes. */
	secret_free(priv);
	pem = fx_read("rsa_private.pem");
	priv = secret_new(pem, strlen(pem));
	assert_null(jwt_mint_es256(claims, priv, "x", &e));
	assert_string_equal(e.code, "jwt_key_invalid");
	assert_null(strstr(e.msg, "PRIVATE"));
	free(pem);
	secret_free(priv);
	json_decref(claims);
	keyset_free(&ks);
}

static void
test_mint_hs256_roundtrip(void **state)
{
	struct keyset		 ks;
	struct jwt_verify_opts	 o = oidc_opts();
	struct err		 e;
	json_t			*claims = json_loads(OIDC_CLAIMS, 0, NULL), *c;
	char			*t;

	keyset_init(&ks, OWUI_SECRET);
	t = jwt_mint_hs256(claims, ks.hs, &e);
	assert_non_null(t);
	c = expect_ok_opts(t, &ks, &o);
	assert_true(json_equal(c, claims));
	json_decref(c);
	free(t);
	json_decref(claims);
	keyset_free(&ks);
}

/* --- alg none and algorithm confusion --- */

static void
test_alg_none(void **state)
{
	static const char *const hdrs[] = {
		"{\"alg\":\"none\"}", "{\"alg\":\"None\"}", "{\"alg\":\"NONE\"}",
		"{\"alg\":\"nOnE\",\"kid\":\"rsa-1\"}", "{\"alg\":\"\"}",
	};
	size_t	i;
	char	*t;

	for (i = 0; i < sizeof hdrs / sizeof hdrs[0]; i++) {
		t = craft(hdrs[i], OIDC_CLAIMS, 'n', NULL);	/* "h.p." */
		expect_fail(t, "alg_not_allowed");
		free(t);
		t = craft(hdrs[i], OIDC_CLAIMS, 'x', NULL);	/* with a signature */
		expect_fail(t, "alg_not_allowed");
		free(t);
	}
}

static void
test_alg_other(void **state)
{
	/* Valid JOSE algs we never pin, and a lowercase spelling of ours. */
	static const char *const hdrs[] = {
		"{\"alg\":\"HS512\"}", "{\"alg\":\"RS384\",\"kid\":\"rsa-1\"}",
		"{\"alg\":\"PS256\",\"kid\":\"rsa-1\"}", "{\"alg\":\"es256\",\"kid\":\"ec-1\"}",
		"{\"alg\":\"EdDSA\"}",
	};
	size_t	i;
	char	*t;

	for (i = 0; i < sizeof hdrs / sizeof hdrs[0]; i++) {
		t = craft(hdrs[i], OIDC_CLAIMS, 'x', NULL);
		expect_fail(t, "alg_not_allowed");
		free(t);
	}
}

static void
test_confusion_rs256_pub_as_hs256(void **state)
{
	struct keyset		 ks;
	struct jwt_verify_opts	 o = oidc_opts();
	char			*t = fx_read("confusion_rs256_pub_as_hs256.jwt");
	char			*pem = fx_read("rsa_public.pem");
	json_t			*c;

	/* The fixture is a real confusion token: HMAC'd with the PEM text. */
	keyset_init(&ks, pem);
	snprintf(ks.k[2].kid, sizeof ks.k[2].kid, "rsa-1");
	c = expect_ok_opts(t, &ks, &o);
	json_decref(c);
	keyset_free(&ks);

	/* Its kid names the RS256 key, which is pinned: refused before HMAC. */
	expect_fail(t, "alg_not_allowed");
	keyset_init(&ks, OWUI_SECRET);
	expect_fail_opts(t, &ks, &o, "alg_not_allowed");
	keyset_free(&ks);
	free(pem);
	free(t);
}

static void
test_confusion_es256_pub_as_hs256(void **state)
{
	char *t = fx_read("confusion_es256_pub_as_hs256.jwt");

	expect_fail(t, "alg_not_allowed");
	free(t);
}

static void
test_confusion_nokid(void **state)
{
	struct keyset		 ks;
	struct jwt_verify_opts	 o = oidc_opts();
	char			*t = fx_read("confusion_nokid_as_hs256.jwt");

	/* No HS256 key in an OIDC key set: alg refused. */
	expect_fail(t, "alg_not_allowed");
	/* With a real HS256 key, the PEM-keyed HMAC simply does not verify. */
	keyset_init(&ks, OWUI_SECRET);
	expect_fail_opts(t, &ks, &o, "bad_signature");
	keyset_free(&ks);
	free(t);
}

/* --- time claims --- */

static void
test_expired(void **state)
{
	char *t = craft("{\"alg\":\"ES256\",\"kid\":\"ec-1\"}",
	    "{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"email\":\"a@b.c\","
	    "\"exp\":1767225500}", 'e', "ec_private.pem");

	expect_fail(t, "token_expired");
	free(t);
	/* Within the 60 s skew it still passes. */
	t = craft("{\"alg\":\"ES256\",\"kid\":\"ec-1\"}",
	    "{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"email\":\"a@b.c\","
	    "\"exp\":1767225570}", 'e', "ec_private.pem");
	expect_ok(t, "a@b.c");
	free(t);
}

static void
test_not_yet_valid(void **state)
{
	char *t = craft("{\"alg\":\"ES256\",\"kid\":\"ec-1\"}",
	    "{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"nbf\":1767225700,"
	    "\"exp\":1767226200}", 'e', "ec_private.pem");

	expect_fail(t, "token_not_yet_valid");
	free(t);
}

static void
test_iat_in_future(void **state)
{
	char *t = craft("{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}",
	    "{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"iat\":1767229200,"
	    "\"exp\":1767229800}", 'r', "rsa_private.pem");

	expect_fail(t, "token_not_yet_valid");
	free(t);
	/* 30 s ahead is a clock 30 s fast: within the skew. */
	t = craft("{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}",
	    "{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"iat\":1767225630,"
	    "\"exp\":1767229800,\"email\":\"a@b.c\"}", 'r', "rsa_private.pem");
	expect_ok(t, "a@b.c");
	free(t);
}

static void
test_missing_exp(void **state)
{
	struct keyset		 ks;
	struct jwt_verify_opts	 o = oidc_opts();
	json_t			*c;
	char			*t = craft("{\"alg\":\"ES256\",\"kid\":\"ec-1\"}",
	    "{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"email\":\"a@b.c\"}",
	    'e', "ec_private.pem");

	expect_fail(t, "missing_claim");
	o.require_exp = -1;
	keyset_init(&ks, NULL);
	c = expect_ok_opts(t, &ks, &o);
	json_decref(c);
	keyset_free(&ks);
	free(t);
}

static void
test_exp_not_a_number(void **state)
{
	char *t = craft("{\"alg\":\"ES256\",\"kid\":\"ec-1\"}",
	    "{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"exp\":\"1767226200\"}",
	    'e', "ec_private.pem");

	expect_fail(t, "token_malformed");
	free(t);
}

/* --- issuer and audience --- */

static void
test_wrong_issuer(void **state)
{
	char *t = craft("{\"alg\":\"ES256\",\"kid\":\"ec-1\"}",
	    "{\"iss\":\"https://evil.test\",\"aud\":\"" AUDIENCE "\",\"exp\":1767226200}",
	    'e', "ec_private.pem");

	expect_fail(t, "bad_issuer");
	free(t);
	/* A prefix or a trailing slash is not the issuer either. */
	t = craft("{\"alg\":\"ES256\",\"kid\":\"ec-1\"}",
	    "{\"iss\":\"" ISSUER "/\",\"aud\":\"" AUDIENCE "\",\"exp\":1767226200}",
	    'e', "ec_private.pem");
	expect_fail(t, "bad_issuer");
	free(t);
	t = craft("{\"alg\":\"ES256\",\"kid\":\"ec-1\"}",
	    "{\"aud\":\"" AUDIENCE "\",\"exp\":1767226200}", 'e', "ec_private.pem");
	expect_fail(t, "missing_claim");
	free(t);
}

static void
test_wrong_audience_string(void **state)
{
	char *t = craft("{\"alg\":\"ES256\",\"kid\":\"ec-1\"}",
	    "{\"iss\":\"" ISSUER "\",\"aud\":\"other-app\",\"exp\":1767226200}",
	    'e', "ec_private.pem");

	expect_fail(t, "bad_audience");
	free(t);
	t = craft("{\"alg\":\"ES256\",\"kid\":\"ec-1\"}",
	    "{\"iss\":\"" ISSUER "\",\"exp\":1767226200}", 'e', "ec_private.pem");
	expect_fail(t, "missing_claim");
	free(t);
}

static void
test_wrong_audience_array(void **state)
{
	char *t = craft("{\"alg\":\"ES256\",\"kid\":\"ec-1\"}",
	    "{\"iss\":\"" ISSUER "\",\"aud\":[\"a\",\"b\",7],\"exp\":1767226200,"
	    "\"email\":\"a@b.c\"}", 'e', "ec_private.pem");

	expect_fail(t, "bad_audience");
	free(t);
	t = craft("{\"alg\":\"ES256\",\"kid\":\"ec-1\"}",
	    "{\"iss\":\"" ISSUER "\",\"aud\":[\"a\",\"" AUDIENCE "\"],\"exp\":1767226200,"
	    "\"email\":\"a@b.c\"}", 'e', "ec_private.pem");
	expect_ok(t, "a@b.c");
	free(t);
}

/* --- signatures and keys --- */

static void
flip_sig(char *t)
{
	char *s = strrchr(t, '.') + 5;	/* mid-signature: stays canonical */

	*s = *s == 'A' ? 'B' : 'A';
}

static void
test_bad_signature(void **state)
{
	struct keyset		 ks;
	struct jwt_verify_opts	 o = oidc_opts();
	char			*t;

	t = craft("{\"alg\":\"ES256\",\"kid\":\"ec-1\"}", OIDC_CLAIMS, 'e', "ec_private.pem");
	flip_sig(t);
	expect_fail(t, "bad_signature");
	free(t);
	t = craft("{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}", OIDC_CLAIMS, 'r', "rsa_private.pem");
	flip_sig(t);
	expect_fail(t, "bad_signature");
	free(t);
	t = craft("{\"alg\":\"HS256\"}", OIDC_CLAIMS, 'h', OWUI_SECRET);
	flip_sig(t);
	keyset_init(&ks, OWUI_SECRET);
	expect_fail_opts(t, &ks, &o, "bad_signature");
	free(t);
	/* Right alg, signed by another key (ec2 under ec-1's kid). */
	t = craft("{\"alg\":\"ES256\",\"kid\":\"ec-1\"}", OIDC_CLAIMS, 'e', "ec2_private.pem");
	expect_fail(t, "bad_signature");
	free(t);
	/* A tampered payload under an intact signature. */
	t = craft("{\"alg\":\"ES256\",\"kid\":\"ec-1\"}", OIDC_CLAIMS, 'e', "ec_private.pem");
	*(strchr(t, '.') + 3) ^= 1;
	expect_fail(t, "bad_signature");
	free(t);
	/* ES256 with a DER-length junk signature and with an empty one. */
	t = craft("{\"alg\":\"ES256\",\"kid\":\"ec-1\"}", OIDC_CLAIMS, 'r', "rsa_private.pem");
	expect_fail(t, "bad_signature");
	free(t);
	t = craft("{\"alg\":\"ES256\",\"kid\":\"ec-1\"}", OIDC_CLAIMS, 'n', NULL);
	expect_fail(t, "token_malformed");
	free(t);
	keyset_free(&ks);
}

static void
test_unknown_kid(void **state)
{
	struct keyset		 ks;
	struct jwt_verify_opts	 o = oidc_opts();
	char			*t;

	t = craft("{\"alg\":\"ES256\",\"kid\":\"ec-9\"}", OIDC_CLAIMS, 'e', "ec_private.pem");
	expect_fail(t, "unknown_kid");
	free(t);
	/* No kid while two keys are pinned to ES256: ambiguous, refused. */
	keyset_init(&ks, NULL);
	ks.k[2] = ks.k[1];
	ks.k[2].pem = fx_read("ec2_public.pem");
	snprintf(ks.k[2].kid, sizeof ks.k[2].kid, "ec-2");
	ks.n = 3;
	t = craft("{\"alg\":\"ES256\"}", OIDC_CLAIMS, 'e', "ec_private.pem");
	expect_fail_opts(t, &ks, &o, "unknown_kid");
	free(t);
	/* With the kid, the second key of the rollover verifies. */
	t = craft("{\"alg\":\"ES256\",\"kid\":\"ec-2\"}", OIDC_CLAIMS, 'e', "ec2_private.pem");
	json_decref(expect_ok_opts(t, &ks, &o));
	free(t);
	keyset_free(&ks);
}

static void
test_misconfigured_key(void **state)
{
	struct keyset		 ks;
	struct jwt_verify_opts	 o = oidc_opts();
	struct err		 e;
	json_t			*c;
	char			*t;

	/* An RS256 pin on an EC PEM, and a 1024-bit RSA key: local errors. */
	keyset_init(&ks, NULL);
	free(ks.k[0].pem);
	ks.k[0].pem = fx_read("ec_public.pem");
	t = craft("{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}", OIDC_CLAIMS, 'r', "rsa_private.pem");
	assert_int_equal(jwt_verify(t, ks.k, ks.n, &o, &c, &e), -1);
	assert_string_equal(e.code, "jwt_key_invalid");
	assert_int_equal(e.status, 500);
	free(ks.k[0].pem);
	ks.k[0].pem = fx_read("rsa1024_public.pem");
	free(t);
	t = craft("{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}", OIDC_CLAIMS, 'r',
	    "rsa1024_private.pem");
	assert_int_equal(jwt_verify(t, ks.k, ks.n, &o, &c, &e), -1);
	assert_string_equal(e.code, "jwt_key_invalid");
	free(t);
	keyset_free(&ks);
}

static void
test_prepared_keys(void **state)
{
	struct keyset		 ks;
	struct jwt_verify_opts	 o = oidc_opts();
	struct jwt_key		 bad;
	struct err		 e;
	char			*t;
	size_t			 i;

	/* Parsed once, the keys verify the same and still refuse confusion. */
	keyset_init(&ks, OWUI_SECRET);
	for (i = 0; i < ks.n; i++)
		assert_int_equal(jwt_key_prepare(&ks.k[i], &e), 0);
	assert_non_null(ks.k[0].pkey);
	assert_null(ks.k[2].pkey);	/* HS256: nothing to parse */
	t = fx_read("pyjwt_rs256.jwt");
	json_decref(expect_ok_opts(t, &ks, &o));
	free(t);
	t = fx_read("pyjwt_es256.jwt");
	json_decref(expect_ok_opts(t, &ks, &o));
	flip_sig(t);
	expect_fail_opts(t, &ks, &o, "bad_signature");
	free(t);
	t = fx_read("confusion_rs256_pub_as_hs256.jwt");
	expect_fail_opts(t, &ks, &o, "alg_not_allowed");
	free(t);
	for (i = 0; i < 2; i++)
		jwt_key_release(&ks.k[i]);
	assert_null(ks.k[0].pem);
	assert_null(ks.k[0].pkey);
	keyset_free(&ks);

	/* prepare checks the key against its pin. */
	memset(&bad, 0, sizeof bad);
	bad.alg = JWT_ALG_ES256;
	bad.pem = fx_read("rsa_public.pem");
	assert_int_equal(jwt_key_prepare(&bad, &e), -1);
	assert_string_equal(e.code, "jwt_key_invalid");
	free(bad.pem);
	bad.pem = fx_read("ec384_public.pem");
	assert_int_equal(jwt_key_prepare(&bad, &e), -1);
	jwt_key_release(&bad);
}

static void
test_signer(void **state)
{
	struct keyset		 ks;
	struct jwt_verify_opts	 o = oidc_opts();
	struct jwt_signer	*sg;
	struct err		 e;
	secret_t		*priv;
	json_t			*claims = json_loads(OIDC_CLAIMS, 0, NULL), *c;
	char			*pem = fx_read("ec_private.pem"), *t1, *t2, alg[8], kid[8];

	priv = secret_new(pem, strlen(pem));
	sg = jwt_signer_new(priv, NULL, &e);
	assert_non_null(sg);
	t1 = jwt_signer_mint(sg, claims, &e);
	t2 = jwt_signer_mint(sg, claims, &e);
	assert_string_not_equal(t1, t2);	/* ECDSA: fresh nonce each time */
	assert_int_equal(jwt_peek_header(t1, alg, sizeof alg, kid, sizeof kid, &e), 0);
	assert_string_equal(kid, "");
	keyset_init(&ks, NULL);
	c = expect_ok_opts(t1, &ks, &o);
	json_decref(c);
	c = expect_ok_opts(t2, &ks, &o);
	json_decref(c);
	/* Not an object: refused, not signed. */
	c = json_array();
	assert_null(jwt_signer_mint(sg, c, &e));
	assert_string_equal(e.code, "jwt_internal");
	json_decref(c);
	jwt_signer_free(sg);
	jwt_signer_free(NULL);
	free(t1);
	free(t2);
	keyset_free(&ks);
	secret_free(priv);
	free(pem);
	/* An encrypted or non-EC key makes no signer, and no prompt. */
	pem = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBAA==\n-----END ENCRYPTED PRIVATE KEY-----\n";
	priv = secret_new(pem, strlen(pem));
	assert_null(jwt_signer_new(priv, "k", &e));
	assert_string_equal(e.code, "jwt_key_invalid");
	secret_free(priv);
	pem = fx_read("ec384_private.pem");
	priv = secret_new(pem, strlen(pem));
	assert_null(jwt_signer_new(priv, "k", &e));
	secret_free(priv);
	free(pem);
	json_decref(claims);
}

/* --- garbage --- */

static void
test_garbage(void **state)
{
	static const char *const bad[] = {
		"", ".", "..", "a.b", "a.b.c.d", "....", "abc",
		"!!!.e30.c2ln",				/* not base64url */
		"eyJhbGciOiJFUzI1NiJ9=.e30.c2ln",	/* padding */
		"eyJhbGciOiJFUzI1NiJ9.e30.c2ln\n",	/* trailing newline */
		" eyJhbGciOiJFUzI1NiJ9.e30.c2ln",
		"bm90anNvbg.e30.c2ln",			/* header "notjson" */
		"W10.e30.c2ln",				/* header [] */
		"IkVTMjU2Ig.e30.c2ln",			/* header "ES256" */
		"e30.e30.c2ln",				/* header {} (no alg) */
		"eyJhbGciOjF9.e30.c2ln",		/* alg 1 */
		".e30.c2ln", "eyJhbGciOiJFUzI1NiJ9..c2ln",
		"eyJhbGciOiJFUzI1NiJ9.e30.c2ln!",	/* bad signature chars */
		"eyJhbGciOiJFUzI1NiJ9.e30.QR",		/* non-canonical bits */
	};
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		print_message("garbage #%zu\n", i);
		expect_fail(bad[i], "token_malformed");
	}
	expect_fail(NULL, "token_malformed");
}

static void
test_header_oddities(void **state)
{
	char *t;

	/* Duplicate alg: parsers could disagree on which one counts. */
	t = craft("{\"alg\":\"ES256\",\"alg\":\"none\",\"kid\":\"ec-1\"}", OIDC_CLAIMS,
	    'e', "ec_private.pem");
	expect_fail(t, "token_malformed");
	free(t);
	t = craft("{\"alg\":\"ES256\",\"kid\":\"ec-1\",\"crit\":[\"b64\"],\"b64\":false}",
	    OIDC_CLAIMS, 'e', "ec_private.pem");
	expect_fail(t, "token_malformed");
	free(t);
	t = craft("{\"alg\":\"ES256\",\"kid\":7}", OIDC_CLAIMS, 'e', "ec_private.pem");
	expect_fail(t, "token_malformed");
	free(t);
	/* A jku/jwk header is ignored, never fetched or trusted. */
	t = craft("{\"alg\":\"ES256\",\"kid\":\"ec-1\",\"jku\":\"http://evil.test/k\"}",
	    OIDC_CLAIMS, 'e', "ec_private.pem");
	expect_ok(t, "alice@example.com");
	free(t);
}

static void
test_payload_not_object(void **state)
{
	static const char *const payloads[] = { "[1,2]", "\"x\"", "42", "null", "{", "{\"a\":1,\"a\":2}" };
	size_t	i;
	char	*t;

	for (i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
		t = craft("{\"alg\":\"ES256\",\"kid\":\"ec-1\"}", payloads[i], 'e',
		    "ec_private.pem");
		expect_fail(t, "token_malformed");
		free(t);
	}
}

static void
test_oversize(void **state)
{
	struct keyset		 ks;
	struct jwt_verify_opts	 o = oidc_opts();
	char			*big, *t;
	size_t			 n = 8193;

	big = malloc(n + 1);
	memset(big, 'A', n);
	big[n] = '\0';
	big[10] = '.';
	big[20] = '.';
	expect_fail(big, "token_too_large");
	big[n - 1] = '\0';	/* exactly 8192: past the size gate */
	expect_fail(big, "token_malformed");
	free(big);
	/* A valid token over a tighter configured limit. */
	keyset_init(&ks, NULL);
	o.max_token_len = 100;
	t = craft("{\"alg\":\"ES256\",\"kid\":\"ec-1\"}", OIDC_CLAIMS, 'e', "ec_private.pem");
	expect_fail_opts(t, &ks, &o, "token_too_large");
	free(t);
	keyset_free(&ks);
}

/* --- helpers --- */

static void
test_peek_header(void **state)
{
	struct err	 e;
	char		 alg[8], kid[8];
	char		*t = craft("{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}", "{}", 'x', NULL);

	assert_int_equal(jwt_peek_header(t, alg, sizeof alg, kid, sizeof kid, &e), 0);
	assert_string_equal(alg, "RS256");
	assert_string_equal(kid, "rsa-1");
	free(t);
	t = craft("{\"alg\":\"HS256\"}", "{}", 'x', NULL);
	assert_int_equal(jwt_peek_header(t, alg, sizeof alg, kid, sizeof kid, &e), 0);
	assert_string_equal(kid, "");
	free(t);
	t = craft("{\"alg\":\"HS256\",\"kid\":\"much-too-long\"}", "{}", 'x', NULL);
	assert_int_equal(jwt_peek_header(t, alg, sizeof alg, kid, sizeof kid, &e), -1);
	assert_string_equal(e.code, "token_malformed");
	free(t);
	assert_int_equal(jwt_peek_header("a.b", alg, sizeof alg, kid, sizeof kid, &e), -1);
	assert_string_equal(e.code, "token_malformed");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rs256_ok),
		cmocka_unit_test(test_es256_ok_typ_at_jwt),
		cmocka_unit_test(test_no_kid_single_key_ok),
		cmocka_unit_test(test_pyjwt_es256_interop),
		cmocka_unit_test(test_pyjwt_rs256_interop),
		cmocka_unit_test(test_owui_hs256_ok),
		cmocka_unit_test(test_mint_es256_roundtrip),
		cmocka_unit_test(test_mint_hs256_roundtrip),
		cmocka_unit_test(test_alg_none),
		cmocka_unit_test(test_alg_other),
		cmocka_unit_test(test_confusion_rs256_pub_as_hs256),
		cmocka_unit_test(test_confusion_es256_pub_as_hs256),
		cmocka_unit_test(test_confusion_nokid),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_not_yet_valid),
		cmocka_unit_test(test_iat_in_future),
		cmocka_unit_test(test_missing_exp),
		cmocka_unit_test(test_exp_not_a_number),
		cmocka_unit_test(test_wrong_issuer),
		cmocka_unit_test(test_wrong_audience_string),
		cmocka_unit_test(test_wrong_audience_array),
		cmocka_unit_test(test_bad_signature),
		cmocka_unit_test(test_unknown_kid),
		cmocka_unit_test(test_misconfigured_key),
		cmocka_unit_test(test_prepared_keys),
		cmocka_unit_test(test_signer),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_header_oddities),
		cmocka_unit_test(test_payload_not_object),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_peek_header),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
