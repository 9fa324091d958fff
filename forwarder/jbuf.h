/*
 * jbuf: a growable text buffer for writing JSON by hand where the shape is
 * fixed (a JSON-RPC envelope around an already-serialised result, a
 * tools/list assembled from precomputed fragments): cheaper than building a
 * Jansson tree only to serialise it. On allocation failure the buffer
 * remembers it and every later append is a no-op; jbuf_steal() then
 * returns NULL.
 */
#ifndef TG_JBUF_H
#define TG_JBUF_H

#include <stddef.h>

#include <jansson.h>

struct jbuf {
	char	*p;
	size_t	 len, cap;
	int	 failed;
};

void	 jbuf_put(struct jbuf *, const char *s, size_t n);
void	 jbuf_puts(struct jbuf *, const char *s);
/* s as a JSON string literal, quotes included (s is valid UTF-8). */
void	 jbuf_put_str(struct jbuf *, const char *s, size_t n);
/* Room for n more bytes at the end (NULL once failed); write there, then
 * say how many with jbuf_added(). */
char	*jbuf_reserve(struct jbuf *, size_t n);
void	 jbuf_added(struct jbuf *, size_t n);
/* Any JSON value, compact. */
void	 jbuf_put_json(struct jbuf *, const json_t *);
/* The NUL-terminated text (caller frees, length in *len), or NULL. */
char	*jbuf_steal(struct jbuf *, size_t *len);
/* Drop the contents, wiping them: they may be a tool result. */
void	 jbuf_free(struct jbuf *);

#endif
