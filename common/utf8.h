/*
 * utf8: the one place that knows the UTF-8 byte layout. Decoding is
 * strict (no overlong forms, no surrogates, nothing past U+10FFFF), as
 * Jansson checks it, so text that passes here is text Jansson accepts.
 * Cutting never splits a sequence, so a string cut to a byte budget stays
 * valid.
 */
#ifndef TG_UTF8_H
#define TG_UTF8_H

#include <stddef.h>

/* Longest sequence, in bytes. */
#define UTF8_MAX	4

/* Write cp as UTF-8 into out (UTF8_MAX bytes of room); returns the bytes
 * written. No check: a surrogate or a value past U+10FFFF comes out in the
 * same bit layout (callers that need valid text check it afterwards). */
size_t	utf8_encode(unsigned long cp, char *out);

/* One code point from s (n > 0 bytes there): the code point, or -1 for a
 * bad sequence. *len gets the bytes it covers, at least 1: a whole valid
 * sequence, or as far as a bad one went before it went wrong (a bad lead
 * byte 1, a missing continuation byte the bytes before it). */
long	utf8_decode(const char *s, size_t n, size_t *len);

/* Is s[0..n) all valid UTF-8? */
int	utf8_valid(const char *s, size_t n);

/* Bytes of the sequence that lead starts: 2 to 4, or 1 (ASCII, or a byte
 * that starts no sequence). */
size_t	utf8_seqlen(unsigned char lead);

/* Where the last sequence of s[0..n) starts (0 when n is 0). */
size_t	utf8_back(const char *s, size_t n);

/* n less a sequence left incomplete at s[n - 1]: the longest prefix of
 * s[0..n) that does not end mid-character. */
size_t	utf8_prefix(const char *s, size_t n);

/* Cut the string s in place to at most max bytes on a character boundary. */
void	utf8_cut(char *s, size_t max);

#endif
