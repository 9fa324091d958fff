/*
 * jbuf: JSON text written by hand into a buf (common/buf.h) where the
 * shape is fixed (a JSON-RPC envelope around an already-serialised result,
 * a tools/list assembled from precomputed fragments): cheaper than
 * building a Jansson tree only to serialise it. Plain text goes in with
 * buf_put(); these add the JSON values.
 */
#ifndef TG_JBUF_H
#define TG_JBUF_H

#include <stddef.h>

#include <jansson.h>

#include "buf.h"

/* s as a JSON string literal, quotes included (s is valid UTF-8). */
void	 jbuf_put_str(struct buf *, const char *s, size_t n);
/* Any JSON value, compact. */
void	 jbuf_put_json(struct buf *, const json_t *);

#endif
