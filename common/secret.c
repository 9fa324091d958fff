/*
 * secret: redacted-by-construction, mlock()ed, wiped-on-free bytes, and the
 * one builder of secret HTTP header lines ("X-Vault-Token: ...",
 * "Authorization: Bearer ...", "Authorization: Basic ..."), which writes
 * the line straight into a secret so the value never sits in plain heap.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "err.h"
#include "secret.h"

struct secret {
	size_t	 len;
	size_t	 cap;		/* bytes allocated for buf, including the NUL */
	int	 locked;	/* mlock() succeeded */
	char	*buf;
};

void
secret_wipe(void *buf, size_t len)
{
	if (buf != NULL && len > 0)
		OPENSSL_cleanse(buf, len);
}

void
secret_free_str(char *s)
{
	if (s == NULL)
		return;
	secret_wipe(s, strlen(s));
	free(s);
}

/* len bytes for the caller to fill, locked before anything is written. */
static secret_t *
secret_alloc(size_t len)
{
	secret_t *s;

	if ((s = calloc(1, sizeof *s)) == NULL)
		return NULL;
	s->cap = len + 1;
	if ((s->buf = malloc(s->cap)) == NULL) {
		free(s);
		return NULL;
	}
	s->buf[len] = '\0';
	s->len = len;
	/* Best effort: RLIMIT_MEMLOCK may be small for unprivileged users. */
	s->locked = mlock(s->buf, s->cap) == 0;
	return s;
}

secret_t *
secret_new(const void *src, size_t len)
{
	secret_t *s;

	if ((s = secret_alloc(len)) != NULL && len > 0)
		memcpy(s->buf, src, len);
	return s;
}

secret_t *
secret_dup(const secret_t *s)
{
	return s == NULL ? NULL : secret_new(s->buf, s->len);
}

void
secret_free(secret_t *s)
{
	if (s == NULL)
		return;
	secret_wipe(s->buf, s->cap);
	if (s->locked)
		munlock(s->buf, s->cap);
	free(s->buf);
	secret_wipe(s, sizeof *s);
	free(s);
}

secret_t *
secret_from_file(const char *path, size_t max, struct err *e)
{
	struct stat	 st;
	secret_t	*s = NULL;
	char		*buf;
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		err_set(e, 500, "secret_file", "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || (size_t)st.st_size > max) {
		close(fd);
		err_set(e, 500, "secret_file", "%s: missing or larger than %zu bytes", path, max);
		return NULL;
	}
	if ((buf = malloc(max + 1)) == NULL) {
		close(fd);
		err_set(e, 500, "nomem", "out of memory");
		return NULL;
	}
	while (len < max && (n = read(fd, buf + len, max - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (len == 0)
		err_set(e, 500, "secret_file", "%s: file is empty", path);
	else if ((s = secret_new(buf, len)) == NULL)
		err_set(e, 500, "nomem", "out of memory");
	secret_wipe(buf, max + 1);
	free(buf);
	return s;
}

const char *
secret_bytes(const secret_t *s)
{
	return s->buf;
}

size_t
secret_len(const secret_t *s)
{
	return s->len;
}

int
secret_eq(const secret_t *s, const void *buf, size_t len)
{
	if (s == NULL || s->len != len)
		return 0;
	return CRYPTO_memcmp(s->buf, buf, len) == 0;
}

const char *
secret_redacted(const secret_t *s)
{
	(void)s;
	return "***";
}

/* ---- header lines ------------------------------------------------------ */

/* A header name or auth scheme: letters, digits, '-' and '_' only. */
static int
secret_header_token_ok(const char *t)
{
	if (t == NULL || *t == '\0')
		return 0;
	for (; *t != '\0'; t++)
		if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') ||
		    (*t >= '0' && *t <= '9') || *t == '-' || *t == '_'))
			return 0;
	return 1;
}

/* Room for "Name: [scheme ]" + vlen bytes, the prefix already written;
 * *off is where the value goes. */
static secret_t *
secret_header_start(const char *name, const char *scheme, size_t vlen, size_t *off)
{
	secret_t	*s;
	size_t		 nl, sl;

	if (!secret_header_token_ok(name) ||
	    (scheme != NULL && !secret_header_token_ok(scheme))) {
		errno = EINVAL;
		return NULL;
	}
	nl = strlen(name);
	sl = scheme != NULL ? strlen(scheme) + 1 : 0;
	if (vlen > (size_t)-1 / 2 || (s = secret_alloc(nl + 2 + sl + vlen)) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	memcpy(s->buf, name, nl);
	memcpy(s->buf + nl, ": ", 2);
	if (scheme != NULL) {
		memcpy(s->buf + nl + 2, scheme, sl - 1);
		s->buf[nl + 2 + sl - 1] = ' ';
	}
	*off = nl + 2 + sl;
	return s;
}

secret_t *
secret_header_bytes(const char *name, const char *scheme, const void *value, size_t len)
{
	secret_t	*s;
	size_t		 off;

	/* CR or LF would end the line and start a header of the value's
	 * choosing; a NUL would cut it where curl reads it. */
	if (value == NULL || len == 0 || memchr(value, '\r', len) != NULL ||
	    memchr(value, '\n', len) != NULL || memchr(value, '\0', len) != NULL) {
		errno = EINVAL;
		return NULL;
	}
	if ((s = secret_header_start(name, scheme, len, &off)) != NULL)
		memcpy(s->buf + off, value, len);
	return s;
}

secret_t *
secret_header(const char *name, const char *scheme, const secret_t *value)
{
	if (value == NULL) {
		errno = EINVAL;
		return NULL;
	}
	return secret_header_bytes(name, scheme, value->buf, value->len);
}

secret_t *
secret_header_basic(const char *user, const secret_t *password)
{
	secret_t	*plain, *s;
	size_t		 ulen, n, off;

	if (user == NULL || password == NULL || strpbrk(user, ":\r\n") != NULL) {
		errno = EINVAL;
		return NULL;
	}
	ulen = strlen(user);
	n = ulen + 1 + password->len;
	/* user:password is secret too: it lives in a secret while encoded. */
	if ((plain = secret_alloc(n)) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	memcpy(plain->buf, user, ulen);
	plain->buf[ulen] = ':';
	memcpy(plain->buf + ulen + 1, password->buf, password->len);
	if ((s = secret_header_start("Authorization", "Basic", 4 * ((n + 2) / 3),
	    &off)) != NULL)
		EVP_EncodeBlock((unsigned char *)s->buf + off,
		    (const unsigned char *)plain->buf, (int)n);
	secret_free(plain);
	return s;
}
