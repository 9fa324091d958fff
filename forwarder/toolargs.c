/*
 * toolargs: a small JSON Schema checker for tool arguments. It knows only
 * the keywords the built-in catalogue uses; unknown keywords are ignored
 * (a schema is a contract we wrote, not untrusted input).
 */
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "toolargs.h"

static const char *
toolargs_type_of(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "?";
}

static int
toolargs_type_ok(const char *type, const json_t *v)
{
	if (strcmp(type, "object") == 0)
		return json_is_object(v);
	if (strcmp(type, "array") == 0)
		return json_is_array(v);
	if (strcmp(type, "string") == 0)
		return json_is_string(v);
	if (strcmp(type, "integer") == 0)
		return json_is_integer(v);
	if (strcmp(type, "number") == 0)
		return json_is_number(v);
	if (strcmp(type, "boolean") == 0)
		return json_is_boolean(v);
	if (strcmp(type, "null") == 0)
		return json_is_null(v);
	return 1;
}

/* Code points, not bytes, as JSON Schema counts them. */
static size_t
toolargs_utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static int
toolargs_value(const json_t *schema, const json_t *v, const char *name, struct err *e)
{
	const json_t	*t = json_object_get(schema, "type");
	const json_t	*kw;

	if (json_is_string(t) && !toolargs_type_ok(json_string_value(t), v))
		return err_set(e, 400, "bad_arguments", "argument '%s' must be %s %s, not %s",
		    name, strcmp(json_string_value(t), "integer") == 0 ||
		    strcmp(json_string_value(t), "object") == 0 ||
		    strcmp(json_string_value(t), "array") == 0 ? "an" : "a",
		    json_string_value(t), toolargs_type_of(v));
	if (json_is_string(v)) {
		size_t len = toolargs_utf8_len(json_string_value(v));

		if (json_is_integer(kw = json_object_get(schema, "minLength")) &&
		    len < (size_t)json_integer_value(kw))
			return err_set(e, 400, "bad_arguments", "argument '%s' must be at least "
			    "%lld characters", name, (long long)json_integer_value(kw));
		if (json_is_integer(kw = json_object_get(schema, "maxLength")) &&
		    len > (size_t)json_integer_value(kw))
			return err_set(e, 400, "bad_arguments", "argument '%s' must be at most "
			    "%lld characters", name, (long long)json_integer_value(kw));
		if (json_is_string(kw = json_object_get(schema, "pattern"))) {
			regex_t	re;
			int	rc;

			if (regcomp(&re, json_string_value(kw), REG_EXTENDED | REG_NOSUB) != 0)
				return err_set(e, 500, "bad_schema", "the schema of argument '%s' "
				    "has a pattern this server cannot compile", name);
			rc = regexec(&re, json_string_value(v), 0, NULL, 0);
			regfree(&re);
			if (rc != 0)
				return err_set(e, 400, "bad_arguments", "argument '%s' does not "
				    "match the pattern %.80s", name, json_string_value(kw));
		}
	}
	if (json_is_number(v)) {
		double d = json_number_value(v);

		if (json_is_number(kw = json_object_get(schema, "minimum")) &&
		    d < json_number_value(kw))
			return err_set(e, 400, "bad_arguments", "argument '%s' must be at least %g",
			    name, json_number_value(kw));
		if (json_is_number(kw = json_object_get(schema, "maximum")) &&
		    d > json_number_value(kw))
			return err_set(e, 400, "bad_arguments", "argument '%s' must be at most %g",
			    name, json_number_value(kw));
	}
	return 0;
}

int
toolargs_check(const json_t *schema, const json_t *args, struct err *e)
{
	const json_t	*props = json_object_get(schema, "properties");
	const json_t	*req = json_object_get(schema, "required");
	const json_t	*addl = json_object_get(schema, "additionalProperties");
	const json_t	*v, *ps;
	const char	*k;
	size_t		 i;

	if (!json_is_object(args))
		return err_set(e, 400, "bad_arguments", "arguments must be a JSON object, not %s",
		    toolargs_type_of(args));
	json_array_foreach(req, i, v) {
		if (json_is_string(v) && json_object_get(args, json_string_value(v)) == NULL)
			return err_set(e, 400, "bad_arguments", "argument '%s' is required",
			    json_string_value(v));
	}
	json_object_foreach((json_t *)args, k, v) {
		ps = json_object_get(props, k);
		if (ps == NULL) {
			if (json_is_false(addl))
				return err_set(e, 400, "bad_arguments", "unknown argument '%.60s'", k);
			continue;
		}
		if (toolargs_value(ps, v, k, e) == -1)
			return -1;
	}
	return 0;
}
