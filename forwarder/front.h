/*
 * front: the forwarder's HTTP surface: the route table, the checks every
 * caller-facing request passes (Origin, user identity, grants), the MCP
 * endpoint and the operational ones (/health, /readyz, /metrics).
 */
#ifndef TG_FRONT_H
#define TG_FRONT_H

#include "httpd.h"

struct err;
struct fwd;
struct fwdconf;
struct fwd_req;

#define FRONT_ASSERTION_MAX	16384
/* A request may take upstream_timeout plus this, from arrival to reply. */
#define FRONT_DEADLINE_MARGIN_MS 500
/* /readyz stays ready this long after the broker last answered. */
#define FRONT_READY_GRACE_MS	30000
#define FRONT_VERSION		"0.1.0"

extern const struct httpd_route front_routes[];

/* JSON-RPC error code for a 401 on /mcp (implementation-defined range). */
#define FRONT_RPC_UNAUTHORIZED	-32000

/*
 * Start a caller-facing request: identity (X-OpenWebUI-User-Jwt, else
 * Authorization: Bearer) and the caller's grants. On failure the reply
 * (401 with WWW-Authenticate, 502/503) has been sent and -1 returned;
 * on success call fwd_req_done() at the end. jsonrpc: errors in JSON-RPC
 * shape (for /mcp) instead of {"error":{code,message}}.
 */
int	front_begin(struct httpd_req *, struct fwd *, struct fwd_req *, int jsonrpc);
/* Reply with an error: our API shape, or JSON-RPC with data {status,code}. */
void	front_fail(struct httpd_req *, int jsonrpc, const struct err *);
/* 401 with WWW-Authenticate (RFC 9728 resource_metadata and scope when
 * resource_url is set; the error's code and message in the body). */
void	front_unauthorized(struct httpd_req *, const struct fwdconf *, int jsonrpc,
	    const struct err *);
/* Record the request's latency. */
void	front_observe(struct httpd_req *, struct fwd *);
/* Is this Origin allowed to call us (loopback or allowed_origins)? */
int	front_origin_ok(const char *origin, char *const *allowed);
/* Is this Host header acceptable (DNS rebinding)? Loopback names always;
 * others if listed in allowed, or if allowed is unset and we listen on a
 * non-loopback address too. */
int	front_host_ok(const char *host, char *const *allowed, char *const *listen);
/* The user token from the request headers, or NULL. */
const char *front_assertion(struct httpd_req *);

#endif
