/*
 * cmd: the command table (tmux cmd.c). Each subcommand is one file,
 * cmd_<group>_<verb>.c, exporting one `const struct cmd_entry`. This one
 * table serves argv parsing, --help (for one command, a group or all of
 * them), `help --markdown` for docs/admin.md, and the console's `:`
 * prompt; commands are found by unique prefix, word by word ("ten l" is
 * "tenant list"), and an ambiguous prefix is an error that lists the
 * candidates.
 */
#ifndef TG_TUI_CMD_H
#define TG_TUI_CMD_H

#include <stddef.h>
#include <stdio.h>

struct admin;
struct err;
struct out;

/* Exit codes. */
#define CMD_OK		0	/* done, or nothing to do (with a note) */
#define CMD_FAIL	1	/* the operation failed, or what it names is not there */
#define CMD_USAGE	2	/* the command line was wrong */

#define CMD_F_JSON	0x1	/* takes --json */
#define CMD_F_CONFIRM	0x2	/* asks before changing things; takes -y/--yes */
#define CMD_F_NOCONSOLE	0x4	/* not from the console's `:` prompt */

#define CMD_OPTS_MAX	16

struct cmd_opt {
	const char	*name;		/* without the leading "--" */
	const char	*arg;		/* name of the value, NULL for a flag */
	const char	*help;
};

struct cmd_entry;

struct cmd_args {
	const struct cmd_entry	*entry;
	int			 argc;		/* positionals */
	char			**argv;
	const char		*opt[CMD_OPTS_MAX]; /* by index in entry->opts; "" = flag set */
	int			 json, yes;
};

struct cmd_entry {
	const char		*name;		/* "member add" */
	const char		*alias;		/* another full name, or NULL */
	const char		*usage;		/* positionals, e.g. "USER TENANT" */
	const char		*summary;	/* one line */
	const char		*help;		/* more, or NULL */
	const struct cmd_opt	*opts;		/* ends with a NULL name; may be NULL */
	int			 lower, upper;	/* positional count; upper -1 = any */
	int			 flags;
	/* CMD_OK, or CMD_FAIL / CMD_USAGE with e set. */
	int			(*exec)(struct admin *, struct cmd_args *, struct err *);
};

extern const struct cmd_entry *const cmd_table[];

/* The value of option name ("" for a flag that was given), or NULL. */
const char	*cmd_get(const struct cmd_args *, const char *name);

/*
 * The entry named by the leading words of argv; *used gets how many words
 * named it. NULL with a message in cause: "unknown command: x",
 * "ambiguous command: g, could be: grant, group", or, for a group without
 * its verb, "tenant: which one? add, disable, ..." (*used is then the
 * group's word count, so the caller can print the group's help).
 */
const struct cmd_entry *cmd_find(int argc, char *const *argv, int *used,
		    char *cause, size_t len);
/* Options and positionals after the name. -1 with cause on a usage error;
 * 1 when --help was asked for. */
int		 cmd_parse(const struct cmd_entry *, int argc, char **argv,
		    struct cmd_args *, char *cause, size_t len);

/* The exit code of a failed command from its err code: CMD_USAGE for
 * the codes that mean the command line was wrong, else CMD_FAIL. */
int		 cmd_exit_code(const struct err *);
/* Find, parse, run; prints errors (and JSON errors for --json) through
 * a->out. Returns the exit code. */
int		 cmd_run(struct admin *, int argc, char **argv);

/* --help text of one entry; the list of a group's (or every) command. */
void		 cmd_usage(const struct cmd_entry *, struct out *);
void		 cmd_list(struct out *, const char *group, int to_notes);
/* The whole reference in markdown (docs/admin.md). */
void		 cmd_markdown(FILE *);

/* Split a console `:` line into words (quotes '...' and "..." group,
 * backslash escapes). *argv is malloc'ed with the words after it; free()
 * it alone. -1 with cause on an unterminated quote. */
int		 cmd_split(const char *line, int *argc, char ***argv, char *cause,
		    size_t len);



/* The entries, one per cmd_*.c file, in the order `--help` lists them. */
extern const struct cmd_entry cmd_tenant_list_entry, cmd_tenant_show_entry,
    cmd_tenant_add_entry, cmd_tenant_disable_entry, cmd_tenant_enable_entry,
    cmd_user_list_entry, cmd_user_show_entry, cmd_user_add_entry,
    cmd_member_add_entry, cmd_member_remove_entry,
    cmd_group_list_entry, cmd_group_add_entry, cmd_group_remove_entry,
    cmd_key_status_entry, cmd_key_rotate_entry, cmd_onboard_entry,
    cmd_grant_list_entry, cmd_grant_revoke_entry, cmd_audit_entry,
    cmd_migrate_entry, cmd_console_entry, cmd_help_entry;

/* The options every command line may carry before the command. */
void		 cmd_global_help(struct out *);
const char	*cmd_global_usage(void);
/* The group ("tenant") whose name word starts with word; NULL if none. */
const char	*cmd_group(const char *word, char *buf, size_t len);
/* Ask before a change ("Remove x from y?"). CMD_OK to go ahead; else
 * CMD_FAIL ("not <done>": the user said no) or CMD_USAGE (no terminal to
 * ask and no --yes), with e set. done/doing: "removed"/"removing". */
int	cmd_confirm(struct admin *, const char *done, const char *doing,
	    struct err *, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
