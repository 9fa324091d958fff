/*
 * state: the broker's snapshot. One build collects every cross-key error
 * as file:line; a snapshot a reload replaced lives on while a request
 * holds it and is freed by its last reference (ASan sees a use after free
 * or a leak otherwise); late keys are published once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../broker/broker.h"
#include "../../broker/keys.h"
#include "../../broker/broker_state.h"

static char	dir[] = "/tmp/test_broker_state.XXXXXX";
static char	owui[512], callers[512], conf[512];

static void
put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int
setup(void **state)
{
	char text[2048];

	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(owui, sizeof owui, "%s/owui", dir);
	snprintf(callers, sizeof callers, "%s/callers", dir);
	snprintf(conf, sizeof conf, "%s/broker.conf", dir);
	put_file(owui, "0123456789abcdef0123456789abcdef-owui");
	put_file(callers, "a-caller-secret-of-some-length");
	snprintf(text, sizeof text, "database_url = postgresql:///nowhere\n"
	    "vault_addr = http://127.0.0.1:1\nopenwebui_secret_file = %s\n"
	    "callers_secret_file = %s\n", owui, callers);
	put_file(conf, text);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(owui);
	unlink(callers);
	unlink(conf);
	rmdir(dir);
	return 0;
}

static struct broker_state *
build(const char *const *overrides)
{
	struct broker_state	*s;
	char			*causes = NULL;

	s = broker_state_build(conf, overrides, NULL, &causes);
	if (s == NULL)
		fail_msg("build: %s", causes);
	free(causes);
	return s;
}

static void
test_old_snapshot_lives_while_held(void **state)
{
	static const char *const	 ov[] = { "grant_ttl=60s", NULL };
	struct broker			 b;
	struct broker_state		*first = build(NULL), *held, *second = build(ov);

	(void)state;
	memset(&b, 0, sizeof b);
	pthread_mutex_init(&b.state_lock, NULL);
	broker_state_install(&b, first);
	held = broker_state_get(&b);		/* a request starts */
	assert_ptr_equal(held, first);
	broker_state_install(&b, second);	/* SIGHUP */
	/* The request still reads what it started with. */
	assert_int_equal(held->cfg.grant_ttl, 300);
	assert_string_equal(held->cfg.vault_addr, "http://127.0.0.1:1");
	assert_non_null(held->idv);
	broker_state_put(held);			/* the request ends: freed */
	held = broker_state_get(&b);
	assert_ptr_equal(held, second);
	assert_int_equal(held->cfg.grant_ttl, 60);
	broker_state_put(held);
	broker_state_install(&b, NULL);
	assert_null(broker_state_get(&b));
	pthread_mutex_destroy(&b.state_lock);
}

static void
test_keys_published_once(void **state)
{
	struct broker_state	*s = build(NULL);
	struct keyring		*k1 = calloc(1, sizeof *k1), *k2 = calloc(1, sizeof *k2);

	(void)state;
	assert_null(s->keys);		/* vault source, not read yet */
	assert_int_equal(broker_state_set_keys(s, k1), 0);
	assert_int_equal(broker_state_set_keys(s, k2), -1);
	assert_ptr_equal(s->keys, k1);
	free(k2);
	broker_state_put(s);		/* frees k1 */
}

static void
test_build_collects_every_error(void **state)
{
	static const char *const	 ov[] = { "openwebui_secret_file=", "callers_secret_file=",
					    "tls_cert_file=/x.pem", NULL };
	struct broker_state		*s;
	char				*causes = NULL;

	(void)state;
	s = broker_state_build(conf, ov, NULL, &causes);
	assert_null(s);
	assert_non_null(causes);
	assert_non_null(strstr(causes, "tls_cert_file and tls_key_file go together"));
	assert_non_null(strstr(causes, "no way to verify users"));
	assert_non_null(strstr(causes, "no way for forwarders to authenticate"));
	free(causes);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_old_snapshot_lives_while_held),
		cmocka_unit_test(test_keys_published_once),
		cmocka_unit_test(test_build_collects_every_error),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
