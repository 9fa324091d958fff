/*
 * conf_render: the outputs of a config table: the reload rule
 * (conf_render_reload_check), --show-config (conf_show, secrets as ***) and the
 * markdown reference in docs/ (conf_docs). Parsing is in conf.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_impl.h"
#include "secret.h"

static void
conf_duration_text(long long s, char *buf, size_t sz)
{
	if (s != 0 && s % 86400 == 0)
		snprintf(buf, sz, "%lldd", s / 86400);
	else if (s != 0 && s % 3600 == 0)
		snprintf(buf, sz, "%lldh", s / 3600);
	else if (s != 0 && s % 60 == 0)
		snprintf(buf, sz, "%lldm", s / 60);
	else
		snprintf(buf, sz, "%llds", s);
}

static void
conf_size_text(unsigned long long b, char *buf, size_t sz)
{
	if (b != 0 && b % (1ULL << 30) == 0)
		snprintf(buf, sz, "%lluGiB", b >> 30);
	else if (b != 0 && b % (1ULL << 20) == 0)
		snprintf(buf, sz, "%lluMiB", b >> 20);
	else if (b != 0 && b % (1ULL << 10) == 0)
		snprintf(buf, sz, "%lluKiB", b >> 10);
	else
		snprintf(buf, sz, "%llu", b);
}

static const char *
conf_type_name(enum conf_type t)
{
	switch (t) {
	case CONF_STR:		return "string";
	case CONF_INT:		return "integer";
	case CONF_BOOL:		return "boolean";
	case CONF_DURATION:	return "duration";
	case CONF_SIZE:		return "size";
	case CONF_PATH:		return "path";
	case CONF_ENUM:		return "enum";
	case CONF_LIST:		return "list";
	}
	return "?";
}

static int
conf_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int
conf_equal(const struct conf_entry *e, const void *a, const void *b)
{
	switch (e->type) {
	case CONF_STR: case CONF_PATH: case CONF_ENUM:
		return conf_streq(*CFIELD(a, e, conf_str_t), *CFIELD(b, e, conf_str_t));
	case CONF_SIZE:
		return *CFIELD(a, e, size_t) == *CFIELD(b, e, size_t);
	case CONF_LIST: {
		char *const *la = *CFIELD(a, e, conf_list_t);
		char *const *lb = *CFIELD(b, e, conf_list_t);
		if (la == NULL || lb == NULL)
			return la == lb;
		for (; *la != NULL && *lb != NULL; la++, lb++)
			if (strcmp(*la, *lb) != 0)
				return 0;
		return *la == NULL && *lb == NULL;
	}
	default:
		return *CFIELD(a, e, int) == *CFIELD(b, e, int);
	}
}

int
conf_render_reload_check(const struct conf_entry *t, const void *old,
    const void *new_, char **cause)
{
	char	*out = NULL;
	size_t	 sz = 0;
	int	 n = 0;
	FILE	*f;

	if (cause != NULL)
		*cause = NULL;
	if ((f = open_memstream(&out, &sz)) == NULL)
		return -1;
	for (; t->name != NULL; t++) {
		if ((t->flags & CONF_NO_RELOAD) && !conf_equal(t, old, new_))
			fprintf(f, "%skey '%s' cannot change on reload "
			    "(restart instead)", n++ > 0 ? "\n" : "", t->name);
	}
	fclose(f);
	if (n > 0 && cause != NULL)
		*cause = out;
	else
		free(out);
	return n > 0 ? -1 : 0;
}

/* Print a string so that conf_load() reads the same string back. */
static void
conf_put_str(const char *s, FILE *f)
{
	size_t l = strlen(s);

	if (l > 0 && !isspace((unsigned char)s[0]) && s[0] != '"' &&
	    !isspace((unsigned char)s[l - 1])) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* The value of row e in config syntax, into a malloc'ed string. */
static char *
conf_value_text(const struct conf_entry *e, const void *src)
{
	char	 buf[64];
	char	*out = NULL;
	size_t	 sz = 0;
	FILE	*f;

	switch (e->type) {
	case CONF_STR: case CONF_PATH: case CONF_ENUM: {
		const char *s = *CFIELD(src, e, conf_str_t);
		return strdup(s != NULL ? s : "");
	}
	case CONF_INT:
		snprintf(buf, sizeof buf, "%d", *CFIELD(src, e, int));
		return strdup(buf);
	case CONF_BOOL:
		return strdup(*CFIELD(src, e, int) ? "true" : "false");
	case CONF_DURATION:
		conf_duration_text(*CFIELD(src, e, int), buf, sizeof buf);
		return strdup(buf);
	case CONF_SIZE:
		conf_size_text(*CFIELD(src, e, size_t), buf, sizeof buf);
		return strdup(buf);
	case CONF_LIST:
		if ((f = open_memstream(&out, &sz)) == NULL)
			return NULL;
		for (char *const *l = *CFIELD(src, e, conf_list_t); l != NULL &&
		    *l != NULL; l++)
			fprintf(f, "%s%s", l == *CFIELD(src, e, conf_list_t) ?
			    "" : ", ", *l);
		fclose(f);
		return out;
	}
	return NULL;
}

void
conf_render_show(const struct conf_entry *t, const void *src, FILE *f)
{
	for (; t->name != NULL; t++) {
		char *v = conf_value_text(t, src);

		fprintf(f, "%s = ", t->name);
		if (v == NULL)
			fputs("\"\"", f);
		else if ((t->flags & CONF_SECRET) && *v != '\0')
			fputs("***", f);
		else
			conf_put_str(v, f);
		fputc('\n', f);
		if (v != NULL && (t->flags & CONF_SECRET))
			secret_free_str(v);
		else
			free(v);
	}
}

/* Markdown table cell text: '|' escaped, newlines flattened. */
static void
conf_put_cell(const char *s, FILE *f)
{
	for (; *s != '\0'; s++) {
		if (*s == '|')
			fputs("\\|", f);
		else if (*s == '\n')
			fputc(' ', f);
		else
			fputc(*s, f);
	}
}

void
conf_render_docs(const struct conf_entry *t, const char *title, FILE *f)
{
	char		buf[256], a[64], b[64];
	long long	lo, hi;

	fprintf(f, "# %s\n\n", title);
	fputs("<!-- generated from the config table; do not edit -->\n\n", f);
	fputs("| key | type | default | range / choices | reload | "
	    "description |\n", f);
	fputs("|---|---|---|---|---|---|\n", f);
	for (; t->name != NULL; t++) {
		fprintf(f, "| `%s` | %s | ", t->name, conf_type_name(t->type));
		if (t->flags & CONF_REQUIRED)
			fputs("(required)", f);
		else if (t->defval == NULL || *t->defval == '\0')
			fputs("(unset)", f);
		else if (t->flags & CONF_SECRET)
			fputs("***", f);
		else {
			fputc('`', f);
			conf_put_cell(t->defval, f);
			fputc('`', f);
		}
		fputs(" | ", f);

		buf[0] = '\0';
		conf_bounds(t, &lo, &hi);
		switch (t->type) {
		case CONF_INT:
			if (t->min != 0 || t->max != 0)
				snprintf(buf, sizeof buf, "%lld .. %lld", lo, hi);
			break;
		case CONF_DURATION:
			if (t->min != 0 || t->max != 0) {
				conf_duration_text(lo, a, sizeof a);
				conf_duration_text(hi, b, sizeof b);
				snprintf(buf, sizeof buf, "%s .. %s", a, b);
			}
			break;
		case CONF_SIZE:
			if (t->min != 0 || t->max != 0) {
				conf_size_text((unsigned long long)lo, a, sizeof a);
				conf_size_text((unsigned long long)hi, b, sizeof b);
				snprintf(buf, sizeof buf, "%s .. %s", a, b);
			}
			break;
		case CONF_ENUM:
			conf_choices_text(t->choices, buf, sizeof buf);
			break;
		case CONF_BOOL:
			snprintf(buf, sizeof buf, "true, false");
			break;
		default:
			break;
		}
		conf_put_cell(buf, f);
		fprintf(f, " | %s | ", (t->flags & CONF_NO_RELOAD) ?
		    "restart" : "yes");
		conf_put_cell(t->help != NULL ? t->help : "", f);
		if (t->flags & CONF_SECRET)
			fputs(" (secret)", f);
		fputs(" |\n", f);
	}
}
