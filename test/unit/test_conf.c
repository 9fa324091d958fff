/* test_conf: the table-driven config reader (common/conf.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "conf.h"

struct tcfg {
	char	*listen;
	int	 workers;
	int	 debug;
	int	 timeout;
	size_t	 max_body;
	char	*state_dir;
	char	*log_level;
	char	**tenants;
	char	*api_key;
	char	*name;
};

#define O(f)	offsetof(struct tcfg, f)
static const struct conf_entry ttable[] = {
	{ "listen", CONF_STR, O(listen), CONF_NO_RELOAD, "127.0.0.1:8080",
	    0, 0, NULL, "address and port to listen on" },
	{ "workers", CONF_INT, O(workers), 0, "4", 1, 300, NULL,
	    "worker threads" },
	{ "debug", CONF_BOOL, O(debug), 0, "false", 0, 0, NULL,
	    "verbose logging" },
	{ "timeout", CONF_DURATION, O(timeout), 0, "30s", 1, 7200, NULL,
	    "upstream timeout" },
	{ "max_body", CONF_SIZE, O(max_body), 0, "1MiB", 1024, 64 << 20, NULL,
	    "largest request body" },
	{ "state_dir", CONF_PATH, O(state_dir), CONF_REQUIRED | CONF_NO_RELOAD,
	    NULL, 0, 0, NULL, "where state lives" },
	{ "log_level", CONF_ENUM, O(log_level), 0, "info", 0, 0,
	    "debug|info|warn", "minimum level | logged" },
	{ "tenants", CONF_LIST, O(tenants), 0, NULL, 0, 0, NULL,
	    "tenants served" },
	{ "api_key", CONF_STR, O(api_key), CONF_SECRET, NULL, 0, 0, NULL,
	    "upstream key" },
	{ "name", CONF_STR, O(name), 0, NULL, 0, 0, NULL, "display name" },
	{ NULL, 0, 0, 0, NULL, 0, 0, NULL, NULL }
};

static char tmpl[] = "/tmp/test_conf.XXXXXX";

/* Write text to a fresh temp file; returns its path (static buffer). */
static const char *
write_file(const char *text)
{
	static char	path[64];
	int		fd;

	snprintf(path, sizeof path, "%s", tmpl);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* Load text as a config; returns conf_load's rc, fills *causes. */
static int
load_text(const char *text, struct tcfg *c, char **causes, char *pathout)
{
	const char	*p = write_file(text);
	int		 rc;

	rc = conf_load(ttable, c, p, causes);
	if (pathout != NULL)
		strcpy(pathout, p);
	unlink(p);
	return rc;
}

/* Expect exactly one cause, equal to "<path>:<line>: <msg>". */
static void
expect_error(const char *text, const char *expect_fmt)
{
	struct tcfg	c;
	char		*causes = NULL, path[64], want[512];

	assert_int_equal(load_text(text, &c, &causes, path), -1);
	assert_non_null(causes);
	/* expect_fmt holds one "%s" standing for the file name. */
	const char *ph = strstr(expect_fmt, "%s");
	assert_non_null(ph);
	snprintf(want, sizeof want, "%.*s%s%s", (int)(ph - expect_fmt),
	    expect_fmt, path, ph + 2);
	if (strcmp(causes, want) != 0)
		fail_msg("got \"%s\"\nwant \"%s\"", causes, want);
	free(causes);
	conf_free(ttable, &c);
}

static void
test_defaults(void **state)
{
	struct tcfg	 c;
	char		*causes = (char *)1;

	memset(&c, 0xa5, sizeof c);	/* defaults must not free garbage */
	assert_int_equal(conf_set_defaults(ttable, &c, &causes), 0);
	assert_null(causes);
	assert_string_equal(c.listen, "127.0.0.1:8080");
	assert_int_equal(c.workers, 4);
	assert_int_equal(c.debug, 0);
	assert_int_equal(c.timeout, 30);
	assert_int_equal(c.max_body, 1 << 20);
	assert_null(c.state_dir);
	assert_string_equal(c.log_level, "info");
	assert_null(c.tenants);
	assert_null(c.api_key);
	conf_free(ttable, &c);
	assert_null(c.listen);
	assert_null(c.log_level);
}

static void
test_load_full(void **state)
{
	struct tcfg	 c;
	char		*causes = NULL;

	assert_int_equal(load_text(
	    "# a comment\n"
	    "\n"
	    "   # indented comment\n"
	    "listen = 127.0.0.1:9000\r\n"
	    "workers=16\n"
	    "debug = yes\n"
	    "timeout = 5m\n"
	    "max_body = 64k\n"
	    "state_dir = \"/var/lib/tg\"   # quoted, then a comment\n"
	    "log_level = warn\n"
	    "tenants = google, microsoft ,,smallco\n"
	    "api_key = \"s3cr\\\"et\\\\x\"\n"
	    "name = http://x/#frag\n",
	    &c, &causes, NULL), 0);
	assert_null(causes);
	assert_string_equal(c.listen, "127.0.0.1:9000");
	assert_int_equal(c.workers, 16);
	assert_int_equal(c.debug, 1);
	assert_int_equal(c.timeout, 300);
	assert_int_equal(c.max_body, 65536);
	assert_string_equal(c.state_dir, "/var/lib/tg");
	assert_string_equal(c.log_level, "warn");
	assert_non_null(c.tenants);
	assert_string_equal(c.tenants[0], "google");
	assert_string_equal(c.tenants[1], "microsoft");
	assert_string_equal(c.tenants[2], "smallco");
	assert_null(c.tenants[3]);
	assert_string_equal(c.api_key, "s3cr\"et\\x");
	assert_string_equal(c.name, "http://x/#frag");
	conf_free(ttable, &c);
}

static void
test_error_messages(void **state)
{
	const char *req = "state_dir = /x\n";
	char text[256];

	snprintf(text, sizeof text, "%slisen = 1.2.3.4\n", req);
	expect_error(text, "%s:2: unknown key 'lisen' (did you mean 'listen'?)");
	snprintf(text, sizeof text, "%swrokers = 3\n", req);
	expect_error(text, "%s:2: unknown key 'wrokers' (did you mean 'workers'?)");
	snprintf(text, sizeof text, "%szzzzzz = 3\n", req);
	expect_error(text, "%s:2: unknown key 'zzzzzz'");
	snprintf(text, sizeof text, "%sworkers = many\n", req);
	expect_error(text, "%s:2: 'workers' must be an integer (got 'many')");
	snprintf(text, sizeof text, "%sworkers = 4x\n", req);
	expect_error(text, "%s:2: 'workers' must be an integer (got '4x')");
	snprintf(text, sizeof text, "%sworkers = 301\n", req);
	expect_error(text, "%s:2: 'workers' must be between 1 and 300 (got '301')");
	snprintf(text, sizeof text, "%sworkers = 0\n", req);
	expect_error(text, "%s:2: 'workers' must be between 1 and 300 (got '0')");
	snprintf(text, sizeof text, "%sdebug = maybe\n", req);
	expect_error(text, "%s:2: 'debug' must be a boolean (true/false, "
	    "yes/no, on/off, 1/0) (got 'maybe')");
	snprintf(text, sizeof text, "%slog_level = loud\n", req);
	expect_error(text, "%s:2: 'log_level' must be one of: debug, info, "
	    "warn (got 'loud')");
	snprintf(text, sizeof text, "%sworkers = 2\nworkers = 3\n", req);
	expect_error(text, "%s:3: duplicate key 'workers' (first set on line 2)");
	snprintf(text, sizeof text, "%sworkers 3\n", req);
	expect_error(text, "%s:2: expected 'key = value' (missing '=')");
	snprintf(text, sizeof text, "%s = 3\n", req);
	expect_error(text, "%s:2: missing key before '='");
	snprintf(text, sizeof text, "%sname = \"abc\n", req);
	expect_error(text, "%s:2: missing closing quote");
	snprintf(text, sizeof text, "%sname = \"abc\" def\n", req);
	expect_error(text, "%s:2: unexpected text after closing quote");
	snprintf(text, sizeof text, "%stimeout = 5 weeks\n", req);
	expect_error(text, "%s:2: 'timeout' must be a duration such as 30s, "
	    "5m, 2h, 1d or a number of seconds (got '5 weeks')");
	snprintf(text, sizeof text, "%stimeout = 3h\n", req);
	expect_error(text, "%s:2: 'timeout' must be between 1 and 7200 seconds "
	    "(got '3h')");
	snprintf(text, sizeof text, "%smax_body = lots\n", req);
	expect_error(text, "%s:2: 'max_body' must be a size such as 4096, 64k, "
	    "1MiB (got 'lots')");
	snprintf(text, sizeof text, "%smax_body = 1G\n", req);
	expect_error(text, "%s:2: 'max_body' must be between 1024 and 67108864 "
	    "bytes (got '1G')");
	expect_error("workers = 2\n", "%s: required key 'state_dir' is not set");
	expect_error("state_dir = \"\"\n", "%s: required key 'state_dir' is not set");
}

static void
test_errors_collected(void **state)
{
	struct tcfg	 c;
	char		*causes = NULL, path[64], want[1024];

	assert_int_equal(load_text(
	    "# header\n"			/* 1 */
	    "lisen = x\n"			/* 2 */
	    "workers = 0\n"			/* 3 */
	    "\n"				/* 4 */
	    "debug = perhaps\n"			/* 5 */
	    "workers = 5\n"			/* 6 */
	    "no equals here\n"			/* 7 */
	    "log_level = info\n",		/* 8: fine */
	    &c, &causes, path), -1);
	snprintf(want, sizeof want,
	    "%1$s:2: unknown key 'lisen' (did you mean 'listen'?)\n"
	    "%1$s:3: 'workers' must be between 1 and 300 (got '0')\n"
	    "%1$s:5: 'debug' must be a boolean (true/false, yes/no, on/off, "
	    "1/0) (got 'perhaps')\n"
	    "%1$s:6: duplicate key 'workers' (first set on line 3)\n"
	    "%1$s:7: expected 'key = value' (missing '=')\n"
	    "%1$s: required key 'state_dir' is not set", path);
	assert_string_equal(causes, want);
	/* Good lines still took effect. */
	assert_string_equal(c.log_level, "info");
	free(causes);
	conf_free(ttable, &c);
}

static void
test_missing_file(void **state)
{
	struct tcfg	 c;
	char		*causes = NULL;

	assert_int_equal(conf_load(ttable, &c, "/nonexistent/tg.conf",
	    &causes), -1);
	assert_non_null(strstr(causes, "/nonexistent/tg.conf: cannot open: "
	    "No such file or directory"));
	free(causes);
	conf_free(ttable, &c);
}

static void
test_durations_sizes(void **state)
{
	static const struct { const char *in; int secs; } d[] = {
		{ "30s", 30 }, { "5m", 300 }, { "2h", 7200 }, { "300", 300 },
		{ "1", 1 }, { "90S", 90 }, { "1 m", 60 },
	};
	static const struct { const char *in; size_t bytes; } s[] = {
		{ "4096", 4096 }, { "64k", 65536 }, { "64KiB", 65536 },
		{ "1MiB", 1 << 20 }, { "2M", 2 << 20 }, { "1mb", 1 << 20 },
		{ "2048b", 2048 },
	};
	static const char *bad_d[] = { "", "-5s", "5ms", "1.5h", "s", "5 s x",
	    "99999999999999999999999" };
	static const char *bad_s[] = { "", "-1", "1T", "1.5M", "k",
	    "99999999999999999999999G" };
	struct tcfg	 c;
	char		*cause;

	assert_int_equal(conf_set_defaults(ttable, &c, NULL), 0);
	for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
		assert_int_equal(conf_set(ttable, &c, "timeout", d[i].in, NULL), 0);
		assert_int_equal(c.timeout, d[i].secs);
	}
	for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
		assert_int_equal(conf_set(ttable, &c, "max_body", s[i].in, NULL), 0);
		assert_int_equal(c.max_body, s[i].bytes);
	}
	for (size_t i = 0; i < sizeof bad_d / sizeof bad_d[0]; i++) {
		assert_int_equal(conf_set(ttable, &c, "timeout", bad_d[i],
		    &cause), -1);
		assert_non_null(strstr(cause, "'timeout' must be a duration"));
		free(cause);
	}
	for (size_t i = 0; i < sizeof bad_s / sizeof bad_s[0]; i++) {
		assert_int_equal(conf_set(ttable, &c, "max_body", bad_s[i],
		    &cause), -1);
		assert_non_null(strstr(cause, "'max_body' must be a size"));
		free(cause);
	}
	/* A failed set leaves the old value. */
	assert_int_equal(c.timeout, 60);
	conf_free(ttable, &c);
}

static void
test_overrides(void **state)
{
	static const char *const ov[] = { "workers=7", "state_dir = /srv",
	    "name=", "debug=on", NULL };
	static const char *const bad[] = { "lisen=1", "workers", "workers=x",
	    NULL };
	struct tcfg	 c;
	char		*causes = NULL, *cause = NULL, path[64], want[512];
	const char	*p;

	/* conf_set on a loaded config, replacing a string. */
	assert_int_equal(conf_set_defaults(ttable, &c, NULL), 0);
	assert_int_equal(conf_set(ttable, &c, "listen", " 0.0.0.0:1 ", NULL), 0);
	assert_string_equal(c.listen, "0.0.0.0:1");
	assert_int_equal(conf_set(ttable, &c, "lisen", "x", &cause), -1);
	assert_string_equal(cause, "unknown key 'lisen' (did you mean 'listen'?)");
	free(cause);
	conf_free(ttable, &c);

	/* Overrides win over the file and satisfy required keys. */
	p = write_file("workers = 3\nname = file\n");
	strcpy(path, p);
	assert_int_equal(conf_load_with(ttable, &c, path, ov, &causes), 0);
	assert_null(causes);
	assert_int_equal(c.workers, 7);
	assert_string_equal(c.state_dir, "/srv");
	assert_null(c.name);		/* empty value unsets */
	assert_int_equal(c.debug, 1);
	conf_free(ttable, &c);

	assert_int_equal(conf_load_with(ttable, &c, path, bad, &causes), -1);
	snprintf(want, sizeof want,
	    "-o: unknown key 'lisen' (did you mean 'listen'?)\n"
	    "-o: expected key=value\n"
	    "-o: 'workers' must be an integer (got 'x')\n"
	    "%s: required key 'state_dir' is not set", path);
	assert_string_equal(causes, want);
	free(causes);
	conf_free(ttable, &c);
	unlink(path);

	/* No file at all. */
	assert_int_equal(conf_load_with(ttable, &c, NULL, ov, &causes), 0);
	assert_int_equal(c.workers, 7);
	conf_free(ttable, &c);
	assert_int_equal(conf_load_with(ttable, &c, NULL, NULL, &causes), -1);
	assert_string_equal(causes, "config: required key 'state_dir' is not set");
	free(causes);
	conf_free(ttable, &c);
}

static void
test_reload_check(void **state)
{
	struct tcfg	 a, b;
	char		*cause = NULL;

	assert_int_equal(conf_set_defaults(ttable, &a, NULL), 0);
	assert_int_equal(conf_set_defaults(ttable, &b, NULL), 0);
	assert_int_equal(conf_render_reload_check(ttable, &a, &b, &cause), 0);
	assert_null(cause);

	/* Reloadable keys may change. */
	assert_int_equal(conf_set(ttable, &b, "workers", "9", NULL), 0);
	assert_int_equal(conf_set(ttable, &b, "tenants", "a,b", NULL), 0);
	assert_int_equal(conf_render_reload_check(ttable, &a, &b, &cause), 0);

	assert_int_equal(conf_set(ttable, &b, "listen", "127.0.0.1:1", NULL), 0);
	assert_int_equal(conf_render_reload_check(ttable, &a, &b, &cause), -1);
	assert_string_equal(cause,
	    "key 'listen' cannot change on reload (restart instead)");
	free(cause);

	assert_int_equal(conf_set(ttable, &b, "state_dir", "/y", NULL), 0);
	assert_int_equal(conf_render_reload_check(ttable, &a, &b, &cause), -1);
	assert_string_equal(cause,
	    "key 'listen' cannot change on reload (restart instead)\n"
	    "key 'state_dir' cannot change on reload (restart instead)");
	free(cause);
	conf_free(ttable, &a);
	conf_free(ttable, &b);
}

static void
test_show(void **state)
{
	struct tcfg	 c, back;
	char		*out = NULL, *causes = NULL;
	size_t		 sz = 0;
	FILE		*f;
	const char	*p;
	char		 path[64];

	assert_int_equal(conf_set_defaults(ttable, &c, NULL), 0);
	assert_int_equal(conf_set(ttable, &c, "api_key", "hunter2-secret", NULL), 0);
	assert_int_equal(conf_set(ttable, &c, "state_dir", "/var/lib/tg", NULL), 0);
	assert_int_equal(conf_set(ttable, &c, "tenants", "a, b", NULL), 0);
	assert_int_equal(conf_set(ttable, &c, "name", "\"q\" \\ x ", NULL), 0);
	assert_int_equal(conf_set(ttable, &c, "timeout", "7200", NULL), 0);

	f = open_memstream(&out, &sz);
	conf_render_show(ttable, &c, f);
	fclose(f);
	assert_null(strstr(out, "hunter2"));
	assert_non_null(strstr(out, "api_key = ***\n"));
	assert_non_null(strstr(out, "listen = 127.0.0.1:8080\n"));
	assert_non_null(strstr(out, "timeout = 2h\n"));
	assert_non_null(strstr(out, "max_body = 1MiB\n"));
	assert_non_null(strstr(out, "debug = false\n"));
	assert_non_null(strstr(out, "tenants = a, b\n"));
	assert_non_null(strstr(out, "name = \"\\\"q\\\" \\\\ x\"\n"));

	/* What conf_show prints loads back to the same values. */
	p = write_file(out);
	strcpy(path, p);
	assert_int_equal(conf_load(ttable, &back, path, &causes), 0);
	unlink(path);
	assert_string_equal(back.name, c.name);
	assert_int_equal(back.timeout, c.timeout);
	assert_int_equal(back.max_body, c.max_body);
	assert_string_equal(back.tenants[1], "b");
	assert_string_equal(back.api_key, "***");
	free(out);
	conf_free(ttable, &c);
	conf_free(ttable, &back);
}

static void
test_secret_not_echoed(void **state)
{
	struct tcfg	 c;
	char		*cause = NULL;

	assert_int_equal(conf_set_defaults(ttable, &c, NULL), 0);
	assert_int_equal(conf_set(ttable, &c, "api_key", "topsecret\001x",
	    &cause), -1);
	assert_null(strstr(cause, "topsecret"));
	assert_string_equal(cause, "'api_key' must not contain control characters");
	free(cause);
	conf_free(ttable, &c);
}

static void
test_docs(void **state)
{
	char	*out = NULL;
	size_t	 sz = 0;
	FILE	*f;

	f = open_memstream(&out, &sz);
	conf_render_docs(ttable, "broker configuration", f);
	fclose(f);
	assert_non_null(strstr(out, "# broker configuration\n"));
	for (const struct conf_entry *e = ttable; e->name != NULL; e++) {
		char key[80];
		snprintf(key, sizeof key, "| `%s` |", e->name);
		assert_non_null(strstr(out, key));
	}
	assert_non_null(strstr(out, "| `workers` | integer | `4` | 1 .. 300 | yes | worker threads |"));
	assert_non_null(strstr(out, "| `timeout` | duration | `30s` | 1s .. 2h | yes |"));
	assert_non_null(strstr(out, "| `max_body` | size | `1MiB` | 1KiB .. 64MiB |"));
	assert_non_null(strstr(out, "| `state_dir` | path | (required) |  | restart |"));
	assert_non_null(strstr(out, "| `log_level` | enum | `info` | debug, info, warn | yes | minimum level \\| logged |"));
	assert_non_null(strstr(out, "| `api_key` | string | (unset) |  | yes | upstream key (secret) |"));
	free(out);
}

/* Cross-key checks add to the parser's list, each at its key's line: a
 * file line, "-o" for an override, the file for a default (issue #18). */
static void
test_load_cause_collects(void **state)
{
	const char *const	 over[] = { "name=x", NULL };
	struct conf_load	 l;
	struct tcfg		 c;
	char			 want[512], *causes = NULL;
	const char		*p;

	(void)state;
	memset(&c, 0, sizeof c);
	p = write_file("state_dir = /s\nworkers = 0\ntenants = a\n");
	assert_int_equal(conf_load_begin(&l, ttable, &c, p, over), -1);
	conf_load_cause(&l, "tenants", "tenants needs %s", "api_key");
	conf_load_cause(&l, "name", "name clash");
	conf_load_cause(&l, "timeout", "too short");
	conf_load_cause(&l, NULL, "no way in");
	assert_int_equal(conf_load_end(&l, &causes), -1);
	snprintf(want, sizeof want, "%s:2: 'workers' must be between 1 and 300 (got '0')\n"
	    "%s:3: tenants needs api_key\n-o: name clash\n%s: too short\n%s: no way in",
	    p, p, p, p);
	assert_string_equal(causes, want);
	free(causes);
	conf_free(ttable, &c);
	unlink(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_load_full),
		cmocka_unit_test(test_error_messages),
		cmocka_unit_test(test_errors_collected),
		cmocka_unit_test(test_load_cause_collects),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_durations_sizes),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_reload_check),
		cmocka_unit_test(test_show),
		cmocka_unit_test(test_secret_not_echoed),
		cmocka_unit_test(test_docs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
