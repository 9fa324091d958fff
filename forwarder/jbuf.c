/* jbuf: append-only JSON text. */
#include <stdlib.h>
#include <string.h>

#include "jbuf.h"
#include "secret.h"

static int
jbuf_grow(struct jbuf *b, size_t more)
{
	size_t	 cap;
	char	*p;

	if (b->failed)
		return -1;
	if (b->len + more + 1 <= b->cap)
		return 0;
	cap = b->cap != 0 ? b->cap : 256;
	while (cap < b->len + more + 1)
		cap *= 2;
	/* Not realloc: the old block may hold a result, wipe it. */
	if ((p = malloc(cap)) == NULL) {
		jbuf_free(b);
		b->failed = 1;
		return -1;
	}
	if (b->len > 0)
		memcpy(p, b->p, b->len);
	if (b->p != NULL) {
		secret_wipe(b->p, b->cap);
		free(b->p);
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void
jbuf_put(struct jbuf *b, const char *s, size_t n)
{
	if (jbuf_grow(b, n) == -1)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
jbuf_puts(struct jbuf *b, const char *s)
{
	jbuf_put(b, s, strlen(s));
}

void
jbuf_put_str(struct jbuf *b, const char *s, size_t n)
{
	/* Upper-case hex, as Jansson writes it: results match byte for byte. */
	static const char hex[] = "0123456789ABCDEF";
	size_t	 run = 0;

	/* Worst case 6 bytes per byte; grow once for the common case. */
	if (jbuf_grow(b, n + 2) == -1)
		return;
	jbuf_put(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char	c = (unsigned char)s[i];
		char		esc[7];
		size_t		elen = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		jbuf_put(b, s + run, i - run);
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			elen = 6;
		}
		jbuf_put(b, esc, elen);
	}
	jbuf_put(b, s + run, n - run);
	jbuf_put(b, "\"", 1);
}

char *
jbuf_reserve(struct jbuf *b, size_t n)
{
	return jbuf_grow(b, n) == -1 ? NULL : b->p + b->len;
}

void
jbuf_added(struct jbuf *b, size_t n)
{
	if (b->failed || b->p == NULL)
		return;
	b->len += n;
	b->p[b->len] = '\0';
}

static int
jbuf_dump_cb(const char *s, size_t n, void *arg)
{
	jbuf_put(arg, s, n);
	return ((struct jbuf *)arg)->failed ? -1 : 0;
}

void
jbuf_put_json(struct jbuf *b, const json_t *v)
{
	if (v == NULL) {
		jbuf_puts(b, "null");
		return;
	}
	if (json_dump_callback(v, jbuf_dump_cb, b, JSON_COMPACT | JSON_ENCODE_ANY) == -1 &&
	    !b->failed) {
		jbuf_free(b);
		b->failed = 1;
	}
}

char *
jbuf_steal(struct jbuf *b, size_t *len)
{
	char *p;

	if (b->failed || jbuf_grow(b, 0) == -1) {
		jbuf_free(b);
		return NULL;
	}
	p = b->p;
	if (len != NULL)
		*len = b->len;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

void
jbuf_free(struct jbuf *b)
{
	if (b->p != NULL) {
		secret_wipe(b->p, b->cap);
		free(b->p);
	}
	b->p = NULL;
	b->len = b->cap = 0;
}
