/*
 * toolargs: a small JSON Schema checker for tool arguments. It knows only
 * the keywords the built-in tools use; unknown keywords are ignored (a
 * schema is a contract we wrote, not untrusted input). Compiling turns each
 * property into a flat row with its pattern already compiled: compiling
 * regexes per call cost more than the check itself.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "toolargs.h"

struct toolargs_prop {
	char		*name;
	char		*type;		/* NULL: any */
	long long	 min_len, max_len;	/* -1: unset */
	int		 has_min, has_max;
	double		 min, max;
	char		*pattern;	/* source, for messages */
	regex_t		 re;
	json_t		*dflt;
};

struct toolargs {
	struct toolargs_prop	*props;
	size_t			 nprops;
	char			**required;
	size_t			 nrequired;
	int			 closed;	/* additionalProperties: false */
};

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

void
toolargs_free(struct toolargs *ta)
{
	if (ta == NULL)
		return;
	for (size_t i = 0; i < ta->nprops; i++) {
		struct toolargs_prop *p = &ta->props[i];

		if (p->pattern != NULL)
			regfree(&p->re);
		free(p->pattern);
		free(p->name);
		free(p->type);
		json_decref(p->dflt);
	}
	for (size_t i = 0; i < ta->nrequired; i++)
		free(ta->required[i]);
	free(ta->required);
	free(ta->props);
	free(ta);
}

static int
toolargs_compile_prop(struct toolargs_prop *p, const char *name, const json_t *s,
    struct err *e)
{
	const json_t *kw;

	p->min_len = p->max_len = -1;
	if ((p->name = strdup(name)) == NULL)
		return err_set(e, 500, "nomem", "out of memory");
	if (json_is_string(kw = json_object_get(s, "type")) &&
	    (p->type = strdup(json_string_value(kw))) == NULL)
		return err_set(e, 500, "nomem", "out of memory");
	if (json_is_integer(kw = json_object_get(s, "minLength")))
		p->min_len = json_integer_value(kw);
	if (json_is_integer(kw = json_object_get(s, "maxLength")))
		p->max_len = json_integer_value(kw);
	if (json_is_number(kw = json_object_get(s, "minimum"))) {
		p->has_min = 1;
		p->min = json_number_value(kw);
	}
	if (json_is_number(kw = json_object_get(s, "maximum"))) {
		p->has_max = 1;
		p->max = json_number_value(kw);
	}
	if ((kw = json_object_get(s, "default")) != NULL)
		p->dflt = json_deep_copy(kw);
	if (json_is_string(kw = json_object_get(s, "pattern"))) {
		if (regcomp(&p->re, json_string_value(kw), REG_EXTENDED | REG_NOSUB) != 0)
			return err_set(e, 500, "bad_schema", "the schema of argument '%s' has a "
			    "pattern this server cannot compile", name);
		if ((p->pattern = strdup(json_string_value(kw))) == NULL) {
			regfree(&p->re);
			return err_set(e, 500, "nomem", "out of memory");
		}
	}
	return 0;
}

struct toolargs *
toolargs_compile(const json_t *schema, struct err *e)
{
	const json_t	*props = json_object_get(schema, "properties");
	const json_t	*req = json_object_get(schema, "required");
	struct toolargs	*ta;
	const char	*k;
	json_t		*v;
	size_t		 i;

	if (!json_is_object(schema)) {
		err_set(e, 500, "bad_schema", "a tool schema must be a JSON object");
		return NULL;
	}
	if ((ta = calloc(1, sizeof *ta)) == NULL ||
	    (ta->props = calloc(json_object_size(props) + 1, sizeof *ta->props)) == NULL ||
	    (ta->required = calloc(json_array_size(req) + 1, sizeof *ta->required)) == NULL) {
		toolargs_free(ta);
		err_set(e, 500, "nomem", "out of memory");
		return NULL;
	}
	ta->closed = json_is_false(json_object_get(schema, "additionalProperties"));
	json_object_foreach((json_t *)props, k, v) {
		if (toolargs_compile_prop(&ta->props[ta->nprops++], k, v, e) == -1) {
			toolargs_free(ta);
			return NULL;
		}
	}
	json_array_foreach(req, i, v) {
		if (!json_is_string(v))
			continue;
		if ((ta->required[ta->nrequired++] = strdup(json_string_value(v))) == NULL) {
			toolargs_free(ta);
			err_set(e, 500, "nomem", "out of memory");
			return NULL;
		}
	}
	return ta;
}

static const struct toolargs_prop *
toolargs_prop(const struct toolargs *ta, const char *name)
{
	for (size_t i = 0; i < ta->nprops; i++)
		if (strcmp(ta->props[i].name, name) == 0)
			return &ta->props[i];
	return NULL;
}

const json_t *
toolargs_default(const struct toolargs *ta, const char *name)
{
	const struct toolargs_prop *p = toolargs_prop(ta, name);

	return p != NULL ? p->dflt : NULL;
}

static int
toolargs_value(const struct toolargs_prop *p, const json_t *v, struct err *e)
{
	const char *name = p->name;

	if (p->type != NULL && !toolargs_type_ok(p->type, v))
		return err_set(e, 400, "bad_arguments", "argument '%s' must be %s %s, not %s",
		    name, strcmp(p->type, "integer") == 0 || strcmp(p->type, "object") == 0 ||
		    strcmp(p->type, "array") == 0 ? "an" : "a", p->type, toolargs_type_of(v));
	if (json_is_string(v)) {
		size_t len = toolargs_utf8_len(json_string_value(v));

		if (p->min_len >= 0 && len < (size_t)p->min_len)
			return err_set(e, 400, "bad_arguments", "argument '%s' must be at least "
			    "%lld characters", name, p->min_len);
		if (p->max_len >= 0 && len > (size_t)p->max_len)
			return err_set(e, 400, "bad_arguments", "argument '%s' must be at most "
			    "%lld characters", name, p->max_len);
		if (p->pattern != NULL && regexec(&p->re, json_string_value(v), 0, NULL, 0) != 0)
			return err_set(e, 400, "bad_arguments", "argument '%s' does not match the "
			    "pattern %.80s", name, p->pattern);
	}
	if (json_is_number(v)) {
		double d = json_number_value(v);

		if (p->has_min && d < p->min)
			return err_set(e, 400, "bad_arguments", "argument '%s' must be at least %g",
			    name, p->min);
		if (p->has_max && d > p->max)
			return err_set(e, 400, "bad_arguments", "argument '%s' must be at most %g",
			    name, p->max);
	}
	return 0;
}

int
toolargs_check(const struct toolargs *ta, const json_t *args, struct err *e)
{
	const struct toolargs_prop	*p;
	const char			*k;
	json_t				*v;

	if (!json_is_object(args))
		return err_set(e, 400, "bad_arguments", "arguments must be a JSON object, not %s",
		    toolargs_type_of(args));
	for (size_t i = 0; i < ta->nrequired; i++)
		if (json_object_get(args, ta->required[i]) == NULL)
			return err_set(e, 400, "bad_arguments", "argument '%s' is required",
			    ta->required[i]);
	json_object_foreach((json_t *)args, k, v) {
		if ((p = toolargs_prop(ta, k)) == NULL) {
			if (ta->closed)
				return err_set(e, 400, "bad_arguments", "unknown argument '%.60s'", k);
			continue;
		}
		if (toolargs_value(p, v, e) == -1)
			return -1;
	}
	return 0;
}
