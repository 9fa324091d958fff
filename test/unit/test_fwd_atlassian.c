/* Built-in tool plumbing: every toolcat row has an executor, arguments are
 * checked against the row's schema, upstream answers are trimmed, and the
 * size cap shortens lists and texts. */
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
#include "../../forwarder/toolargs.h"

static void
test_every_row_has_an_executor(void **state)
{
	(void)state;
	for (size_t i = 0; i < toolcat_len; i++) {
		json_t *schema = json_loads(toolcat[i].input_schema, 0, NULL);

		assert_true(atlassian_has(toolcat[i].name));
		assert_non_null(schema);	/* the schema text is valid JSON */
		json_decref(schema);
	}
	assert_false(atlassian_has("jira_delete_everything"));
}

static int
check(const char *tool, const char *args_text, struct err *e)
{
	json_t	*schema = json_loads(toolcat_find(tool)->input_schema, 0, NULL);
	json_t	*args = json_loads(args_text, JSON_DECODE_ANY, NULL);
	int	 rc;

	err_clear(e);
	rc = toolargs_check(schema, args, e);
	json_decref(schema);
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
	json_t *out = atlassian_trim("jira_search", up, "https://g.atlassian.net", NULL);
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
	json_t *out = atlassian_trim("jira_get_issue", up, "https://m", NULL);

	(void)state;
	assert_string_equal(json_string_value(json_object_get(out, "description")), "Hello");
	assert_string_equal(json_string_value(json_object_get(out, "project")), "MS");
	json_decref(out);
	json_decref(up);

	up = json_loads("{\"id\":\"9\",\"title\":\"T\",\"status\":\"current\",\"version\":{\"number\":"
	    "4},\"body\":{\"storage\":{\"value\":\"<p>a &amp; b</p>\"}},\"_links\":{\"webui\":"
	    "\"/spaces/X/pages/9/T\"}}", 0, NULL);
	out = atlassian_trim("confluence_get_page", up, "https://m", NULL);
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
		cmocka_unit_test(test_arguments_checked),
		cmocka_unit_test(test_trim_search),
		cmocka_unit_test(test_trim_issue_and_page),
		cmocka_unit_test(test_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
