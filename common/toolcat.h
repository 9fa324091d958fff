/*
 * toolcat: the catalogue of built-in tools, one row each. The broker reads
 * it to decide which tools a role may use (viewer = read tools only); the
 * forwarder reads it for tools/list, the OpenAPI document and its executors;
 * docs/tools.md is generated from it. Tools of a tenant's own MCP backend
 * are not here: they are discovered at run time.
 */
#ifndef TG_TOOLCAT_H
#define TG_TOOLCAT_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

enum tool_access { TOOL_READ, TOOL_WRITE };

struct toolcat_entry {
	const char	*name;		/* "jira_search" */
	const char	*kind;		/* integration kind: "jira" | "confluence" */
	enum tool_access access;
	const char	*title;
	const char	*description;	/* the tenant's name is prefixed when listed */
	const char	*input_schema;	/* JSON Schema, as JSON text */
	const char	*upstream;	/* "GET /rest/api/3/search/jql", for docs */
};

extern const struct toolcat_entry toolcat[];
extern const size_t toolcat_len;

const struct toolcat_entry *toolcat_find(const char *name);
/* The entry's input schema, parsed once per process and shared read-only:
 * json_incref() it to hand it on, never modify it. */
const json_t *toolcat_schema(const struct toolcat_entry *);
/* Markdown reference of every row (docs/tools.md), arguments read from
 * the schemas, so docs and code cannot disagree. */
void	toolcat_docs(FILE *);
/* May a member with `role` (viewer|editor|admin) use this tool? */
int	toolcat_role_allows(const char *role, enum tool_access);
/* Is `kind` one we have built-in tools for (jira, confluence)? */
int	toolcat_kind_known(const char *kind);

#endif
