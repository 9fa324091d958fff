/*
 * backend_mcp: the forwarder as an MCP client of a tenant's own MCP server
 * (integration kind "mcp"), over Streamable HTTP. It discovers the
 * backend's revision once (server/discover for 2026-07-28, else the
 * initialize handshake), injects the tenant's header on every request, and
 * caches the backend's tool list for backend_tools_ttl.
 */
#ifndef TG_BACKEND_MCP_H
#define TG_BACKEND_MCP_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "secret.h"

struct err;
struct fwdconf;
struct backend_cache;

struct backend_target {
	const char	*tenant;
	const char	*integ;		/* integration name */
	const char	*url;		/* the backend's MCP endpoint */
	const secret_t	*auth;		/* header line with the tenant credential */
};

struct backend_cache	*backend_mcp_new(void);
void			 backend_mcp_free(struct backend_cache *);

/* The backend's tools as it lists them (a new reference to an array of
 * tool objects with valid names). Errors: 502/504 backend_*. */
int	backend_mcp_tools(struct backend_cache *, const struct fwdconf *,
	    const struct backend_target *, json_t **tools, struct err *);
/* tools/call on the backend: *result is its CallToolResult object. */
int	backend_mcp_call(struct backend_cache *, const struct fwdconf *,
	    const struct backend_target *, const char *tool, const json_t *args,
	    json_t **result, struct err *);
/* Janitor: drop expired tool lists. */
void	backend_mcp_sweep(struct backend_cache *, time_t now);
/* Change feed: forget the tool lists of the tenants and integrations the
 * set names (tenant or integration changed); returns how many. */
struct dropset;
size_t	backend_mcp_drop(struct backend_cache *, const struct dropset *);

/* The JSON-RPC response with this id from a JSON or SSE body (exposed for
 * unit tests); NULL if none. */
json_t	*backend_mcp_parse(const char *body, size_t len, const char *content_type,
	    json_int_t id);

#endif
