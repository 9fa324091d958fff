/* The MCP dispatcher as a pure function: body + headers in, HTTP status and
 * JSON-RPC body out, with stub tools. Covers both revisions, every JSON-RPC
 * error class, batches and notifications. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "err.h"
#include "../../forwarder/mcp.h"
#include "../../forwarder/toolres.h"

static int calls;
static char last_name[128];

static char *
stub_list(void *arg, size_t *len, struct err *e)
{
	static const char list[] = "[{\"name\":\"acme__jira_search\",\"description\":\"d\","
	    "\"inputSchema\":{\"type\":\"object\"}}]";

	(void)arg;
	(void)e;
	*len = sizeof list - 1;
	return strdup(list);
}

static int
stub_call(void *arg, const char *name, const json_t *args, struct toolres *result,
    struct err *e)
{
	(void)arg;
	calls++;
	snprintf(last_name, sizeof last_name, "%s", name);
	if (strncmp(name, "other__", 7) == 0)
		return err_set(e, 403, "not_member", "you are not a member of tenant 'other'");
	if (strcmp(name, "acme__broken") == 0)
		return err_set(e, 503, "broker_unavailable", "the broker is down");
	if (strcmp(name, "acme__text") == 0) {
		/* A built-in tool's result: already serialised, used as it is. */
		static const char text[] = "{\"key\":\"A-1\",\"q\":\"say \\\"hi\\\"\\n\"}";

		toolres_set_text(result, strdup(text), sizeof text - 1);
		return 0;
	}
	toolres_set_call(result, json_pack("{s:[{s:s,s:s}],s:{s:O},s:b}", "content", "type",
	    "text", "text", "ok", "structuredContent", "args", args, "isError", 0));
	return 0;
}

static const struct mcp_ops ops = {
	NULL, "tg-test", "0", "be nice", stub_list, stub_call,
};

struct res {
	int	 status;
	json_t	*v;
	int	 nobody;
};

static struct res
run(const char *body, const char *version, const char *method_hdr, const char *name_hdr)
{
	struct mcp_in	in = { body, strlen(body), version, method_hdr, name_hdr };
	struct mcp_out	out;
	struct res	r = { 0, NULL, 0 };

	mcp_handle(&in, &ops, &out);
	r.status = out.status;
	r.nobody = out.body == NULL;
	if (out.body != NULL)
		r.v = json_loads(out.body, 0, NULL);
	free(out.body);
	return r;
}

static int
err_code(const json_t *v)
{
	return (int)json_integer_value(json_object_get(json_object_get(v, "error"), "code"));
}

#define MODERN_META "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\"," \
	"\"io.modelcontextprotocol/clientCapabilities\":{}}"

static void
test_initialize_negotiates(void **state)
{
	struct res r;

	(void)state;
	r = run("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
	    "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":"
	    "{\"name\":\"c\",\"version\":\"1\"}}}", NULL, NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r.v, "result"),
	    "protocolVersion")), "2025-06-18");
	assert_non_null(json_object_get(json_object_get(json_object_get(r.v, "result"),
	    "capabilities"), "tools"));
	json_decref(r.v);
	/* An unknown revision gets our latest as the counter-offer. */
	r = run("{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"initialize\",\"params\":"
	    "{\"protocolVersion\":\"2099-01-01\",\"capabilities\":{}}}", NULL, NULL, NULL);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r.v, "result"),
	    "protocolVersion")), "2025-11-25");
	assert_string_equal(json_string_value(json_object_get(r.v, "id")), "a");
	json_decref(r.v);
}

static void
test_notifications_get_202(void **state)
{
	struct res r;

	(void)state;
	r = run("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", "2025-11-25",
	    NULL, NULL);
	assert_int_equal(r.status, 202);
	assert_true(r.nobody);
	/* A client's response to us is acknowledged the same way. */
	r = run("{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}", "2025-11-25", NULL, NULL);
	assert_int_equal(r.status, 202);
	r = run("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{}}",
	    "2026-07-28", NULL, NULL);
	assert_int_equal(r.status, 202);
}

static void
test_jsonrpc_errors(void **state)
{
	struct res r;

	(void)state;
	r = run("{\"jsonrpc\":\"2.0\",\"id\":1,", "2025-11-25", NULL, NULL);
	assert_int_equal(r.status, 400);
	assert_int_equal(err_code(r.v), -32700);
	assert_true(json_is_null(json_object_get(r.v, "id")));
	json_decref(r.v);
	r = run("", NULL, NULL, NULL);
	assert_int_equal(err_code(r.v), -32700);
	json_decref(r.v);
	r = run("{\"id\":1,\"method\":\"ping\"}", "2025-11-25", NULL, NULL);
	assert_int_equal(r.status, 400);
	assert_int_equal(err_code(r.v), -32600);
	json_decref(r.v);
	r = run("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}", "2025-11-25", NULL, NULL);
	assert_int_equal(err_code(r.v), -32600);
	json_decref(r.v);
	r = run("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":[1]}", "2025-11-25",
	    NULL, NULL);
	assert_int_equal(err_code(r.v), -32600);
	json_decref(r.v);
	r = run("\"just a string\"", "2025-11-25", NULL, NULL);
	assert_int_equal(err_code(r.v), -32600);
	json_decref(r.v);
	r = run("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"resources/list\"}", "2025-11-25",
	    NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(err_code(r.v), -32601);
	assert_int_equal(json_integer_value(json_object_get(r.v, "id")), 2);
	json_decref(r.v);
}

static void
test_tools_call_params(void **state)
{
	struct res r;

	(void)state;
	calls = 0;
	r = run("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{}}",
	    "2025-11-25", NULL, NULL);
	assert_int_equal(err_code(r.v), -32602);
	json_decref(r.v);
	r = run("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
	    "\"acme__jira_search\",\"arguments\":[1]}}", "2025-11-25", NULL, NULL);
	assert_int_equal(err_code(r.v), -32602);
	json_decref(r.v);
	assert_int_equal(calls, 0);
	/* Refused (not the caller's tenant): unknown tool, -32602. */
	r = run("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
	    "\"other__jira_search\",\"arguments\":{}}}", "2025-11-25", NULL, NULL);
	assert_int_equal(err_code(r.v), -32602);
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(r.v, "error"),
	    "message")), "not a member"));
	json_decref(r.v);
	r = run("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
	    "\"acme__broken\"}}", "2025-11-25", NULL, NULL);
	assert_int_equal(err_code(r.v), -32603);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(
	    r.v, "error"), "data"), "status")), 503);
	json_decref(r.v);
	/* Missing arguments are an empty object. */
	r = run("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
	    "\"acme__jira_search\"}}", "2025-11-25", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_true(json_is_object(json_object_get(json_object_get(json_object_get(r.v,
	    "result"), "structuredContent"), "args")));
	assert_string_equal(last_name, "acme__jira_search");
	json_decref(r.v);
}

/* A serialised result goes into the reply as it is: the text content is
 * that text, structuredContent is the same JSON, in both revisions. */
static void
test_tools_call_text(void **state)
{
	static const char want[] = "{\"key\":\"A-1\",\"q\":\"say \\\"hi\\\"\\n\"}";
	struct res	 r;
	json_t		*res, *sc;

	(void)state;
	r = run("{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"tools/call\",\"params\":{\"name\":"
	    "\"acme__text\"}}", "2025-11-25", NULL, NULL);
	assert_int_equal(r.status, 200);
	res = json_object_get(r.v, "result");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(res,
	    "content"), 0), "text")), want);
	sc = json_object_get(res, "structuredContent");
	assert_string_equal(json_string_value(json_object_get(sc, "q")), "say \"hi\"\n");
	assert_true(json_is_false(json_object_get(res, "isError")));
	assert_null(json_object_get(res, "resultType"));
	assert_string_equal(json_string_value(json_object_get(r.v, "id")), "x");
	json_decref(r.v);
	r = run("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":"
	    "\"acme__text\"," MODERN_META "}}", "2026-07-28", "tools/call", "acme__text");
	assert_int_equal(r.status, 200);
	res = json_object_get(r.v, "result");
	assert_string_equal(json_string_value(json_object_get(res, "resultType")), "complete");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(
	    res, "_meta"), "io.modelcontextprotocol/serverInfo"), "name")), "tg-test");
	assert_string_equal(json_string_value(json_object_get(json_object_get(res,
	    "structuredContent"), "key")), "A-1");
	json_decref(r.v);
	/* tools/list: the fragments' text inside the envelope. */
	r = run("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/list\"," "\"params\":{"
	    MODERN_META "}}", "2026-07-28", "tools/list", NULL);
	assert_int_equal(r.status, 200);
	res = json_object_get(r.v, "result");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(res,
	    "tools"), 0), "name")), "acme__jira_search");
	assert_string_equal(json_string_value(json_object_get(res, "cacheScope")), "private");
	json_decref(r.v);
}

/* Methods exist per revision (the dispatch table): ping and initialize
 * are handshake-only, server/discover modern-only. */
static void
test_methods_per_revision(void **state)
{
	struct res r;

	(void)state;
	r = run("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"server/discover\"}", "2025-11-25",
	    NULL, NULL);
	assert_int_equal(err_code(r.v), -32601);
	json_decref(r.v);
	r = run("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{" MODERN_META "}}",
	    "2026-07-28", "ping", NULL);
	assert_int_equal(r.status, 404);
	assert_int_equal(err_code(r.v), -32601);
	json_decref(r.v);
	r = run("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
	    "\"protocolVersion\":\"2025-03-26\"}}]", "2025-03-26", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(err_code(json_array_get(r.v, 0)), -32600);
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(
	    json_array_get(r.v, 0), "error"), "message")), "initialize must not be part of a batch"));
	json_decref(r.v);
}

static void
test_batches(void **state)
{
	struct res r;

	(void)state;
	r = run("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]", "2025-11-25", NULL, NULL);
	assert_int_equal(r.status, 400);
	assert_int_equal(err_code(r.v), -32600);
	json_decref(r.v);
	r = run("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},{\"jsonrpc\":\"2.0\","
	    "\"method\":\"notifications/initialized\"},{\"jsonrpc\":\"2.0\",\"id\":2,"
	    "\"method\":\"tools/list\"}]", "2025-03-26", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_true(json_is_array(r.v));
	assert_int_equal(json_array_size(r.v), 2);
	json_decref(r.v);
	r = run("[]", "2025-03-26", NULL, NULL);
	assert_int_equal(err_code(r.v), -32600);
	json_decref(r.v);
	r = run("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]", "2026-07-28", NULL, NULL);
	assert_int_equal(r.status, 400);
	assert_int_equal(err_code(r.v), -32600);
	json_decref(r.v);
}

static void
test_modern_envelope(void **state)
{
	struct res r;

	(void)state;
	r = run("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"server/discover\",\"params\":{"
	    MODERN_META "}}", "2026-07-28", "server/discover", NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(
	    r.v, "result"), "supportedVersions"), 0)), "2026-07-28");
	assert_string_equal(json_string_value(json_object_get(json_object_get(r.v, "result"),
	    "resultType")), "complete");
	json_decref(r.v);
	r = run("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{"
	    MODERN_META "}}", "2026-07-28", "tools/list", NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(json_array_size(json_object_get(json_object_get(r.v, "result"),
	    "tools")), 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r.v, "result"),
	    "cacheScope")), "private");
	json_decref(r.v);
	/* Mcp-Method must agree with the body. */
	r = run("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{"
	    MODERN_META "}}", "2026-07-28", "tools/call", NULL);
	assert_int_equal(r.status, 400);
	assert_int_equal(err_code(r.v), -32020);
	json_decref(r.v);
	/* Mcp-Name, plain and base64-wrapped. */
	r = run("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
	    "\"acme__jira_search\",\"arguments\":{}," MODERN_META "}}", "2026-07-28",
	    "tools/call", "acme__other");
	assert_int_equal(err_code(r.v), -32020);
	json_decref(r.v);
	r = run("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
	    "\"acme__jira_search\",\"arguments\":{}," MODERN_META "}}", "2026-07-28",
	    "tools/call", "=?base64?YWNtZV9famlyYV9zZWFyY2g=?=");
	assert_int_equal(r.status, 200);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r.v, "result"),
	    "resultType")), "complete");
	json_decref(r.v);
	/* No envelope. */
	r = run("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}", "2026-07-28",
	    "tools/list", NULL);
	assert_int_equal(err_code(r.v), -32602);
	json_decref(r.v);
	/* Envelope without the header: mismatch, not silently legacy. */
	r = run("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{"
	    MODERN_META "}}", NULL, "tools/list", NULL);
	assert_int_equal(err_code(r.v), -32020);
	json_decref(r.v);
	/* Handshake-era methods do not exist at 2026-07-28: 404. */
	r = run("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{" MODERN_META
	    "}}", "2026-07-28", "ping", NULL);
	assert_int_equal(r.status, 404);
	assert_int_equal(err_code(r.v), -32601);
	json_decref(r.v);
}

static void
test_unsupported_version(void **state)
{
	struct res	 r;
	json_t		*sup;

	(void)state;
	r = run("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}", "1999-01-01", NULL,
	    NULL);
	assert_int_equal(r.status, 400);
	assert_int_equal(err_code(r.v), -32022);
	sup = json_object_get(json_object_get(json_object_get(r.v, "error"), "data"),
	    "supported");
	assert_true(json_array_size(sup) >= 2);
	json_decref(r.v);
	assert_true(mcp_version_known("2025-11-25"));
	assert_true(mcp_version_known("2026-07-28"));
	assert_false(mcp_version_known("2026-07-29"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_initialize_negotiates),
		cmocka_unit_test(test_notifications_get_202),
		cmocka_unit_test(test_jsonrpc_errors),
		cmocka_unit_test(test_tools_call_params),
		cmocka_unit_test(test_tools_call_text),
		cmocka_unit_test(test_methods_per_revision),
		cmocka_unit_test(test_batches),
		cmocka_unit_test(test_modern_envelope),
		cmocka_unit_test(test_unsupported_version),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
