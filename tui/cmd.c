/*
 * cmd: finding, parsing, running and documenting commands from one table.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "admin.h"
#include "cmd.h"
#include "err.h"
#include "out.h"

#define CMD_WORDS	3
#define CMD_WORD_MAX	32
#define CMD_CANDS	64

const struct cmd_entry *const cmd_table[] = {
	&cmd_tenant_list_entry, &cmd_tenant_show_entry, &cmd_tenant_add_entry,
	&cmd_tenant_disable_entry, &cmd_tenant_enable_entry,
	&cmd_user_list_entry, &cmd_user_show_entry, &cmd_user_add_entry,
	&cmd_member_add_entry, &cmd_member_remove_entry,
	&cmd_group_list_entry, &cmd_group_add_entry, &cmd_group_remove_entry,
	&cmd_key_status_entry, &cmd_key_rotate_entry, &cmd_onboard_entry,
	&cmd_grant_list_entry, &cmd_grant_revoke_entry, &cmd_audit_entry,
	&cmd_migrate_entry, &cmd_console_entry, &cmd_help_entry,
	NULL,
};

static const char cmd_global_text[] =
    "  -c FILE        settings file (default ~/.config/tenantgate/admin.conf)\n"
    "  -d DSN         PostgreSQL connection string (the database_url setting)\n"
    "  -o KEY=VALUE   one setting (see `help --markdown` for the list)\n"
    "  -j, --json     JSON output for list and show commands\n"
    "  -y, --yes      do not ask for confirmation\n"
    "  -v, --verbose  log Vault and PostgreSQL activity to stderr\n"
    "  --no-color     console without colours (so does NO_COLOR)\n"
    "  -V, --version  print the version\n"
    "  -h, --help     this help\n";

void
cmd_global_help(struct out *o)
{
	out_printf(o, "%s", cmd_global_text);
}

const char *
cmd_global_usage(void)
{
	return cmd_global_text;
}

const char *
cmd_group(const char *word, char *buf, size_t len)
{
	size_t wl = strlen(word);

	for (int i = 0; cmd_table[i] != NULL; i++) {
		const char *n = cmd_table[i]->name;
		size_t fl = strcspn(n, " ");

		if (n[fl] == ' ' && wl <= fl && strncmp(n, word, wl) == 0) {
			snprintf(buf, len, "%.*s", (int)fl, n);
			return buf;
		}
	}
	return NULL;
}

const char *
cmd_get(const struct cmd_args *args, const char *name)
{
	const struct cmd_opt *op = args->entry->opts;

	for (int i = 0; op != NULL && op[i].name != NULL && i < CMD_OPTS_MAX; i++)
		if (strcmp(op[i].name, name) == 0)
			return args->opt[i];
	return NULL;
}

struct cmd_cand {
	const struct cmd_entry	*e;
	char			 w[CMD_WORDS][CMD_WORD_MAX];
	int			 nw;
	int			 alive;
};

static int
cmd_words(const char *name, char w[CMD_WORDS][CMD_WORD_MAX])
{
	int		 n = 0;
	size_t		 l;
	const char	*p = name;

	while (*p != '\0' && n < CMD_WORDS) {
		l = strcspn(p, " ");
		snprintf(w[n++], CMD_WORD_MAX, "%.*s", (int)l, p);
		p += l;
		while (*p == ' ')
			p++;
	}
	return n;
}

/* "tenant l" for messages: the first k+1 words typed. */
static void
cmd_typed(int k, char *const *argv, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	for (int i = 0; i <= k && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%s", i > 0 ? " " : "", argv[i]);
}

static int
cmd_strcmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The distinct k-th words of the live candidates, sorted, ", "-joined. */
static int
cmd_distinct(struct cmd_cand *c, int nc, int k, char *buf, size_t len)
{
	const char	*w[CMD_CANDS];
	int		 n = 0, j, seen;
	size_t		 at = 0;

	for (int i = 0; i < nc; i++) {
		if (!c[i].alive || c[i].nw <= k)
			continue;
		for (seen = 0, j = 0; j < n; j++)
			if (strcmp(w[j], c[i].w[k]) == 0)
				seen = 1;
		if (!seen)
			w[n++] = c[i].w[k];
	}
	qsort(w, (size_t)n, sizeof w[0], cmd_strcmp);
	buf[0] = '\0';
	for (j = 0; j < n && at < len; j++)
		at += (size_t)snprintf(buf + at, len - at, "%s%s", j > 0 ? ", " : "", w[j]);
	return n;
}

const struct cmd_entry *
cmd_find(int argc, char *const *argv, int *used, char *cause, size_t len)
{
	struct cmd_cand	 c[CMD_CANDS];
	int		 nc = 0, k, exact, alive, before[CMD_CANDS], n;
	char		 typed[256], words[512];
	const char	*names[2];
	size_t		 at;

	*used = 0;
	for (int i = 0; cmd_table[i] != NULL; i++) {
		names[0] = cmd_table[i]->name;
		names[1] = cmd_table[i]->alias;
		for (int j = 0; j < 2 && nc < CMD_CANDS; j++) {
			if (names[j] == NULL)
				continue;
			c[nc].e = cmd_table[i];
			c[nc].nw = cmd_words(names[j], c[nc].w);
			c[nc].alive = 1;
			nc++;
		}
	}
	for (k = 0; k < CMD_WORDS; k++) {
		for (int i = 0; i < nc; i++)
			if (c[i].alive && c[i].nw == k) {
				*used = k;
				return c[i].e;
			}
		if (k >= argc) {
			/* A group without its verb: "tenant". */
			*used = k;
			cmd_distinct(c, nc, k, words, sizeof words);
			for (int i = 0; i < nc; i++)
				if (c[i].alive) {
					snprintf(cause, len, "%s: which one? %s", c[i].w[0], words);
					break;
				}
			return NULL;
		}
		/* An exact word beats longer words it is a prefix of. */
		exact = 0;
		for (int i = 0; i < nc; i++)
			if (c[i].alive && c[i].nw > k && strcmp(c[i].w[k], argv[k]) == 0)
				exact = 1;
		alive = 0;
		for (int i = 0; i < nc; i++) {
			before[i] = c[i].alive;
			if (!c[i].alive)
				continue;
			c[i].alive = c[i].nw > k && *argv[k] != '\0' &&
			    (exact ? strcmp(c[i].w[k], argv[k]) == 0 :
			    strncmp(c[i].w[k], argv[k], strlen(argv[k])) == 0);
			alive += c[i].alive;
		}
		cmd_typed(k, argv, typed, sizeof typed);
		if (alive == 0) {
			if (k == 0) {
				snprintf(cause, len, "unknown command: %s", typed);
				return NULL;
			}
			for (int i = 0; i < nc; i++)
				c[i].alive = before[i];
			cmd_distinct(c, nc, k, words, sizeof words);
			for (int i = 0; i < nc; i++)
				if (c[i].alive) {
					snprintf(cause, len, "unknown command: %s (%s takes: %s)",
					    typed, c[i].w[0], words);
					break;
				}
			*used = k;
			return NULL;
		}
		if (cmd_distinct(c, nc, k, words, sizeof words) > 1) {
			if (k == 0) {
				snprintf(cause, len, "ambiguous command: %s, could be: %s", typed,
				    words);
				return NULL;
			}
			/* Full names read better: "tenant disable, tenant ..." */
			at = (size_t)snprintf(cause, len, "ambiguous command: %s, could be: ",
			    typed);
			n = 0;
			for (int i = 0; i < nc && at < len; i++)
				if (c[i].alive)
					at += (size_t)snprintf(cause + at, len - at, "%s%s",
					    n++ > 0 ? ", " : "", c[i].e->name);
			return NULL;
		}
	}
	for (int i = 0; i < nc; i++)
		if (c[i].alive && c[i].nw == k) {
			*used = k;
			return c[i].e;
		}
	snprintf(cause, len, "unknown command: %s", argv[0]);
	return NULL;
}

static int
cmd_opt_index(const struct cmd_entry *ce, const char *name, size_t nlen, char *cause,
    size_t len)
{
	const struct cmd_opt	*op = ce->opts;
	int			 found = -1, matches = 0;

	for (int i = 0; op != NULL && op[i].name != NULL && i < CMD_OPTS_MAX; i++) {
		if (strlen(op[i].name) == nlen && strncmp(op[i].name, name, nlen) == 0)
			return i;
		if (strncmp(op[i].name, name, nlen) == 0) {
			found = i;
			matches++;
		}
	}
	if (matches == 1)
		return found;
	snprintf(cause, len, "%s option --%.*s for '%s'", matches > 1 ? "ambiguous" :
	    "unknown", (int)nlen, name, ce->name);
	return -1;
}

int
cmd_parse(const struct cmd_entry *ce, int argc, char **argv, struct cmd_args *args,
    char *cause, size_t len)
{
	int		 i, idx, only_pos = 0;
	const char	*a, *eq;
	size_t		 nlen;

	memset(args, 0, sizeof *args);
	args->entry = ce;
	/* Positionals are compacted to the front of argv in place. */
	args->argv = argv;
	for (i = 0; i < argc; i++) {
		a = argv[i];
		if (only_pos || a[0] != '-' || a[1] == '\0') {
			argv[args->argc++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = 1;
			continue;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
			return 1;
		if ((ce->flags & CMD_F_JSON) && (strcmp(a, "--json") == 0 ||
		    strcmp(a, "-j") == 0)) {
			args->json = 1;
			continue;
		}
		if ((ce->flags & CMD_F_CONFIRM) && (strcmp(a, "--yes") == 0 ||
		    strcmp(a, "-y") == 0)) {
			args->yes = 1;
			continue;
		}
		if (a[1] != '-') {
			snprintf(cause, len, "unknown option %s for '%s'", a, ce->name);
			return -1;
		}
		a += 2;
		eq = strchr(a, '=');
		nlen = eq != NULL ? (size_t)(eq - a) : strlen(a);
		if ((idx = cmd_opt_index(ce, a, nlen, cause, len)) == -1)
			return -1;
		if (ce->opts[idx].arg == NULL) {
			if (eq != NULL) {
				snprintf(cause, len, "--%s takes no value", ce->opts[idx].name);
				return -1;
			}
			args->opt[idx] = "";
		} else if (eq != NULL)
			args->opt[idx] = eq + 1;
		else if (i + 1 < argc)
			args->opt[idx] = argv[++i];
		else {
			snprintf(cause, len, "--%s needs a value (%s)", ce->opts[idx].name,
			    ce->opts[idx].arg);
			return -1;
		}
	}
	if (args->argc < ce->lower) {
		snprintf(cause, len, "'%s' needs %s", ce->name, ce->usage != NULL ?
		    ce->usage : "more arguments");
		return -1;
	}
	if (ce->upper >= 0 && args->argc > ce->upper) {
		snprintf(cause, len, "'%s': unexpected argument '%s'", ce->name,
		    args->argv[ce->upper]);
		return -1;
	}
	return 0;
}

/* "tenantgate-admin member add USER TENANT [--role ROLE] [-y]" */
static void
cmd_synopsis(const struct cmd_entry *ce, char *buf, size_t len)
{
	const struct cmd_opt	*op = ce->opts;
	size_t			 at;

	at = (size_t)snprintf(buf, len, "tenantgate-admin %s", ce->name);
	if (ce->usage != NULL && *ce->usage != '\0' && at < len)
		at += (size_t)snprintf(buf + at, len - at, " %s", ce->usage);
	for (int i = 0; op != NULL && op[i].name != NULL && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, " [--%s%s%s]", op[i].name,
		    op[i].arg != NULL ? " " : "", op[i].arg != NULL ? op[i].arg : "");
	if ((ce->flags & CMD_F_CONFIRM) && at < len)
		at += (size_t)snprintf(buf + at, len - at, " [-y]");
	if ((ce->flags & CMD_F_JSON) && at < len)
		snprintf(buf + at, len - at, " [--json]");
}

void
cmd_usage(const struct cmd_entry *ce, struct out *o)
{
	const struct cmd_opt	*op = ce->opts;
	char			 syn[1024], flag[64];

	cmd_synopsis(ce, syn, sizeof syn);
	out_printf(o, "usage: %s\n\n%s.\n", syn, ce->summary);
	if (ce->help != NULL)
		out_printf(o, "\n%s\n", ce->help);
	out_printf(o, "\noptions:\n");
	for (int i = 0; op != NULL && op[i].name != NULL; i++) {
		snprintf(flag, sizeof flag, "--%s%s%s", op[i].name, op[i].arg != NULL ? " " :
		    "", op[i].arg != NULL ? op[i].arg : "");
		out_printf(o, "  %-22s %s\n", flag, op[i].help);
	}
	if (ce->flags & CMD_F_CONFIRM)
		out_printf(o, "  %-22s %s\n", "-y, --yes", "do not ask for confirmation");
	if (ce->flags & CMD_F_JSON)
		out_printf(o, "  %-22s %s\n", "-j, --json", "JSON output");
	out_printf(o, "  %-22s %s\n", "-h, --help", "this help");
}

void
cmd_list(struct out *o, const char *group, int notes)
{
	size_t	gl = group != NULL ? strlen(group) : 0;

	for (int i = 0; cmd_table[i] != NULL; i++) {
		const struct cmd_entry *ce = cmd_table[i];

		if (group != NULL && (strncmp(ce->name, group, gl) != 0 ||
		    (ce->name[gl] != ' ' && ce->name[gl] != '\0')))
			continue;
		if (notes)
			out_note(o, "  %-16s %s\n", ce->name, ce->summary);
		else
			out_printf(o, "  %-16s %s\n", ce->name, ce->summary);
	}
}

void
cmd_markdown(FILE *f)
{
	const struct cmd_opt	*op;
	char			 syn[1024];

	for (int i = 0; cmd_table[i] != NULL; i++) {
		const struct cmd_entry *ce = cmd_table[i];

		cmd_synopsis(ce, syn, sizeof syn);
		fprintf(f, "### `%s`\n\n%s.\n\n    %s\n\n", ce->name, ce->summary, syn);
		if (ce->help != NULL)
			fprintf(f, "%s\n\n", ce->help);
		op = ce->opts;
		if ((op == NULL || op[0].name == NULL) &&
		    !(ce->flags & (CMD_F_CONFIRM | CMD_F_JSON)))
			continue;
		fprintf(f, "| option | meaning |\n|---|---|\n");
		for (int j = 0; op != NULL && op[j].name != NULL; j++)
			fprintf(f, "| `--%s%s%s` | %s |\n", op[j].name, op[j].arg != NULL ?
			    " " : "", op[j].arg != NULL ? op[j].arg : "", op[j].help);
		if (ce->flags & CMD_F_CONFIRM)
			fprintf(f, "| `-y`, `--yes` | do not ask for confirmation |\n");
		if (ce->flags & CMD_F_JSON)
			fprintf(f, "| `-j`, `--json` | JSON output |\n");
		fprintf(f, "\n");
	}
}

/*
 * One exit-code rule for every command (docs/admin.md, "Exit status"):
 * 2 when the command line itself is wrong - an unknown command or option,
 * a missing or extra argument, or a value that can never work (a role,
 * slug, email, site or integration list that is malformed); 1 when a
 * well-formed command could not be done (not found, refused, a server
 * down); 0 when it was done or there was nothing to do (a note says so).
 * Commands report what went wrong as an err code; this table, not each
 * command, decides which codes are the operator's typing.
 */
static const char *const cmd_usage_codes[] = {
	"usage", "bad_email", "bad_role", "bad_tenant", "bad_group", "bad_jti",
	"bad_site", "bad_name", "bad_admins", "bad_integrations", "need_email",
	"insecure_site", "bad_expires", "bad_key_kind", "bad_gateway", "bad_cloud_id", NULL,
};

int
cmd_exit_code(const struct err *e)
{
	for (int i = 0; cmd_usage_codes[i] != NULL; i++)
		if (strcmp(e->code, cmd_usage_codes[i]) == 0)
			return CMD_USAGE;
	return CMD_FAIL;
}

static void
cmd_error(struct admin *a, int json, const char *code, const char *msg)
{
	json_t *j;

	out_note(a->out, "tenantgate-admin: %s\n", msg);
	if (json && (j = json_pack("{s:{s:s,s:s}}", "error", "code", code,
	    "message", msg)) != NULL) {
		out_json(a->out, j);
		json_decref(j);
	}
}

static int
cmd_is_help(const char *w)
{
	return strcmp(w, "--help") == 0 || strcmp(w, "-h") == 0;
}

int
cmd_run(struct admin *a, int argc, char **argv)
{
	const struct cmd_entry	*ce;
	struct cmd_args		 args;
	struct err		 e;
	char			 cause[1024], group[64];
	int			 used, rc, saved_json = a->json, saved_yes = a->yes;

	snprintf(group, sizeof group, "%s", argc > 0 ? argv[0] : "");

	if (argc == 0) {
		cmd_error(a, a->json, "usage", "no command given");
		return CMD_USAGE;
	}
	if ((ce = cmd_find(argc, argv, &used, cause, sizeof cause)) == NULL) {
		/* "tenant --help": the group's commands, as `help tenant` does. */
		if (used > 0 && used == argc - 1 && cmd_is_help(argv[used]) &&
		    cmd_group(argv[0], group, sizeof group) != NULL) {
			out_printf(a->out, "%s commands:\n", group);
			cmd_list(a->out, group, 0);
			return CMD_OK;
		}
		cmd_error(a, a->json, "usage", cause);
		if (used > 0 && cmd_group(argv[0], group, sizeof group) != NULL) {
			out_note(a->out, "\n%s commands:\n", group);
			cmd_list(a->out, group, 1);
		} else if (strncmp(cause, "unknown", 7) == 0)
			out_note(a->out, "run 'tenantgate-admin help' for the list of commands\n");
		return CMD_USAGE;
	}
	rc = cmd_parse(ce, argc - used, argv + used, &args, cause, sizeof cause);
	if (rc == 1) {
		cmd_usage(ce, a->out);
		return CMD_OK;
	}
	if (rc == -1) {
		cmd_error(a, a->json || args.json, "usage", cause);
		out_note(a->out, "try 'tenantgate-admin %s --help'\n", ce->name);
		return CMD_USAGE;
	}
	if (a->ui != NULL && (ce->flags & CMD_F_NOCONSOLE)) {
		snprintf(cause, sizeof cause, "'%s' cannot run inside the console", ce->name);
		cmd_error(a, 0, "usage", cause);
		return CMD_USAGE;
	}
	a->json = args.json = a->json || args.json;
	a->yes = args.yes = a->yes || args.yes;
	err_clear(&e);
	rc = ce->exec(a, &args, &e);
	if (rc != CMD_OK) {
		if (!err_isset(&e))
			err_set(&e, 500, "failed", "'%s' failed", ce->name);
		cmd_error(a, a->json, e.code, e.msg);
		rc = cmd_exit_code(&e);
		if (rc == CMD_USAGE)
			out_note(a->out, "try 'tenantgate-admin %s --help'\n", ce->name);
	}
	admin_db_check(a);
	a->json = saved_json;
	a->yes = saved_yes;
	return rc;
}

int
cmd_split(const char *line, int *argc, char ***argv, char *cause, size_t len)
{
	size_t	 n = strlen(line), words = 0;
	char	**v, *buf, *w, quote;
	const char *p = line;

	/* At most n/2+1 words; the text after the pointer array. */
	if ((v = malloc((n / 2 + 2) * sizeof *v + n + 1)) == NULL) {
		snprintf(cause, len, "out of memory");
		return -1;
	}
	buf = (char *)(v + n / 2 + 2);
	w = buf;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		v[words++] = w;
		quote = 0;
		while (*p != '\0' && (quote != 0 || (*p != ' ' && *p != '\t'))) {
			if (quote == 0 && (*p == '\'' || *p == '"'))
				quote = *p++;
			else if (quote != 0 && *p == quote) {
				quote = 0;
				p++;
			} else if (*p == '\\' && quote != '\'' && p[1] != '\0') {
				*w++ = p[1];
				p += 2;
			} else
				*w++ = *p++;
		}
		*w++ = '\0';
		if (quote != 0) {
			free(v);
			snprintf(cause, len, "unterminated %c quote", quote);
			return -1;
		}
	}
	v[words] = NULL;
	*argc = (int)words;
	*argv = v;
	return 0;
}

int
cmd_confirm(struct admin *a, const char *done, const char *doing, struct err *e,
    const char *fmt, ...)
{
	char	q[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(q, sizeof q, fmt, ap);
	va_end(ap);
	switch (admin_confirm(a, "%s", q)) {
	case 0:
		err_set(e, 400, "cancelled", "not %s: nothing was changed", done);
		return CMD_FAIL;
	case -1:
		err_set(e, 400, "usage", "%s needs confirmation: give --yes", doing);
		return CMD_USAGE;
	}
	return CMD_OK;
}
