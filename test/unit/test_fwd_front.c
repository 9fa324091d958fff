/* The forwarder's edges: the Origin rule (DNS rebinding), the config table
 * (defaults, cross-key checks, docs generated from it), and reading a
 * tenant MCP backend's answer as JSON or SSE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../forwarder/backend_mcp.h"
#include "../../forwarder/front.h"
#include "../../forwarder/fwdconf.h"

static void
test_origin(void **state)
{
	char *allowed[] = { "https://chat.example.com", NULL };
	char *any[] = { "*", NULL };

	(void)state;
	assert_true(front_origin_ok(NULL, NULL));
	assert_true(front_origin_ok("http://localhost:3000", NULL));
	assert_true(front_origin_ok("http://127.0.0.1", NULL));
	assert_true(front_origin_ok("http://[::1]:8080", NULL));
	assert_false(front_origin_ok("http://localhost.evil.com", NULL));
	assert_false(front_origin_ok("http://127.0.0.1.nip.io:80", NULL));
	assert_false(front_origin_ok("http://localhost:80x", NULL));
	assert_false(front_origin_ok("https://evil.example", NULL));
	assert_false(front_origin_ok("null", NULL));
	assert_true(front_origin_ok("https://chat.example.com", allowed));
	assert_true(front_origin_ok("https://CHAT.example.com", allowed));
	assert_false(front_origin_ok("https://chat.example.com.evil", allowed));
	assert_true(front_origin_ok("https://anything", any));
}

static void
test_host(void **state)
{
	char *loop[] = { "127.0.0.1:8190", "unix:/run/x.sock", NULL };
	char *wide[] = { "0.0.0.0:8190", NULL };
	char *named[] = { "fwd.internal", "gw.example:8443", NULL };
	char *any[] = { "*", NULL };

	(void)state;
	/* Loopback names always pass. */
	assert_true(front_host_ok("127.0.0.1:8190", NULL, loop));
	assert_true(front_host_ok("localhost", NULL, loop));
	assert_true(front_host_ok("[::1]:8190", NULL, loop));
	assert_true(front_host_ok(NULL, NULL, loop));
	/* A loopback-only server refuses every other name by default. */
	assert_false(front_host_ok("evil.example.com", NULL, loop));
	assert_false(front_host_ok("evil.example.com:8190", NULL, loop));
	assert_false(front_host_ok("localhost.evil.com", NULL, loop));
	/* Only literals are loopback: this is a name an attacker can own. */
	assert_false(front_host_ok("127.0.0.1.evil.com", NULL, loop));
	assert_true(front_host_ok("127.8.9.10:1", NULL, loop));
	assert_false(front_host_ok("128.0.0.1", NULL, loop));
	/* Listening wide without a list: any name. */
	assert_true(front_host_ok("fwd.example.com", NULL, wide));
	/* With a list: only those. */
	assert_true(front_host_ok("fwd.internal:8190", named, wide));
	assert_true(front_host_ok("gw.example:8443", named, wide));
	assert_false(front_host_ok("gw.example:9999", named, wide));
	assert_false(front_host_ok("other.internal", named, loop));
	assert_true(front_host_ok("anything", any, loop));
}

static void
test_config(void **state)
{
	const char		*ok[] = { "broker_url=http://127.0.0.1:1",
				    "broker_secret_file=/dev/null", NULL };
	const char		*both[] = { "broker_url=http://b", "broker_secret_file=/a",
				    "broker_sa_token_file=/b", NULL };
	const char		*none[] = { "broker_url=http://b", NULL };
	const char		*scheme[] = { "broker_url=ftp://b", "broker_secret_file=/a", NULL };
	struct fwdconf_snap	*s;
	char			*causes = NULL;

	(void)state;
	s = fwdconf_load(NULL, ok, &causes);
	assert_non_null(s);
	assert_null(causes);
	assert_int_equal(fwdconf_get(s)->max_body, 1024 * 1024);
	assert_int_equal(fwdconf_get(s)->grant_renew_margin, 10);
	assert_int_equal(fwdconf_get(s)->tool_result_max_bytes, 64 * 1024);
	assert_string_equal(fwdconf_get(s)->listen[0], "127.0.0.1:8190");
	fwdconf_ref(s);
	fwdconf_unref(s);
	fwdconf_unref(s);

	assert_null(fwdconf_load(NULL, both, &causes));
	assert_non_null(strstr(causes, "only one"));
	free(causes);
	assert_null(fwdconf_load(NULL, none, &causes));
	assert_non_null(strstr(causes, "broker_secret_file"));
	free(causes);
	assert_null(fwdconf_load(NULL, scheme, &causes));
	assert_non_null(strstr(causes, "http://"));
	free(causes);
	assert_null(fwdconf_load(NULL, NULL, &causes));
	assert_non_null(strstr(causes, "broker_url"));
	free(causes);
}

static void
test_config_docs_cover_table(void **state)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*f = open_memstream(&buf, &len);

	(void)state;
	conf_render_docs(fwdconf_table, "x", f);
	fclose(f);
	for (const struct conf_entry *e = fwdconf_table; e->name != NULL; e++) {
		char key[80];

		snprintf(key, sizeof key, "`%s`", e->name);
		assert_non_null(strstr(buf, key));
		assert_non_null(e->help);
	}
	free(buf);
}

static void
test_backend_parse(void **state)
{
	const char	*sse = "event: message\r\ndata: {\"jsonrpc\":\"2.0\",\"method\":"
			    "\"notifications/progress\",\"params\":{}}\r\n\r\n: ping\r\n\r\n"
			    "event: message\ndata: {\"jsonrpc\":\"2.0\",\ndata: \"id\":1,\"result\":"
			    "{\"tools\":[]}}\n\n";
	const char	*json = "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32601,"
			    "\"message\":\"nope\"}}";
	json_t		*m;

	(void)state;
	m = backend_mcp_parse(sse, strlen(sse), "text/event-stream", 1);
	assert_non_null(m);
	assert_true(json_is_array(json_object_get(json_object_get(m, "result"), "tools")));
	json_decref(m);
	assert_null(backend_mcp_parse(sse, strlen(sse), "text/event-stream", 2));
	m = backend_mcp_parse(json, strlen(json), "application/json; charset=utf-8", 1);
	assert_non_null(json_object_get(m, "error"));
	json_decref(m);
	assert_null(backend_mcp_parse("not json", 8, "application/json", 1));
	assert_null(backend_mcp_parse("data: {\"id\":1", 14, "text/event-stream", 1));
	assert_null(backend_mcp_parse(NULL, 0, NULL, 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_origin),
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_config_docs_cover_table),
		cmocka_unit_test(test_backend_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
