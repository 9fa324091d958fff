/*
 * usertools: the caller's tools. Joins the caller's grants with the
 * built-in catalogue (toolcat) and the tools of their tenants' MCP
 * backends, names each "<tenant>__<tool>", and runs a call after checking
 * it against the grants again (a name alone is never trusted). Shared by
 * the MCP dispatcher and the OpenAPI endpoints.
 */
#ifndef TG_USERTOOLS_H
#define TG_USERTOOLS_H

#include <stddef.h>

#include <jansson.h>

struct err;
struct fwd_req;
struct toolres;

#define USERTOOLS_SEP	"__"
/* How long tools/list waits for one tenant MCP backend's tool list. */
#define USERTOOLS_LIST_BACKEND_MS	3000

/* Every tool the caller may use, as MCP tool objects (name, title,
 * description, inputSchema, annotations). A backend that fails is left out
 * (logged); the caller's own grants failing is an error. */
json_t	*usertools_list(struct fwd_req *, struct err *);
/* The same list as JSON array text (*len bytes, caller frees): built from
 * the per-tenant fragments of builtin.c, for MCP tools/list. */
char	*usertools_list_text(struct fwd_req *, size_t *len, struct err *);

/*
 * Run tenant's tool with args. -1 when the call is refused before anything
 * runs: 403 not_member (tenant not the caller's), 404 unknown_tool, 403
 * tool_not_granted (e.g. a write tool for a viewer), or the caller's grants
 * could not be resolved (401/503). 0 with *result set (a built-in tool's
 * result is its one serialised text; see toolres.h); when result->is_error,
 * e holds the failure (status and code) for callers that map it to HTTP.
 * The caller toolres_clear()s result.
 */
int	usertools_call(struct fwd_req *, const char *tenant, const char *tool,
	    const json_t *args, struct toolres *result, struct err *);

/* "google__jira_search" -> tenant "google", tool "jira_search". */
int	usertools_split(const char *name, char *tenant, size_t tsz, const char **tool);

/* CallToolResult for a success (steals structured) or a failure. */
json_t	*usertools_result_ok(json_t *structured);
json_t	*usertools_result_error(const struct err *);

#endif
