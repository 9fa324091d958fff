/*
 * openapi: the OpenAPI 3.1 document and the seed's REST endpoints. Each
 * toolcat row becomes one operation (/tools/{tenant}/<tool>/execute, its
 * JSON Schema as the request body), so an OpenAPI client sees typed tools;
 * a generic /tools/{tenant}/{tool}/execute reaches tenant MCP backends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "err.h"
#include "front.h"
#include "fwd.h"
#include "grants.h"
#include "httpd.h"
#include "jsonx.h"
#include "log.h"
#include "openapi.h"
#include "toolres.h"
#include "toolcat.h"
#include "usertools.h"

/* Everything but the paths and the version, as JSON text: easier to read
 * (and to get right) than a json_pack() format. */
static const char openapi_skeleton[] =
"{\"openapi\":\"3.1.0\","
" \"info\":{\"title\":\"tenantgate tool server\",\"version\":\"\","
"  \"description\":\"Jira, Confluence and tenant MCP tools, each run with the tenant's own "
"credentials, for the tenants you belong to. Tool names are <tenant>__<tool>.\"},"
" \"security\":[{\"bearerAuth\":[]},{\"openWebUiUserJwt\":[]}],"
" \"components\":{"
"  \"securitySchemes\":{"
"   \"bearerAuth\":{\"type\":\"http\",\"scheme\":\"bearer\"},"
"   \"openWebUiUserJwt\":{\"type\":\"apiKey\",\"in\":\"header\",\"name\":\"X-OpenWebUI-User-Jwt\"}},"
"  \"schemas\":{"
"   \"Error\":{\"type\":\"object\",\"properties\":{\"error\":{\"type\":\"object\","
"    \"properties\":{\"code\":{\"type\":\"string\"},\"message\":{\"type\":\"string\"}}}}},"
"   \"ToolList\":{\"type\":\"object\",\"properties\":{\"user\":{\"type\":\"string\"},"
"    \"tools\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
"     \"name\":{\"type\":\"string\"},\"tenant\":{\"type\":\"string\"},"
"     \"tool\":{\"type\":\"string\"},\"title\":{\"type\":\"string\"},"
"     \"description\":{\"type\":\"string\"},\"input_schema\":{\"type\":\"object\"},"
"     \"read_only\":{\"type\":\"boolean\"},\"execute\":{\"type\":\"string\"}}}}}},"
"   \"TenantList\":{\"type\":\"object\",\"properties\":{\"user\":{\"type\":\"string\"},"
"    \"tenants\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
"     \"tenant\":{\"type\":\"string\"},\"role\":{\"type\":\"string\"},"
"     \"integrations\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
"      \"name\":{\"type\":\"string\"},\"kind\":{\"type\":\"string\"}}}}}}}}}}}}";

static json_t *
openapi_error_response(const char *desc)
{
	return json_pack("{s:s,s:{s:{s:{s:s}}}}", "description", desc, "content",
	    "application/json", "schema", "$ref", "#/components/schemas/Error");
}

static json_t *
openapi_responses(const char *ok_desc, json_t *ok_schema)
{
	return json_pack("{s:{s:s,s:{s:{s:o}}},s:o,s:o,s:o,s:o,s:o}",
	    "200", "description", ok_desc, "content", "application/json", "schema", ok_schema,
	    "401", openapi_error_response("No or refused user identity"),
	    "403", openapi_error_response("Not a member of the tenant, or the tool is not "
	    "granted to your role"),
	    "404", openapi_error_response("Unknown tool, or the item was not found upstream"),
	    "502", openapi_error_response("The upstream (Atlassian, MCP backend) failed"),
	    "503", openapi_error_response("The broker is unavailable"));
}

json_t *
openapi_document(const char *version)
{
	json_t	*paths = json_object(), *doc;
	json_t	*tenant_param = json_pack("{s:s,s:s,s:b,s:s,s:{s:s}}", "name", "tenant", "in",
		    "path", "required", 1, "description", "Tenant slug, one of GET /tenants",
		    "schema", "type", "string");

	json_object_set_new(paths, "/tools", json_pack("{s:{s:s,s:s,s:s,s:o}}", "get",
	    "operationId", "list_my_tools", "summary", "The tools you may use",
	    "description", "Every tool of every tenant you belong to, named <tenant>__<tool>.",
	    "responses", openapi_responses("Your tools", json_pack("{s:s}", "$ref",
	    "#/components/schemas/ToolList"))));
	json_object_set_new(paths, "/tenants", json_pack("{s:{s:s,s:s,s:o}}", "get",
	    "operationId", "list_my_tenants", "summary", "The tenants you belong to",
	    "responses", openapi_responses("Your tenants", json_pack("{s:s}", "$ref",
	    "#/components/schemas/TenantList"))));
	for (size_t i = 0; i < toolcat_len; i++) {
		const struct toolcat_entry	*te = &toolcat[i];
		const struct builtin		*b = builtin_of(te);
		json_t				*schema = (json_t *)builtin_schema(te);
		char				 path[160], desc[1024], up[512];

		builtin_upstream(te, up, sizeof up);
		snprintf(path, sizeof path, "/tools/{tenant}/%s/execute", te->name);
		snprintf(desc, sizeof desc, "%s (%s, %s). Upstream: %s.", b->description,
		    te->kind, te->access == TOOL_READ ? "read" : "write", up);
		json_object_set_new(paths, path, json_pack("{s:{s:s,s:s,s:s,s:[O],"
		    "s:{s:b,s:{s:{s:O}}},s:o}}", "post", "operationId", te->name, "summary",
		    b->title, "description", desc, "parameters", tenant_param, "requestBody",
		    "required", 1, "content", "application/json", "schema",
		    schema, "responses",
		    openapi_responses("The trimmed result", json_pack("{s:s}", "type",
		    "object"))));
	}
	json_object_set_new(paths, "/tools/{tenant}/{tool}/execute", json_pack(
	    "{s:{s:s,s:s,s:s,s:[O,{s:s,s:s,s:b,s:s,s:{s:s}}],s:{s:b,s:{s:{s:{s:s}}}},s:o}}",
	    "post", "operationId", "execute_tool", "summary", "Run any of your tools",
	    "description", "Runs a tool listed by GET /tools (including tools of a tenant's own "
	    "MCP server) with JSON arguments.", "parameters", tenant_param, "name", "tool",
	    "in", "path", "required", 1, "description", "Tool name without the tenant prefix",
	    "schema", "type", "string", "requestBody", "required", 1, "content",
	    "application/json", "schema", "type", "object", "responses",
	    openapi_responses("The tool's result", json_pack("{s:s}", "type", "object"))));
	json_decref(tenant_param);

	doc = json_loads(openapi_skeleton, 0, NULL);
	if (doc == NULL) {
		json_decref(paths);
		return NULL;
	}
	json_object_set_new(json_object_get(doc, "info"), "version", json_string(version));
	json_object_set_new(doc, "paths", paths);
	return doc;
}

void
openapi_h_document(struct httpd_req *r, void *arg)
{
	json_t *doc = openapi_document(FRONT_VERSION);

	(void)arg;
	if (doc == NULL) {
		httpd_reply_error(r, 500, "internal", "cannot build the OpenAPI document");
		return;
	}
	httpd_reply_json(r, 200, doc);
}

void
openapi_h_tools(struct httpd_req *r, void *arg)
{
	struct fwd_req	 fr;
	struct err	 e;
	json_t		*list, *out, *t;
	size_t		 i;

	if (front_begin(r, arg, &fr, 0) == -1)
		return;
	err_clear(&e);
	if ((list = usertools_list(&fr, &e)) == NULL) {
		httpd_reply_err(r, &e);
		fwd_req_done(&fr);
		return;
	}
	out = json_array();
	json_array_foreach(list, i, t) {
		char		 tenant[64];
		const char	*tool, *name = jsonx_str(t, "name");
		char		 exec[256];

		if (name == NULL || usertools_split(name, tenant, sizeof tenant, &tool) == -1)
			continue;
		snprintf(exec, sizeof exec, "/tools/%s/%s/execute", tenant, tool);
		json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:s?,s:s?,s:O,s:b,s:s}",
		    "name", name, "tenant", tenant, "tool", tool, "title", jsonx_str(t, "title"),
		    "description", jsonx_str(t, "description"), "input_schema",
		    json_object_get(t, "inputSchema"), "read_only",
		    json_is_true(json_object_get(json_object_get(t, "annotations"),
		    "readOnlyHint")), "execute", exec));
	}
	json_decref(list);
	httpd_reply_json(r, 200, json_pack("{s:s?,s:o}", "user", fr.gs->user, "tools", out));
	fwd_req_done(&fr);
	front_observe(r, arg);
}

void
openapi_h_tenants(struct httpd_req *r, void *arg)
{
	struct fwd_req	 fr;
	json_t		*list;

	if (front_begin(r, arg, &fr, 0) == -1)
		return;
	list = json_array();
	for (size_t i = 0; i < fr.gs->n; i++) {
		const struct grant	*g = &fr.gs->g[i];
		json_t			*ints = json_array();

		for (size_t k = 0; k < g->ninteg; k++)
			json_array_append_new(ints, json_pack("{s:s,s:s}", "name", g->integ[k].name,
			    "kind", g->integ[k].kind));
		json_array_append_new(list, json_pack("{s:s,s:s,s:o}", "tenant", g->tenant, "role",
		    g->role, "integrations", ints));
	}
	httpd_reply_json(r, 200, json_pack("{s:s?,s:o}", "user", fr.gs->user, "tenants", list));
	fwd_req_done(&fr);
}

/* POST /tools/{tenant}/{tool}/execute */
void
openapi_h_execute(struct httpd_req *r, void *arg)
{
	const char	*path = httpd_path(r), *body;
	char		 tenant[64], tool[128];
	struct fwd_req	 fr;
	struct err	 e;
	json_t		*args = NULL, *sc;
	struct toolres	 res;
	size_t		 len;
	int		 n = 0;

	if (sscanf(path, "/tools/%63[^/]/%127[^/]/execute%n", tenant, tool, &n) != 2 ||
	    path[n] != '\0') {
		httpd_reply_error(r, 404, "not_found", "no such endpoint: %.100s (use "
		    "/tools/{tenant}/{tool}/execute)", path);
		return;
	}
	if (front_begin(r, arg, &fr, 0) == -1)
		return;
	err_clear(&e);
	memset(&res, 0, sizeof res);
	body = httpd_body(r, &len);
	if (len == 0)
		args = json_object();
	else if ((args = jsonx_parse(body, len, &e)) == NULL) {
		httpd_reply_err(r, &e);
		goto out;
	}
	metrics_inc(&fr.fwd->metrics[FM_TOOL_CALLS]);
	if (usertools_call(&fr, tenant, tool, args, &res, &e) == -1) {
		log_info("execute %s/%s: refused: %s", tenant, tool, e.code);
		httpd_reply_err(r, &e);
		goto out;
	}
	if (res.is_error) {
		metrics_inc(&fr.fwd->metrics[FM_TOOL_ERRORS]);
		log_info("execute %s/%s: tool error %s", tenant, tool, e.code);
		httpd_reply_err(r, &e);
		goto out;
	}
	log_info("execute %s/%s: ok", tenant, tool);
	if (res.text != NULL) {
		/* The one serialised result becomes the body as it is. */
		httpd_reply_take(r, 200, "application/json", res.text, res.len);
		res.text = NULL;
	} else if ((sc = json_object_get(res.call, "structuredContent")) != NULL &&
	    json_is_object(sc))
		httpd_reply_json(r, 200, json_incref(sc));
	else
		httpd_reply_json(r, 200, json_pack("{s:O}", "content",
		    json_object_get(res.call, "content")));
out:
	toolres_clear(&res);
	json_decref(args);
	fwd_req_done(&fr);
	front_observe(r, arg);
}
