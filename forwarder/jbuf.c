/* jbuf: JSON values appended to a buf (forwarder/jbuf.h). */
#include <stdint.h>
#include <string.h>

#include "jbuf.h"

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
jbuf_put_str(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char	*u = (const unsigned char *)s;
	char			*d;
	size_t			 i = 0;

	/* Room for the worst case (6 bytes a byte) once, then plain stores:
	 * this runs over every result text, which is full of quotes. */
	if (n > (SIZE_MAX - 2) / 6 || (d = buf_reserve(b, n * 6 + 2)) == NULL) {
		buf_fail(b);
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
	buf_added(b, (size_t)(d - (b->p + b->len)));
}

static int
jbuf_dump_cb(const char *s, size_t n, void *arg)
{
	buf_put(arg, s, n);
	return ((struct buf *)arg)->failed ? -1 : 0;
}

void
jbuf_put_json(struct buf *b, const json_t *v)
{
	if (v == NULL) {
		buf_puts(b, "null");
		return;
	}
	if (json_dump_callback(v, jbuf_dump_cb, b, JSON_COMPACT | JSON_ENCODE_ANY) == -1)
		buf_fail(b);
}
