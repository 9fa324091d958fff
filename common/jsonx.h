/*
 * jsonx: small helpers over Jansson that turn "missing field" and "wrong
 * type" into clear err values, so handlers validate input in one line each.
 */
#ifndef TG_JSONX_H
#define TG_JSONX_H

#include <stddef.h>
#include <jansson.h>

struct err;

/* Parse exactly one JSON value from buf; 400 "bad_json" with line/column. */
json_t		*jsonx_parse(const char *buf, size_t len, struct err *);
/* Parse and require an object. */
json_t		*jsonx_parse_object(const char *buf, size_t len, struct err *);

/* Typed field access: return 0 and set *out, or -1 with a 400 err naming
 * the field. When the field is absent and `required` is 0, *out is left
 * unchanged and 0 is returned. */
int		 jsonx_get_str(const json_t *obj, const char *key, int required,
		    const char **out, struct err *);
/* Plain lookup: the string value or NULL (missing or not a string). */
const char	*jsonx_str(const json_t *obj, const char *key);
/* Is the string s an element of arr? 0 when arr is not an array or s is
 * NULL. */
int		 jsonx_array_has(const json_t *arr, const char *s);
/* Compact serialisation; caller frees. */
char		*jsonx_dump(const json_t *);
/* {"error":{"code":..,"message":..}} - the one error shape of our APIs. */
json_t		*jsonx_error(const char *code, const char *message);

/* Make Jansson wipe every block it frees, so a credential parsed from
 * Vault or sent to a forwarder does not linger in freed heap. Call once,
 * before any other Jansson use. */
void		 jsonx_init_wiping_alloc(void);

#endif
