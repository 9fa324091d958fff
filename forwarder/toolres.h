/*
 * toolres: a tool call's outcome on its way to the client, kept as the one
 * serialised text of the result. A built-in tool's structured result is
 * serialised once (atlassian.c); the size cap, the credential-echo check
 * and the reply all use that text, which becomes both the MCP text content
 * and structuredContent, or the OpenAPI reply body, without being parsed
 * or dumped again. A tenant MCP backend's CallToolResult arrives as JSON
 * and is serialised once, when rendered.
 */
#ifndef TG_TOOLRES_H
#define TG_TOOLRES_H

#include <stddef.h>

#include <jansson.h>

struct err;
struct buf;

struct toolres {
	int	 is_error;
	char	*text;		/* structured result, compact JSON object text */
	size_t	 len;
	json_t	*call;		/* or a whole CallToolResult (backends, errors) */
};

/* Success with an already-serialised structured result (steals text). */
void	toolres_set_text(struct toolres *, char *text, size_t len);
/* A CallToolResult object (steals it); isError is read from it. */
void	toolres_set_call(struct toolres *, json_t *call);
/* A tool error carrying e's message. */
void	toolres_set_error(struct toolres *, const struct err *);
/* Append the CallToolResult object's members, without the braces, e.g.
 * "content":[...],"structuredContent":{...},"isError":false */
void	toolres_members(const struct toolres *, struct buf *);
/* Wipes and frees; the struct can be reused. */
void	toolres_clear(struct toolres *);

#endif
