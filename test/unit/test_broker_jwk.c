/*
 * JWK/JWKS <-> PEM: PyJWT's JWKS parses to the same PEM openssl wrote,
 * our JWKs round-trip, unsupported or broken keys are refused by name.
 * Run from the repository top (fixtures in test/fixtures/jwt/).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "secret.h"
#include "fixture.h"
#include "../../broker/jwk.h"
#include "../../broker/jwt.h"

#define NOW	1767225600

static json_t *
fx_jwk(const char *kid)
{
	char	*txt = fx_read("jwks.json");
	json_t	*doc = json_loads(txt, 0, NULL), *k, *out = NULL;
	size_t	 i;

	json_array_foreach(json_object_get(doc, "keys"), i, k)
		if (out == NULL && strcmp(json_string_value(json_object_get(k, "kid")), kid) == 0)
			out = json_deep_copy(k);
	json_decref(doc);
	free(txt);
	assert_non_null(out);
	return out;
}

static void
expect_jwk_error(json_t *jwk, const char *code)
{
	struct err		 e;
	enum jwt_alg_pin	 alg;
	char			*pem = (char *)1;

	err_clear(&e);
	assert_int_equal(jwk_to_pem(jwk, &pem, &alg, &e), -1);
	assert_null(pem);
	assert_string_equal(e.code, code);
	json_decref(jwk);
}

static void
test_jwks_parse_fixture(void **state)
{
	struct jwt_verify_opts	 o = { .issuer = "https://idp.test", .audience = "tenantgate",
				       .skew_s = 60, .now = NOW };
	struct jwt_key		*keys;
	struct err		 e;
	json_t			*c;
	size_t			 n;
	char			*txt = fx_read("jwks.json"), *ecpem = fx_read("ec_public.pem");
	char			*rsapem = fx_read("rsa_public.pem"), *t;

	assert_int_equal(jwk_set_parse(txt, strlen(txt), &keys, &n, &e), 0);
	/* The use=enc RSA key and the oct key are skipped. */
	assert_int_equal(n, 2);
	assert_string_equal(keys[0].kid, "ec-1");
	assert_int_equal(keys[0].alg, JWT_ALG_ES256);
	assert_string_equal(keys[0].pem, ecpem);	/* byte-identical to openssl's */
	assert_string_equal(keys[1].kid, "rsa-1");
	assert_int_equal(keys[1].alg, JWT_ALG_RS256);
	assert_string_equal(keys[1].pem, rsapem);
	assert_null(keys[0].hmac);

	/* PyJWT's tokens verify against the parsed set. */
	t = fx_read("pyjwt_es256.jwt");
	assert_int_equal(jwt_verify(t, keys, n, &o, &c, &e), 0);
	json_decref(c);
	free(t);
	t = fx_read("pyjwt_rs256.jwt");
	assert_int_equal(jwt_verify(t, keys, n, &o, &c, &e), 0);
	json_decref(c);
	free(t);
	/* And the confusion token cannot use the oct key we skipped. */
	t = fx_read("confusion_nokid_as_hs256.jwt");
	assert_int_equal(jwt_verify(t, keys, n, &o, &c, &e), -1);
	assert_string_equal(e.code, "alg_not_allowed");
	free(t);

	jwk_set_free(keys, n);
	free(txt);
	free(ecpem);
	free(rsapem);
}

static void
test_jwks_parse_errors(void **state)
{
	static const char *const bad[] = {
		"", "not json", "[]", "{}", "{\"keys\":{}}", "{\"keys\":[]}",
		"{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}",
		"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}]}",
		"{\"keys\":[],\"keys\":[]}",
	};
	struct jwt_key	*keys = (struct jwt_key *)1;
	struct err	 e;
	size_t		 i, n = 7;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err_clear(&e);
		assert_int_equal(jwk_set_parse(bad[i], strlen(bad[i]), &keys, &n, &e), -1);
		assert_null(keys);
		assert_int_equal(n, 0);
		assert_string_equal(e.code, "jwks_invalid");
		assert_int_equal(e.status, 502);
	}
}

static void
test_jwk_pem_roundtrip(void **state)
{
	static const char *const names[][2] = {
		{ "ec_public.pem", "ec-1" }, { "rsa_public.pem", "rsa-1" },
	};
	enum jwt_alg_pin	 alg;
	struct err		 e;
	json_t			*mine, *pyjwt;
	size_t			 i;
	char			*pem, *back;

	for (i = 0; i < 2; i++) {
		pem = fx_read(names[i][0]);
		mine = jwk_from_pem_public(pem, names[i][1], &e);
		assert_non_null(mine);
		assert_string_equal(json_string_value(json_object_get(mine, "use")), "sig");
		assert_string_equal(json_string_value(json_object_get(mine, "kid")), names[i][1]);
		/* Same key material as PyJWT's export. */
		pyjwt = fx_jwk(names[i][1]);
		if (i == 0) {
			assert_true(json_equal(json_object_get(mine, "x"), json_object_get(pyjwt, "x")));
			assert_true(json_equal(json_object_get(mine, "y"), json_object_get(pyjwt, "y")));
			assert_string_equal(json_string_value(json_object_get(mine, "alg")), "ES256");
		} else {
			assert_true(json_equal(json_object_get(mine, "n"), json_object_get(pyjwt, "n")));
			assert_true(json_equal(json_object_get(mine, "e"), json_object_get(pyjwt, "e")));
			assert_string_equal(json_string_value(json_object_get(mine, "alg")), "RS256");
		}
		assert_int_equal(jwk_to_pem(mine, &back, &alg, &e), 0);
		assert_string_equal(back, pem);
		assert_int_equal(alg, i == 0 ? JWT_ALG_ES256 : JWT_ALG_RS256);
		free(back);
		json_decref(mine);
		json_decref(pyjwt);
		free(pem);
	}
	/* kid is optional. */
	pem = fx_read("ec2_public.pem");
	mine = jwk_from_pem_public(pem, NULL, &e);
	assert_null(json_object_get(mine, "kid"));
	json_decref(mine);
	free(pem);
}

static void
test_public_from_private(void **state)
{
	static const char *const names[][2] = {
		{ "ec_private.pem", "ec_public.pem" }, { "rsa_private.pem", "rsa_public.pem" },
	};
	struct err	 e;
	secret_t	*priv;
	size_t		 i;
	char		*p, *want, *got;

	for (i = 0; i < 2; i++) {
		p = fx_read(names[i][0]);
		want = fx_read(names[i][1]);
		priv = secret_new(p, strlen(p));
		got = jwk_public_pem_from_private(priv, &e);
		assert_non_null(got);
		assert_string_equal(got, want);
		free(got);
		secret_free(priv);
		free(want);
		free(p);
	}
	/* An encrypted key is an error, never a passphrase prompt. */
	p = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBAA==\n-----END ENCRYPTED PRIVATE KEY-----\n";
	priv = secret_new(p, strlen(p));
	assert_null(jwk_public_pem_from_private(priv, &e));
	assert_string_equal(e.code, "jwk_invalid");
	secret_free(priv);
}

static void
test_jwk_rejects(void **state)
{
	struct err	 e;
	json_t		*k;
	char		*pem;

	expect_jwk_error(json_pack("{s:s,s:s}", "kty", "oct", "k", "c2VjcmV0"), "jwk_unsupported");
	expect_jwk_error(json_pack("{s:s,s:s,s:s}", "kty", "OKP", "crv", "Ed25519", "x", "AA"),
	    "jwk_unsupported");
	expect_jwk_error(json_pack("{s:s}", "crv", "P-256"), "jwk_invalid");
	expect_jwk_error(json_string("EC"), "jwk_invalid");

	k = fx_jwk("ec-1");
	json_object_set_new(k, "crv", json_string("P-384"));
	expect_jwk_error(k, "jwk_unsupported");
	k = fx_jwk("ec-1");
	json_object_set_new(k, "alg", json_string("ES384"));
	expect_jwk_error(k, "jwk_unsupported");
	k = fx_jwk("ec-1");
	json_object_set_new(k, "alg", json_string("HS256"));	/* confusion via JWKS */
	expect_jwk_error(k, "jwk_unsupported");
	k = fx_jwk("rsa-1");
	json_object_set_new(k, "alg", json_string("RS384"));
	expect_jwk_error(k, "jwk_unsupported");
	k = fx_jwk("rsa-1");
	json_object_set_new(k, "alg", json_string("ES256"));
	expect_jwk_error(k, "jwk_unsupported");
	k = fx_jwk("ec-1");
	json_object_del(k, "x");
	expect_jwk_error(k, "jwk_invalid");
	k = fx_jwk("ec-1");
	json_object_set_new(k, "x", json_string("AAAA"));	/* 3 bytes */
	expect_jwk_error(k, "jwk_invalid");
	k = fx_jwk("ec-1");
	json_object_set_new(k, "y", json_string("!!"));
	expect_jwk_error(k, "jwk_invalid");
	/* A point that is not on the curve (invalid-curve attacks). */
	k = fx_jwk("ec-1");
	json_object_set_new(k, "y", json_string("AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	expect_jwk_error(k, "jwk_invalid");
	/* RSA below 2048 bits. */
	pem = fx_read("rsa1024_public.pem");
	k = jwk_from_pem_public(pem, "small", &e);
	assert_non_null(k);
	expect_jwk_error(k, "jwk_unsupported");
	free(pem);
}

static void
test_jwk_lenient_bits(void **state)
{
	enum jwt_alg_pin	 alg;
	struct err		 e;
	json_t			*k;
	char			*pem, *want = fx_read("ec_public.pem"), *x;

	/* Private member d is ignored; padded base64url is tolerated. */
	k = fx_jwk("ec-1");
	json_object_set_new(k, "d", json_string("AAAA"));
	x = malloc(strlen(json_string_value(json_object_get(k, "x"))) + 2);
	sprintf(x, "%s=", json_string_value(json_object_get(k, "x")));
	json_object_set_new(k, "x", json_string(x));
	json_object_del(k, "alg");
	assert_int_equal(jwk_to_pem(k, &pem, &alg, &e), 0);
	assert_string_equal(pem, want);
	assert_int_equal(alg, JWT_ALG_ES256);
	free(pem);
	free(x);
	json_decref(k);
	free(want);
}

static void
test_unsupported_pem(void **state)
{
	struct err	 e;
	char		*pem = fx_read("ec384_public.pem");

	assert_null(jwk_from_pem_public(pem, "x", &e));
	assert_string_equal(e.code, "jwk_unsupported");
	assert_null(jwk_from_pem_public("not a pem", "x", &e));
	assert_string_equal(e.code, "jwk_invalid");
	free(pem);
	jwk_set_free(NULL, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jwks_parse_fixture),
		cmocka_unit_test(test_jwks_parse_errors),
		cmocka_unit_test(test_jwk_pem_roundtrip),
		cmocka_unit_test(test_public_from_private),
		cmocka_unit_test(test_jwk_rejects),
		cmocka_unit_test(test_jwk_lenient_bits),
		cmocka_unit_test(test_unsupported_pem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
