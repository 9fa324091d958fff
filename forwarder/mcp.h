/*
 * mcp: the JSON-RPC 2.0 dispatcher behind POST /mcp, for both revisions
 * clients use: 2025-11-25 (and the earlier handshake revisions: initialize,
 * notifications/initialized, ping; stateless, so no Mcp-Session-Id is
 * issued) and 2026-07-28 (per-request envelope in params._meta, routing
 * headers, server/discover). It knows nothing of HTTP beyond the headers
 * it is handed and the status it picks; tools come through mcp_ops.
 */
#ifndef TG_MCP_H
#define TG_MCP_H

#include <stddef.h>

#include <jansson.h>

struct err;
struct toolres;

#define MCP_MODERN_VERSION	"2026-07-28"
#define MCP_HANDSHAKE_LATEST	"2025-11-25"
#define MCP_MAX_BATCH		32

/* JSON-RPC and MCP error codes. */
#define MCP_PARSE_ERROR		-32700
#define MCP_INVALID_REQUEST	-32600
#define MCP_METHOD_NOT_FOUND	-32601
#define MCP_INVALID_PARAMS	-32602
#define MCP_INTERNAL_ERROR	-32603
#define MCP_HEADER_MISMATCH	-32020
#define MCP_UNSUPPORTED_VERSION	-32022

struct mcp_in {
	const char	*body;
	size_t		 len;
	const char	*protocol_version;	/* MCP-Protocol-Version header */
	const char	*method_hdr;		/* Mcp-Method header */
	const char	*name_hdr;		/* Mcp-Name header */
};

struct mcp_out {
	int	 status;		/* HTTP status */
	char	*body;			/* NULL: no body (202 Accepted); caller frees */
	size_t	 len;
	char	 version[16];		/* the revision the request was served at */
};

struct mcp_ops {
	void		*arg;
	const char	*server_name;
	const char	*server_version;
	const char	*instructions;
	/* tools/list: the MCP tool objects as JSON array text (caller frees,
	 * *len bytes), or NULL with e. Written into the reply as it is. */
	char		*(*list)(void *arg, size_t *len, struct err *);
	/* tools/call: 0 with the result in res (its serialised text goes into
	 * the reply as it is); -1 with e when refused before running (403/404:
	 * unknown to this caller) or on an internal fault. */
	int		 (*call)(void *arg, const char *name, const json_t *args,
			    struct toolres *res, struct err *);
};

void	mcp_handle(const struct mcp_in *, const struct mcp_ops *, struct mcp_out *);
/* Is this a revision we serve (handshake or modern)? */
int	mcp_version_known(const char *);

#endif
