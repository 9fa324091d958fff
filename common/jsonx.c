/* jsonx: typed, validated access to Jansson values. */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "jsonx.h"
#include "secret.h"
#include "utf8.h"

json_t *
jsonx_parse(const char *buf, size_t len, struct err *e)
{
	json_error_t	 je;
	json_t		*v;

	if (buf == NULL || len == 0) {
		err_set(e, 400, "bad_json", "request body is empty, expected JSON");
		return NULL;
	}
	v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (v == NULL)
		err_set(e, 400, "bad_json", "malformed JSON at line %d column %d: %s",
		    je.line, je.column, je.text);
	return v;
}

json_t *
jsonx_parse_object(const char *buf, size_t len, struct err *e)
{
	json_t *v;

	if ((v = jsonx_parse(buf, len, e)) == NULL)
		return NULL;
	if (!json_is_object(v)) {
		json_decref(v);
		err_set(e, 400, "bad_json", "expected a JSON object");
		return NULL;
	}
	return v;
}

static json_t *
jsonx_field(const json_t *obj, const char *key, int required, struct err *e, int *rc)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	*rc = 0;
	if (v == NULL || json_is_null(v)) {
		if (required)
			*rc = err_set(e, 400, "missing_field", "field '%s' is required", key);
		return NULL;
	}
	return v;
}

int
jsonx_get_str(const json_t *obj, const char *key, int required, const char **out,
    struct err *e)
{
	json_t	*v;
	int	 rc;

	if ((v = jsonx_field(obj, key, required, e, &rc)) == NULL)
		return rc;
	if (!json_is_string(v))
		return err_set(e, 400, "bad_field", "field '%s' must be a string", key);
	*out = json_string_value(v);
	return 0;
}

const char *
jsonx_str(const json_t *obj, const char *key)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

char *
jsonx_dump(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

int
jsonx_array_has(const json_t *arr, const char *s)
{
	size_t	 i;
	json_t	*v;

	if (s == NULL)
		return 0;
	json_array_foreach(arr, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return 1;
	return 0;
}

json_t *
jsonx_error(const char *code, const char *message)
{
	char text[1024];

	/* err messages are cut at a byte count: keep them valid UTF-8. */
	snprintf(text, sizeof text, "%s", message);
	text[utf8_prefix(text, strlen(text))] = '\0';
	return json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", text);
}

static void
jsonx_wiping_free(void *p)
{
	if (p == NULL)
		return;
	secret_wipe(p, malloc_usable_size(p));
	free(p);
}

void
jsonx_init_wiping_alloc(void)
{
	json_set_alloc_funcs(malloc, jsonx_wiping_free);
}
