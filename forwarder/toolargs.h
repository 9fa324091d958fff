/*
 * toolargs: checks a tool call's arguments against the tool's JSON Schema
 * (the subset toolcat uses: object, properties, required,
 * additionalProperties, type, pattern, min/maxLength, minimum/maximum), so
 * a wrong argument becomes a clear message before anything goes upstream.
 */
#ifndef TG_TOOLARGS_H
#define TG_TOOLARGS_H

#include <jansson.h>

struct err;

/* 0 if args satisfy schema; -1 with a 400 "bad_arguments" err naming the
 * first offending argument. */
int	toolargs_check(const json_t *schema, const json_t *args, struct err *);

#endif
