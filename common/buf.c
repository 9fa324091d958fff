/* buf: a growable, wiped-on-free byte buffer (common/buf.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "secret.h"

void
buf_fail(struct buf *b)
{
	buf_free(b);
	b->failed = 1;
}

/* Room for more bytes and the NUL, doubling from 256 (capped at max + 1). */
static int
buf_grow(struct buf *b, size_t more)
{
	size_t	 cap;
	char	*p;

	if (b->failed)
		return -1;
	if (b->len + more + 1 <= b->cap)
		return 0;
	if (more > (b->max != 0 ? b->max : (size_t)-1 / 2) - b->len) {
		buf_fail(b);
		return -1;
	}
	cap = b->cap != 0 ? b->cap : 256;
	while (cap < b->len + more + 1)
		cap *= 2;
	if (b->max != 0 && cap > b->max + 1)
		cap = b->max + 1;
	/* Not realloc: the old block is wiped before it goes. */
	if ((p = malloc(cap)) == NULL) {
		buf_fail(b);
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
buf_put(struct buf *b, const char *s, size_t n)
{
	if (buf_grow(b, n) == -1)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
buf_puts(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	/* Straight into the free room; a second pass only when it did not
	 * fit. */
	va_start(ap, fmt);
	n = buf_grow(b, 0) == -1 ? -1 :
	    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n < b->cap - b->len) {
		if (n > 0)
			b->len += (size_t)n;
		return;
	}
	if (buf_grow(b, (size_t)n) == -1)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *
buf_reserve(struct buf *b, size_t n)
{
	return buf_grow(b, n) == -1 ? NULL : b->p + b->len;
}

void
buf_added(struct buf *b, size_t n)
{
	if (b->failed || b->p == NULL)
		return;
	b->len += n;
	b->p[b->len] = '\0';
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	b->failed = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

const char *
buf_text(const struct buf *b)
{
	return b->p != NULL ? b->p : "";
}

char *
buf_steal(struct buf *b, size_t *len)
{
	char *p;

	if (buf_grow(b, 0) == -1) {
		buf_free(b);
		return NULL;
	}
	p = b->p;
	p[b->len] = '\0';	/* a block just made for an empty buffer */
	if (len != NULL)
		*len = b->len;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

void
buf_free(struct buf *b)
{
	if (b->p != NULL) {
		secret_wipe(b->p, b->cap);
		free(b->p);
	}
	b->p = NULL;
	b->len = b->cap = 0;
}
