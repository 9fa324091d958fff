/*
 * out: result and note output for commands, to files or to a buffer.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "log.h"
#include "out.h"
#include "text.h"

#define OUT_CELL_MAX	512
#define OUT_COLS_MAX	16

struct out {
	FILE	*results, *notes;	/* NULL for a buffer */
	struct buf text;		/* the buffer's output */
	void	(*hook)(void *, const char *);
	void	*hook_arg;
};

struct out *
out_file(FILE *results, FILE *notes)
{
	struct out *o = calloc(1, sizeof *o);

	if (o != NULL) {
		o->results = results;
		o->notes = notes;
	}
	return o;
}

struct out *
out_buffer(void)
{
	return calloc(1, sizeof(struct out));
}

void
out_free(struct out *o)
{
	if (o == NULL)
		return;
	buf_free(&o->text);
	free(o);
}

void
out_set_hook(struct out *o, void (*fn)(void *, const char *), void *arg)
{
	o->hook = fn;
	o->hook_arg = arg;
}

/* vasprintf() is a GNU extension; this is the portable two-pass one. */
static int
out_vformat(char **out, const char *fmt, va_list ap)
{
	va_list	 cp;
	int	 n;

	*out = NULL;
	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0 || (*out = malloc((size_t)n + 1)) == NULL)
		return -1;
	return vsnprintf(*out, (size_t)n + 1, fmt, ap);
}

static void
out_vwrite(struct out *o, FILE *f, const char *fmt, va_list ap)
{
	char	*s = NULL;
	int	 n;

	if ((n = out_vformat(&s, fmt, ap)) < 0) {
		free(s);
		return;
	}
	if (f != NULL)
		fwrite(s, 1, (size_t)n, f);
	else if (o->results == NULL)
		buf_put(&o->text, s, (size_t)n);
	free(s);
}

void
out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	out_vwrite(o, o->results, fmt, ap);
	va_end(ap);
}

void
out_note(struct out *o, const char *fmt, ...)
{
	va_list	 ap;
	char	*s = NULL;

	va_start(ap, fmt);
	if (out_vformat(&s, fmt, ap) < 0) {
		free(s);
		s = NULL;
	}
	va_end(ap);
	if (s == NULL)
		return;
	/* Notes quote what tenants' sites answer (names, emails). */
	log_clean(s, 1);
	if (o->notes != NULL) {
		fputs(s, o->notes);
		fflush(o->notes);
	} else if (o->results == NULL)
		buf_put(&o->text, s, strlen(s));
	if (o->hook != NULL)
		o->hook(o->hook_arg, s);
	free(s);
}

void
out_json(struct out *o, const json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s == NULL)
		return;
	out_printf(o, "%s\n", s);
	free(s);
}

void
out_cell(const json_t *v, int flags, char *buf, size_t len)
{
	size_t	 i, at = 0;
	json_t	*x;
	char	 one[128];

	buf[0] = '\0';
	if (v == NULL || json_is_null(v))
		snprintf(buf, len, "-");
	else if (json_is_string(v)) {
		if (flags & OUT_TIME)
			text_short_time(json_string_value(v), buf, len);
		else
			snprintf(buf, len, "%s", json_string_value(v));
	} else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "yes" : "no");
	else if (json_is_array(v)) {
		json_array_foreach(v, i, x) {
			if (json_is_object(x) && json_string_value(json_object_get(x, "name")))
				snprintf(one, sizeof one, "%s v%lld",
				    json_string_value(json_object_get(x, "name")),
				    (long long)json_integer_value(json_object_get(x,
				    "cred_version")));
			else
				out_cell(x, 0, one, sizeof one);
			if (at < len)
				at += (size_t)snprintf(buf + at, len - at, "%s%s",
				    i > 0 ? ", " : "", one);
		}
		if (json_array_size(v) == 0)
			snprintf(buf, len, "-");
	} else {
		char *s = json_dumps(v, JSON_COMPACT);

		snprintf(buf, len, "%s", s != NULL ? s : "?");
		free(s);
	}
}

void
out_table(struct out *o, const json_t *rows, const struct out_col *cols)
{
	int	 width[OUT_COLS_MAX], ncols = 0, c, w, max;
	size_t	 i;
	json_t	*row;
	char	 cell[OUT_CELL_MAX], fit[OUT_CELL_MAX * 2], line[4096];
	size_t	 at;

	while (cols[ncols].key != NULL && ncols < OUT_COLS_MAX)
		ncols++;
	for (c = 0; c < ncols; c++)
		width[c] = text_width(cols[c].title);
	json_array_foreach(rows, i, row) {
		for (c = 0; c < ncols; c++) {
			out_cell(json_object_get(row, cols[c].key), cols[c].flags, cell,
			    sizeof cell);
			max = cols[c].flags & OUT_WIDE ? OUT_CELL_MAX :
			    cols[c].max > 0 ? cols[c].max : 40;
			if ((w = text_width(cell)) > max)
				w = max;
			if (w > width[c])
				width[c] = w;
		}
	}
	for (i = 0; i <= json_array_size(rows); i++) {
		row = i == 0 ? NULL : json_array_get(rows, i - 1);
		at = 0;
		line[0] = '\0';
		for (c = 0; c < ncols; c++) {
			if (row == NULL)
				snprintf(cell, sizeof cell, "%s", cols[c].title);
			else
				out_cell(json_object_get(row, cols[c].key), cols[c].flags, cell,
				    sizeof cell);
			w = text_fit(fit, sizeof fit, cell, width[c], 1);
			if (c == ncols - 1 && !(cols[c].flags & OUT_RIGHT)) {
				at += (size_t)snprintf(line + at, sizeof line - at, "%s", fit);
				break;
			}
			if (cols[c].flags & OUT_RIGHT)
				at += (size_t)snprintf(line + at, sizeof line - at, "%*s%s",
				    width[c] - w, "", fit);
			else
				at += (size_t)snprintf(line + at, sizeof line - at, "%s%*s",
				    fit, width[c] - w, "");
			if (at >= sizeof line)
				break;
			if (c < ncols - 1)
				at += (size_t)snprintf(line + at, sizeof line - at, "  ");
			if (at >= sizeof line)
				break;
		}
		out_printf(o, "%s\n", line);
	}
}

void
out_rows(struct out *o, int json, const json_t *rows, const struct out_col *cols)
{
	if (json)
		out_json(o, rows);
	else if (json_array_size(rows) == 0)
		out_printf(o, "(none)\n");
	else
		out_table(o, rows, cols);
}

void
out_fields(struct out *o, const json_t *obj, const struct out_col *cols)
{
	int	 c, tw = 0, w;
	char	 cell[OUT_CELL_MAX], fit[OUT_CELL_MAX * 2];

	for (c = 0; cols[c].key != NULL; c++)
		if ((w = text_width(cols[c].title)) > tw)
			tw = w;
	for (c = 0; cols[c].key != NULL; c++) {
		out_cell(json_object_get(obj, cols[c].key), cols[c].flags, cell, sizeof cell);
		text_fit(fit, sizeof fit, cell, OUT_CELL_MAX, 1);
		out_printf(o, "%-*s  %s\n", tw + 1, cols[c].title, fit);
	}
}

const char *
out_text(const struct out *o)
{
	return buf_text(&o->text);
}

void
out_clear(struct out *o)
{
	buf_reset(&o->text);
}
