/*
 * conf: one table drives config parsing, defaults, validation, SIGHUP
 * reload rules, --show-config and the generated reference in docs/
 * (pgbouncer bouncer_params[], tmux options-table.c).
 *
 * File format: `key = value` lines, `#` comment lines, blank lines. A value
 * may be wrapped in double quotes (inside them \" and \\ are escapes); only
 * then may a `# comment` follow it on the same line, so an unquoted value
 * such as a URL keeps any '#' it contains. An empty value unsets a
 * string/path key.
 *
 * Each row names a field of a caller's struct by offsetof(). The field's C
 * type follows from the row's type:
 *   CONF_STR, CONF_PATH, CONF_ENUM	char *		(NULL when unset)
 *   CONF_INT, CONF_BOOL, CONF_DURATION	int		(duration in seconds)
 *   CONF_SIZE				size_t		(bytes)
 *   CONF_LIST				char **		(NULL-terminated, or NULL)
 * min/max bound INT, DURATION (seconds) and SIZE (bytes); min == max == 0
 * means "no bound beyond the C type". A table ends with a row whose name
 * is NULL.
 */
#ifndef TG_CONF_H
#define TG_CONF_H

#include <stddef.h>
#include <stdio.h>

enum conf_type {
	CONF_STR,
	CONF_INT,
	CONF_BOOL,	/* true/false, yes/no, on/off, 1/0 */
	CONF_DURATION,	/* "30s", "5m", "2h", "1d", "300" -> seconds */
	CONF_SIZE,	/* "1MiB", "64k", "4096" -> bytes (k/M/G are 1024-based) */
	CONF_PATH,
	CONF_ENUM,	/* one of the '|'-separated `choices`, stored as a string */
	CONF_LIST,	/* comma-separated, items trimmed, empty items dropped */
};

#define CONF_NO_RELOAD	0x1	/* SIGHUP may not change it */
#define CONF_SECRET	0x2	/* value holds a secret: shown as ***, never echoed in errors, wiped on free */
#define CONF_REQUIRED	0x4	/* must be set in the file (or by an override) */

struct conf_entry {
	const char	*name;
	enum conf_type	 type;
	size_t		 offset;
	int		 flags;
	const char	*defval;	/* in config syntax; NULL = unset */
	long long	 min, max;
	const char	*choices;	/* CONF_ENUM: "a|b|c" */
	const char	*help;		/* one line, for docs and --help */
};

/*
 * A table's rows live in a data file, one CONF_ROW() per key (GCC
 * params.def, LLVM *.def): the table's .c defines CONF_STRUCT, its config
 * struct, and includes the file between `= {` and CONF_END.
 */
#define CONF_ROW(name, type, field, flags, defval, min, max, choices, help)	\
	{ name, type, offsetof(CONF_STRUCT, field), flags, defval, min, max,	\
	  choices, help },
#define CONF_END	{ NULL, 0, 0, 0, NULL, 0, 0, NULL, NULL }

/* A growing newline-joined list of messages (tmux cfg_add_cause()). */
struct conf_causes {
	char	*buf;
	size_t	 len;
	int	 n;
};

void	conf_cause_add(struct conf_causes *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* *out = the messages (caller frees; NULL when none); -1 if there were any. */
int	conf_causes_finish(struct conf_causes *, char **out);

/*
 * A load in progress: it remembers where each key was set, so checks that
 * span keys report "file:line: ..." as the parser does, into the same list.
 */
struct conf_load {
	const struct conf_entry	*table;
	const char		*path;
	int			*lines;	/* per row: line in path, -1 = -o, 0 = default */
	struct conf_causes	 causes;
};

/* conf_load_with() in steps: begin (-1 if it found errors), any number of
 * conf_load_cause(), end (always; -1 if any error was added). */
int	conf_load_begin(struct conf_load *, const struct conf_entry *, void *dst,
	    const char *path, const char *const *overrides);
void	conf_load_cause(struct conf_load *, const char *key, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
int	conf_load_end(struct conf_load *, char **causes);

/*
 * Fill dst with defaults, then the file. Errors are collected, all of them,
 * as "file:line: message" lines joined by '\n' into *causes (caller frees;
 * NULL when there are none); returns -1 if there was any. Whatever the
 * result, release dst with conf_free().
 */
int	conf_load(const struct conf_entry *, void *dst, const char *path,
	    char **causes);
/*
 * The same, then apply "key=value" overrides (e.g. from -o) before the
 * required-key check. path may be NULL (defaults and overrides only);
 * overrides may be NULL or NULL-terminated.
 */
int	conf_load_with(const struct conf_entry *, void *dst, const char *path,
	    const char *const *overrides, char **causes);
int	conf_set_defaults(const struct conf_entry *, void *dst, char **causes);
/* Set one key (for -o key=value); *cause is a malloc'ed message on error. */
int	conf_set(const struct conf_entry *, void *dst, const char *key,
	    const char *value, char **cause);
void	conf_free(const struct conf_entry *, void *dst);
/* Find a row by name, NULL if none. */
const struct conf_entry *conf_find(const struct conf_entry *, const char *key);

/*
 * Compare two loaded configs: for every NO_RELOAD key that differs, a line
 * "key 'listen' cannot change on reload (restart instead)" in *cause
 * (caller frees); -1 if any.
 */
int	conf_render_reload_check(const struct conf_entry *, const void *old,
	    const void *new_, char **cause);
/* `key = value` lines that conf_load() reads back; secrets as ***. */
void	conf_render_show(const struct conf_entry *, const void *src, FILE *);
/* Markdown: a title, then a table of key, type, default, range/choices,
 * reload, help. */
void	conf_render_docs(const struct conf_entry *, const char *title, FILE *);

#endif
