/*
 * jscan: a one-pass JSON scanner for upstream answers. It validates the
 * text (RFC 8259, UTF-8 and escapes) and records one flat array of tokens,
 * each a byte span of the text; nothing is copied or decoded until a
 * reader asks for a value. The trimmers of forwarder/builtin.c read an
 * Atlassian answer through it and write the tool result straight to text,
 * instead of building and freeing a Jansson tree of the whole answer.
 *
 * It accepts exactly what json_loadb(..., 0) accepts, so an answer that
 * was "not JSON" before still is: no "\u0000" in strings, integers must
 * fit in 64 bits, reals must not overflow a double, values nest at most
 * 2048 deep, and without JSCAN_ANY the top value is an object or array.
 * Duplicate keys are allowed; a lookup finds the last one, as Jansson's
 * object keeps the last value.
 *
 * Tokens: the value of index 0 is the root. A container's members follow
 * it in order (an object's as key, value, key, value ...); tok.next is the
 * index just past a value and everything inside it.
 */
#ifndef TG_JSCAN_H
#define TG_JSCAN_H

#include <stddef.h>
#include <stdint.h>

struct buf;

enum jscan_type {
	JSCAN_NONE = 0,		/* no such token (a failed lookup) */
	JSCAN_OBJECT,
	JSCAN_ARRAY,
	JSCAN_STRING,
	JSCAN_NUMBER,
	JSCAN_TRUE,
	JSCAN_FALSE,
	JSCAN_NULL,
};

#define JSCAN_ESC	0x01	/* a string with backslash escapes */
#define JSCAN_REAL	0x02	/* a number with a fraction or an exponent */

struct jscan_tok {
	uint32_t	off;	/* first byte: '{', '[', the opening quote, a digit... */
	uint32_t	len;	/* bytes of the whole value, quotes included */
	uint32_t	next;	/* index just past this value and its contents */
	uint32_t	n;	/* members of an object, items of an array */
	uint8_t		type;	/* enum jscan_type */
	uint8_t		flags;
};

#define JSCAN_DEPTH_MAX	2048	/* Jansson's JSON_PARSER_MAX_DEPTH */

/* Options: the top value may be any value, not only an object or array. */
#define JSCAN_ANY	0x01

struct jscan {
	const char		*text;	/* not owned; must outlive the tokens */
	size_t			 len;
	struct jscan_tok	*tok;	/* one allocation */
	uint32_t		 ntok, cap;
	char			 err[96];	/* why it failed, with the byte offset */
	int			 nomem;		/* it failed for want of memory */
};

/*
 * Scan text (len bytes, need not be NUL-terminated). max_bytes bounds len
 * (the caller's upstream_max_response); the token array never grows past
 * max_tokens (0: as many as max_bytes can hold, about one per two bytes).
 * 0, or -1 with js->err set (not JSON, or js->nomem). Call
 * jscan_free() either way.
 */
int	jscan_parse(struct jscan *, const char *text, size_t len, size_t max_bytes,
	    uint32_t max_tokens, int flags);
void	jscan_free(struct jscan *);

/* t's type; JSCAN_NONE for t < 0. The root is 0 when ntok > 0. */
enum jscan_type	jscan_type(const struct jscan *, int t);
/* The value of obj's member key (the last one of that name), or -1. */
int	jscan_get(const struct jscan *, int obj, const char *key);
/* Members of an object, items of an array; 0 for anything else. */
uint32_t jscan_count(const struct jscan *, int t);
/* The value after t in its container (with jscan_count, to iterate). */
static inline int
jscan_skip(const struct jscan *js, int t)
{
	return (int)js->tok[t].next;
}
/* Items of an array; 0 for anything else. */
static inline uint32_t
jscan_items(const struct jscan *js, int arr)
{
	return arr >= 0 && (uint32_t)arr < js->ntok && js->tok[arr].type == JSCAN_ARRAY ?
	    js->tok[arr].n : 0;
}
/* Every item c of array arr (i counts them); nothing when arr is not one. */
#define JSCAN_ITEMS(js, arr, i, c) \
	for ((i) = 0, (c) = (arr) + 1; (i) < jscan_items(js, arr); \
	    (i)++, (c) = jscan_skip(js, c))

/* String t equals s (after unescaping)? 0 when t is not a string. */
int	jscan_streq(const struct jscan *, int t, const char *s);
/* Decoded bytes of string t into dst, which has room for the token's
 * len bytes; returns how many were written (no NUL). */
size_t	jscan_unescape(const struct jscan *, int t, char *dst);
/* Decoded bytes of string t, at most sz - 1 of them, NUL-terminated
 * (cut on a byte, like snprintf; the result may end mid-character). */
void	jscan_strcpy(const struct jscan *, int t, char *dst, size_t sz);
/* Append the decoded bytes of string t. */
void	jscan_put_text(const struct jscan *, int t, struct buf *);
/* Append string t as a JSON string literal, escaped as Jansson does. */
void	jscan_put_str(const struct jscan *, int t, struct buf *);
/* Integer value of t (a number without fraction or exponent): 0, or -1. */
int	jscan_int(const struct jscan *, int t, long long *);
/* The raw text of t (for a string: without the quotes). */
const char *jscan_raw(const struct jscan *, int t, size_t *len);

#endif
