/* fuzz_jwt: any byte string as a user token, against a pinned ES256 key
 * (test/fixtures/jwt/ec_public.pem) and an HS256 secret. Must never crash
 * or leak, and a refusal is always a 401. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "secret.h"
#include "../../broker/jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char ec_pub[] =
"-----BEGIN PUBLIC KEY-----\n"
"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE0fHO5+AZ9hgbhKlbDA4ALcG8vjnI\n"
"u2xybOYaKpISVc90FE+H/11xREBsAVatFAr9MyqiCFCt/IrcLUNnGEKgDg==\n"
"-----END PUBLIC KEY-----\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static secret_t		*hmac;
	struct jwt_key		 keys[2];
	struct jwt_verify_opts	 o = { 0 };
	struct err		 e;
	json_t			*claims = NULL;
	char			*token, alg[16], kid[64];

	if (hmac == NULL)
		hmac = secret_new("fuzz-hmac-key-0123456789abcdef", 30);
	memset(keys, 0, sizeof keys);
	strcpy(keys[0].kid, "ec1");
	keys[0].alg = JWT_ALG_ES256;
	keys[0].pem = strdup(ec_pub);
	keys[1].alg = JWT_ALG_HS256;
	keys[1].hmac = hmac;
	if ((token = malloc(size + 1)) == NULL)
		return 0;
	memcpy(token, data, size);
	token[size] = '\0';
	o.issuer = "https://issuer.example";
	o.audience = "tenantgate";
	err_clear(&e);
	jwt_peek_header(token, alg, sizeof alg, kid, sizeof kid, &e);
	if (jwt_verify(token, keys, 2, &o, &claims, &e) == 0)
		json_decref(claims);
	else if (e.status != 401)
		abort();
	free(keys[0].pem);
	free(token);
	return 0;
}
