/*
 * jscan: validate JSON text in one pass and record its values as tokens;
 * the small read API the trimmers use. The parser keeps no stack: while a
 * container is open its tok.next holds its parent's index (as jsmn does),
 * so depth costs no memory and no recursion on a coroutine's stack.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jbuf.h"
#include "jscan.h"
#include "utf8.h"

#define JSCAN_NOPARENT	UINT32_MAX

/* The parser's state, apart from the result. */
struct jscan_p {
	struct jscan	*js;
	const unsigned char *s;
	size_t		 len, pos;
	uint32_t	 max_tokens;
};

static int
jscan_fail(struct jscan_p *p, const char *why)
{
	snprintf(p->js->err, sizeof p->js->err, "%s at byte %zu", why, p->pos);
	p->js->nomem = strcmp(why, "out of memory") == 0;
	return -1;
}

static void
jscan_ws(struct jscan_p *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\n' ||
	    p->s[p->pos] == '\r' || p->s[p->pos] == '\t'))
		p->pos++;
}

/* A new token at the current position, or -1. */
static int
jscan_new(struct jscan_p *p, enum jscan_type type)
{
	struct jscan		*js = p->js;
	struct jscan_tok	*t;

	if (js->ntok == js->cap) {
		uint32_t	 cap = js->cap;
		void		*nt;

		if (cap >= p->max_tokens)
			return jscan_fail(p, "too many values");
		cap = cap > p->max_tokens / 2 ? p->max_tokens : cap * 2;
		if ((nt = realloc(js->tok, (size_t)cap * sizeof *js->tok)) == NULL)
			return jscan_fail(p, "out of memory");
		js->tok = nt;
		js->cap = cap;
	}
	t = &js->tok[js->ntok];
	t->off = (uint32_t)p->pos;
	t->len = 0;
	t->next = js->ntok + 1;
	t->n = 0;
	t->type = (uint8_t)type;
	t->flags = 0;
	return (int)js->ntok++;
}

static int
jscan_hex4(const unsigned char *s, size_t avail, unsigned *cp)
{
	*cp = 0;
	if (avail < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		unsigned c = s[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			d = (c | 0x20) - 'a' + 10;
		else
			return -1;
		*cp = *cp << 4 | d;
	}
	return 0;
}

/* Bytes a string holds as they are: printable ASCII but '"' and '\\'. */
static const unsigned char jscan_plain[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/* 0x80 and up: UTF-8, checked one sequence at a time */
};

/* A string (or key) at pos, the opening quote. */
static int
jscan_string(struct jscan_p *p)
{
	const unsigned char	*s = p->s;
	size_t			 start = p->pos, q = p->pos + 1, n = p->len;
	int			 t;

	if ((t = jscan_new(p, JSCAN_STRING)) == -1)
		return -1;
	for (;;) {
		unsigned	c;
		size_t		k;

		/* The common run: printable ASCII. */
		while (q < n && jscan_plain[s[q]])
			q++;
		if (q >= n) {
			p->pos = q;
			return jscan_fail(p, "unterminated string");
		}
		c = s[q];
		if (c == '"')
			break;
		if (c < 0x20) {
			p->pos = q;
			return jscan_fail(p, "control character in string");
		}
		if (c >= 0x80) {
			if (utf8_decode((const char *)s + q, n - q, &k) < 0) {
				p->pos = q;
				return jscan_fail(p, "invalid UTF-8");
			}
			q += k;
			continue;
		}
		/* A backslash. */
		p->js->tok[t].flags |= JSCAN_ESC;
		p->pos = q;
		if (q + 1 >= n)
			return jscan_fail(p, "unterminated string");
		c = s[q + 1];
		if (c == 'u') {
			unsigned cp, lo;

			if (jscan_hex4(s + q + 2, n - q - 2, &cp) == -1)
				return jscan_fail(p, "invalid \\u escape");
			if (cp == 0)	/* Jansson refuses it without JSON_ALLOW_NUL */
				return jscan_fail(p, "\\u0000 in string");
			if (cp >= 0xDC00 && cp <= 0xDFFF)
				return jscan_fail(p, "lone low surrogate");
			q += 6;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				if (q + 1 >= n || s[q] != '\\' || s[q + 1] != 'u' ||
				    jscan_hex4(s + q + 2, n - q - 2, &lo) == -1 ||
				    lo < 0xDC00 || lo > 0xDFFF)
					return jscan_fail(p, "lone high surrogate");
				q += 6;
			}
			continue;
		}
		if (strchr("\"\\/bfnrt", (int)c) == NULL || c == '\0')
			return jscan_fail(p, "invalid escape");
		q += 2;
	}
	p->js->tok[t].len = (uint32_t)(q + 1 - start);
	p->pos = q + 1;
	return t;
}

/* Does the integer text s (n bytes, optional '-') fit in 64 bits? */
static int
jscan_int_text(const char *s, size_t n, long long *out)
{
	int			 neg = n > 0 && s[0] == '-';
	unsigned long long	 v = 0, lim = neg ? (unsigned long long)LLONG_MAX + 1 :
				    (unsigned long long)LLONG_MAX;

	for (size_t i = (size_t)neg; i < n; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (v > (lim - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = neg ? (v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v) :
	    (long long)v;
	return 0;
}

/* Would strtod() overflow on this real? Only a long or exponent one can. */
static int
jscan_real_overflows(const char *s, size_t n, size_t int_digits, int has_exp)
{
	char	 small[64], *buf = small;
	double	 d;
	int	 over;

	if (!has_exp && int_digits < 300)
		return 0;
	if (n >= sizeof small && (buf = malloc(n + 1)) == NULL)
		return 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	d = strtod(buf, NULL);
	over = errno == ERANGE && isinf(d);
	if (buf != small)
		free(buf);
	return over;
}

static int
jscan_number(struct jscan_p *p)
{
	const unsigned char	*s = p->s;
	size_t			 q = p->pos, n = p->len, digits = 0;
	int			 t, real = 0, exp = 0;
	long long		 v;

	if ((t = jscan_new(p, JSCAN_NUMBER)) == -1)
		return -1;
	if (s[q] == '-')
		q++;
	if (q < n && s[q] == '0') {
		q++;
		digits = 1;
	} else
		while (q < n && s[q] >= '0' && s[q] <= '9') {
			q++;
			digits++;
		}
	if (digits == 0 || (q < n && s[q] >= '0' && s[q] <= '9'))
		return jscan_fail(p, "invalid number");
	if (q < n && s[q] == '.') {
		real = 1;
		if (++q >= n || s[q] < '0' || s[q] > '9')
			return jscan_fail(p, "invalid number");
		while (q < n && s[q] >= '0' && s[q] <= '9')
			q++;
	}
	if (q < n && (s[q] == 'e' || s[q] == 'E')) {
		real = exp = 1;
		if (++q < n && (s[q] == '+' || s[q] == '-'))
			q++;
		if (q >= n || s[q] < '0' || s[q] > '9')
			return jscan_fail(p, "invalid number");
		while (q < n && s[q] >= '0' && s[q] <= '9')
			q++;
	}
	p->js->tok[t].len = (uint32_t)(q - p->pos);
	if (real) {
		p->js->tok[t].flags |= JSCAN_REAL;
		if (jscan_real_overflows((const char *)s + p->pos, q - p->pos, digits, exp))
			return jscan_fail(p, "real number overflow");
	} else if (digits >= 19 &&
	    jscan_int_text((const char *)s + p->pos, q - p->pos, &v) == -1)
		return jscan_fail(p, "integer out of range");
	p->pos = q;
	return t;
}

static int
jscan_literal(struct jscan_p *p, const char *word, enum jscan_type type)
{
	size_t	n = strlen(word);
	int	t;

	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
		return jscan_fail(p, "invalid literal");
	if ((t = jscan_new(p, type)) == -1)
		return -1;
	p->js->tok[t].len = (uint32_t)n;
	p->pos += n;
	return t;
}

int
jscan_parse(struct jscan *js, const char *text, size_t len, size_t max_bytes,
    uint32_t max_tokens, int flags)
{
	struct jscan_p	 p = { js, (const unsigned char *)text, len, 0, max_tokens };
	uint32_t	 parent = JSCAN_NOPARENT, depth = 0;
	size_t		 bound;
	int		 t;

	memset(js, 0, sizeof *js);
	js->text = text;
	js->len = len;
	if (len > max_bytes || len >= UINT32_MAX)
		return jscan_fail(&p, "text too long");
	/* A value takes two bytes but for the last: never more tokens than
	 * this, so the cap only ever refuses on the caller's say-so. */
	bound = len / 2 + 2;
	if (p.max_tokens == 0 || p.max_tokens > bound)
		p.max_tokens = (uint32_t)bound;
	js->cap = (uint32_t)(len / 8 + 16);
	if (js->cap > p.max_tokens)
		js->cap = p.max_tokens;
	if ((js->tok = malloc((size_t)js->cap * sizeof *js->tok)) == NULL)
		return jscan_fail(&p, "out of memory");
	jscan_ws(&p);
	if (p.pos >= len)
		return jscan_fail(&p, "no value");
	if (!(flags & JSCAN_ANY) && p.s[p.pos] != '{' && p.s[p.pos] != '[')
		return jscan_fail(&p, "not an object or array");

value:
	jscan_ws(&p);
	if (p.pos >= len)
		return jscan_fail(&p, "truncated");
	if (depth + 1 > JSCAN_DEPTH_MAX)
		return jscan_fail(&p, "nested too deep");
	if (parent != JSCAN_NOPARENT && js->tok[parent].type == JSCAN_ARRAY)
		js->tok[parent].n++;
	switch (p.s[p.pos]) {
	case '{':
	case '[':
		if ((t = jscan_new(&p, p.s[p.pos] == '{' ? JSCAN_OBJECT : JSCAN_ARRAY)) == -1)
			return -1;
		js->tok[t].next = parent;	/* until it closes */
		parent = (uint32_t)t;
		depth++;
		p.pos++;
		jscan_ws(&p);
		if (p.pos < len && p.s[p.pos] == (js->tok[t].type == JSCAN_OBJECT ? '}' : ']'))
			goto close;
		if (js->tok[t].type == JSCAN_OBJECT)
			goto key;
		goto value;
	case '"':
		t = jscan_string(&p);
		break;
	case 't':
		t = jscan_literal(&p, "true", JSCAN_TRUE);
		break;
	case 'f':
		t = jscan_literal(&p, "false", JSCAN_FALSE);
		break;
	case 'n':
		t = jscan_literal(&p, "null", JSCAN_NULL);
		break;
	default:
		if (p.s[p.pos] == '-' || (p.s[p.pos] >= '0' && p.s[p.pos] <= '9'))
			t = jscan_number(&p);
		else
			t = jscan_fail(&p, "unexpected character");
	}
	if (t == -1)
		return -1;

after:
	jscan_ws(&p);
	if (parent == JSCAN_NOPARENT) {
		if (p.pos != len)
			return jscan_fail(&p, "text after the value");
		return 0;
	}
	if (p.pos >= len)
		return jscan_fail(&p, "truncated");
	if (p.s[p.pos] == ',') {
		p.pos++;
		if (js->tok[parent].type == JSCAN_OBJECT)
			goto key;
		goto value;
	}
	if (p.s[p.pos] != (js->tok[parent].type == JSCAN_OBJECT ? '}' : ']'))
		return jscan_fail(&p, "expected ',' or the end of the container");

close:
	{
		struct jscan_tok *c = &js->tok[parent];

		parent = c->next;
		c->next = js->ntok;
		c->len = (uint32_t)(p.pos + 1 - c->off);
		depth--;
		p.pos++;
	}
	goto after;

key:
	jscan_ws(&p);
	if (p.pos >= len || p.s[p.pos] != '"')
		return jscan_fail(&p, "expected a key");
	if (jscan_string(&p) == -1)
		return -1;
	js->tok[parent].n++;
	jscan_ws(&p);
	if (p.pos >= len || p.s[p.pos] != ':')
		return jscan_fail(&p, "expected ':'");
	p.pos++;
	goto value;
}

void
jscan_free(struct jscan *js)
{
	free(js->tok);
	js->tok = NULL;
	js->ntok = js->cap = 0;
}

/* --- reading ------------------------------------------------------------------ */

enum jscan_type
jscan_type(const struct jscan *js, int t)
{
	return t >= 0 && (uint32_t)t < js->ntok ? (enum jscan_type)js->tok[t].type : JSCAN_NONE;
}

uint32_t
jscan_count(const struct jscan *js, int t)
{
	enum jscan_type type = jscan_type(js, t);

	return type == JSCAN_OBJECT || type == JSCAN_ARRAY ? js->tok[t].n : 0;
}

const char *
jscan_raw(const struct jscan *js, int t, size_t *len)
{
	const struct jscan_tok *k = &js->tok[t];

	if (k->type == JSCAN_STRING) {
		*len = k->len - 2;
		return js->text + k->off + 1;
	}
	*len = k->len;
	return js->text + k->off;
}

/* Decode one escape at s ('\\'); the bytes go to out (room for 4),
 * returns the escape's length in the text. Only called on scanned text. */
static size_t
jscan_escape(const char *s, char *out, size_t *n)
{
	const unsigned char	*u = (const unsigned char *)s;
	unsigned		 cp, lo;

	switch (s[1]) {
	case 'b': out[0] = '\b'; break;
	case 'f': out[0] = '\f'; break;
	case 'n': out[0] = '\n'; break;
	case 'r': out[0] = '\r'; break;
	case 't': out[0] = '\t'; break;
	case 'u':
		jscan_hex4(u + 2, 4, &cp);
		if (cp >= 0xD800 && cp <= 0xDBFF) {
			jscan_hex4(u + 8, 4, &lo);
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
		}
		/* Only a surrogate pair, two escapes, makes four bytes. */
		*n = utf8_encode(cp, out);
		return *n == 4 ? 12 : 6;
	default: out[0] = s[1]; break;	/* " \ / */
	}
	*n = 1;
	return 2;
}

size_t
jscan_unescape(const struct jscan *js, int t, char *dst)
{
	size_t		 len, w = 0, k;
	const char	*s = jscan_raw(js, t, &len), *bs;

	if (!(js->tok[t].flags & JSCAN_ESC)) {
		memcpy(dst, s, len);
		return len;
	}
	/* An escape is never shorter than what it decodes to. */
	while (len > 0 && (bs = memchr(s, '\\', len)) != NULL) {
		size_t run = (size_t)(bs - s), used;

		memcpy(dst + w, s, run);
		w += run;
		used = jscan_escape(bs, dst + w, &k);
		w += k;
		s = bs + used;
		len -= run + used;
	}
	memcpy(dst + w, s, len);
	return w + len;
}

void
jscan_strcpy(const struct jscan *js, int t, char *dst, size_t sz)
{
	size_t	 len, n;
	char	*tmp;

	if (sz == 0)
		return;
	dst[0] = '\0';
	if (jscan_type(js, t) != JSCAN_STRING)
		return;
	jscan_raw(js, t, &len);
	if (len < sz) {
		n = jscan_unescape(js, t, dst);
		dst[n] = '\0';
		return;
	}
	if ((tmp = malloc(len)) == NULL)
		return;
	n = jscan_unescape(js, t, tmp);
	if (n > sz - 1)
		n = sz - 1;
	memcpy(dst, tmp, n);
	dst[n] = '\0';
	free(tmp);
}

int
jscan_streq(const struct jscan *js, int t, const char *s)
{
	size_t		 len, n = strlen(s), i = 0;
	const char	*raw, *end;

	if (jscan_type(js, t) != JSCAN_STRING)
		return 0;
	raw = jscan_raw(js, t, &len);
	if (!(js->tok[t].flags & JSCAN_ESC))
		return len == n && memcmp(raw, s, n) == 0;
	/* Escaped keys are rare: decode as we compare, no buffer. */
	for (end = raw + len; raw < end;) {
		char	 d[4];
		size_t	 k;

		if (*raw != '\\') {
			if (i >= n || s[i++] != *raw++)
				return 0;
			continue;
		}
		raw += jscan_escape(raw, d, &k);
		if (i + k > n || memcmp(s + i, d, k) != 0)
			return 0;
		i += k;
	}
	return i == n;
}

int
jscan_get(const struct jscan *js, int obj, const char *key)
{
	size_t		 n = strlen(key);
	uint32_t	 count;
	int		 k, found = -1;

	if (jscan_type(js, obj) != JSCAN_OBJECT)
		return -1;
	count = js->tok[obj].n;
	k = obj + 1;
	for (uint32_t i = 0; i < count; i++) {
		const struct jscan_tok *kt = &js->tok[k];

		/* Keys without escapes (nearly all): compare the bytes. */
		if (!(kt->flags & JSCAN_ESC) ? kt->len - 2 == n &&
		    memcmp(js->text + kt->off + 1, key, n) == 0 : jscan_streq(js, k, key))
			found = k + 1;
		k = jscan_skip(js, k + 1);
	}
	return found;
}

void
jscan_put_text(const struct jscan *js, int t, struct buf *b)
{
	size_t	 len;
	char	*dst;

	if (jscan_type(js, t) != JSCAN_STRING)
		return;
	jscan_raw(js, t, &len);
	if ((dst = buf_reserve(b, len)) != NULL)
		buf_added(b, jscan_unescape(js, t, dst));
}

void
jscan_put_str(const struct jscan *js, int t, struct buf *b)
{
	size_t		 len;
	const char	*s;
	char		 tmp[256], *big = NULL, *d = tmp;

	if (jscan_type(js, t) != JSCAN_STRING)
		return;
	s = jscan_raw(js, t, &len);
	if (!(js->tok[t].flags & JSCAN_ESC)) {
		/* No escapes: nothing in it needs one (no control character,
		 * quote or backslash), and Jansson writes UTF-8 as it is. */
		buf_put(b, s - 1, len + 2);
		return;
	}
	if (len > sizeof tmp && (d = big = malloc(len)) == NULL) {
		buf_free(b);
		b->failed = 1;
		return;
	}
	jbuf_put_str(b, d, jscan_unescape(js, t, d));
	free(big);
}

int
jscan_int(const struct jscan *js, int t, long long *v)
{
	size_t		 len;
	const char	*s;

	if (jscan_type(js, t) != JSCAN_NUMBER || (js->tok[t].flags & JSCAN_REAL))
		return -1;
	s = jscan_raw(js, t, &len);
	return jscan_int_text(s, len, v);
}
