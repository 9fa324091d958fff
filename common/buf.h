/*
 * buf: the one growable byte buffer, always NUL-terminated. It never
 * uses realloc(): the old block is wiped before it is freed, since what
 * we buffer (a tool result, an upstream body, a credential from Vault)
 * must not linger in freed heap. On allocation failure, or an append past
 * max, the buffer drops its contents and remembers it (failed); every
 * later append is then a no-op, and buf_steal() returns NULL, so callers
 * check once at the end.
 */
#ifndef TG_BUF_H
#define TG_BUF_H

#include <stddef.h>

struct buf {
	char	*p;		/* NULL until the first append */
	size_t	 len, cap;
	size_t	 max;		/* 0: no limit; else at most max bytes of text */
	int	 failed;
};

void	 buf_put(struct buf *, const char *s, size_t n);
void	 buf_puts(struct buf *, const char *s);
void	 buf_printf(struct buf *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Room for n more bytes at the end (NULL once failed); write there, then
 * say how many with buf_added(). */
char	*buf_reserve(struct buf *, size_t n);
void	 buf_added(struct buf *, size_t n);
/* Empty it, keeping the memory, and forget a failure. */
void	 buf_reset(struct buf *);
/* The text so far, "" when empty. */
const char *buf_text(const struct buf *);
/* The NUL-terminated text, handed to the caller (length in *len), or
 * NULL when an append failed. Either way the buffer is left empty. */
char	*buf_steal(struct buf *, size_t *len);
/* Drop the contents and fail from now on: for a caller whose own
 * writing into buf_reserve()'s room went wrong. */
void	 buf_fail(struct buf *);
/* Drop the contents, wiping them. */
void	 buf_free(struct buf *);

#endif
