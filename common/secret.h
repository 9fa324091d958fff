/*
 * secret: bytes that must never be printed, logged, written to disk or
 * returned in an error. The type is opaque, so `printf("%s", s)` with a
 * secret_t is a -Wformat error, and the only formatter, secret_redacted(),
 * returns "***". The bytes live in mlock()ed memory where the limit allows
 * (never swapped) and are wiped on free.
 */
#ifndef TG_SECRET_H
#define TG_SECRET_H

#include <stddef.h>

struct err;
typedef struct secret secret_t;

/* Copies len bytes (a NUL is kept after them for C APIs). NULL on ENOMEM. */
secret_t	*secret_new(const void *buf, size_t len);
/* Reads a whole file (e.g. a client secret, an HMAC key); strips one
 * trailing newline. Refuses files larger than max bytes. */
secret_t	*secret_from_file(const char *path, size_t max, struct err *);
secret_t	*secret_dup(const secret_t *);
void		 secret_free(secret_t *);

const char	*secret_bytes(const secret_t *);	/* NUL-terminated */
size_t		 secret_len(const secret_t *);
int		 secret_eq(const secret_t *, const void *buf, size_t len); /* constant time */
const char	*secret_redacted(const secret_t *);	/* always "***" */

/*
 * One "Name: value" header line for httpc's secret_header, written straight
 * into a secret: "Name: scheme value" ("Authorization", "Bearer", tok) or,
 * with scheme NULL, "Name: value" ("X-Vault-Token", NULL, tok). Name and
 * scheme are [A-Za-z0-9_-]+. NULL with errno EINVAL for a bad name or an
 * empty value or one holding CR, LF or NUL (header injection), ENOMEM.
 */
secret_t	*secret_header(const char *name, const char *scheme, const secret_t *value);
/* The same for a value that is not a secret_t yet (a field of a parsed
 * answer). */
secret_t	*secret_header_bytes(const char *name, const char *scheme,
		    const void *value, size_t len);
/* "Authorization: Basic base64(user:password)"; EINVAL when user holds
 * ':', CR or LF. */
secret_t	*secret_header_basic(const char *user, const secret_t *password);

/* Wipe memory the compiler may not optimise away. */
void		 secret_wipe(void *buf, size_t len);
/* Wipe then free a heap string that held secret material. */
void		 secret_free_str(char *);

#endif
