/*
 * toolargs: checks a tool call's arguments against the tool's JSON Schema
 * (the subset the built-in tools use: object, properties, required,
 * additionalProperties, type, pattern, min/maxLength, minimum/maximum,
 * default), so a wrong argument becomes a clear message before anything
 * goes upstream. A schema is compiled once (patterns to regex_t), then
 * checked against many calls.
 */
#ifndef TG_TOOLARGS_H
#define TG_TOOLARGS_H

#include <jansson.h>

struct err;
struct toolargs;

/* Compile an object schema; NULL with a 500 "bad_schema" err. The result
 * borrows nothing from schema. */
struct toolargs	*toolargs_compile(const json_t *schema, struct err *);
void		 toolargs_free(struct toolargs *);
/* 0 if args satisfy the schema; -1 with a 400 "bad_arguments" err naming
 * the first offending argument. Safe from many threads at once. */
int		 toolargs_check(const struct toolargs *, const json_t *args, struct err *);
/* The schema's "default" of property name, or NULL. */
const json_t	*toolargs_default(const struct toolargs *, const char *name);

#endif
