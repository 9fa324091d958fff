/* Redaction by construction: a secret_t formatted every way the logger
 * allows never shows its bytes; errors never carry them; memory is wiped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "log.h"
#include "secret.h"

#define SECRET_TEXT "ATATT-unit-secret-7f3a9c"

static char	captured[8192];

static void
capture(enum log_level lvl, const char *line, void *arg)
{
	size_t n = strlen(captured);

	(void)lvl;
	(void)arg;
	snprintf(captured + n, sizeof captured - n, "%s\n", line);
}

static void
test_redacted_formatter(void **state)
{
	secret_t *s = secret_new(SECRET_TEXT, strlen(SECRET_TEXT));

	(void)state;
	assert_non_null(s);
	assert_string_equal(secret_redacted(s), "***");
	assert_int_equal(secret_len(s), strlen(SECRET_TEXT));
	assert_memory_equal(secret_bytes(s), SECRET_TEXT, strlen(SECRET_TEXT));
	secret_free(s);
}

static void
test_logger_never_prints_secret(void **state)
{
	secret_t *s = secret_new(SECRET_TEXT, strlen(SECRET_TEXT));

	(void)state;
	captured[0] = '\0';
	log_init("test", LOG_LVL_DEBUG);
	log_set_sink(capture, NULL);
	log_ctx_add("req", "1");
	log_ctx_add("user", "%s", "alice@example.com");
	/* Every way the logging API can be handed a secret_t. */
	log_debug("debug %s", secret_redacted(s));
	log_info("info %s", secret_redacted(s));
	log_notice("notice %p", (void *)s);
	log_warnx("warnx %s len=%zu", secret_redacted(s), secret_len(s));
	log_warn("warn %s", secret_redacted(s));
	log_errx("errx %s", secret_redacted(s));
	log_ctx_clear();
	log_set_sink(NULL, NULL);
	assert_null(strstr(captured, SECRET_TEXT));
	assert_non_null(strstr(captured, "info ***"));
	assert_non_null(strstr(captured, "req=1 user=alice@example.com"));
	secret_free(s);
}

static void
test_log_one_line_per_event(void **state)
{
	(void)state;
	captured[0] = '\0';
	log_set_sink(capture, NULL);
	log_info("a\nforged line\r");
	log_set_sink(NULL, NULL);
	assert_string_equal(strchr(captured, '\n'), "\n");
}

static void
test_log_strips_terminal_controls(void **state)
{
	char s[] = "a\x1b]52;c;x\x07" "b\x7f\xc2\x9b" "c\td\ne";

	(void)state;
	log_clean(s, 1);
	assert_string_equal(s, "a?]52;c;x?b???c\td\ne");
	log_clean(s, 0);
	assert_null(strchr(s, '\n'));
}

static void
test_wipe(void **state)
{
	char buf[32];

	(void)state;
	memset(buf, 'x', sizeof buf);
	secret_wipe(buf, sizeof buf);
	for (size_t i = 0; i < sizeof buf; i++)
		assert_int_equal(buf[i], 0);
}

static void
test_constant_time_eq(void **state)
{
	secret_t *s = secret_new("abc", 3);

	(void)state;
	assert_true(secret_eq(s, "abc", 3));
	assert_false(secret_eq(s, "abd", 3));
	assert_false(secret_eq(s, "ab", 2));
	secret_free(s);
}

static void
test_from_file(void **state)
{
	char		 path[] = "/tmp/tg-secret-XXXXXX";
	struct err	 e;
	secret_t	*s;
	int		 fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, SECRET_TEXT "\n", sizeof SECRET_TEXT), (ssize_t)sizeof SECRET_TEXT);
	close(fd);
	err_clear(&e);
	s = secret_from_file(path, 64, &e);
	assert_non_null(s);
	assert_int_equal(secret_len(s), strlen(SECRET_TEXT));
	secret_free(s);
	/* Too large: refused, and the error names the file, not the bytes. */
	assert_null(secret_from_file(path, 4, &e));
	assert_null(strstr(e.msg, SECRET_TEXT));
	assert_non_null(strstr(e.msg, path));
	unlink(path);
	assert_null(secret_from_file(path, 64, &e));
	assert_int_equal(e.status, 500);
}

static void
test_err_prefix(void **state)
{
	struct err e;

	(void)state;
	err_clear(&e);
	assert_false(err_isset(&e));
	assert_int_equal(err_set(&e, 503, "vault_sealed", "Vault is %s", "sealed"), -1);
	err_prefix(&e, "reading %s", "google/jira");
	assert_int_equal(e.status, 503);
	assert_string_equal(e.code, "vault_sealed");
	assert_string_equal(e.msg, "reading google/jira: Vault is sealed");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redacted_formatter),
		cmocka_unit_test(test_logger_never_prints_secret),
		cmocka_unit_test(test_log_one_line_per_event),
		cmocka_unit_test(test_log_strips_terminal_controls),
		cmocka_unit_test(test_wipe),
		cmocka_unit_test(test_constant_time_eq),
		cmocka_unit_test(test_from_file),
		cmocka_unit_test(test_err_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
