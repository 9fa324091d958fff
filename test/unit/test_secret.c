/* Redaction by construction: a secret_t formatted every way the logger
 * allows never shows its bytes; errors never carry them; memory is wiped.
 * Linked with -Wl,--wrap=free (GNUmakefile) so the header tests can look
 * at every block secret.c frees. */
#define _GNU_SOURCE		/* memmem */
#include <errno.h>
#include <malloc.h>
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

/* ---- free() watch: does a freed block still hold the secret? ----------- */

void	__real_free(void *);
void	__wrap_free(void *);

static struct {
	int		 armed;
	const char	*needle[2];
	int		 frees;
	int		 holding;	/* freed blocks that still held a needle */
} fw;

void
__wrap_free(void *p)
{
	if (fw.armed && p != NULL) {
		size_t n = malloc_usable_size(p);

		fw.frees++;
		for (int i = 0; i < 2; i++)
			if (fw.needle[i] != NULL &&
			    memmem(p, n, fw.needle[i], strlen(fw.needle[i])) != NULL)
				fw.holding++;
	}
	__real_free(p);
}

static void (*volatile release)(void *) = free;

static void
watch(const char *a, const char *b)
{
	fw.needle[0] = a;
	fw.needle[1] = b;
	fw.frees = fw.holding = 0;
	fw.armed = 1;
}

static void
test_header_lines(void **state)
{
	secret_t	*tok = secret_new(SECRET_TEXT, strlen(SECRET_TEXT)), *h;

	(void)state;
	h = secret_header("Authorization", "Bearer", tok);
	assert_string_equal(secret_bytes(h), "Authorization: Bearer " SECRET_TEXT);
	assert_int_equal(secret_len(h), strlen("Authorization: Bearer " SECRET_TEXT));
	assert_string_equal(secret_redacted(h), "***");
	secret_free(h);
	h = secret_header("X-Vault-Token", NULL, tok);
	assert_string_equal(secret_bytes(h), "X-Vault-Token: " SECRET_TEXT);
	secret_free(h);
	h = secret_header_bytes("X-Api_Key", NULL, "k", 1);
	assert_string_equal(secret_bytes(h), "X-Api_Key: k");
	secret_free(h);
	/* Bad names and schemes: they would break the line too. */
	errno = 0;
	assert_null(secret_header("X-Vault-Token: x", NULL, tok));
	assert_int_equal(errno, EINVAL);
	assert_null(secret_header("", NULL, tok));
	assert_null(secret_header("Authorization", "Bearer x", tok));
	assert_null(secret_header("Authorization", "", tok));
	assert_null(secret_header("Authorization", "Bearer", NULL));
	secret_free(tok);
}

static void
test_header_refuses_injection(void **state)
{
	static const char *const bad[] = {
		"tok\r\nX-Admin: 1", "tok\nX-Admin: 1", "tok\r", "\ntok",
	};
	secret_t	*v, *pw;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		v = secret_new(bad[i], strlen(bad[i]));
		errno = 0;
		assert_null(secret_header("Authorization", "Bearer", v));
		assert_int_equal(errno, EINVAL);
		assert_null(secret_header_bytes("X-Vault-Token", NULL, bad[i], strlen(bad[i])));
		secret_free(v);
	}
	/* A NUL would cut the line where curl reads it; empty says nothing. */
	assert_null(secret_header_bytes("X-Vault-Token", NULL, "ab\0cd", 5));
	assert_null(secret_header_bytes("X-Vault-Token", NULL, "", 0));
	/* Basic: the user is checked, the password is encoded whatever it holds. */
	pw = secret_new("p\r\nw", 4);
	assert_null(secret_header_basic("a:b", pw));
	assert_null(secret_header_basic("a\r\nb", pw));
	assert_null(secret_header_basic("a\nb", pw));
	v = secret_header_basic("a", pw);
	assert_non_null(v);
	assert_null(strpbrk(secret_bytes(v), "\r\n"));
	secret_free(v);
	secret_free(pw);
}

static void
test_header_basic(void **state)
{
	secret_t	*pw = secret_new("open sesame", 11), *h;

	(void)state;
	/* RFC 7617 section 2 example. */
	h = secret_header_basic("Aladdin", pw);
	assert_non_null(h);
	assert_string_equal(secret_bytes(h),
	    "Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
	secret_free(h);
	secret_free(pw);
	pw = secret_new("t0k:en", 6);
	h = secret_header_basic("alice@example.com", pw);
	/* base64("alice@example.com:t0k:en") */
	assert_string_equal(secret_bytes(h),
	    "Authorization: Basic YWxpY2VAZXhhbXBsZS5jb206dDBrOmVu");
	secret_free(h);
	secret_free(pw);
}

/* Every block freed while a header is built and dropped is wiped first:
 * the value, user:password and the encoded line never reach free(). */
static void
test_header_memory_wiped(void **state)
{
	secret_t	*tok = secret_new(SECRET_TEXT, strlen(SECRET_TEXT));
	secret_t	*pw = secret_new("open sesame", 11), *h;
	char		*plain;

	(void)state;
	watch(SECRET_TEXT, NULL);
	h = secret_header("Authorization", "Bearer", tok);
	secret_free(h);
	h = secret_header_bytes("X-Vault-Token", NULL, SECRET_TEXT, strlen(SECRET_TEXT));
	secret_free(h);
	fw.armed = 0;
	assert_true(fw.frees >= 4);		/* two buffers, two structs */
	assert_int_equal(fw.holding, 0);

	watch("Aladdin:open sesame", "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
	h = secret_header_basic("Aladdin", pw);
	assert_non_null(h);
	secret_free(h);
	fw.armed = 0;
	assert_true(fw.frees >= 4);		/* the user:password scratch, the line */
	assert_int_equal(fw.holding, 0);

	/* The watch itself sees an unwiped block (through a volatile
	 * pointer, or the compiler drops the strdup/free pair). */
	watch(SECRET_TEXT, NULL);
	plain = strdup("x " SECRET_TEXT);
	assert_non_null(plain);
	release(plain);
	fw.armed = 0;
	assert_int_equal(fw.holding, 1);
	secret_free(pw);
	secret_free(tok);
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
		cmocka_unit_test(test_header_lines),
		cmocka_unit_test(test_header_refuses_injection),
		cmocka_unit_test(test_header_basic),
		cmocka_unit_test(test_header_memory_wiped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
