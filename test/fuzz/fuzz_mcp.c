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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *
fz_list(void *arg, struct err *e)
{
	(void)arg;
	(void)e;
	return json_pack("[{s:s,s:s,s:{s:s}}]", "name", "google__jira_search",
	    "description", "Search Jira of tenant 'google'", "inputSchema", "type", "object");
}

static int
fz_call(void *arg, const char *name, const json_t *args, json_t **result, struct err *e)
{
	(void)arg;
	(void)args;
	if (strcmp(name, "google__jira_search") != 0)
		return err_set(e, 404, "unknown_tool", "unknown tool");
	*result = json_pack("{s:[{s:s,s:s}],s:b}", "content", "type", "text", "text", "ok",
	    "isError", 0);
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
