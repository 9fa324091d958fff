/*
 * policy: slug rules and template rendering for tenant admin policies.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
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

char *
policy_render(const char *tmpl, const struct policy_var *vars, struct err *e)
{
	struct buf		 b = { 0 };
	const char		*p = tmpl, *open, *close, *name, *end;
	char			*out;
	const struct policy_var	*v;
	int			 line;

	while ((open = strstr(p, "{{")) != NULL) {
		buf_put(&b, p, (size_t)(open - p));
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
		buf_puts(&b, v->value);
		p = close + 2;
	}
	buf_puts(&b, p);
	if ((out = buf_steal(&b, NULL)) == NULL)
		err_set(e, 500, "nomem", "out of memory");
	return out;
fail:
	buf_free(&b);
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
