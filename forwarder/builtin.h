/*
 * builtin: the built-in Atlassian tools, one row each. common/toolcat.c
 * holds the part the broker needs (name, kind, read/write); this table,
 * indexed by the same toolcat_id, holds the rest: title, description,
 * JSON Schema, upstream method, path template, query map, body builder and
 * result trimmer. atlassian.c builds every request from a row with one
 * generic builder; tools/list, the OpenAPI document, --tool-catalogue and
 * docs/tools.md read the same rows.
 *
 * Everything derivable from the table is computed once per process:
 * parsed schemas, compiled argument checkers (regexes), the schema texts,
 * and per tenant the tools/list fragment of each tool.
 */
#ifndef TG_BUILTIN_H
#define TG_BUILTIN_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "toolcat.h"

struct buf;
struct toolargs;

#define BUILTIN_QUERY_MAX	4

/* One upstream query parameter: from a tool argument (or, when the caller
 * left it out, the schema's default; with neither, the parameter is left
 * out), or a fixed value. */
struct builtin_query {
	const char	*param;		/* upstream name: "maxResults" */
	const char	*arg;		/* tool argument, or NULL */
	const char	*fixed;		/* the value when arg is NULL */
};

typedef json_t *(*builtin_body_fn)(const json_t *args);
struct jscan;
/* Writes the result object for the scanned answer's value up (-1: the
 * answer was empty) as compact JSON text to out (forwarder/jscan.h). */
typedef void (*builtin_trim_fn)(const struct jscan *, int up, const char *base,
    const json_t *args, struct buf *out);

struct builtin {
	const char		*title;
	const char		*description;	/* the tenant's name is prefixed when listed */
	const char		*input_schema;	/* JSON Schema, as JSON text */
	const char		*method;
	const char		*path;		/* "{arg}" = the URL-encoded argument */
	struct builtin_query	 query[BUILTIN_QUERY_MAX + 1];	/* ends at param NULL */
	builtin_body_fn		 body;		/* JSON body; NULL: none */
	builtin_trim_fn		 trim;
	const char		*what;		/* for messages: "issue {issue_key}" */
};

/* Indexed by enum toolcat_id. */
extern const struct builtin builtin[TC__COUNT];

const struct builtin	*builtin_of(const struct toolcat_entry *);
/* Parsed once, shared read-only: json_incref() to hand it on. */
const json_t		*builtin_schema(const struct toolcat_entry *);
const struct toolargs	*builtin_args(const struct toolcat_entry *);
/* "GET /rest/api/3/search/jql?jql={jql}&...": the request a row sends. */
void			 builtin_upstream(const struct toolcat_entry *, char *buf, size_t sz);

/* The MCP tool object of te in tenant, as JSON. */
json_t	*builtin_tool_json(const char *tenant, const struct toolcat_entry *);
/* The same object as JSON text, appended to out; built once per tenant
 * and tool, then copied. */
void	 builtin_tool_fragment(const char *tenant, const struct toolcat_entry *,
	    struct buf *out);

/* Markdown reference of every row (docs/tools.md). */
void	 builtin_docs(FILE *);
/* Every row as JSON (--tool-catalogue): for docs and test stand-ins. */
json_t	*builtin_catalogue(void);

#endif
