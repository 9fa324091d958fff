/*
 * trim_ref: the trimmers as they were before forwarder/jscan.c, kept only
 * as the reference the new ones are compared with, byte for byte: a
 * Jansson tree of the whole answer, the old ADF walker, one Jansson dump
 * (atlassian_serialise, which caps). Included by fuzz_jscan.c and the
 * unit tests; never linked into a daemon.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../forwarder/adf.h"
#include "../../forwarder/atlassian.h"
#include "jsonx.h"
#include "toolcat.h"

#define TREF_ADF_MAX_DEPTH	64

/* --- a growing text buffer ---------------------------------------------- */

struct tref_adf_buf {
	char	*s;
	size_t	 len, cap;
	int	 oom;
};

static void
tref_adf_put(struct tref_adf_buf *b, const char *s, size_t n)
{
	char *ns;

	if (b->oom || n == 0)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap == 0 ? 256 : b->cap;

		while (cap < b->len + n + 1)
			cap *= 2;
		if ((ns = realloc(b->s, cap)) == NULL) {
			b->oom = 1;
			return;
		}
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
tref_adf_puts(struct tref_adf_buf *b, const char *s)
{
	tref_adf_put(b, s, strlen(s));
}

/* End the current line unless the buffer is empty or already does. */
static void
tref_adf_newline(struct tref_adf_buf *b)
{
	if (b->len > 0 && b->s[b->len - 1] != '\n')
		tref_adf_put(b, "\n", 1);
}

/* Trim trailing whitespace and squeeze runs of blank lines; hand over. */
static char *
tref_adf_finish(struct tref_adf_buf *b)
{
	size_t	 w = 0, nl = 0;

	if (b->oom) {
		free(b->s);
		return NULL;
	}
	if (b->s == NULL)
		return strdup("");
	for (size_t r = 0; r < b->len; r++) {
		char c = b->s[r];

		if (c == '\n') {
			while (w > 0 && (b->s[w - 1] == ' ' || b->s[w - 1] == '\t'))
				w--;
			if (++nl > 2 || w == 0)
				continue;
		} else
			nl = 0;
		b->s[w++] = c;
	}
	while (w > 0 && (b->s[w - 1] == '\n' || b->s[w - 1] == ' '))
		w--;
	b->s[w] = '\0';
	return b->s;
}

/* --- ADF -> plain text ---------------------------------------------------- */

static void
tref_adf_walk(struct tref_adf_buf *b, const json_t *n, int depth, int list_index)
{
	const char	*type = json_string_value(json_object_get(n, "type"));
	const json_t	*content = json_object_get(n, "content");
	const json_t	*attrs = json_object_get(n, "attrs");
	const json_t	*c;
	size_t		 i;
	char		 num[32];

	if (depth > TREF_ADF_MAX_DEPTH || !json_is_object(n))
		return;
	if (type == NULL)
		type = "";
	if (strcmp(type, "text") == 0) {
		tref_adf_puts(b, json_string_value(json_object_get(n, "text")) != NULL ?
		    json_string_value(json_object_get(n, "text")) : "");
		return;
	}
	if (strcmp(type, "hardBreak") == 0) {
		tref_adf_put(b, "\n", 1);
		return;
	}
	if (strcmp(type, "mention") == 0 || strcmp(type, "emoji") == 0 ||
	    strcmp(type, "status") == 0 || strcmp(type, "date") == 0) {
		const char *t = json_string_value(json_object_get(attrs, "text"));

		if (t == NULL)
			t = json_string_value(json_object_get(attrs, "shortName"));
		if (t != NULL)
			tref_adf_puts(b, t);
		return;
	}
	if (strcmp(type, "inlineCard") == 0 || strcmp(type, "blockCard") == 0) {
		const char *u = json_string_value(json_object_get(attrs, "url"));

		if (u != NULL)
			tref_adf_puts(b, u);
		return;
	}
	if (strcmp(type, "rule") == 0) {
		tref_adf_newline(b);
		tref_adf_puts(b, "---\n");
		return;
	}
	if (strcmp(type, "listItem") == 0) {
		tref_adf_newline(b);
		for (int d = 0; d < depth / 2 - 1 && d < 8; d++)
			tref_adf_puts(b, "  ");
		if (list_index > 0) {
			snprintf(num, sizeof num, "%d. ", list_index);
			tref_adf_puts(b, num);
		} else
			tref_adf_puts(b, "- ");
	}
	if (strcmp(type, "paragraph") == 0 || strcmp(type, "heading") == 0 ||
	    strcmp(type, "codeBlock") == 0 || strcmp(type, "blockquote") == 0 ||
	    strcmp(type, "table") == 0 || strcmp(type, "tableRow") == 0 ||
	    strcmp(type, "panel") == 0 || strcmp(type, "bulletList") == 0 ||
	    strcmp(type, "orderedList") == 0) {
		/* A paragraph inside a list item continues the "- " line. */
		if (strcmp(type, "paragraph") != 0 || b->len < 2 ||
		    strcmp(b->s + b->len - 2, "- ") != 0)
			tref_adf_newline(b);
	}
	json_array_foreach(content, i, c) {
		int idx = strcmp(type, "orderedList") == 0 ? (int)i + 1 : 0;

		tref_adf_walk(b, c, depth + 1, idx);
		if (strcmp(type, "tableRow") == 0)
			tref_adf_puts(b, " | ");
	}
	if (strcmp(type, "paragraph") == 0 || strcmp(type, "heading") == 0 ||
	    strcmp(type, "codeBlock") == 0 || strcmp(type, "tableRow") == 0) {
		tref_adf_newline(b);
		if (depth <= 1)
			tref_adf_put(b, "\n", 1);	/* a blank line between top-level blocks */
	}
}

static char *
tref_adf_to_text(const json_t *node)
{
	struct tref_adf_buf b = { 0 };

	if (json_is_string(node))	/* old Jira API v2 bodies are plain strings */
		return strdup(json_string_value(node));
	tref_adf_walk(&b, node, 0, 0);
	return tref_adf_finish(&b);
}

/* --- trimmers ------------------------------------------------------------------- */

static void
tref_set_str(json_t *o, const char *k, const char *v)
{
	if (v != NULL)
		json_object_set_new(o, k, json_string(v));
}

static const char *
tref_dig(const json_t *v, const char *a, const char *b)
{
	return jsonx_str(json_object_get(v, a), b);
}

static json_t *
tref_issue_brief(const json_t *is, const char *base)
{
	const json_t	*f = json_object_get(is, "fields");
	const char	*key = jsonx_str(is, "key");
	json_t		*o = json_object();
	char		 url[1024];

	tref_set_str(o, "key", key);
	tref_set_str(o, "summary", jsonx_str(f, "summary"));
	tref_set_str(o, "status", tref_dig(f, "status", "name"));
	tref_set_str(o, "type", tref_dig(f, "issuetype", "name"));
	tref_set_str(o, "priority", tref_dig(f, "priority", "name"));
	json_object_set_new(o, "assignee", tref_dig(f, "assignee", "displayName") != NULL ?
	    json_string(tref_dig(f, "assignee", "displayName")) : json_null());
	tref_set_str(o, "updated", jsonx_str(f, "updated"));
	if (key != NULL) {
		snprintf(url, sizeof url, "%s/browse/%s", base, key);
		json_object_set_new(o, "url", json_string(url));
	}
	return o;
}

static json_t *
tref_t_search(const json_t *up, const char *base, const json_t *args)
{
	json_t	*list = json_array(), *is, *o;
	size_t	 i;

	(void)args;
	json_array_foreach(json_object_get(up, "issues"), i, is)
		json_array_append_new(list, tref_issue_brief(is, base));
	o = json_pack("{s:o,s:I}", "issues", list, "count", (json_int_t)json_array_size(list));
	if (jsonx_str(up, "nextPageToken") != NULL)
		json_object_set_new(o, "next_page_token",
		    json_string(jsonx_str(up, "nextPageToken")));
	json_object_set_new(o, "is_last", json_boolean(jsonx_str(up, "nextPageToken") == NULL));
	return o;
}

static json_t *
tref_t_get_issue(const json_t *up, const char *base, const json_t *args)
{
	const json_t	*f = json_object_get(up, "fields");
	json_t		*o = tref_issue_brief(up, base);
	char		*desc;

	(void)args;
	tref_set_str(o, "project", tref_dig(f, "project", "key"));
	tref_set_str(o, "reporter", tref_dig(f, "reporter", "displayName"));
	tref_set_str(o, "created", jsonx_str(f, "created"));
	if (json_is_array(json_object_get(f, "labels")))
		json_object_set(o, "labels", json_object_get(f, "labels"));
	if (json_object_get(f, "description") != NULL &&
	    !json_is_null(json_object_get(f, "description")) &&
	    (desc = tref_adf_to_text(json_object_get(f, "description"))) != NULL) {
		json_object_set_new(o, "description", json_string(desc));
		free(desc);
	} else
		json_object_set_new(o, "description", json_string(""));
	return o;
}

static json_t *
tref_t_create(const json_t *up, const char *base, const json_t *args)
{
	const char	*key = jsonx_str(up, "key");
	json_t		*o = json_object();
	char		 url[1024];

	(void)args;
	tref_set_str(o, "key", key);
	tref_set_str(o, "id", jsonx_str(up, "id"));
	if (key != NULL) {
		snprintf(url, sizeof url, "%s/browse/%s", base, key);
		json_object_set_new(o, "url", json_string(url));
	}
	return o;
}

static json_t *
tref_t_comment(const json_t *up, const char *base, const json_t *args)
{
	json_t	*o = json_object();
	char	 url[1024];
	char	*text = tref_adf_to_text(json_object_get(up, "body"));

	tref_set_str(o, "id", jsonx_str(up, "id"));
	tref_set_str(o, "issue_key", jsonx_str(args, "issue_key"));
	tref_set_str(o, "author", tref_dig(up, "author", "displayName"));
	tref_set_str(o, "created", jsonx_str(up, "created"));
	tref_set_str(o, "body", text);
	free(text);
	if (jsonx_str(up, "id") != NULL) {
		snprintf(url, sizeof url, "%s/browse/%s?focusedCommentId=%s", base,
		    jsonx_str(args, "issue_key"), jsonx_str(up, "id"));
		json_object_set_new(o, "url", json_string(url));
	}
	return o;
}

static json_t *
tref_t_transitions(const json_t *up, const char *base, const json_t *args)
{
	json_t	*list = json_array(), *t;
	size_t	 i;

	(void)base;
	json_array_foreach(json_object_get(up, "transitions"), i, t) {
		json_t *o = json_object();

		tref_set_str(o, "id", jsonx_str(t, "id"));
		tref_set_str(o, "name", jsonx_str(t, "name"));
		tref_set_str(o, "to_status", tref_dig(t, "to", "name"));
		json_array_append_new(list, o);
	}
	return json_pack("{s:s?,s:o}", "issue_key", jsonx_str(args, "issue_key"),
	    "transitions", list);
}

static json_t *
tref_t_transition(const json_t *up, const char *base, const json_t *args)
{
	char url[1024];

	(void)up;
	snprintf(url, sizeof url, "%s/browse/%s", base, jsonx_str(args, "issue_key"));
	return json_pack("{s:s?,s:s?,s:b,s:s}", "issue_key", jsonx_str(args, "issue_key"),
	    "transition_id", jsonx_str(args, "transition_id"), "done", 1, "url", url);
}

static json_t *
tref_t_cql(const json_t *up, const char *base, const json_t *args)
{
	json_t	*list = json_array(), *r;
	size_t	 i;
	char	 url[2048];

	(void)args;
	json_array_foreach(json_object_get(up, "results"), i, r) {
		const json_t	*ct = json_object_get(r, "content");
		const char	*webui = tref_dig(ct, "_links", "webui");
		json_t		*o = json_object();
		char		*ex = NULL;

		if (webui == NULL)
			webui = jsonx_str(r, "url");
		tref_set_str(o, "id", jsonx_str(ct, "id"));
		tref_set_str(o, "title", jsonx_str(r, "title") != NULL ? jsonx_str(r, "title") :
		    jsonx_str(ct, "title"));
		tref_set_str(o, "type", jsonx_str(ct, "type"));
		if (jsonx_str(r, "excerpt") != NULL &&
		    (ex = adf_storage_to_text(jsonx_str(r, "excerpt"))) != NULL)
			json_object_set_new(o, "excerpt", json_string(ex));
		free(ex);
		tref_set_str(o, "space", tref_dig(r, "resultGlobalContainer", "title"));
		tref_set_str(o, "last_modified", jsonx_str(r, "lastModified"));
		if (webui != NULL) {
			snprintf(url, sizeof url, "%s/wiki%s", base, webui);
			json_object_set_new(o, "url", json_string(url));
		}
		json_array_append_new(list, o);
	}
	r = json_pack("{s:o,s:I}", "results", list, "count", (json_int_t)json_array_size(list));
	if (json_is_integer(json_object_get(up, "totalSize")))
		json_object_set(r, "total", json_object_get(up, "totalSize"));
	return r;
}

static json_t *
tref_t_page(const json_t *up, const char *base, const json_t *args)
{
	json_t		*o = json_object();
	const char	*webui = tref_dig(up, "_links", "webui");
	const json_t	*body = json_object_get(json_object_get(up, "body"), "storage");
	char		 url[2048];
	char		*text;

	(void)args;
	tref_set_str(o, "id", jsonx_str(up, "id"));
	tref_set_str(o, "title", jsonx_str(up, "title"));
	tref_set_str(o, "status", jsonx_str(up, "status"));
	if (json_is_integer(json_object_get(json_object_get(up, "version"), "number")))
		json_object_set(o, "version", json_object_get(json_object_get(up, "version"),
		    "number"));
	tref_set_str(o, "created", jsonx_str(up, "createdAt"));
	if (webui != NULL) {
		snprintf(url, sizeof url, "%s/wiki%s", base, webui);
		json_object_set_new(o, "url", json_string(url));
	}
	text = adf_storage_to_text(jsonx_str(body, "value") != NULL ? jsonx_str(body, "value") :
	    "");
	json_object_set_new(o, "body", json_string(text != NULL ? text : ""));
	free(text);
	return o;
}


typedef json_t *(*tref_fn)(const json_t *, const char *, const json_t *);

static const struct {
	const char	*tool;
	tref_fn		 fn;
} tref_rows[] = {
	{ "jira_search", tref_t_search }, { "jira_get_issue", tref_t_get_issue },
	{ "jira_create_issue", tref_t_create }, { "jira_add_comment", tref_t_comment },
	{ "jira_get_transitions", tref_t_transitions },
	{ "jira_transition_issue", tref_t_transition }, { "confluence_search", tref_t_cql },
	{ "confluence_get_page", tref_t_page },
};

/* The old path from answer to text: 0 with *text, -1 "not JSON",
 * -2 out of memory (as atlassian_exec() mapped them). */
static int
tref_answer(const char *tool, const char *body, size_t len, const char *base,
    const json_t *args, size_t max, char **text, size_t *tlen)
{
	json_t	*up = NULL, *result = NULL;
	tref_fn	 fn = NULL;
	int	 rc;

	*text = NULL;
	for (size_t i = 0; i < sizeof tref_rows / sizeof tref_rows[0]; i++)
		if (strcmp(tref_rows[i].tool, tool) == 0)
			fn = tref_rows[i].fn;
	if (fn == NULL)
		abort();
	if (len > 0 && (up = json_loadb(body, len, 0, NULL)) == NULL)
		return -1;
	rc = (result = fn(up, base, args)) == NULL ||
	    atlassian_serialise(result, max, text, tlen) == -1 ? -2 : 0;
	json_decref(result);
	json_decref(up);
	return rc;
}
