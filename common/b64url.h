/*
 * b64url: base64url without padding (RFC 7515 section 2).
 */
#ifndef TG_B64URL_H
#define TG_B64URL_H

#include <stddef.h>

/* The decoder is strict: no padding, no whitespace, no non-canonical
 * trailing bits. Both return malloc()ed buffers (the decoded one
 * NUL-terminated for convenience), NULL on bad input or no memory. */
char	*b64url_encode(const unsigned char *, size_t);
unsigned char *b64url_decode(const char *, size_t, size_t *outlen);

#endif
