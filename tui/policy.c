/*
 * policy: slug rules and template rendering for tenant admin policies.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "policy.h"

#define POLICY_FILE_MAX	(64 * 1024)

int
policy_slug_check(const char *s, struct err *e)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n < 2 || n > 31)
		return err_set(e, 400, "bad_tenant", "a tenant slug is 2 to 31 characters");
	if (!islower((unsigned char)s[0]) || !isascii((unsigned char)s[0]))
		return err_set(e, 400, "bad_tenant", "a tenant slug starts with a letter a-z");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return err_set(e, 400, "bad_tenant", "a tenant slug has only a-z, 0-9 "
			    "and '-' (got '%c' at position %zu)", isprint(c) ? c : '?', i + 1);
		if (c == '-' && (i + 1 == n || s[i + 1] == '-'))
			return err_set(e, 400, "bad_tenant", "a tenant slug does not end in "
			    "'-' or contain '--'");
	}
	return 0;
}

/* Grow-as-needed output buffer. */
struct policy_buf {
	char	*s;
	size_t	 len, cap;
};

static int
policy_put(struct policy_buf *b, const char *s, size_t n)
{
	char	*nb;
	size_t	 want;

	if (b->len + n + 1 > b->cap) {
		for (want = b->cap != 0 ? b->cap : 1024; want < b->len + n + 1; want *= 2)
			;
		if ((nb = realloc(b->s, want)) == NULL)
			return -1;
		b->s = nb;
		b->cap = want;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

char *
policy_render(const char *tmpl, const struct policy_var *vars, struct err *e)
{
	struct policy_buf	 b = { NULL, 0, 0 };
	const char		*p = tmpl, *open, *close, *name, *end;
	const struct policy_var	*v;
	int			 line;

	while ((open = strstr(p, "{{")) != NULL) {
		if (policy_put(&b, p, (size_t)(open - p)) == -1)
			goto nomem;
		line = 1;
		for (const char *q = tmpl; q < open; q++)
			line += *q == '\n';
		if ((close = strstr(open + 2, "}}")) == NULL ||
		    memchr(open, '\n', (size_t)(close - open)) != NULL) {
			err_set(e, 400, "bad_template", "line %d: '{{' without '}}'", line);
			goto fail;
		}
		for (name = open + 2; *name == ' '; name++)
			;
		for (end = close; end > name && end[-1] == ' '; end--)
			;
		for (v = vars; v->name != NULL; v++)
			if (strlen(v->name) == (size_t)(end - name) &&
			    strncmp(v->name, name, (size_t)(end - name)) == 0)
				break;
		if (v->name == NULL) {
			err_set(e, 400, "bad_template", "line %d: unknown placeholder {{%.*s}}",
			    line, (int)(end - name > 40 ? 40 : end - name), name);
			goto fail;
		}
		if (policy_put(&b, v->value, strlen(v->value)) == -1)
			goto nomem;
		p = close + 2;
	}
	if (policy_put(&b, p, strlen(p)) == -1)
		goto nomem;
	return b.s;
nomem:
	err_set(e, 500, "nomem", "out of memory");
fail:
	free(b.s);
	return NULL;
}

char *
policy_read(const char *path, struct err *e)
{
	FILE	*f;
	char	*buf;
	size_t	 n;

	if ((f = fopen(path, "r")) == NULL) {
		err_set(e, 500, "no_template", "cannot read policy template %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	if ((buf = malloc(POLICY_FILE_MAX + 1)) == NULL) {
		fclose(f);
		err_set(e, 500, "nomem", "out of memory");
		return NULL;
	}
	n = fread(buf, 1, POLICY_FILE_MAX + 1, f);
	fclose(f);
	if (n > POLICY_FILE_MAX) {
		free(buf);
		err_set(e, 400, "bad_template", "policy template %s is larger than 64 KiB", path);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}
