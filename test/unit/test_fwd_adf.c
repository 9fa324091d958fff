/* Text conversions: plain text <-> ADF, Confluence storage -> text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../forwarder/adf.h"

static void
test_text_to_adf(void **state)
{
	json_t	*doc = adf_from_text("First line\nsecond line\n\nNew paragraph\r\n");
	json_t	*p0, *p1;
	char	*back;

	(void)state;
	assert_string_equal(json_string_value(json_object_get(doc, "type")), "doc");
	assert_int_equal(json_integer_value(json_object_get(doc, "version")), 1);
	assert_int_equal(json_array_size(json_object_get(doc, "content")), 2);
	p0 = json_array_get(json_object_get(doc, "content"), 0);
	p1 = json_array_get(json_object_get(doc, "content"), 1);
	assert_string_equal(json_string_value(json_object_get(p0, "type")), "paragraph");
	/* text, hardBreak, text */
	assert_int_equal(json_array_size(json_object_get(p0, "content")), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(p0, "content"), 1), "type")), "hardBreak");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(p1, "content"), 0), "text")), "New paragraph");
	back = adf_to_text(doc);
	assert_string_equal(back, "First line\nsecond line\n\nNew paragraph");
	free(back);
	json_decref(doc);

	doc = adf_from_text("");
	assert_int_equal(json_array_size(json_object_get(doc, "content")), 0);
	json_decref(doc);
}

static void
test_adf_to_text_nodes(void **state)
{
	json_t *doc = json_loads("{\"type\":\"doc\",\"version\":1,\"content\":["
	    "{\"type\":\"heading\",\"attrs\":{\"level\":1},\"content\":[{\"type\":\"text\","
	    "\"text\":\"Title\"}]},"
	    "{\"type\":\"bulletList\",\"content\":["
	    "{\"type\":\"listItem\",\"content\":[{\"type\":\"paragraph\",\"content\":["
	    "{\"type\":\"text\",\"text\":\"one\"}]}]},"
	    "{\"type\":\"listItem\",\"content\":[{\"type\":\"paragraph\",\"content\":["
	    "{\"type\":\"text\",\"text\":\"two \"},{\"type\":\"mention\",\"attrs\":"
	    "{\"text\":\"@Ann\"}}]}]}]},"
	    "{\"type\":\"paragraph\",\"content\":[{\"type\":\"inlineCard\",\"attrs\":"
	    "{\"url\":\"https://x.example/1\"}}]}]}", 0, NULL);
	char *t;

	(void)state;
	assert_non_null(doc);
	t = adf_to_text(doc);
	assert_non_null(strstr(t, "Title\n"));
	assert_non_null(strstr(t, "- one\n"));
	assert_non_null(strstr(t, "- two @Ann"));
	assert_non_null(strstr(t, "https://x.example/1"));
	free(t);
	json_decref(doc);
}

static void
test_adf_deep_nesting_is_bounded(void **state)
{
	/* 200 nested blockquotes: the walk stops at its depth limit. */
	char	*buf = malloc(200 * 64 + 256), *p = buf;
	json_t	*doc;
	char	*t;

	(void)state;
	for (int i = 0; i < 200; i++)
		p += sprintf(p, "{\"type\":\"blockquote\",\"content\":[");
	p += sprintf(p, "{\"type\":\"text\",\"text\":\"deep\"}");
	for (int i = 0; i < 200; i++)
		p += sprintf(p, "]}");
	doc = json_loads(buf, 0, NULL);
	assert_non_null(doc);
	t = adf_to_text(doc);
	assert_non_null(t);
	assert_null(strstr(t, "deep"));
	free(t);
	json_decref(doc);
	free(buf);
}

static void
test_storage_to_text(void **state)
{
	char *t;

	(void)state;
	t = adf_storage_to_text("<h1>Run&shy;book</h1><p>Page the <strong>secondary</strong> "
	    "after 15&nbsp;minutes &amp; log it.</p><ul><li>one</li><li>two &#8211; "
	    "&#x41;</li></ul><script>alert(1)</script><!-- hidden --><p>x &lt; y</p>");
	assert_non_null(strstr(t, "Page the secondary after 15 minutes & log it."));
	assert_non_null(strstr(t, "- one\n- two \xe2\x80\x93 A"));
	assert_null(strstr(t, "alert"));
	assert_null(strstr(t, "hidden"));
	assert_non_null(strstr(t, "x < y"));
	free(t);
	t = adf_storage_to_text("<p>unterminated <b");
	assert_string_equal(t, "unterminated");
	free(t);
	t = adf_storage_to_text("");
	assert_string_equal(t, "");
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_to_adf),
		cmocka_unit_test(test_adf_to_text_nodes),
		cmocka_unit_test(test_adf_deep_nesting_is_bounded),
		cmocka_unit_test(test_storage_to_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
