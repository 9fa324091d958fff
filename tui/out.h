/*
 * out: where a command's output goes. On the command line, results go to
 * stdout (tables or --json) and notes (progress steps, warnings) to
 * stderr, so stdout stays parseable; in the console both go into one
 * buffer that a pager shows, and a hook lets the console redraw as steps
 * happen. Table cells are cleaned (text.h): data from the database never
 * reaches a terminal raw.
 */
#ifndef TG_TUI_OUT_H
#define TG_TUI_OUT_H

#include <stdio.h>

#include <jansson.h>

struct out;

#define OUT_TIME	0x1	/* ISO time shown as "YYYY-MM-DD HH:MM" */
#define OUT_RIGHT	0x2	/* right-aligned (numbers) */
#define OUT_WIDE	0x4	/* never cut (the last column usually) */

struct out_col {
	const char	*key;		/* field of each row object */
	const char	*title;
	int		 flags;
	int		 max;		/* cut cells wider than this; 0 = 40 */
};

struct out	*out_file(FILE *results, FILE *notes);
struct out	*out_buffer(void);
void		 out_free(struct out *);
/* Called with every note line as it is written (the console redraws). */
void		 out_set_hook(struct out *, void (*)(void *, const char *), void *);

void		 out_printf(struct out *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
void		 out_note(struct out *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
/* Pretty-printed, newline-terminated. */
void		 out_json(struct out *, const json_t *);
/* rows: a JSON array of objects; cols ends with a NULL key. */
void		 out_table(struct out *, const json_t *rows, const struct out_col *);
/* --json: the rows as JSON; else the table. */
void		 out_rows(struct out *, int json, const json_t *rows,
		    const struct out_col *);
/* "key: value" lines for one object, in cols order. */
void		 out_fields(struct out *, const json_t *obj, const struct out_col *);

/* The buffer's text ("" for a file sink) and clearing it. */
const char	*out_text(const struct out *);
void		 out_clear(struct out *);

/* A cell as text: strings as they are, numbers, yes/no, "-" for null,
 * arrays joined with ", " (objects as name vN for integration lists). */
void		 out_cell(const json_t *, int flags, char *buf, size_t len);

#endif
