/* fuzz_mcp: any body (and protocol version) through the MCP dispatcher,
 * with tools that answer like the forwarder's. Must never crash or leak,
 * and must always produce a JSON-RPC answer or a bodiless 202. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "err.h"
#include "mcp.h"
#include "toolres.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
fz_list(void *arg, size_t *len, struct err *e)
{
	static const char list[] = "[{\"name\":\"google__jira_search\",\"description\":"
	    "\"Search Jira of tenant 'google'\",\"inputSchema\":{\"type\":\"object\"}}]";

	(void)arg;
	(void)e;
	*len = sizeof list - 1;
	return strdup(list);
}

static int
fz_call(void *arg, const char *name, const json_t *args, struct toolres *result,
    struct err *e)
{
	static const char text[] = "{\"issues\":[],\"count\":0}";

	(void)arg;
	(void)args;
	if (strcmp(name, "google__jira_search") != 0)
		return err_set(e, 404, "unknown_tool", "unknown tool");
	toolres_set_text(result, strdup(text), sizeof text - 1);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const versions[] = { NULL, "2025-11-25", "2026-07-28", "1999-01-01" };
	struct mcp_ops	 ops = { NULL, "fuzz", "0", NULL, fz_list, fz_call };
	struct mcp_in	 in = { 0 };
	struct mcp_out	 out;
	json_t		*v;

	in.body = (const char *)data;
	in.len = size;
	in.protocol_version = versions[size % 4];
	memset(&out, 0, sizeof out);
	mcp_handle(&in, &ops, &out);
	if (out.body != NULL) {
		if ((v = json_loads(out.body, 0, NULL)) == NULL)
			abort();	/* every answer is JSON */
		json_decref(v);
		free(out.body);
	}
	return 0;
}
