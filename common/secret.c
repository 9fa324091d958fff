/* secret: redacted-by-construction, mlock()ed, wiped-on-free bytes. */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

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

secret_t *
secret_new(const void *src, size_t len)
{
	secret_t *s;

	if ((s = calloc(1, sizeof *s)) == NULL)
		return NULL;
	s->cap = len + 1;
	if ((s->buf = malloc(s->cap)) == NULL) {
		free(s);
		return NULL;
	}
	if (len > 0)
		memcpy(s->buf, src, len);
	s->buf[len] = '\0';
	s->len = len;
	/* Best effort: RLIMIT_MEMLOCK may be small for unprivileged users. */
	s->locked = mlock(s->buf, s->cap) == 0;
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
