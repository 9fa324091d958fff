/*
 * openapi: the OpenAPI tool server (Open WebUI's "tool server" shape):
 * GET /openapi.json (OpenAPI 3.1, generated from toolcat and the
 * caller-independent endpoints), GET /tools, GET /tenants and
 * POST /tools/{tenant}/{tool}/execute for the caller.
 */
#ifndef TG_OPENAPI_H
#define TG_OPENAPI_H

#include <jansson.h>

struct httpd_req;

/* The document (a new reference); the same for every caller. */
json_t	*openapi_document(const char *version);

void	openapi_h_document(struct httpd_req *, void *fwd);
void	openapi_h_tools(struct httpd_req *, void *fwd);
void	openapi_h_tenants(struct httpd_req *, void *fwd);
void	openapi_h_execute(struct httpd_req *, void *fwd);

#endif
