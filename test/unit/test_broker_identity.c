/*
 * identity_verify(): routing by alg (Open WebUI HS256 vs OIDC RS256/ES256),
 * claim mapping (email/upn/preferred_username, groups), the JWKS cache
 * (refresh, unknown-kid rollover, failures, discovery) with a fake clock
 * and fetcher, one fetch through the real httpc against a loopback server,
 * and concurrent verifies. Run from the repository top.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "b64url.h"
#include "clock.h"
#include "err.h"
#include "secret.h"
#include "../../broker/identity.h"
#include "../../broker/jwk.h"
#include "../../broker/jwt.h"
#include "fixture.h"

#define NOW		1767225600	/* make_fixtures.py NOW */
#define ISSUER		"https://idp.test"
#define AUDIENCE	"tenantgate"
#define OWUI_SECRET	"owui-test-secret-0123456789abcdef0123456789"

static time_t	 fake_now;
static int	 nfetch;
static int	 fetch_fails;
static char	 fetched_url[256];
static char	*served_jwks;		/* what the fake IdP's JWKS URL returns */
static const char *served_discovery;

static time_t
clock_fake(void *arg)
{
	return fake_now;
}

/* For the threaded test: one second passes every 100 readings. */
static atomic_long ticks;

static time_t
clock_ticking(void *arg)
{
	return NOW + atomic_fetch_add(&ticks, 1) / 100;
}

static int
fetch_fake(void *arg, const char *url, char **body, size_t *len, struct err *e)
{
	const char *doc = served_jwks;

	nfetch++;
	snprintf(fetched_url, sizeof fetched_url, "%s", url);
	if (fetch_fails)
		return err_set(e, 502, "upstream_unreachable", "connection refused");
	if (strstr(url, "/.well-known/openid-configuration") != NULL)
		doc = served_discovery;
	*body = strdup(doc);
	*len = strlen(doc);
	return 0;
}

/* A JWKS document with the public keys named (fixture stems). */
static char *
jwks_of(const char *const *stems, const char *const *kids)
{
	json_t	*doc = json_pack("{s:[]}", "keys"), *jwk;
	char	 name[64], *pem, *out;
	struct err e;

	for (; *stems != NULL; stems++, kids++) {
		snprintf(name, sizeof name, "%s_public.pem", *stems);
		pem = fx_read(name);
		jwk = jwk_from_pem_public(pem, *kids, &e);
		assert_non_null(jwk);
		json_array_append_new(json_object_get(doc, "keys"), jwk);
		free(pem);
	}
	out = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return out;
}

static void
serve_jwks(const char *const *stems, const char *const *kids)
{
	free(served_jwks);
	served_jwks = jwks_of(stems, kids);
}

/* The broker's janitor, collapsed: the refresh a request asks for runs
 * before the ask returns (chores.c runs it on a worker). */
static void
ask_now(void *arg)
{
	identity_refresh(arg);
}

static struct idv *
new_idv(struct identity_cfg *cfg, int hooks)
{
	struct identity_hooks	h = { fetch_fake, clock_fake, NULL };
	struct err		e;
	struct idv		*v;

	err_clear(&e);
	if ((v = identity_new(cfg, &e)) == NULL)
		fail_msg("identity_new: %s", e.msg);
	if (hooks)
		identity_set_hooks(v, &h);
	identity_set_refresher(v, ask_now, v);
	return v;
}

static struct identity_cfg
oidc_cfg(void)
{
	struct identity_cfg c = {
		.oidc_issuer = ISSUER, .oidc_audience = AUDIENCE,
		.oidc_jwks_url = "http://127.0.0.1:9/jwks", .groups_claim = "groups",
		.skew_s = 60, .jwks_refresh_s = 300,
	};
	return c;
}

static int
setup(void **state)
{
	static const char *const stems[] = { "ec", "rsa", NULL };
	static const char *const kids[] = { "ec-1", "rsa-1", NULL };

	fake_now = NOW;
	nfetch = 0;
	fetch_fails = 0;
	fetched_url[0] = '\0';
	served_discovery = "{\"issuer\":\"" ISSUER "\",\"jwks_uri\":\"http://127.0.0.1:9/certs\"}";
	serve_jwks(stems, kids);
	return 0;
}

static int
teardown(void **state)
{
	free(served_jwks);
	served_jwks = NULL;
	return 0;
}

/* Mint a token: ES256 (ec/ec2 + kid), RS256 (rsa + kid) or HS256 (secret). */
static char *
mint(const char *alg, const char *key, const char *kid, const char *claims_fmt, ...)
{
	unsigned char	 sig[512];
	struct err	 e;
	EVP_MD_CTX	*md;
	EVP_PKEY	*pk;
	secret_t	*s;
	va_list		 ap;
	json_t		*claims, *hdr;
	BIO		*bio;
	char		 buf[16384], name[64], *pem, *tok = NULL, *h, *p, *hb, *pb, *sb;
	size_t		 slen = sizeof sig;

	va_start(ap, claims_fmt);
	vsnprintf(buf, sizeof buf, claims_fmt, ap);
	va_end(ap);
	claims = json_loads(buf, 0, NULL);
	assert_non_null(claims);
	if (strcmp(alg, "HS256") == 0) {
		s = secret_new(key, strlen(key));
		tok = jwt_mint_hs256(claims, s, &e);
		secret_free(s);
	} else if (strcmp(alg, "ES256") == 0) {
		snprintf(name, sizeof name, "%s_private.pem", key);
		pem = fx_read(name);
		s = secret_new(pem, strlen(pem));
		tok = jwt_mint_es256(claims, s, kid, &e);
		secret_free(s);
		free(pem);
	} else {	/* RS256 by hand: jwt.c mints only ES256/HS256 */
		snprintf(name, sizeof name, "%s_private.pem", key);
		pem = fx_read(name);
		bio = BIO_new_mem_buf(pem, -1);
		pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		hdr = json_pack("{s:s,s:s}", "alg", "RS256", "kid", kid);
		h = json_dumps(hdr, JSON_COMPACT);
		p = json_dumps(claims, JSON_COMPACT);
		hb = b64url_encode((unsigned char *)h, strlen(h));
		pb = b64url_encode((unsigned char *)p, strlen(p));
		snprintf(buf, sizeof buf, "%s.%s", hb, pb);
		md = EVP_MD_CTX_new();
		assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk), 1);
		assert_int_equal(EVP_DigestSign(md, sig, &slen, (unsigned char *)buf,
		    strlen(buf)), 1);
		sb = b64url_encode(sig, slen);
		tok = malloc(strlen(buf) + strlen(sb) + 2);
		sprintf(tok, "%s.%s", buf, sb);
		EVP_MD_CTX_free(md);
		EVP_PKEY_free(pk);
		BIO_free(bio);
		json_decref(hdr);
		free(h);
		free(p);
		free(hb);
		free(pb);
		free(sb);
		free(pem);
	}
	json_decref(claims);
	assert_non_null(tok);
	return tok;
}

#define OIDC_STD	"\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",\"iat\":%d,\"exp\":%d"

static void
expect_ok(struct idv *v, const char *token, struct identity *id)
{
	struct err e;

	err_clear(&e);
	if (identity_verify(v, token, id, &e) != 0)
		fail_msg("identity_verify: %s: %s", e.code, e.msg);
}

static void
expect_fail(struct idv *v, const char *token, int status, const char *code)
{
	struct identity	id;
	struct err	e;

	err_clear(&e);
	assert_int_equal(identity_verify(v, token, &id, &e), -1);
	assert_string_equal(e.code, code);
	assert_int_equal(e.status, status);
	assert_int_equal(id.ngroups, 0);
	assert_null(id.groups);
	identity_clear(&id);
}

/* --- OIDC good paths --- */

static void
test_oidc_rs256_pyjwt(void **state)
{
	struct identity_cfg	 cfg = oidc_cfg();
	struct identity		 id;
	struct idv		*v = new_idv(&cfg, 1);
	char			*t = fx_read("pyjwt_rs256.jwt");

	expect_ok(v, t, &id);
	assert_string_equal(id.email, "alice@example.com");	/* lowercased */
	assert_string_equal(id.subject, "u-alice");
	assert_string_equal(id.source, "oidc");
	assert_int_equal(id.ngroups, 2);
	assert_string_equal(id.groups[0], "eng");
	assert_string_equal(id.groups[1], "tenant-google");
	assert_int_equal(id.exp, NOW + 600);
	assert_int_equal(nfetch, 1);
	assert_string_equal(fetched_url, "http://127.0.0.1:9/jwks");
	identity_clear(&id);
	assert_null(id.groups);
	free(t);
	/* The cached set serves the next token without a fetch. */
	t = fx_read("pyjwt_es256.jwt");
	expect_ok(v, t, &id);
	assert_string_equal(id.email, "alice@example.com");
	assert_int_equal(nfetch, 1);
	identity_clear(&id);
	free(t);
	identity_free(v);
}

static void
test_oidc_claims_upn_preferred_username(void **state)
{
	struct identity_cfg	 cfg = oidc_cfg();
	struct identity		 id;
	struct idv		*v;
	char			*t;

	cfg.email_claim = "upn";
	v = new_idv(&cfg, 1);
	t = mint("RS256", "rsa", "rsa-1", "{" OIDC_STD ",\"upn\":\"Carol@Corp.Example\","
	    "\"email\":\"other@x.y\",\"sub\":\"c\"}", NOW, NOW + 600);
	expect_ok(v, t, &id);
	assert_string_equal(id.email, "carol@corp.example");
	assert_int_equal(id.ngroups, 0);
	identity_clear(&id);
	free(t);
	/* email_verified only concerns the email claim. */
	t = mint("ES256", "ec", "ec-1", "{" OIDC_STD ",\"upn\":\"d@e.f\","
	    "\"email_verified\":false}", NOW, NOW + 600);
	expect_ok(v, t, &id);
	identity_clear(&id);
	free(t);
	identity_free(v);

	cfg.email_claim = "preferred_username";
	v = new_idv(&cfg, 1);
	t = mint("ES256", "ec", "ec-1", "{" OIDC_STD ",\"preferred_username\":\"dave@example.org\","
	    "\"groups\":\"solo\"}", NOW, NOW + 600);
	expect_ok(v, t, &id);
	assert_string_equal(id.email, "dave@example.org");
	assert_int_equal(id.ngroups, 1);
	assert_string_equal(id.groups[0], "solo");
	identity_clear(&id);
	free(t);
	/* A username that is not an email is refused. */
	t = mint("ES256", "ec", "ec-1", "{" OIDC_STD ",\"preferred_username\":\"dave\"}",
	    NOW, NOW + 600);
	expect_fail(v, t, 401, "no_email_claim");
	free(t);
	identity_free(v);
}

static void
test_email_rules(void **state)
{
	static const char *const bad[] = {
		"\"email\":\"nobody\"", "\"email\":\"a@b@c\"", "\"email\":\"@b.c\"",
		"\"email\":\"a@\"", "\"email\":\"a b@c.d\"", "\"email\":\"a@b.c\\n\"",
		"\"email\":42", "\"email\":\"\"", "\"mail\":\"a@b.c\"",
	};
	struct identity_cfg	 cfg = oidc_cfg();
	struct identity		 id;
	struct idv		*v = new_idv(&cfg, 1);
	char			 longmail[300], *t;
	size_t			 i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		t = mint("ES256", "ec", "ec-1", "{" OIDC_STD ",%s}", NOW, NOW + 600, bad[i]);
		expect_fail(v, t, 401, "no_email_claim");
		free(t);
	}
	/* 254 bytes pass, 255 do not. */
	memset(longmail, 'a', sizeof longmail);
	memcpy(longmail + 254 - 6, "@b.com", 7);
	t = mint("ES256", "ec", "ec-1", "{" OIDC_STD ",\"email\":\"%s\"}", NOW, NOW + 600,
	    longmail);
	expect_ok(v, t, &id);
	assert_int_equal(strlen(id.email), 254);
	identity_clear(&id);
	free(t);
	memset(longmail, 'a', sizeof longmail);
	memcpy(longmail + 255 - 6, "@b.com", 7);
	t = mint("ES256", "ec", "ec-1", "{" OIDC_STD ",\"email\":\"%s\"}", NOW, NOW + 600,
	    longmail);
	expect_fail(v, t, 401, "no_email_claim");
	free(t);
	/* email_verified true is fine. */
	t = mint("ES256", "ec", "ec-1", "{" OIDC_STD ",\"email\":\"E@F.G\",\"email_verified\":true}",
	    NOW, NOW + 600);
	expect_ok(v, t, &id);
	assert_string_equal(id.email, "e@f.g");
	identity_clear(&id);
	free(t);
	identity_free(v);
}

/* issue 14: U+0130 and the Kelvin sign never become alice@ or a k-address;
 * non-ASCII is refused by default and kept exact (never folded) with nfc. */
static void
test_email_spoofs(void **state)
{
	struct identity_cfg	 cfg = oidc_cfg();
	struct identity		 id;
	struct idv		*v = new_idv(&cfg, 1);
	secret_t		*s = secret_new(OWUI_SECRET, strlen(OWUI_SECRET));
	char			*t;

	t = mint("ES256", "ec", "ec-1", "{" OIDC_STD ",\"email\":\"al\u0130ce@example.com\"}",
	    NOW, NOW + 600);
	expect_fail(v, t, 401, "email_non_ascii");
	free(t);
	t = mint("ES256", "ec", "ec-1", "{" OIDC_STD ",\"email\":\"\u212Aate@example.com\"}",
	    NOW, NOW + 600);
	expect_fail(v, t, 401, "email_non_ascii");
	free(t);
	identity_free(v);

	cfg.email_mode = EMAIL_NFC;
	cfg.owui_secret = s;
	v = new_idv(&cfg, 1);
	t = mint("ES256", "ec", "ec-1", "{" OIDC_STD ",\"email\":\"AL\u0130CE@Example.com\"}",
	    NOW, NOW + 600);
	expect_ok(v, t, &id);
	assert_string_equal(id.email, "al\xc4\xb0" "ce@example.com");
	identity_clear(&id);
	free(t);
	t = mint("ES256", "ec", "ec-1", "{" OIDC_STD ",\"email\":\"\u212Aate@example.com\"}",
	    NOW, NOW + 600);
	expect_fail(v, t, 401, "email_not_nfc");
	free(t);
	t = mint("ES256", "ec", "ec-1", "{" OIDC_STD ",\"email\":\"jose\u0301@example.com\"}",
	    NOW, NOW + 600);
	expect_fail(v, t, 401, "email_not_nfc");
	free(t);
	/* The Open WebUI path canonicalises the same way. */
	t = mint("HS256", OWUI_SECRET, NULL, "{\"iss\":\"open-webui\","
	    "\"email\":\"\u212Aate@example.com\",\"iat\":%d,\"exp\":%d}", NOW, NOW + 300);
	expect_fail(v, t, 401, "email_not_nfc");
	free(t);
	t = mint("HS256", OWUI_SECRET, NULL, "{\"iss\":\"open-webui\","
	    "\"email\":\"Bob@Example.com\",\"iat\":%d,\"exp\":%d}", NOW, NOW + 300);
	expect_ok(v, t, &id);
	assert_string_equal(id.email, "bob@example.com");
	identity_clear(&id);
	free(t);
	identity_free(v);
	secret_free(s);
}

/* email_verified must be the JSON value true when present. */
static void
test_email_verified(void **state)
{
	static const char *const bad[] = {
		"false", "\"false\"", "\"true\"", "0", "1", "null", "\"\"", "[]", "{}",
	};
	struct identity_cfg	 cfg = oidc_cfg();
	struct identity		 id;
	struct idv		*v = new_idv(&cfg, 1);
	secret_t		*s = secret_new(OWUI_SECRET, strlen(OWUI_SECRET));
	char			*t;
	size_t			 i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		t = mint("ES256", "ec", "ec-1", "{" OIDC_STD ",\"email\":\"a@b.c\","
		    "\"email_verified\":%s}", NOW, NOW + 600, bad[i]);
		expect_fail(v, t, 401, "email_not_verified");
		free(t);
	}
	/* Absent is fine unless required. */
	t = mint("ES256", "ec", "ec-1", "{" OIDC_STD ",\"email\":\"a@b.c\"}", NOW, NOW + 600);
	expect_ok(v, t, &id);
	identity_clear(&id);
	identity_free(v);

	cfg.require_email_verified = 1;
	cfg.owui_secret = s;
	v = new_idv(&cfg, 1);
	expect_fail(v, t, 401, "email_not_verified");
	free(t);
	t = mint("ES256", "ec", "ec-1", "{" OIDC_STD ",\"email\":\"a@b.c\","
	    "\"email_verified\":true}", NOW, NOW + 600);
	expect_ok(v, t, &id);
	identity_clear(&id);
	free(t);
	/* Open WebUI's JWT has no such claim: the requirement is OIDC's. */
	t = fx_read("pyjwt_owui_hs256.jwt");
	expect_ok(v, t, &id);
	identity_clear(&id);
	free(t);
	/* ... but a wrong value there is refused too. */
	t = mint("HS256", OWUI_SECRET, NULL, "{\"iss\":\"open-webui\",\"email\":\"a@b.c\","
	    "\"email_verified\":\"false\",\"iat\":%d,\"exp\":%d}", NOW, NOW + 300);
	expect_fail(v, t, 401, "email_not_verified");
	free(t);
	identity_free(v);

	/* require_email_verified says nothing about upn: a config error. */
	cfg.email_claim = "upn";
	{
		struct err e;

		assert_null(identity_new(&cfg, &e));
		assert_string_equal(e.code, "bad_config");
	}
	secret_free(s);
}

/* exp/nbf/iat are range-checked before any conversion (UBSan would trap
 * on (time_t)1e300). */
static void
test_numeric_claims(void **state)
{
	static const char *const bad[] = {
		"\"exp\":1e300", "\"exp\":1.8e19", "\"exp\":253402300800",
		"\"exp\":1767226200,\"nbf\":-1e300", "\"exp\":1767226200,\"iat\":-1",
		"\"exp\":1767226200,\"nbf\":-0.5", "\"exp\":1767226200,\"iat\":-9.3e18",
	};
	struct identity_cfg	 cfg = oidc_cfg();
	struct identity		 id;
	struct idv		*v = new_idv(&cfg, 1);
	char			 claims[256], *t;
	size_t			 i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(claims, sizeof claims, "%s", bad[i]);
		t = mint("ES256", "ec", "ec-1", "{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE
		    "\",\"email\":\"a@b.c\",%s}", claims);
		expect_fail(v, t, 401, "token_malformed");
		free(t);
	}
	/* The last second of 9999 is still a time; fractions are allowed. */
	t = mint("ES256", "ec", "ec-1", "{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE
	    "\",\"email\":\"a@b.c\",\"exp\":253402300799,\"iat\":%d.5}", NOW);
	expect_ok(v, t, &id);
	assert_int_equal(id.exp, 253402300799);
	assert_int_equal(id.iat, NOW);
	identity_clear(&id);
	free(t);
	/* A string exp is malformed, as before. */
	t = mint("ES256", "ec", "ec-1", "{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE
	    "\",\"email\":\"a@b.c\",\"exp\":\"%d\"}", NOW + 600);
	expect_fail(v, t, 401, "token_malformed");
	free(t);
	identity_free(v);
}

static void
test_groups_capped(void **state)
{
	struct identity_cfg	 cfg = oidc_cfg();
	struct identity		 id;
	struct idv		*v = new_idv(&cfg, 1);
	char			 groups[8192], *t;
	size_t			 i, n = 0;

	n += (size_t)snprintf(groups + n, sizeof groups - n, "[1,null,\"\",");
	for (i = 0; i < 300; i++)
		n += (size_t)snprintf(groups + n, sizeof groups - n, "%s\"g%zu\"", i ? "," : "", i);
	snprintf(groups + n, sizeof groups - n, "]");
	t = mint("ES256", "ec", "ec-1", "{" OIDC_STD ",\"email\":\"a@b.c\",\"groups\":%s}",
	    NOW, NOW + 600, groups);
	expect_ok(v, t, &id);
	/* 256 entries looked at; the 3 that are not group names skipped. */
	assert_int_equal(id.ngroups, 253);
	assert_string_equal(id.groups[0], "g0");
	assert_string_equal(id.groups[252], "g252");
	identity_clear(&id);
	free(t);
	identity_free(v);
}

/* --- Open WebUI --- */

static void
test_owui_ok(void **state)
{
	struct identity_cfg	 cfg = oidc_cfg();
	struct identity		 id;
	struct idv		*v;
	secret_t		*s = secret_new(OWUI_SECRET, strlen(OWUI_SECRET));
	char			*t = fx_read("pyjwt_owui_hs256.jwt");

	cfg.owui_secret = s;
	v = new_idv(&cfg, 1);
	secret_free(s);		/* identity keeps its own copy */
	expect_ok(v, t, &id);
	assert_string_equal(id.email, "bob@example.com");
	assert_string_equal(id.subject, "6f1c2a9e-owui-user");
	assert_string_equal(id.source, "openwebui");
	assert_int_equal(id.exp, NOW + 300);
	assert_int_equal(nfetch, 0);	/* no JWKS needed */
	identity_clear(&id);
	free(t);
	identity_free(v);
}

static void
test_owui_refusals(void **state)
{
	struct identity_cfg	 cfg = oidc_cfg();
	struct idv		*v;
	secret_t		*s = secret_new(OWUI_SECRET, strlen(OWUI_SECRET));
	char			*t;

	/* OIDC only: an HS256 token has nowhere to go. */
	v = new_idv(&cfg, 1);
	t = fx_read("pyjwt_owui_hs256.jwt");
	expect_fail(v, t, 401, "alg_not_allowed");
	free(t);
	identity_free(v);

	cfg.owui_secret = s;
	v = new_idv(&cfg, 1);
	t = mint("HS256", OWUI_SECRET, NULL, "{\"iss\":\"someone-else\",\"email\":\"a@b.c\","
	    "\"iat\":%d,\"exp\":%d}", NOW, NOW + 300);
	expect_fail(v, t, 401, "bad_issuer");
	free(t);
	t = mint("HS256", OWUI_SECRET, NULL, "{\"iss\":\"open-webui\",\"email\":\"a@b.c\","
	    "\"iat\":%d}", NOW);
	expect_fail(v, t, 401, "missing_claim");
	free(t);
	t = mint("HS256", OWUI_SECRET, NULL, "{\"iss\":\"open-webui\",\"email\":\"a@b.c\","
	    "\"iat\":%d,\"exp\":%d}", NOW - 600, NOW - 300);
	expect_fail(v, t, 401, "token_expired");
	free(t);
	t = mint("HS256", "some-other-secret-0123456789abcdef", NULL,
	    "{\"iss\":\"open-webui\",\"email\":\"a@b.c\",\"iat\":%d,\"exp\":%d}", NOW, NOW + 300);
	expect_fail(v, t, 401, "bad_signature");
	free(t);
	/* The forgeable plain headers' cousin: a token with no email. */
	t = mint("HS256", OWUI_SECRET, NULL, "{\"iss\":\"open-webui\",\"sub\":\"x\","
	    "\"iat\":%d,\"exp\":%d}", NOW, NOW + 300);
	expect_fail(v, t, 401, "no_email_claim");
	free(t);
	identity_free(v);
	secret_free(s);
}

/* --- attacks through the router --- */

static void
test_confusion_through_router(void **state)
{
	struct identity_cfg	 cfg = oidc_cfg();
	struct idv		*v;
	secret_t		*s = secret_new(OWUI_SECRET, strlen(OWUI_SECRET));
	char			*t1 = fx_read("confusion_rs256_pub_as_hs256.jwt");
	char			*t2 = fx_read("confusion_es256_pub_as_hs256.jwt");
	char			*t3 = fx_read("confusion_nokid_as_hs256.jwt");

	/* Without the Open WebUI secret, HS256 is simply not accepted. */
	v = new_idv(&cfg, 1);
	expect_fail(v, t1, 401, "alg_not_allowed");
	expect_fail(v, t2, 401, "alg_not_allowed");
	expect_fail(v, t3, 401, "alg_not_allowed");
	identity_free(v);
	/* With it, HS256 goes to the Open WebUI key only: the IdP's public
	 * key never becomes an HMAC secret. The kid names no Open WebUI key,
	 * and without a kid the PEM-keyed HMAC is just a wrong signature. */
	cfg.owui_secret = s;
	v = new_idv(&cfg, 1);
	expect_fail(v, t1, 401, "unknown_kid");
	expect_fail(v, t2, 401, "unknown_kid");
	expect_fail(v, t3, 401, "bad_signature");
	assert_int_equal(nfetch, 0);
	identity_free(v);
	secret_free(s);
	free(t1);
	free(t2);
	free(t3);
}

static void
test_alg_none_and_unpinned(void **state)
{
	static const char *const none[] = {
		"eyJhbGciOiJub25lIn0", "eyJhbGciOiJOb25lIn0", "eyJhbGciOiJOT05FIn0",
	};	/* {"alg":"none"}, "None", "NONE" */
	struct identity_cfg	 cfg = oidc_cfg();
	const char		*rs_only[] = { "RS256", NULL };
	struct idv		*v;
	const char		*claims = "{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\","
	    "\"email\":\"a@b.c\",\"exp\":9999999999}";
	char			 tok[512], *body, *t;
	size_t			 i;

	v = new_idv(&cfg, 1);
	body = b64url_encode((const unsigned char *)claims, strlen(claims));
	for (i = 0; i < 3; i++) {
		snprintf(tok, sizeof tok, "%s.%s.", none[i], body);
		expect_fail(v, tok, 401, "alg_not_allowed");
	}
	free(body);
	identity_free(v);

	cfg.oidc_algs = rs_only;
	v = new_idv(&cfg, 1);
	t = fx_read("pyjwt_es256.jwt");
	expect_fail(v, t, 401, "alg_not_allowed");
	free(t);
	identity_free(v);
}

static void
test_oidc_refusals(void **state)
{
	struct identity_cfg	 cfg = oidc_cfg();
	struct idv		*v = new_idv(&cfg, 1);
	char			*t, big[9000];

	t = mint("ES256", "ec", "ec-1", "{\"iss\":\"" ISSUER "\",\"aud\":\"other\",\"email\":\"a@b.c\","
	    "\"exp\":%d}", NOW + 600);
	expect_fail(v, t, 401, "bad_audience");
	free(t);
	t = mint("ES256", "ec", "ec-1", "{\"iss\":\"" ISSUER "\",\"aud\":[\"x\",\"y\"],"
	    "\"email\":\"a@b.c\",\"exp\":%d}", NOW + 600);
	expect_fail(v, t, 401, "bad_audience");
	free(t);
	t = mint("ES256", "ec", "ec-1", "{\"iss\":\"https://idp.test.evil\",\"aud\":\"" AUDIENCE "\","
	    "\"email\":\"a@b.c\",\"exp\":%d}", NOW + 600);
	expect_fail(v, t, 401, "bad_issuer");
	free(t);
	t = mint("ES256", "ec", "ec-1", "{" OIDC_STD ",\"email\":\"a@b.c\"}", NOW, NOW - 61);
	expect_fail(v, t, 401, "token_expired");
	free(t);
	t = mint("ES256", "ec", "ec-1", "{" OIDC_STD ",\"email\":\"a@b.c\",\"nbf\":%d}",
	    NOW, NOW + 600, NOW + 120);
	expect_fail(v, t, 401, "token_not_yet_valid");
	free(t);
	t = mint("ES256", "ec", "ec-1", "{" OIDC_STD ",\"email\":\"a@b.c\"}", NOW + 120, NOW + 600);
	expect_fail(v, t, 401, "token_not_yet_valid");
	free(t);
	memset(big, 'A', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	expect_fail(v, big, 401, "token_too_large");
	expect_fail(v, "", 401, "token_malformed");
	expect_fail(v, NULL, 401, "token_malformed");
	expect_fail(v, "a.b.c", 401, "token_malformed");
	assert_int_equal(nfetch, 1);
	identity_free(v);
}

/* --- JWKS cache --- */

static void
test_jwks_unavailable(void **state)
{
	struct identity_cfg	 cfg = oidc_cfg();
	struct identity		 id;
	struct idv		*v = new_idv(&cfg, 1);
	char			*t = fx_read("pyjwt_es256.jwt");

	fetch_fails = 1;
	expect_fail(v, t, 503, "jwks_unavailable");
	assert_int_equal(nfetch, 1);
	/* No hammering of a down IdP: the next try waits 10 s. */
	fake_now += 5;
	expect_fail(v, t, 503, "jwks_unavailable");
	assert_int_equal(nfetch, 1);
	fake_now += 5;
	fetch_fails = 0;
	expect_ok(v, t, &id);
	assert_int_equal(nfetch, 2);
	identity_clear(&id);
	free(t);
	identity_free(v);
}

static void
test_jwks_refresh_keeps_old_on_failure(void **state)
{
	struct identity_cfg	 cfg = oidc_cfg();
	struct identity		 id;
	struct idv		*v = new_idv(&cfg, 1);
	char			*t = mint("ES256", "ec", "ec-1", "{" OIDC_STD ",\"email\":\"a@b.c\"}",
	    NOW, NOW + 3600);

	expect_ok(v, t, &id);
	identity_clear(&id);
	assert_int_equal(nfetch, 1);
	/* Before refresh_s: cached. After: the janitor's tick fetches again;
	 * a request alone never does. */
	fake_now += 299;
	assert_int_equal(identity_refresh(v), 0);
	expect_ok(v, t, &id);
	identity_clear(&id);
	assert_int_equal(nfetch, 1);
	fake_now += 1;
	expect_ok(v, t, &id);
	identity_clear(&id);
	assert_int_equal(nfetch, 1);
	assert_int_equal(identity_refresh(v), 1);
	assert_int_equal(nfetch, 2);
	/* A failed refresh keeps the old keys, and waits before retrying. */
	fake_now += 300;
	fetch_fails = 1;
	assert_int_equal(identity_refresh(v), 1);
	expect_ok(v, t, &id);
	identity_clear(&id);
	assert_int_equal(nfetch, 3);
	assert_int_equal(identity_refresh(v), 0);
	expect_ok(v, t, &id);
	identity_clear(&id);
	assert_int_equal(nfetch, 3);
	fake_now += 10;
	assert_int_equal(identity_refresh(v), 1);
	expect_ok(v, t, &id);
	identity_clear(&id);
	assert_int_equal(nfetch, 4);
	free(t);
	identity_free(v);
}

static void
test_jwks_unknown_kid_rollover(void **state)
{
	static const char *const stems2[] = { "ec", "ec2", "rsa", NULL };
	static const char *const kids2[] = { "ec-1", "ec-2", "rsa-1", NULL };
	struct identity_cfg	 cfg = oidc_cfg();
	struct identity		 id;
	struct idv		*v = new_idv(&cfg, 1);
	char			*t1, *t2, *t9;

	t1 = mint("ES256", "ec", "ec-1", "{" OIDC_STD ",\"email\":\"a@b.c\"}", NOW, NOW + 3600);
	t2 = mint("ES256", "ec2", "ec-2", "{" OIDC_STD ",\"email\":\"a@b.c\"}", NOW, NOW + 3600);
	t9 = mint("ES256", "ec2", "ec-9", "{" OIDC_STD ",\"email\":\"a@b.c\"}", NOW, NOW + 3600);
	expect_ok(v, t1, &id);
	identity_clear(&id);
	assert_int_equal(nfetch, 1);
	/* The IdP rolls to ec-2: the unknown kid triggers one refresh. */
	serve_jwks(stems2, kids2);
	fake_now += 5;
	expect_ok(v, t2, &id);
	identity_clear(&id);
	assert_int_equal(nfetch, 2);
	/* A kid nobody has: refreshes at most once per 30 s. */
	fake_now += 30;
	expect_fail(v, t9, 401, "unknown_kid");
	assert_int_equal(nfetch, 3);
	expect_fail(v, t9, 401, "unknown_kid");
	fake_now += 29;
	expect_fail(v, t9, 401, "unknown_kid");
	assert_int_equal(nfetch, 3);
	fake_now += 1;
	expect_fail(v, t9, 401, "unknown_kid");
	assert_int_equal(nfetch, 4);
	free(t1);
	free(t2);
	free(t9);
	identity_free(v);
}

static void
test_jwks_discovery(void **state)
{
	struct identity_cfg	 cfg = oidc_cfg();
	struct identity		 id;
	struct idv		*v;
	char			*t = fx_read("pyjwt_rs256.jwt");

	cfg.oidc_jwks_url = NULL;
	v = new_idv(&cfg, 1);
	expect_ok(v, t, &id);
	identity_clear(&id);
	assert_int_equal(nfetch, 2);	/* discovery, then its jwks_uri */
	assert_string_equal(fetched_url, "http://127.0.0.1:9/certs");
	identity_free(v);

	/* A discovery document for another issuer is not trusted. */
	served_discovery = "{\"issuer\":\"https://evil.test\",\"jwks_uri\":\"http://127.0.0.1:9/certs\"}";
	nfetch = 0;
	v = new_idv(&cfg, 1);
	expect_fail(v, t, 503, "jwks_unavailable");
	assert_int_equal(nfetch, 1);
	assert_string_equal(fetched_url, ISSUER "/.well-known/openid-configuration");
	identity_free(v);
	free(t);
}

static void
test_set_jwks_hook(void **state)
{
	struct identity_cfg	 cfg = oidc_cfg();
	struct identity		 id;
	struct err		 e;
	struct idv		*v = new_idv(&cfg, 1);
	char			*jwks = fx_read("jwks.json"), *t = fx_read("pyjwt_es256.jwt");

	assert_int_equal(identity_set_jwks(v, jwks, strlen(jwks), &e), 0);
	expect_ok(v, t, &id);
	identity_clear(&id);
	assert_int_equal(nfetch, 0);
	assert_int_equal(identity_set_jwks(v, "{\"keys\":[]}", 11, &e), -1);
	assert_string_equal(e.code, "jwks_invalid");
	free(jwks);
	free(t);
	identity_free(v);
}

static void
test_config_errors(void **state)
{
	const char		*hs[] = { "RS256", "HS256", NULL }, *none[] = { NULL };
	const char		*bogus[] = { "none", NULL };
	struct identity_cfg	 cfg;
	struct err		 e;

	memset(&cfg, 0, sizeof cfg);
	assert_null(identity_new(&cfg, &e));
	assert_string_equal(e.code, "bad_config");
	cfg = oidc_cfg();
	cfg.oidc_audience = NULL;
	assert_null(identity_new(&cfg, &e));
	assert_string_equal(e.code, "bad_config");
	cfg = oidc_cfg();
	cfg.oidc_algs = hs;
	assert_null(identity_new(&cfg, &e));
	assert_string_equal(e.code, "bad_config");
	cfg.oidc_algs = none;
	assert_null(identity_new(&cfg, &e));
	cfg.oidc_algs = bogus;
	assert_null(identity_new(&cfg, &e));
	assert_string_equal(e.code, "bad_config");
	identity_free(NULL);
	identity_clear(NULL);
}

/* --- the real fetcher (httpc) against a loopback HTTP server --- */

struct mini_http {
	int	fd;
	int	port;
	int	requests;
	char	jwks_path_seen[64];
};

static void *
mini_http_run(void *arg)
{
	struct mini_http	*m = arg;
	char			 req[4096], resp[8192], *jwks = fx_read("jwks.json");
	const char		*body;
	ssize_t			 n;
	size_t			 got;
	int			 c, i;

	for (i = 0; i < 2; i++) {	/* discovery, then JWKS */
		if ((c = accept(m->fd, NULL, NULL)) == -1)
			break;
		got = 0;
		while (got < sizeof req - 1 && (n = read(c, req + got, sizeof req - 1 - got)) > 0) {
			got += (size_t)n;
			req[got] = '\0';
			if (strstr(req, "\r\n\r\n") != NULL)
				break;
		}
		req[got] = '\0';
		m->requests++;
		if (strncmp(req, "GET /realm/.well-known/openid-configuration ", 44) == 0) {
			snprintf(resp, sizeof resp, "{\"issuer\":\"http://127.0.0.1:%d/realm\","
			    "\"jwks_uri\":\"http://127.0.0.1:%d/realm/certs\"}", m->port, m->port);
			body = strdup(resp);
		} else {
			sscanf(req, "GET %63s", m->jwks_path_seen);
			body = strdup(jwks);
		}
		snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", strlen(body), body);
		free((void *)body);
		(void)!write(c, resp, strlen(resp));
		close(c);
	}
	free(jwks);
	return NULL;
}

static void
test_fetch_over_http(void **state)
{
	struct sockaddr_in	 sa = { .sin_family = AF_INET };
	struct identity_cfg	 cfg = oidc_cfg();
	struct mini_http	 m = { 0 };
	struct identity		 id;
	struct idv		*v;
	pthread_t		 th;
	socklen_t		 sl = sizeof sa;
	char			 iss[64], *t;
	json_t			*claims;
	struct err		 e;
	char			*pem;
	secret_t		*s;
	long			 t0;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	m.fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(m.fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(m.fd, 4), 0);
	getsockname(m.fd, (struct sockaddr *)&sa, &sl);
	m.port = ntohs(sa.sin_port);
	snprintf(iss, sizeof iss, "http://127.0.0.1:%d/realm", m.port);
	assert_int_equal(pthread_create(&th, NULL, mini_http_run, &m), 0);

	cfg.oidc_issuer = iss;
	cfg.oidc_jwks_url = NULL;
	v = new_idv(&cfg, 0);	/* real clock, real fetcher */
	claims = json_pack("{s:s,s:s,s:s,s:I,s:I}", "iss", iss, "aud", AUDIENCE,
	    "email", "net@example.com", "iat", (json_int_t)time(NULL),
	    "exp", (json_int_t)time(NULL) + 60);
	pem = fx_read("ec_private.pem");
	s = secret_new(pem, strlen(pem));
	t = jwt_mint_es256(claims, s, "ec-1", &e);
	t0 = clock_now_ms();
	expect_ok(v, t, &id);
	/* The fetch asked for finished before the wait began: the request
	 * must see it, not wait out IDENTITY_ASK_WAIT_MS for another one. */
	assert_true(clock_now_ms() - t0 < 2000);
	assert_string_equal(id.email, "net@example.com");
	identity_clear(&id);
	pthread_join(th, NULL);
	assert_int_equal(m.requests, 2);
	assert_string_equal(m.jwks_path_seen, "/realm/certs");
	close(m.fd);
	identity_free(v);
	json_decref(claims);
	secret_free(s);
	free(pem);
	free(t);
}

/* --- threads --- */

struct worker {
	struct idv	*v;
	const char	*tok[3];
	int		 ok;
};

static void *
worker_run(void *arg)
{
	struct worker	*w = arg;
	struct identity	 id;
	struct err	 e;
	int		 i;

	for (i = 0; i < 300; i++) {
		if (identity_verify(w->v, w->tok[i % 3], &id, &e) == 0)
			w->ok++;
		identity_clear(&id);
	}
	return NULL;
}

/* The janitor's stand-in: refreshes while the workers verify. */
static atomic_int refresher_stop;

static void *
refresher_run(void *arg)
{
	while (!atomic_load(&refresher_stop))
		identity_refresh(arg);
	return NULL;
}

static void
test_concurrent(void **state)
{
	struct identity_cfg	 cfg = oidc_cfg();
	struct identity_hooks	 h = { fetch_fake, clock_ticking, NULL };
	struct worker		 w[6];
	pthread_t		 th[6];
	struct idv		*v;
	secret_t		*s = secret_new(OWUI_SECRET, strlen(OWUI_SECRET));
	char			*t1 = fx_read("pyjwt_es256.jwt"), *t2 = fx_read("pyjwt_rs256.jwt");
	char			*t3 = fx_read("pyjwt_owui_hs256.jwt");
	int			 i;

	cfg.owui_secret = s;
	pthread_t		 rt;

	cfg.jwks_refresh_s = 1;		/* refresh on nearly every tick */
	v = new_idv(&cfg, 0);
	identity_set_hooks(v, &h);
	atomic_store(&refresher_stop, 0);
	assert_int_equal(pthread_create(&rt, NULL, refresher_run, v), 0);
	for (i = 0; i < 6; i++) {
		w[i].v = v;
		w[i].tok[0] = t1;
		w[i].tok[1] = t2;
		w[i].tok[2] = t3;
		w[i].ok = 0;
		assert_int_equal(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
	}
	for (i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].ok, 300);
	}
	atomic_store(&refresher_stop, 1);
	pthread_join(rt, NULL);
	/* The clock moved past refresh_s many times: the set was swapped
	 * under readers (ASan would see a use-after-free). */
	assert_true(nfetch > 1);
	identity_free(v);
	secret_free(s);
	free(t1);
	free(t2);
	free(t3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_oidc_rs256_pyjwt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oidc_claims_upn_preferred_username, setup, teardown),
		cmocka_unit_test_setup_teardown(test_email_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_email_spoofs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_email_verified, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numeric_claims, setup, teardown),
		cmocka_unit_test_setup_teardown(test_groups_capped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owui_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owui_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_confusion_through_router, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alg_none_and_unpinned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oidc_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jwks_unavailable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jwks_refresh_keeps_old_on_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jwks_unknown_kid_rollover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jwks_discovery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_jwks_hook, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch_over_http, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
