/* utf8: encode, decode, validate and cut UTF-8 (common/utf8.h). */
#include <string.h>

#include "utf8.h"

#define UTF8_CONT(c)	(((unsigned char)(c) & 0xC0) == 0x80)

size_t
utf8_encode(unsigned long cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

size_t
utf8_seqlen(unsigned char lead)
{
	if ((lead & 0xE0) == 0xC0)
		return 2;
	if ((lead & 0xF0) == 0xE0)
		return 3;
	if ((lead & 0xF8) == 0xF0)
		return 4;
	return 1;
}

long
utf8_decode(const char *s, size_t n, size_t *len)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 k, i;
	long			 cp;

	*len = 1;
	if (u[0] < 0x80)
		return u[0];
	if ((k = utf8_seqlen(u[0])) == 1)
		return -1;
	cp = u[0] & (0x3F >> (k - 1));
	for (i = 1; i < k; i++) {
		if (i >= n || !UTF8_CONT(u[i])) {
			*len = i;
			return -1;
		}
		cp = cp << 6 | (u[i] & 0x3F);
	}
	*len = k;
	if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) ||
	    (k == 4 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return -1;
	return cp;
}

int
utf8_valid(const char *s, size_t n)
{
	size_t k;

	for (size_t i = 0; i < n; i += k)
		if (utf8_decode(s + i, n - i, &k) < 0)
			return 0;
	return 1;
}

size_t
utf8_back(const char *s, size_t n)
{
	while (n > 0 && UTF8_CONT(s[n - 1]))
		n--;
	return n > 0 ? n - 1 : 0;
}

size_t
utf8_prefix(const char *s, size_t n)
{
	size_t lead = utf8_back(s, n);

	/* Only continuation bytes (or nothing): no sequence to finish. */
	if (n == 0 || UTF8_CONT(s[lead]))
		return n;
	return n - lead >= utf8_seqlen((unsigned char)s[lead]) ? n : lead;
}

void
utf8_cut(char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max)
		n = max;
	s[utf8_prefix(s, n)] = '\0';
}
