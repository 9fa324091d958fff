/* test_admin_cmd: the tenantgate-admin command table (tui/cmd.c): lookup by
 * unique prefix, ambiguity messages, option parsing, help and markdown. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../tui/admin.h"
#include "../../tui/cmd.h"
#include "../../tui/out.h"

static const struct cmd_entry *
find(const char *line, int *used, char *cause, size_t len)
{
	char	 buf[256], *argv[16], *save = NULL, *w;
	int	 argc = 0;

	snprintf(buf, sizeof buf, "%s", line);
	for (w = strtok_r(buf, " ", &save); w != NULL && argc < 15;
	    w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	cause[0] = '\0';
	return cmd_find(argc, argv, used, cause, len);
}

static void
test_find_exact_and_prefix(void **state)
{
	const struct cmd_entry	*e;
	char			 cause[512];
	int			 used;

	(void)state;
	e = find("tenant list", &used, cause, sizeof cause);
	assert_ptr_equal(e, &cmd_tenant_list_entry);
	assert_int_equal(used, 2);
	assert_ptr_equal(find("ten l", &used, cause, sizeof cause), &cmd_tenant_list_entry);
	assert_ptr_equal(find("t d acme", &used, cause, sizeof cause),
	    &cmd_tenant_disable_entry);
	assert_int_equal(used, 2);
	assert_ptr_equal(find("k r google jira", &used, cause, sizeof cause),
	    &cmd_key_rotate_entry);
	assert_ptr_equal(find("gro l", &used, cause, sizeof cause), &cmd_group_list_entry);
	assert_ptr_equal(find("gra rev x", &used, cause, sizeof cause),
	    &cmd_grant_revoke_entry);
	assert_ptr_equal(find("audit --tenant x", &used, cause, sizeof cause),
	    &cmd_audit_entry);
	assert_int_equal(used, 1);
	assert_ptr_equal(find("log", &used, cause, sizeof cause), &cmd_audit_entry);
	assert_ptr_equal(find("onb acme", &used, cause, sizeof cause), &cmd_onboard_entry);
}

static void
test_find_ambiguous(void **state)
{
	char	cause[512];
	int	used;

	(void)state;
	assert_null(find("g l", &used, cause, sizeof cause));
	assert_string_equal(cause, "ambiguous command: g, could be: grant, group");
	assert_int_equal(used, 0);
	assert_null(find("gr", &used, cause, sizeof cause));
	assert_string_equal(cause, "ambiguous command: gr, could be: grant, group");
	/* Two verbs of one group share a prefix: full names are listed. */
	assert_null(find("tenant ", &used, cause, sizeof cause));
	assert_null(find("user", &used, cause, sizeof cause));
	assert_string_equal(cause, "user: which one? add, list, show");
	assert_int_equal(used, 1);
}

static void
test_find_unknown(void **state)
{
	char	cause[512];
	int	used;

	(void)state;
	assert_null(find("frobnicate", &used, cause, sizeof cause));
	assert_string_equal(cause, "unknown command: frobnicate");
	assert_null(find("tenant x", &used, cause, sizeof cause));
	assert_string_equal(cause, "unknown command: tenant x (tenant takes: add, disable, "
	    "enable, list, show)");
	assert_int_equal(used, 1);
}

static void
test_every_entry_findable(void **state)
{
	const struct cmd_entry	*e;
	char			 cause[512];
	int			 used, nopts;

	(void)state;
	for (int i = 0; cmd_table[i] != NULL; i++) {
		e = find(cmd_table[i]->name, &used, cause, sizeof cause);
		assert_ptr_equal(e, cmd_table[i]);
		assert_non_null(cmd_table[i]->summary);
		assert_non_null(cmd_table[i]->exec);
		/* The summary is one line without a final period (usage adds it). */
		assert_null(strchr(cmd_table[i]->summary, '\n'));
		assert_int_not_equal(cmd_table[i]->summary[strlen(cmd_table[i]->summary) - 1],
		    '.');
		nopts = 0;
		for (const struct cmd_opt *o = cmd_table[i]->opts; o != NULL && o->name != NULL;
		    o++) {
			nopts++;
			assert_string_not_equal(o->name, "help");
			assert_string_not_equal(o->name, "json");
			assert_string_not_equal(o->name, "yes");
			assert_non_null(o->help);
		}
		assert_true(nopts <= CMD_OPTS_MAX);
	}
}

static void
test_parse(void **state)
{
	struct cmd_args	 args;
	char		 cause[256];
	char		*v1[] = { "alice@example.com", "--role=editor", "google", NULL };
	char		*v2[] = { "alice@example.com", "google", "--role", NULL };
	char		*v3[] = { "a", "b", "--bogus", NULL };
	char		*v4[] = { "a", NULL };
	char		*v5[] = { "a", "b", "c", NULL };
	char		*v6[] = { "a", "b", "--ro", "admin", NULL };
	char		*v7[] = { "--", "-x", "b", NULL };
	char		*v8[] = { "a", "b", "-h", NULL };
	char		*v9[] = { "--json", NULL };
	char		*v10[] = { "--json", NULL };
	char		*v11[] = { "g", "j", "--no-verify", "--from-file", "/k", "-y", NULL };

	(void)state;
	assert_int_equal(cmd_parse(&cmd_member_add_entry, 3, v1, &args, cause,
	    sizeof cause), 0);
	assert_int_equal(args.argc, 2);
	assert_string_equal(args.argv[0], "alice@example.com");
	assert_string_equal(args.argv[1], "google");
	assert_string_equal(cmd_get(&args, "role"), "editor");

	assert_int_equal(cmd_parse(&cmd_member_add_entry, 3, v2, &args, cause,
	    sizeof cause), -1);
	assert_string_equal(cause, "--role needs a value (ROLE)");
	assert_int_equal(cmd_parse(&cmd_member_add_entry, 3, v3, &args, cause,
	    sizeof cause), -1);
	assert_string_equal(cause, "unknown option --bogus for 'member add'");
	assert_int_equal(cmd_parse(&cmd_member_add_entry, 1, v4, &args, cause,
	    sizeof cause), -1);
	assert_string_equal(cause, "'member add' needs USER TENANT");
	assert_int_equal(cmd_parse(&cmd_member_add_entry, 3, v5, &args, cause,
	    sizeof cause), -1);
	assert_string_equal(cause, "'member add': unexpected argument 'c'");
	/* A unique prefix of an option works, like getopt_long. */
	assert_int_equal(cmd_parse(&cmd_member_add_entry, 4, v6, &args, cause,
	    sizeof cause), 0);
	assert_string_equal(cmd_get(&args, "role"), "admin");
	assert_int_equal(cmd_parse(&cmd_member_add_entry, 3, v7, &args, cause,
	    sizeof cause), 0);
	assert_string_equal(args.argv[0], "-x");
	assert_int_equal(cmd_parse(&cmd_member_add_entry, 3, v8, &args, cause,
	    sizeof cause), 1);
	/* --json only where the command has JSON output. */
	assert_int_equal(cmd_parse(&cmd_tenant_list_entry, 1, v9, &args, cause,
	    sizeof cause), 0);
	assert_true(args.json);
	assert_int_equal(cmd_parse(&cmd_user_add_entry, 1, v10, &args, cause,
	    sizeof cause), -1);
	assert_int_equal(cmd_parse(&cmd_key_rotate_entry, 6, v11, &args, cause,
	    sizeof cause), 0);
	assert_true(args.yes);
	assert_string_equal(cmd_get(&args, "no-verify"), "");
	assert_string_equal(cmd_get(&args, "from-file"), "/k");
	assert_null(cmd_get(&args, "email"));
}

static void
test_split(void **state)
{
	char	**argv, cause[128];
	int	  argc;

	(void)state;
	assert_int_equal(cmd_split("  member add 'a b@x' \"t\\\"1\" --role=editor ", &argc,
	    &argv, cause, sizeof cause), 0);
	assert_int_equal(argc, 5);
	assert_string_equal(argv[2], "a b@x");
	assert_string_equal(argv[3], "t\"1");
	assert_string_equal(argv[4], "--role=editor");
	assert_null(argv[5]);
	free(argv);
	assert_int_equal(cmd_split("", &argc, &argv, cause, sizeof cause), 0);
	assert_int_equal(argc, 0);
	free(argv);
	assert_int_equal(cmd_split("audit --grep 'oops", &argc, &argv, cause, sizeof cause),
	    -1);
	assert_string_equal(cause, "unterminated ' quote");
}

/* cmd_run's usage paths need neither database nor Vault. */
static void
test_run_usage(void **state)
{
	struct admin	 a;
	char		*help[] = { "help", NULL };
	char		*grp[] = { "tenant", NULL };
	char		*amb[] = { "g", "l", NULL };
	char		*bad[] = { "member", "add", "x", NULL };
	char		*one[] = { "key", "rotate", "--help", NULL };
	char		*jamb[] = { "g", NULL };

	(void)state;
	memset(&a, 0, sizeof a);
	a.out = out_buffer();
	assert_int_equal(cmd_run(&a, 1, help), CMD_OK);
	assert_non_null(strstr(out_text(a.out), "  key rotate       Replace"));
	out_clear(a.out);
	assert_int_equal(cmd_run(&a, 1, grp), CMD_USAGE);
	assert_non_null(strstr(out_text(a.out), "tenant: which one?"));
	assert_non_null(strstr(out_text(a.out), "tenant commands:"));
	out_clear(a.out);
	assert_int_equal(cmd_run(&a, 2, amb), CMD_USAGE);
	assert_non_null(strstr(out_text(a.out),
	    "ambiguous command: g, could be: grant, group"));
	out_clear(a.out);
	assert_int_equal(cmd_run(&a, 3, bad), CMD_USAGE);
	assert_non_null(strstr(out_text(a.out), "try 'tenantgate-admin member add --help'"));
	out_clear(a.out);
	assert_int_equal(cmd_run(&a, 3, one), CMD_OK);
	assert_non_null(strstr(out_text(a.out), "usage: tenantgate-admin key rotate TENANT "
	    "INTEGRATION"));
	assert_non_null(strstr(out_text(a.out), "--from-file FILE"));
	out_clear(a.out);
	a.json = 1;
	assert_int_equal(cmd_run(&a, 1, jamb), CMD_USAGE);
	assert_non_null(strstr(out_text(a.out), "\"code\": \"usage\""));
	out_free(a.out);
}

static void
test_markdown(void **state)
{
	FILE	*f = tmpfile();
	char	*buf;
	long	 n;

	(void)state;
	assert_non_null(f);
	cmd_markdown(f);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	for (int i = 0; cmd_table[i] != NULL; i++) {
		char h[128];

		snprintf(h, sizeof h, "### `%s`", cmd_table[i]->name);
		assert_non_null(strstr(buf, h));
	}
	assert_non_null(strstr(buf, "| `--no-verify` |"));
	free(buf);
	fclose(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_exact_and_prefix),
		cmocka_unit_test(test_find_ambiguous),
		cmocka_unit_test(test_find_unknown),
		cmocka_unit_test(test_every_entry_findable),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_run_usage),
		cmocka_unit_test(test_markdown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
