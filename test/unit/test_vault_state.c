/*
 * vault_state: every legal token state change is taken and logged
 * "vault: old -> new (why)"; every other one is refused, logged as an
 * error, and leaves the state alone. vault_token_update() and
 * vault_token_drop() move the state as logins, renewals and dead tokens
 * say. No Vault here: test_vault.c and test_vault_live.c drive the same
 * code against a fake and the real OpenBao.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "log.h"
#include "secret.h"
#include "vault.h"
#include "vault_int.h"

static char	logbuf[16384];

static void
sink(enum log_level lvl, const char *line, void *arg)
{
	size_t n = strlen(logbuf);

	(void)arg;
	snprintf(logbuf + n, sizeof logbuf - n, "[%s] %s\n", log_level_name(lvl), line);
}

static int
logged(const char *s)
{
	return strstr(logbuf, s) != NULL;
}

static struct vault *
mkvault(int with_token)
{
	secret_t		*tok = secret_new("hvs.UNITunitUNITunitUNIT", 24);
	struct vault_cfg	 cfg = {
		.addr = "http://127.0.0.1:1",
		.auth = with_token ? VAULT_AUTH_TOKEN : VAULT_AUTH_KUBERNETES,
		.k8s_role = "broker",
		.sa_token_path = "/nonexistent",
		.token = tok,
	};
	struct err		 e;
	struct vault		*v;

	err_clear(&e);
	v = vault_new(&cfg, &e);
	secret_free(tok);
	assert_non_null(v);
	return v;
}

/* The table as the design says it, written out again on purpose. */
static const struct { enum vault_state from, to; } legal[] = {
	{ VAULT_ST_NONE, VAULT_ST_UNCHECKED },	/* static token configured */
	{ VAULT_ST_NONE, VAULT_ST_VALID },	/* Kubernetes login */
	{ VAULT_ST_UNCHECKED, VAULT_ST_VALID },	/* lookup-self */
	{ VAULT_ST_UNCHECKED, VAULT_ST_NONE },	/* closed */
	{ VAULT_ST_VALID, VAULT_ST_VALID },	/* renewed, logged in again */
	{ VAULT_ST_VALID, VAULT_ST_CAPPED },	/* renewal stopped extending */
	{ VAULT_ST_VALID, VAULT_ST_REFUSED },	/* renewal refused */
	{ VAULT_ST_VALID, VAULT_ST_EXPIRED },	/* static token ran out */
	{ VAULT_ST_VALID, VAULT_ST_NONE },	/* dead token dropped, closed */
	{ VAULT_ST_CAPPED, VAULT_ST_VALID },	/* fresh login */
	{ VAULT_ST_CAPPED, VAULT_ST_CAPPED },	/* renewed, still capped */
	{ VAULT_ST_CAPPED, VAULT_ST_REFUSED },
	{ VAULT_ST_CAPPED, VAULT_ST_EXPIRED },
	{ VAULT_ST_CAPPED, VAULT_ST_NONE },
	{ VAULT_ST_REFUSED, VAULT_ST_VALID },	/* looked up again and accepted */
	{ VAULT_ST_REFUSED, VAULT_ST_EXPIRED },
	{ VAULT_ST_REFUSED, VAULT_ST_NONE },
	{ VAULT_ST_EXPIRED, VAULT_ST_VALID },
	{ VAULT_ST_EXPIRED, VAULT_ST_NONE },
};

static int
is_legal(enum vault_state from, enum vault_state to)
{
	for (size_t i = 0; i < sizeof legal / sizeof legal[0]; i++)
		if (legal[i].from == from && legal[i].to == to)
			return 1;
	return 0;
}

static void
test_every_transition(void **state)
{
	struct vault	*v = mkvault(0);
	char		 want[128];
	int		 nlegal = 0;

	(void)state;
	log_set_level(LOG_LVL_DEBUG);
	for (int f = 0; f < VAULT_ST_COUNT; f++) {
		for (int t = 0; t < VAULT_ST_COUNT; t++) {
			int rc;

			logbuf[0] = '\0';
			pthread_mutex_lock(&v->mu);
			v->state = (enum vault_state)f;
			rc = vault_set_state(v, (enum vault_state)t, "unit");
			pthread_mutex_unlock(&v->mu);
			snprintf(want, sizeof want, "vault: %s -> %s (unit)",
			    vault_state_name((enum vault_state)f),
			    vault_state_name((enum vault_state)t));
			if (is_legal((enum vault_state)f, (enum vault_state)t)) {
				nlegal++;
				assert_int_equal(rc, 0);
				assert_int_equal(v->state, t);
				assert_true(logged(want));
				/* Changes are news; the renewal cycle is not. */
				assert_true(logged(f == t ? "[debug]" : "[info]"));
			} else {
				assert_int_equal(rc, -1);
				assert_int_equal(v->state, f);
				assert_true(logged("[error] vault: refused impossible token "
				    "state change"));
				assert_true(logged(want + strlen("vault: ")));
			}
		}
	}
	assert_int_equal(nlegal, (int)(sizeof legal / sizeof legal[0]));
	/* Out of range is refused too. */
	pthread_mutex_lock(&v->mu);
	v->state = VAULT_ST_VALID;
	assert_int_equal(vault_set_state(v, VAULT_ST_COUNT, "unit"), -1);
	assert_int_equal(v->state, VAULT_ST_VALID);
	v->state = VAULT_ST_NONE;		/* nothing held: vault_free logs nothing */
	pthread_mutex_unlock(&v->mu);
	vault_free(v);
	log_set_level(LOG_LVL_INFO);
}

static void
test_illegal_refused_keeps_token(void **state)
{
	struct vault	*v = mkvault(0);

	(void)state;
	logbuf[0] = '\0';
	/* A renewal answer cannot make a token we never had capped. */
	pthread_mutex_lock(&v->mu);
	assert_int_equal(v->state, VAULT_ST_NONE);
	assert_int_equal(vault_set_state(v, VAULT_ST_CAPPED, "renewed"), -1);
	assert_int_equal(v->state, VAULT_ST_NONE);
	assert_null(v->tok_hdr);
	pthread_mutex_unlock(&v->mu);
	assert_true(logged("[error] vault: refused impossible token state change "
	    "none -> capped (renewed)"));
	vault_free(v);
}

static void
test_update_login_renew_drop(void **state)
{
	struct vault		*v = mkvault(0);
	struct vault_status	 st;
	secret_t		*hdr;
	unsigned long		 gen;

	(void)state;
	logbuf[0] = '\0';
	vault_status(v, &st);
	assert_false(st.logged_in);
	/* A login installs the header: none -> valid. */
	hdr = secret_header_bytes("X-Vault-Token", NULL, "hvs.one", 7);
	assert_int_equal(vault_token_update(v, VAULT_UPD_LOGIN, hdr, 0, 60, 1, "login"), 0);
	assert_int_equal(v->state, VAULT_ST_VALID);
	assert_true(logged("[info] vault: none -> valid (login)"));
	gen = v->tok_gen;
	vault_status(v, &st);
	assert_true(st.logged_in);
	assert_int_equal(st.logins, 1);
	/* A renewal that still extends: valid -> valid, at debug. */
	assert_int_equal(vault_token_update(v, VAULT_UPD_RENEW, NULL, gen, 60, 1, "renewed"), 0);
	assert_int_equal(v->state, VAULT_ST_VALID);
	/* One that no longer does (the max TTL): capped. */
	assert_int_equal(vault_token_update(v, VAULT_UPD_RENEW, NULL, gen, 20, 1, "renewed"), 0);
	assert_int_equal(v->state, VAULT_ST_CAPPED);
	assert_true(logged("[info] vault: valid -> capped (renewed)"));
	vault_status(v, &st);
	assert_true(st.logged_in);
	assert_int_equal(st.renewals, 2);
	/* A renewal of a token replaced meanwhile changes nothing. */
	hdr = secret_header_bytes("X-Vault-Token", NULL, "hvs.two", 7);
	assert_int_equal(vault_token_update(v, VAULT_UPD_LOGIN, hdr, 0, 60, 1, "login"), 0);
	assert_int_equal(v->state, VAULT_ST_VALID);
	assert_int_equal(vault_token_update(v, VAULT_UPD_RENEW, NULL, gen, 5, 1, "late"), 1);
	assert_int_equal(v->state, VAULT_ST_VALID);
	assert_string_equal(secret_bytes(v->tok_hdr), "X-Vault-Token: hvs.two");
	/* Dropping an old generation keeps the new token ... */
	vault_token_drop(v, gen, "stale");
	assert_non_null(v->tok_hdr);
	/* ... the current one goes: valid -> none. */
	vault_token_drop(v, v->tok_gen, "dead");
	assert_null(v->tok_hdr);
	assert_int_equal(v->state, VAULT_ST_NONE);
	assert_true(logged("[info] vault: valid -> none (dead)"));
	/* And a renewal answer for it is ignored, not a none -> valid. */
	assert_int_equal(vault_token_update(v, VAULT_UPD_RENEW, NULL, v->tok_gen, 60, 1, "late"), 1);
	assert_int_equal(v->state, VAULT_ST_NONE);
	vault_status(v, &st);
	assert_false(st.logged_in);
	vault_free(v);
}

static void
test_static_token(void **state)
{
	struct vault	*v;

	(void)state;
	logbuf[0] = '\0';
	v = mkvault(1);
	assert_int_equal(v->state, VAULT_ST_UNCHECKED);
	assert_true(logged("vault: none -> unchecked (static token configured)"));
	/* lookup-self keeps the configured header. */
	assert_int_equal(vault_token_update(v, VAULT_UPD_LOGIN, NULL, 0, 0, 0, "looked up"), 0);
	assert_int_equal(v->state, VAULT_ST_VALID);
	assert_string_equal(secret_bytes(v->tok_hdr), "X-Vault-Token: hvs.UNITunitUNITunitUNIT");
	assert_false(logged("UNITunit"));
	logbuf[0] = '\0';
	vault_free(v);
	assert_true(logged("vault: valid -> none (client closed)"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_transition),
		cmocka_unit_test(test_illegal_refused_keeps_token),
		cmocka_unit_test(test_update_login_renew_drop),
		cmocka_unit_test(test_static_token),
	};

	log_init("test", LOG_LVL_INFO);
	log_set_sink(sink, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
