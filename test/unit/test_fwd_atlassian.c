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
#include "../fuzz/trim_ref.c"

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
			struct buf	 b = { 0 };
			json_t		*v = builtin_tool_json("acme", &toolcat[i]);
			char		*want = json_dumps(v, JSON_COMPACT), *got;
			size_t		 len;

			builtin_tool_fragment("acme", &toolcat[i], &b);
			got = buf_steal(&b, &len);
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
	struct buf	 b = { 0 };
	json_t		*v = json_string(s), *back;
	char		*got;

	(void)state;
	jbuf_put_str(&b, s, strlen(s));
	got = buf_steal(&b, NULL);
	back = json_loads(got, JSON_DECODE_ANY, NULL);
	assert_non_null(back);
	assert_true(json_equal(back, v));
	free(got);
	/* Byte for byte: every ASCII byte, then UTF-8. */
	{
		char	 all[160], *want;
		size_t	 n = 0;

		for (int c = 1; c < 0x80; c++)
			all[n++] = (char)c;
		memcpy(all + n, "\xc3\xa9\xf0\x9f\x98\x80", 6);
		n += 6;
		all[n] = '\0';
		json_decref(v);
		v = json_string(all);
		want = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		jbuf_put_str(&b, all, n);
		got = buf_steal(&b, NULL);
		assert_string_equal(got, want);
		free(got);
		free(want);
	}
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

/* The result text for an answer, through the path atlassian_exec() takes
 * (scan, trim, cap); checked against the Jansson-tree trimmers it
 * replaced (test/fuzz/trim_ref.c), byte for byte. */
static char *
answer_cap(const char *tool, const char *body, size_t max)
{
	json_t		*args = json_pack("{s:s,s:s}", "issue_key", "GOOG-1", "transition_id", "31");
	struct err	 e;
	char		*text, *ref;
	size_t		 len, rlen;

	err_clear(&e);
	assert_int_equal(atlassian_answer(toolcat_find(tool), body, strlen(body), 1 << 20,
	    "https://g.atlassian.net", args, max, "the call", &text, &len, &e), 0);
	assert_int_equal(tref_answer(tool, body, strlen(body), "https://g.atlassian.net", args,
	    max, &ref, &rlen), 0);
	assert_string_equal(text, ref);
	assert_int_equal(len, strlen(text));
	assert_int_equal(len, rlen);
	free(ref);
	json_decref(args);
	return text;
}

static char *
answer(const char *tool, const char *body)
{
	return answer_cap(tool, body, 65536);
}

/* An answer that is not JSON: the same tool error as before, no text. */
static void
bad_answer(const char *tool, const char *body, size_t len)
{
	struct err	 e;
	char		*text = (char *)"x", *ref;
	size_t		 tlen = 7, rlen;

	err_clear(&e);
	assert_int_equal(atlassian_answer(toolcat_find(tool), body, len, 1 << 20, "https://g",
	    NULL, 65536, "issue GOOG-1", &text, &tlen, &e), -1);
	assert_null(text);
	assert_int_equal(tlen, 0);
	assert_int_equal(e.status, 502);
	assert_string_equal(e.code, "upstream_bad_json");
	assert_string_equal(e.msg, "Atlassian's answer to issue GOOG-1 is not JSON");
	assert_int_equal(tref_answer(tool, body, len, "https://g", NULL, 65536, &ref, &rlen), -1);
}

static void
test_trim_search(void **state)
{
	char *text = answer("jira_search", "{\"isLast\":false,\"nextPageToken\":\"tok2\",\"issues\":"
	    "[{\"id\":\"1\",\"key\":\"GOOG-1\",\"self\":\"http://x/1\",\"fields\":{\"summary\":\"S\","
	    "\"status\":{\"name\":\"Done\",\"statusCategory\":{\"key\":\"done\"}},\"assignee\":"
	    "{\"displayName\":\"Ann\",\"accountId\":\"a1\",\"emailAddress\":\"ann@x\"},\"updated\":"
	    "\"2025-01-01\",\"priority\":{\"name\":\"High\"},\"issuetype\":{\"name\":\"Bug\"}}},"
	    "{\"id\":\"2\",\"key\":\"GOOG-2\",\"fields\":{\"summary\":\"T\",\"assignee\":null}}]}");

	(void)state;
	assert_string_equal(text, "{\"issues\":[{\"key\":\"GOOG-1\",\"summary\":\"S\",\"status\":"
	    "\"Done\",\"type\":\"Bug\",\"priority\":\"High\",\"assignee\":\"Ann\",\"updated\":"
	    "\"2025-01-01\",\"url\":\"https://g.atlassian.net/browse/GOOG-1\"},{\"key\":\"GOOG-2\","
	    "\"summary\":\"T\",\"assignee\":null,\"url\":\"https://g.atlassian.net/browse/GOOG-2\"}],"
	    "\"count\":2,\"next_page_token\":\"tok2\",\"is_last\":false}");
	free(text);
	text = answer("jira_search", "{\"issues\":[],\"isLast\":true}");
	assert_string_equal(text, "{\"issues\":[],\"count\":0,\"is_last\":true}");
	free(text);
}

static void
test_trim_issue_and_page(void **state)
{
	char *text = answer("jira_get_issue", "{\"key\":\"MS-3\",\"fields\":{\"summary\":\"S\","
	    "\"description\":{\"type\":\"doc\",\"version\":1,\"content\":[{\"type\":\"paragraph\","
	    "\"content\":[{\"type\":\"text\",\"text\":\"Hello\"}]}]},\"project\":{\"key\":\"MS\"}}}");

	(void)state;
	assert_string_equal(text, "{\"key\":\"MS-3\",\"summary\":\"S\",\"assignee\":null,\"url\":"
	    "\"https://g.atlassian.net/browse/MS-3\",\"project\":\"MS\",\"description\":\"Hello\"}");
	free(text);
	text = answer("confluence_get_page", "{\"id\":\"9\",\"title\":\"T\",\"status\":\"current\","
	    "\"version\":{\"number\":4},\"body\":{\"storage\":{\"value\":\"<p>a &amp; b</p>\"}},"
	    "\"_links\":{\"webui\":\"/spaces/X/pages/9/T\"}}");
	assert_string_equal(text, "{\"id\":\"9\",\"title\":\"T\",\"status\":\"current\",\"version\":4,"
	    "\"url\":\"https://g.atlassian.net/wiki/spaces/X/pages/9/T\",\"body\":\"a & b\"}");
	free(text);
}

/* Escapes in, escapes out: decoded, then written as Jansson writes them
 * (\u00XX upper-case for control characters, UTF-8 as it is, "\/" as
 * "/"); surrogate pairs become 4-byte UTF-8; escaped keys still match. */
static void
test_trim_escapes_and_unicode(void **state)
{
	char *text = answer("jira_search", "{\"issues\":[{\"k\\u0065y\":\"A-1\",\"fields\":"
	    "{\"summary\":\"q\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f \\u00e9\\u20ac"
	    "\\ud83d\\ude00 \xc3\xa9\",\"assignee\":{\"displayName\":\"\xf0\x9f\x98\x80\"}}}]}");

	(void)state;
	assert_string_equal(text, "{\"issues\":[{\"key\":\"A-1\",\"summary\":\"q\\\"\\\\/\\b\\f\\n"
	    "\\r\\t\\u0001\\u001F\x7f \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 \xc3\xa9\",\"assignee\":"
	    "\"\xf0\x9f\x98\x80\",\"url\":\"https://g.atlassian.net/browse/A-1\"}],\"count\":1,"
	    "\"is_last\":true}");
	free(text);
	/* ADF with escaped node types and texts. */
	text = answer("jira_add_comment", "{\"id\":\"7\",\"body\":{\"type\":\"doc\",\"content\":"
	    "[{\"type\":\"p\\u0061ragraph\",\"content\":[{\"type\":\"text\",\"text\":\"a\\nb\"},"
	    "{\"type\":\"mention\",\"attrs\":{\"text\":\"@\\u00c5sa\"}}]}]}}");
	assert_string_equal(text, "{\"id\":\"7\",\"issue_key\":\"GOOG-1\",\"body\":\"a\\nb@\xc3\x85sa\","
	    "\"url\":\"https://g.atlassian.net/browse/GOOG-1?focusedCommentId=7\"}");
	free(text);
}

/* Missing members are left out; members of the wrong type too; repeated
 * keys: the last one counts, as in Jansson's tree. */
static void
test_trim_missing_and_wrong_types(void **state)
{
	static const struct {
		const char *tool, *body, *want;
	} cases[] = {
		{ "jira_search", "", "{\"issues\":[],\"count\":0,\"is_last\":true}" },
		{ "jira_search", "[1,2]", "{\"issues\":[],\"count\":0,\"is_last\":true}" },
		{ "jira_search", "{\"issues\":{\"key\":\"A-1\"},\"nextPageToken\":5}",
		  "{\"issues\":[],\"count\":0,\"is_last\":true}" },
		{ "jira_search", "{\"issues\":[7,null,{\"key\":1,\"fields\":[]}]}",
		  "{\"issues\":[{\"assignee\":null},{\"assignee\":null},{\"assignee\":null}],"
		  "\"count\":3,\"is_last\":true}" },
		{ "jira_search", "{\"issues\":[{\"key\":\"A-1\",\"key\":\"A-2\"}],\"issues\":[]}",
		  "{\"issues\":[],\"count\":0,\"is_last\":true}" },
		{ "jira_get_issue", "{\"key\":\"A-1\",\"key\":\"A-2\",\"fields\":{\"description\":null,"
		  "\"labels\":[\"x\",\"y\\u00e9\"]}}", "{\"key\":\"A-2\",\"assignee\":null,\"url\":"
		  "\"https://g.atlassian.net/browse/A-2\",\"labels\":[\"x\",\"y\xc3\xa9\"],"
		  "\"description\":\"\"}" },
		/* Labels that are not all strings: re-written as Jansson does. */
		{ "jira_get_issue", "{\"fields\":{\"labels\":[1,2.50,1e2,-0,{\"a\":1,\"b\":2,\"a\":3},"
		  "[true,false,null]],\"description\":7}}", "{\"assignee\":null,\"labels\":[1,2.5,"
		  "100.0,0,{\"a\":3,\"b\":2},[true,false,null]],\"description\":\"\"}" },
		{ "jira_get_issue", "{\"fields\":{\"description\":\"plain v2 text\"}}",
		  "{\"assignee\":null,\"description\":\"plain v2 text\"}" },
		{ "jira_create_issue", "{}", "{}" },
		{ "jira_create_issue", "{\"id\":\"1\",\"key\":\"G-1\"}", "{\"key\":\"G-1\",\"id\":\"1\","
		  "\"url\":\"https://g.atlassian.net/browse/G-1\"}" },
		{ "jira_add_comment", "", "{\"issue_key\":\"GOOG-1\",\"body\":\"\"}" },
		{ "jira_get_transitions", "{\"transitions\":[{\"id\":\"1\",\"to\":\"x\"},3]}",
		  "{\"issue_key\":\"GOOG-1\",\"transitions\":[{\"id\":\"1\"},{}]}" },
		{ "jira_transition_issue", "", "{\"issue_key\":\"GOOG-1\",\"transition_id\":\"31\","
		  "\"done\":true,\"url\":\"https://g.atlassian.net/browse/GOOG-1\"}" },
		{ "confluence_search", "{\"results\":[{\"url\":\"/u\",\"excerpt\":\"a&#xD800;b\","
		  "\"content\":{\"title\":\"c\"}}],\"totalSize\":1.0}", "{\"results\":[{\"title\":\"c\","
		  "\"url\":\"https://g.atlassian.net/wiki/u\"}],\"count\":1}" },
		{ "confluence_search", "{\"totalSize\":9223372036854775807}", "{\"results\":[],"
		  "\"count\":0,\"total\":9223372036854775807}" },
		{ "confluence_get_page", "{\"version\":{\"number\":\"4\"}}", "{\"body\":\"\"}" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *text = answer(cases[i].tool, cases[i].body);

		assert_string_equal(text, cases[i].want);
		free(text);
	}
}

/* Truncated or invalid answers: the same clear tool error as before,
 * whatever the tool, and no partial result. */
static void
test_trim_not_json(void **state)
{
	static const char *const bad[] = {
		"{\"issues\":[{\"key\":\"A", "{} x", "[\"\\u0000\"]", "[\"\\udc00\"]",
		"[\"\\ud800x\"]", "[99999999999999999999]", "[-9223372036854775809]", "[1e400]",
		"[01]", "[1.]", "[.5]", "[1e]", "[\"\xc0\xaf\"]", "[\"\xed\xa0\x80\"]", "[\"a\tb\"]",
		"\"scalar\"", "42", " ", "{\"a\" 1}", "{\"a\":1,}", "[1,]", "[tru]", "\xef\xbb\xbf{}",
		"{'a':1}", "[\"\\x\"]", "[\"\\u12\"]",
	};

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		for (size_t t = 0; t < toolcat_len; t++)
			bad_answer(toolcat[t].name, bad[i], strlen(bad[i]));
	bad_answer("jira_search", "[\"a\0b\"]", 7);
}

/* A huge answer is capped to tool_result_max_bytes as before: items are
 * dropped from the end, "count" follows, "truncated" is set. */
static void
test_trim_huge_capped(void **state)
{
	struct buf	 b = { 0 };
	char		*body, *text;
	json_t		*r;

	(void)state;
	buf_puts(&b, "{\"issues\":[");
	for (int i = 0; i < 20000; i++)
		buf_puts(&b, i > 0 ? ",{\"key\":\"GOOG-1\",\"fields\":{\"summary\":\"a summary\"}}" :
		    "{\"key\":\"GOOG-1\",\"fields\":{\"summary\":\"a summary\"}}");
	buf_puts(&b, "]}");
	body = buf_steal(&b, NULL);
	text = answer_cap("jira_search", body, 4096);
	assert_true(strlen(text) <= 4096);
	r = json_loads(text, 0, NULL);
	assert_true(json_is_true(json_object_get(r, "truncated")));
	assert_true(json_array_size(json_object_get(r, "issues")) > 5);
	assert_int_equal(json_integer_value(json_object_get(r, "count")),
	    json_array_size(json_object_get(r, "issues")));
	json_decref(r);
	free(text);
	free(body);

	/* A long page body is cut on a character boundary. */
	buf_puts(&b, "{\"id\":\"1\",\"body\":{\"storage\":{\"value\":\"<p>");
	for (int i = 0; i < 5000; i++)
		buf_puts(&b, "\xc3\xa9\\u00e9");
	buf_puts(&b, "</p>\"}}}");
	body = buf_steal(&b, NULL);
	text = answer_cap("confluence_get_page", body, 2048);
	assert_true(strlen(text) <= 2048);
	assert_non_null(strstr(text, "[truncated]"));
	free(text);
	free(body);
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
		cmocka_unit_test(test_trim_escapes_and_unicode),
		cmocka_unit_test(test_trim_missing_and_wrong_types),
		cmocka_unit_test(test_trim_not_json),
		cmocka_unit_test(test_trim_huge_capped),
		cmocka_unit_test(test_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
