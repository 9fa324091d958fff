/*
 * toolcat: what the broker needs to know of the built-in tools, one row
 * each: name, integration kind and read/write. The broker reads it to
 * decide which tools a role may use (viewer = read tools only). The rest of
 * each tool's row (schema, upstream method and path, query map, trimmer)
 * is the forwarder's own (forwarder/builtin.c), indexed by the same
 * toolcat_id so the two halves of a row cannot drift apart. Tools of a
 * tenant's own MCP backend are not here: they are discovered at run time.
 */
#ifndef TG_TOOLCAT_H
#define TG_TOOLCAT_H

#include <stddef.h>

enum tool_access { TOOL_READ, TOOL_WRITE };

enum toolcat_id {
	TC_JIRA_SEARCH,
	TC_JIRA_GET_ISSUE,
	TC_JIRA_CREATE_ISSUE,
	TC_JIRA_ADD_COMMENT,
	TC_JIRA_GET_TRANSITIONS,
	TC_JIRA_TRANSITION_ISSUE,
	TC_CONFLUENCE_SEARCH,
	TC_CONFLUENCE_GET_PAGE,
	TC__COUNT
};

struct toolcat_entry {
	const char	*name;		/* "jira_search" */
	const char	*kind;		/* integration kind: "jira" | "confluence" */
	enum tool_access access;
};

/* Indexed by enum toolcat_id. */
extern const struct toolcat_entry toolcat[TC__COUNT];
extern const size_t toolcat_len;

const struct toolcat_entry *toolcat_find(const char *name);
/* May a member with `role` (viewer|editor|admin) use this tool? */
int	toolcat_role_allows(const char *role, enum tool_access);
/* Is `kind` one we have built-in tools for (jira, confluence)? */
int	toolcat_kind_known(const char *kind);

#endif
