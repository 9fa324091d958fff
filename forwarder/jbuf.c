/* jbuf: append-only JSON text. */
#include <stdint.h>
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

/* What a byte becomes inside a JSON string: 0 itself, 'u' \\u00XX, else
 * a backslash and that letter. Upper-case hex, as Jansson writes it, so
 * results match byte for byte. */
static const char jbuf_esc[256] = {
	['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't',
	[0x00] = 'u', [0x01] = 'u', [0x02] = 'u', [0x03] = 'u', [0x04] = 'u', [0x05] = 'u',
	[0x06] = 'u', [0x07] = 'u', [0x0b] = 'u', [0x0e] = 'u', [0x0f] = 'u', [0x10] = 'u',
	[0x11] = 'u', [0x12] = 'u', [0x13] = 'u', [0x14] = 'u', [0x15] = 'u', [0x16] = 'u',
	[0x17] = 'u', [0x18] = 'u', [0x19] = 'u', [0x1a] = 'u', [0x1b] = 'u', [0x1c] = 'u',
	[0x1d] = 'u', [0x1e] = 'u', [0x1f] = 'u', ['"'] = '"', ['\\'] = '\\',
};

void
jbuf_put_str(struct jbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char	*u = (const unsigned char *)s;
	char			*d;
	size_t			 i = 0;

	/* Room for the worst case (6 bytes a byte) once, then plain stores:
	 * this runs over every result text, which is full of quotes. */
	if (n > (SIZE_MAX - 2) / 6 || (d = jbuf_reserve(b, n * 6 + 2)) == NULL) {
		if (!b->failed) {
			jbuf_free(b);
			b->failed = 1;
		}
		return;
	}
	*d++ = '"';
	while (i < n) {
		size_t run = i;
		char e;

		while (run < n && jbuf_esc[u[run]] == 0)
			run++;
		memcpy(d, s + i, run - i);
		d += run - i;
		if ((i = run) == n)
			break;
		e = jbuf_esc[u[i]];
		*d++ = '\\';
		if (e == 'u') {
			memcpy(d, "u00", 3);
			d[3] = hex[u[i] >> 4];
			d[4] = hex[u[i] & 15];
			d += 5;
		} else
			*d++ = e;
		i++;
	}
	*d++ = '"';
	jbuf_added(b, (size_t)(d - (b->p + b->len)));
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
