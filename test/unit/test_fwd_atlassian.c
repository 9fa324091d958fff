/* Built-in tool plumbing: every catalogue row has a complete builtin row,
 * the generic builder sends each tool's real request, arguments are checked
 * against the row's compiled schema, upstream answers are trimmed, the size
 * cap shortens lists and texts, and a result is serialised once. */
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
#include "toolcat.h"
#include "../../forwarder/atlassian.h"
#include "../../forwarder/builtin.h"
#include "../../forwarder/jbuf.h"
#include "../../forwarder/toolargs.h"

static void
test_every_row_has_an_executor(void **state)
{
	(void)state;
	for (size_t i = 0; i < toolcat_len; i++) {
		const struct builtin *b = builtin_of(&toolcat[i]);

		assert_true(atlassian_has(toolcat[i].name));
		assert_non_null(b->title);
		assert_non_null(b->description);
		assert_non_null(b->path);
		assert_non_null(b->what);
		assert_true(b->path[0] == '/');
		/* Writes send a body, reads do not. */
		assert_true((b->body != NULL) == (strcmp(b->method, "POST") == 0));
		assert_true((toolcat[i].access == TOOL_WRITE) == (b->body != NULL));
		/* Parsed and compiled once, then shared. */
		assert_non_null(builtin_schema(&toolcat[i]));
		assert_ptr_equal(builtin_schema(&toolcat[i]), builtin_schema(&toolcat[i]));
		assert_ptr_equal(builtin_args(&toolcat[i]), builtin_args(&toolcat[i]));
		assert_string_equal(json_string_value(json_object_get(builtin_schema(&toolcat[i]),
		    "type")), "object");
	}
	assert_false(atlassian_has("jira_delete_everything"));
}

/* Models send unbounded JQL ("order by created DESC") that Jira Cloud
 * refuses: the description must ask for a restriction. */
static void
test_jql_description_asks_for_a_restriction(void **state)
{
	const char *d = builtin_of(toolcat_find("jira_search"))->description;
	const json_t *jql = json_object_get(json_object_get(builtin_schema(
	    toolcat_find("jira_search")), "properties"), "jql");

	(void)state;
	assert_non_null(strstr(d, "must restrict"));
	assert_non_null(strstr(d, "order by created DESC"));
	assert_non_null(strstr(json_string_value(json_object_get(jql, "description")),
	    "restriction"));
}

static void
req(const char *tool, const char *args_text, const char *method, const char *path,
    const char *body)
{
	json_t		*args = json_loads(args_text, 0, NULL);
	char		*m, *p, *b;
	struct err	 e;

	err_clear(&e);
	assert_int_equal(atlassian_request(toolcat_find(tool), args, &m, &p, &b, &e), 0);
	assert_string_equal(m, method);
	assert_string_equal(p, path);
	if (body == NULL)
		assert_null(b);
	else
		assert_string_equal(b, body);
	free(m);
	free(p);
	free(b);
	json_decref(args);
}

/* The generic builder: each row's method, path template and query map,
 * exactly as the per-tool builders sent them. */
static void
test_requests(void **state)
{
	(void)state;
	req("jira_search", "{\"jql\":\"project = GOOG\"}", "GET",
	    "/rest/api/3/search/jql?jql=project%20%3D%20GOOG&maxResults=20&"
	    "fields=summary%2Cstatus%2Cassignee%2Cupdated%2Cpriority%2Cissuetype", NULL);
	req("jira_search", "{\"jql\":\"a\",\"max_results\":5,\"next_page_token\":\"t/2\"}", "GET",
	    "/rest/api/3/search/jql?jql=a&maxResults=5&"
	    "fields=summary%2Cstatus%2Cassignee%2Cupdated%2Cpriority%2Cissuetype&"
	    "nextPageToken=t%2F2", NULL);
	req("jira_get_issue", "{\"issue_key\":\"GOOG-1\"}", "GET",
	    "/rest/api/3/issue/GOOG-1?fields=summary%2Cstatus%2Cassignee%2Creporter%2Cpriority"
	    "%2Cissuetype%2Cproject%2Ccreated%2Cupdated%2Cdescription%2Clabels", NULL);
	req("jira_get_transitions", "{\"issue_key\":\"GOOG-1\"}", "GET",
	    "/rest/api/3/issue/GOOG-1/transitions", NULL);
	req("jira_transition_issue", "{\"issue_key\":\"GOOG-1\",\"transition_id\":\"31\"}", "POST",
	    "/rest/api/3/issue/GOOG-1/transitions", "{\"transition\":{\"id\":\"31\"}}");
	req("jira_add_comment", "{\"issue_key\":\"GOOG-1\",\"body\":\"hi\"}", "POST",
	    "/rest/api/3/issue/GOOG-1/comment", "{\"body\":{\"type\":\"doc\",\"version\":1,"
	    "\"content\":[{\"type\":\"paragraph\",\"content\":[{\"type\":\"text\",\"text\":"
	    "\"hi\"}]}]}}");
	req("jira_create_issue", "{\"project_key\":\"GOOG\",\"summary\":\"S\"}", "POST",
	    "/rest/api/3/issue", "{\"fields\":{\"project\":{\"key\":\"GOOG\"},\"summary\":\"S\","
	    "\"issuetype\":{\"name\":\"Task\"}}}");
	req("confluence_search", "{\"cql\":\"type = page\"}", "GET",
	    "/wiki/rest/api/search?cql=type%20%3D%20page&limit=10", NULL);
	req("confluence_get_page", "{\"page_id\":\"42\"}", "GET",
	    "/wiki/api/v2/pages/42?body-format=storage", NULL);
}

/* docs/tools.md shows the real request of each row. */
static void
test_upstream_text(void **state)
{
	char buf[512];

	(void)state;
	builtin_upstream(toolcat_find("jira_search"), buf, sizeof buf);
	assert_string_equal(buf, "GET /rest/api/3/search/jql?jql={jql}&maxResults={max_results}&"
	    "fields=summary,status,assignee,updated,priority,issuetype&"
	    "nextPageToken={next_page_token}");
	builtin_upstream(toolcat_find("jira_add_comment"), buf, sizeof buf);
	assert_string_equal(buf, "POST /rest/api/3/issue/{issue_key}/comment (JSON body)");
}

/* tools/list fragments are the exact text of the JSON tool objects. */
static void
test_fragments(void **state)
{
	(void)state;
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < toolcat_len; i++) {
			struct jbuf	 b = { 0 };
			json_t		*v = builtin_tool_json("acme", &toolcat[i]);
			char		*want = json_dumps(v, JSON_COMPACT), *got;
			size_t		 len;

			builtin_tool_fragment("acme", &toolcat[i], &b);
			got = jbuf_steal(&b, &len);
			assert_string_equal(got, want);
			assert_int_equal(len, strlen(want));
			free(got);
			free(want);
			json_decref(v);
		}
	}
}

static void
test_serialise_once(void **state)
{
	json_t	*r = json_pack("{s:s,s:s}", "key", "A-1", "q", "say \"hi\"\n");
	char	*text;
	size_t	 len;

	(void)state;
	assert_int_equal(atlassian_serialise(r, 4096, &text, &len), 0);
	assert_string_equal(text, "{\"key\":\"A-1\",\"q\":\"say \\\"hi\\\"\\n\"}");
	assert_int_equal(len, strlen(text));
	free(text);
	json_decref(r);
}

static void
test_jbuf_escapes_like_jansson(void **state)
{
	const char	*s = "a\"b\\c\x01\x1f\t\r\n\b\f/é€";
	struct jbuf	 b = { 0 };
	json_t		*v = json_string(s), *back;
	char		*got;

	(void)state;
	jbuf_put_str(&b, s, strlen(s));
	got = jbuf_steal(&b, NULL);
	back = json_loads(got, JSON_DECODE_ANY, NULL);
	assert_non_null(back);
	assert_true(json_equal(back, v));
	free(got);
	json_decref(back);
	json_decref(v);
}

static int
check(const char *tool, const char *args_text, struct err *e)
{
	json_t	*args = json_loads(args_text, JSON_DECODE_ANY, NULL);
	int	 rc;

	err_clear(e);
	rc = toolargs_check(builtin_args(toolcat_find(tool)), args, e);
	json_decref(args);
	return rc;
}

static void
test_arguments_checked(void **state)
{
	struct err e;

	(void)state;
	assert_int_equal(check("jira_search", "{\"jql\":\"project = X\",\"max_results\":5}", &e), 0);
	assert_int_equal(check("jira_search", "{\"jql\":7}", &e), -1);
	assert_string_equal(e.code, "bad_arguments");
	assert_non_null(strstr(e.msg, "'jql' must be a string"));
	assert_int_equal(check("jira_search", "{\"jql\":\"x\",\"max_results\":\"5\"}", &e), -1);
	assert_non_null(strstr(e.msg, "'max_results' must be an integer"));
	assert_int_equal(check("jira_search", "{\"jql\":\"x\",\"max_results\":500}", &e), -1);
	assert_non_null(strstr(e.msg, "at most 50"));
	assert_int_equal(check("jira_search", "{}", &e), -1);
	assert_non_null(strstr(e.msg, "'jql' is required"));
	assert_int_equal(check("jira_search", "{\"jql\":\"x\",\"evil\":1}", &e), -1);
	assert_non_null(strstr(e.msg, "unknown argument 'evil'"));
	assert_int_equal(check("jira_search", "[1]", &e), -1);
	assert_non_null(strstr(e.msg, "must be a JSON object"));
	/* Patterns keep path segments clean: no ../ or / in an issue key. */
	assert_int_equal(check("jira_get_issue", "{\"issue_key\":\"GOOG-12\"}", &e), 0);
	assert_int_equal(check("jira_get_issue", "{\"issue_key\":\"../../admin\"}", &e), -1);
	assert_int_equal(check("jira_get_issue", "{\"issue_key\":\"GOOG-1/x\"}", &e), -1);
	assert_int_equal(check("confluence_get_page", "{\"page_id\":\"12a\"}", &e), -1);
	assert_int_equal(check("jira_create_issue", "{\"project_key\":\"GOOG\",\"summary\":\"\"}",
	    &e), -1);
	assert_non_null(strstr(e.msg, "at least 1"));
}

static void
test_trim_search(void **state)
{
	json_t *up = json_loads("{\"isLast\":false,\"nextPageToken\":\"tok2\",\"issues\":[{\"id\":\"1\","
	    "\"key\":\"GOOG-1\",\"self\":\"http://x/1\",\"fields\":{\"summary\":\"S\",\"status\":"
	    "{\"name\":\"Done\",\"statusCategory\":{\"key\":\"done\"}},\"assignee\":{\"displayName\":"
	    "\"Ann\",\"accountId\":\"a1\",\"emailAddress\":\"ann@x\"},\"updated\":\"2025-01-01\","
	    "\"priority\":{\"name\":\"High\"},\"issuetype\":{\"name\":\"Bug\"}}},{\"id\":\"2\","
	    "\"key\":\"GOOG-2\",\"fields\":{\"summary\":\"T\",\"assignee\":null}}]}", 0, NULL);
	json_t *out = builtin_trim("jira_search", up, "https://g.atlassian.net", NULL);
	json_t *i0 = json_array_get(json_object_get(out, "issues"), 0);
	json_t *i1 = json_array_get(json_object_get(out, "issues"), 1);

	(void)state;
	assert_string_equal(json_string_value(json_object_get(i0, "key")), "GOOG-1");
	assert_string_equal(json_string_value(json_object_get(i0, "status")), "Done");
	assert_string_equal(json_string_value(json_object_get(i0, "assignee")), "Ann");
	assert_string_equal(json_string_value(json_object_get(i0, "url")),
	    "https://g.atlassian.net/browse/GOOG-1");
	assert_null(json_object_get(i0, "self"));	/* trimmed away */
	assert_true(json_is_null(json_object_get(i1, "assignee")));
	assert_string_equal(json_string_value(json_object_get(out, "next_page_token")), "tok2");
	assert_false(json_is_true(json_object_get(out, "is_last")));
	assert_int_equal(json_integer_value(json_object_get(out, "count")), 2);
	json_decref(out);
	json_decref(up);
}

static void
test_trim_issue_and_page(void **state)
{
	json_t *up = json_loads("{\"key\":\"MS-3\",\"fields\":{\"summary\":\"S\",\"description\":"
	    "{\"type\":\"doc\",\"version\":1,\"content\":[{\"type\":\"paragraph\",\"content\":"
	    "[{\"type\":\"text\",\"text\":\"Hello\"}]}]},\"project\":{\"key\":\"MS\"}}}", 0, NULL);
	json_t *out = builtin_trim("jira_get_issue", up, "https://m", NULL);

	(void)state;
	assert_string_equal(json_string_value(json_object_get(out, "description")), "Hello");
	assert_string_equal(json_string_value(json_object_get(out, "project")), "MS");
	json_decref(out);
	json_decref(up);

	up = json_loads("{\"id\":\"9\",\"title\":\"T\",\"status\":\"current\",\"version\":{\"number\":"
	    "4},\"body\":{\"storage\":{\"value\":\"<p>a &amp; b</p>\"}},\"_links\":{\"webui\":"
	    "\"/spaces/X/pages/9/T\"}}", 0, NULL);
	out = builtin_trim("confluence_get_page", up, "https://m", NULL);
	assert_string_equal(json_string_value(json_object_get(out, "body")), "a & b");
	assert_string_equal(json_string_value(json_object_get(out, "url")),
	    "https://m/wiki/spaces/X/pages/9/T");
	assert_int_equal(json_integer_value(json_object_get(out, "version")), 4);
	json_decref(out);
	json_decref(up);
}

static void
test_cap(void **state)
{
	json_t	*r = json_pack("{s:[],s:i}", "issues", "count", 0);
	char	 summary[200], *text, *big;

	(void)state;
	memset(summary, 'x', sizeof summary - 1);
	summary[sizeof summary - 1] = '\0';
	for (int i = 0; i < 500; i++)
		json_array_append_new(json_object_get(r, "issues"), json_pack("{s:s,s:i}",
		    "summary", summary, "n", i));
	atlassian_cap(r, 4096);
	text = json_dumps(r, JSON_COMPACT);
	assert_true(strlen(text) <= 4096);
	assert_true(json_is_true(json_object_get(r, "truncated")));
	assert_true(json_array_size(json_object_get(r, "issues")) > 5);
	assert_int_equal(json_integer_value(json_object_get(r, "count")),
	    json_array_size(json_object_get(r, "issues")));
	free(text);
	json_decref(r);

	/* A long text is cut, on a character boundary, and marked. */
	big = malloc(100001);
	for (int i = 0; i < 100000; i += 2) {
		big[i] = (char)0xc3;
		big[i + 1] = (char)0xa9;	/* é */
	}
	big[100000] = '\0';
	r = json_pack("{s:s,s:s}", "title", "t", "body", big);
	atlassian_cap(r, 2048);
	text = json_dumps(r, JSON_COMPACT);
	assert_non_null(text);	/* still valid UTF-8, or Jansson would refuse */
	assert_true(strlen(text) <= 2048);
	assert_non_null(strstr(json_string_value(json_object_get(r, "body")), "[truncated]"));
	free(text);
	json_decref(r);
	free(big);

	/* Small results are left alone. */
	r = json_pack("{s:s}", "key", "A-1");
	atlassian_cap(r, 2048);
	assert_null(json_object_get(r, "truncated"));
	json_decref(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_row_has_an_executor),
		cmocka_unit_test(test_jql_description_asks_for_a_restriction),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_upstream_text),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_serialise_once),
		cmocka_unit_test(test_jbuf_escapes_like_jansson),
		cmocka_unit_test(test_arguments_checked),
		cmocka_unit_test(test_trim_search),
		cmocka_unit_test(test_trim_issue_and_page),
		cmocka_unit_test(test_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
