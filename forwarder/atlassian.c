/*
 * atlassian: one row per built-in tool: request builder + result trimmer.
 * Also owns the upstream error policy (which status becomes which tool
 * error, one bounded retry after a 429) and the size cap on results.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adf.h"
#include "atlassian.h"
#include "clock.h"
#include "err.h"
#include "fwdconf.h"
#include "httpc.h"
#include "jsonx.h"
#include "log.h"
#include "toolcat.h"

#define ATL_URL_MAX	8192

/* What a builder produces: method, path+query (below base_url), body. */
struct atl_call {
	const char	*method;
	char		 path[ATL_URL_MAX];
	json_t		*body;		/* NULL for GET */
	const char	*what;		/* "issue GOOG-1", for messages */
	char		 what_buf[160];
};

typedef int (*atl_build_fn)(const json_t *args, struct atl_call *, struct err *);
typedef json_t *(*atl_trim_fn)(const json_t *up, const char *base, const json_t *args);

struct atl_row {
	const char	*tool;
	atl_build_fn	 build;
	atl_trim_fn	 trim;
};

/* --- small helpers ---------------------------------------------------------- */

static const char *
atl_arg(const json_t *args, const char *k)
{
	return jsonx_str(args, k);
}

static long long
atl_int(const json_t *args, const char *k, long long dflt)
{
	json_t *v = json_object_get(args, k);

	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

/* Append "&k=urlencoded(v)" (or "?k=..." first) to path. */
static int
atl_query(char *path, size_t sz, const char *k, const char *v, struct err *e)
{
	char	*enc = httpc_urlencode(v);
	size_t	 n = strlen(path);
	int	 w;

	if (enc == NULL)
		return err_set(e, 500, "nomem", "out of memory");
	w = snprintf(path + n, sz - n, "%s%s=%s", strchr(path, '?') != NULL ? "&" : "?", k, enc);
	free(enc);
	if (w < 0 || (size_t)w >= sz - n)
		return err_set(e, 400, "bad_arguments", "argument '%s' is too long", k);
	return 0;
}

/* path = pre + url-encoded segment + post. */
static int
atl_path1(struct atl_call *c, const char *pre, const char *seg, const char *post,
    struct err *e)
{
	char *enc = httpc_urlencode(seg);
	int   w;

	if (enc == NULL)
		return err_set(e, 500, "nomem", "out of memory");
	w = snprintf(c->path, sizeof c->path, "%s%s%s", pre, enc, post);
	free(enc);
	if (w < 0 || (size_t)w >= sizeof c->path)
		return err_set(e, 400, "bad_arguments", "argument is too long");
	return 0;
}

static void
atl_set_str(json_t *o, const char *k, const char *v)
{
	if (v != NULL)
		json_object_set_new(o, k, json_string(v));
}

static const char *
atl_dig(const json_t *v, const char *a, const char *b)
{
	return jsonx_str(json_object_get(v, a), b);
}

/* --- builders ------------------------------------------------------------- */

#define JIRA_LIST_FIELDS "summary,status,assignee,updated,priority,issuetype"
#define JIRA_ISSUE_FIELDS "summary,status,assignee,reporter,priority,issuetype,project," \
	"created,updated,description,labels"

static int
atl_b_search(const json_t *args, struct atl_call *c, struct err *e)
{
	char n[32];

	c->method = "GET";
	snprintf(c->path, sizeof c->path, "/rest/api/3/search/jql");
	snprintf(n, sizeof n, "%lld", atl_int(args, "max_results", 20));
	c->what = "the JQL search";
	if (atl_query(c->path, sizeof c->path, "jql", atl_arg(args, "jql"), e) == -1 ||
	    atl_query(c->path, sizeof c->path, "maxResults", n, e) == -1 ||
	    atl_query(c->path, sizeof c->path, "fields", JIRA_LIST_FIELDS, e) == -1)
		return -1;
	if (atl_arg(args, "next_page_token") != NULL &&
	    atl_query(c->path, sizeof c->path, "nextPageToken", atl_arg(args,
	    "next_page_token"), e) == -1)
		return -1;
	return 0;
}

static int
atl_issue_what(struct atl_call *c, const json_t *args)
{
	snprintf(c->what_buf, sizeof c->what_buf, "issue %.60s", atl_arg(args, "issue_key"));
	c->what = c->what_buf;
	return 0;
}

static int
atl_b_get_issue(const json_t *args, struct atl_call *c, struct err *e)
{
	c->method = "GET";
	atl_issue_what(c, args);
	if (atl_path1(c, "/rest/api/3/issue/", atl_arg(args, "issue_key"), "", e) == -1)
		return -1;
	return atl_query(c->path, sizeof c->path, "fields", JIRA_ISSUE_FIELDS, e);
}

static int
atl_b_create(const json_t *args, struct atl_call *c, struct err *e)
{
	const char	*desc = atl_arg(args, "description");
	const char	*type = atl_arg(args, "issue_type");
	json_t		*fields;

	c->method = "POST";
	snprintf(c->path, sizeof c->path, "/rest/api/3/issue");
	snprintf(c->what_buf, sizeof c->what_buf, "project %.40s", atl_arg(args, "project_key"));
	c->what = c->what_buf;
	fields = json_pack("{s:{s:s},s:s,s:{s:s}}", "project", "key",
	    atl_arg(args, "project_key"), "summary", atl_arg(args, "summary"),
	    "issuetype", "name", type != NULL ? type : "Task");
	if (fields == NULL)
		return err_set(e, 500, "nomem", "out of memory");
	if (desc != NULL && desc[0] != '\0')
		json_object_set_new(fields, "description", adf_from_text(desc));
	c->body = json_pack("{s:o}", "fields", fields);
	return c->body == NULL ? err_set(e, 500, "nomem", "out of memory") : 0;
}

static int
atl_b_comment(const json_t *args, struct atl_call *c, struct err *e)
{
	json_t *doc;

	c->method = "POST";
	atl_issue_what(c, args);
	if (atl_path1(c, "/rest/api/3/issue/", atl_arg(args, "issue_key"), "/comment",
	    e) == -1)
		return -1;
	if ((doc = adf_from_text(atl_arg(args, "body"))) == NULL ||
	    (c->body = json_pack("{s:o}", "body", doc)) == NULL)
		return err_set(e, 500, "nomem", "out of memory");
	return 0;
}

static int
atl_b_transitions(const json_t *args, struct atl_call *c, struct err *e)
{
	c->method = "GET";
	atl_issue_what(c, args);
	return atl_path1(c, "/rest/api/3/issue/", atl_arg(args, "issue_key"), "/transitions", e);
}

static int
atl_b_transition(const json_t *args, struct atl_call *c, struct err *e)
{
	c->method = "POST";
	atl_issue_what(c, args);
	if (atl_path1(c, "/rest/api/3/issue/", atl_arg(args, "issue_key"), "/transitions",
	    e) == -1)
		return -1;
	c->body = json_pack("{s:{s:s}}", "transition", "id", atl_arg(args, "transition_id"));
	return c->body == NULL ? err_set(e, 500, "nomem", "out of memory") : 0;
}

static int
atl_b_cql(const json_t *args, struct atl_call *c, struct err *e)
{
	char n[32];

	c->method = "GET";
	c->what = "the CQL search";
	snprintf(c->path, sizeof c->path, "/wiki/rest/api/search");
	snprintf(n, sizeof n, "%lld", atl_int(args, "limit", 10));
	if (atl_query(c->path, sizeof c->path, "cql", atl_arg(args, "cql"), e) == -1)
		return -1;
	return atl_query(c->path, sizeof c->path, "limit", n, e);
}

static int
atl_b_page(const json_t *args, struct atl_call *c, struct err *e)
{
	c->method = "GET";
	snprintf(c->what_buf, sizeof c->what_buf, "page %.40s", atl_arg(args, "page_id"));
	c->what = c->what_buf;
	if (atl_path1(c, "/wiki/api/v2/pages/", atl_arg(args, "page_id"), "", e) == -1)
		return -1;
	return atl_query(c->path, sizeof c->path, "body-format", "storage", e);
}

/* --- trimmers ------------------------------------------------------------- */

static json_t *
atl_issue_brief(const json_t *is, const char *base)
{
	const json_t	*f = json_object_get(is, "fields");
	const char	*key = jsonx_str(is, "key");
	json_t		*o = json_object();
	char		 url[1024];

	atl_set_str(o, "key", key);
	atl_set_str(o, "summary", jsonx_str(f, "summary"));
	atl_set_str(o, "status", atl_dig(f, "status", "name"));
	atl_set_str(o, "type", atl_dig(f, "issuetype", "name"));
	atl_set_str(o, "priority", atl_dig(f, "priority", "name"));
	json_object_set_new(o, "assignee", atl_dig(f, "assignee", "displayName") != NULL ?
	    json_string(atl_dig(f, "assignee", "displayName")) : json_null());
	atl_set_str(o, "updated", jsonx_str(f, "updated"));
	if (key != NULL) {
		snprintf(url, sizeof url, "%s/browse/%s", base, key);
		json_object_set_new(o, "url", json_string(url));
	}
	return o;
}

static json_t *
atl_t_search(const json_t *up, const char *base, const json_t *args)
{
	json_t	*list = json_array(), *is;
	size_t	 i;

	(void)args;
	json_array_foreach(json_object_get(up, "issues"), i, is)
		json_array_append_new(list, atl_issue_brief(is, base));
	json_t *o = json_pack("{s:o,s:I}", "issues", list, "count",
	    (json_int_t)json_array_size(list));
	if (jsonx_str(up, "nextPageToken") != NULL)
		json_object_set_new(o, "next_page_token",
		    json_string(jsonx_str(up, "nextPageToken")));
	json_object_set_new(o, "is_last", json_boolean(jsonx_str(up, "nextPageToken") == NULL));
	return o;
}

static json_t *
atl_t_get_issue(const json_t *up, const char *base, const json_t *args)
{
	const json_t	*f = json_object_get(up, "fields");
	json_t		*o = atl_issue_brief(up, base);
	char		*desc;

	(void)args;
	atl_set_str(o, "project", atl_dig(f, "project", "key"));
	atl_set_str(o, "reporter", atl_dig(f, "reporter", "displayName"));
	atl_set_str(o, "created", jsonx_str(f, "created"));
	if (json_is_array(json_object_get(f, "labels")))
		json_object_set(o, "labels", json_object_get(f, "labels"));
	if (json_object_get(f, "description") != NULL &&
	    !json_is_null(json_object_get(f, "description")) &&
	    (desc = adf_to_text(json_object_get(f, "description"))) != NULL) {
		json_object_set_new(o, "description", json_string(desc));
		free(desc);
	} else
		json_object_set_new(o, "description", json_string(""));
	return o;
}

static json_t *
atl_t_create(const json_t *up, const char *base, const json_t *args)
{
	const char	*key = jsonx_str(up, "key");
	json_t		*o = json_object();
	char		 url[1024];

	(void)args;
	atl_set_str(o, "key", key);
	atl_set_str(o, "id", jsonx_str(up, "id"));
	if (key != NULL) {
		snprintf(url, sizeof url, "%s/browse/%s", base, key);
		json_object_set_new(o, "url", json_string(url));
	}
	return o;
}

static json_t *
atl_t_comment(const json_t *up, const char *base, const json_t *args)
{
	json_t	*o = json_object();
	char	 url[1024];
	char	*text = adf_to_text(json_object_get(up, "body"));

	atl_set_str(o, "id", jsonx_str(up, "id"));
	atl_set_str(o, "issue_key", atl_arg(args, "issue_key"));
	atl_set_str(o, "author", atl_dig(up, "author", "displayName"));
	atl_set_str(o, "created", jsonx_str(up, "created"));
	atl_set_str(o, "body", text);
	free(text);
	if (jsonx_str(up, "id") != NULL) {
		snprintf(url, sizeof url, "%s/browse/%s?focusedCommentId=%s", base,
		    atl_arg(args, "issue_key"), jsonx_str(up, "id"));
		json_object_set_new(o, "url", json_string(url));
	}
	return o;
}

static json_t *
atl_t_transitions(const json_t *up, const char *base, const json_t *args)
{
	json_t	*list = json_array(), *t;
	size_t	 i;

	(void)base;
	json_array_foreach(json_object_get(up, "transitions"), i, t) {
		json_t *o = json_object();

		atl_set_str(o, "id", jsonx_str(t, "id"));
		atl_set_str(o, "name", jsonx_str(t, "name"));
		atl_set_str(o, "to_status", atl_dig(t, "to", "name"));
		json_array_append_new(list, o);
	}
	return json_pack("{s:s?,s:o}", "issue_key", atl_arg(args, "issue_key"),
	    "transitions", list);
}

static json_t *
atl_t_transition(const json_t *up, const char *base, const json_t *args)
{
	char url[1024];

	(void)up;
	snprintf(url, sizeof url, "%s/browse/%s", base, atl_arg(args, "issue_key"));
	return json_pack("{s:s?,s:s?,s:b,s:s}", "issue_key", atl_arg(args, "issue_key"),
	    "transition_id", atl_arg(args, "transition_id"), "done", 1, "url", url);
}

static json_t *
atl_t_cql(const json_t *up, const char *base, const json_t *args)
{
	json_t	*list = json_array(), *r;
	size_t	 i;
	char	 url[2048];

	(void)args;
	json_array_foreach(json_object_get(up, "results"), i, r) {
		const json_t	*ct = json_object_get(r, "content");
		const char	*webui = atl_dig(ct, "_links", "webui");
		json_t		*o = json_object();
		char		*ex = NULL;

		if (webui == NULL)
			webui = jsonx_str(r, "url");
		atl_set_str(o, "id", jsonx_str(ct, "id"));
		atl_set_str(o, "title", jsonx_str(r, "title") != NULL ? jsonx_str(r, "title") :
		    jsonx_str(ct, "title"));
		atl_set_str(o, "type", jsonx_str(ct, "type"));
		if (jsonx_str(r, "excerpt") != NULL &&
		    (ex = adf_storage_to_text(jsonx_str(r, "excerpt"))) != NULL)
			json_object_set_new(o, "excerpt", json_string(ex));
		free(ex);
		atl_set_str(o, "space", atl_dig(r, "resultGlobalContainer", "title"));
		atl_set_str(o, "last_modified", jsonx_str(r, "lastModified"));
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
atl_t_page(const json_t *up, const char *base, const json_t *args)
{
	json_t		*o = json_object();
	const char	*webui = atl_dig(up, "_links", "webui");
	const json_t	*body = json_object_get(json_object_get(up, "body"), "storage");
	char		 url[2048];
	char		*text;

	(void)args;
	atl_set_str(o, "id", jsonx_str(up, "id"));
	atl_set_str(o, "title", jsonx_str(up, "title"));
	atl_set_str(o, "status", jsonx_str(up, "status"));
	if (json_is_integer(json_object_get(json_object_get(up, "version"), "number")))
		json_object_set(o, "version", json_object_get(json_object_get(up, "version"),
		    "number"));
	atl_set_str(o, "created", jsonx_str(up, "createdAt"));
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

static const struct atl_row atl_rows[] = {
	{ "jira_search", atl_b_search, atl_t_search },
	{ "jira_get_issue", atl_b_get_issue, atl_t_get_issue },
	{ "jira_create_issue", atl_b_create, atl_t_create },
	{ "jira_add_comment", atl_b_comment, atl_t_comment },
	{ "jira_get_transitions", atl_b_transitions, atl_t_transitions },
	{ "jira_transition_issue", atl_b_transition, atl_t_transition },
	{ "confluence_search", atl_b_cql, atl_t_cql },
	{ "confluence_get_page", atl_b_page, atl_t_page },
};

static const struct atl_row *
atl_row(const char *tool)
{
	for (size_t i = 0; i < sizeof atl_rows / sizeof atl_rows[0]; i++)
		if (strcmp(atl_rows[i].tool, tool) == 0)
			return &atl_rows[i];
	return NULL;
}

int
atlassian_has(const char *tool)
{
	return atl_row(tool) != NULL;
}

json_t *
atlassian_trim(const char *tool, const json_t *up, const char *base, const json_t *args)
{
	const struct atl_row *r = atl_row(tool);

	return r != NULL ? r->trim(up, base, args) : NULL;
}

/* --- the size cap ----------------------------------------------------------- */

/* The serialised size, measured without building the string. */
static size_t
atl_json_size(const json_t *v)
{
	return json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Cut a UTF-8 string to at most n bytes without splitting a character. */
static size_t
atl_utf8_cut(const char *s, size_t n)
{
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

void
atlassian_cap(json_t *result, size_t max)
{
	static const char *const lists[] = { "issues", "results", "transitions", "tools" };
	static const char *const texts[] = { "body", "description", "text" };
	size_t	 size;

	for (int round = 0; round < 4096 && (size = atl_json_size(result)) > max; round++) {
		json_t		*best = NULL;
		const char	*best_key = NULL;
		size_t		 best_len = 0;

		json_object_set_new(result, "truncated", json_true());
		for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
			json_t *l = json_object_get(result, lists[i]);

			if (json_is_array(l) && json_array_size(l) > 0) {
				/* Drop about what is over, at least one item. */
				size_t n = json_array_size(l), per = size / (n + 1) + 1;
				size_t drop = (size - max) / per + 1;

				if (drop > n)
					drop = n;
				while (drop-- > 0)
					json_array_remove(l, json_array_size(l) - 1);
				if (json_is_integer(json_object_get(result, "count")))
					json_object_set_new(result, "count",
					    json_integer((json_int_t)json_array_size(l)));
				goto next;
			}
		}
		for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
			json_t *t = json_object_get(result, texts[i]);

			if (json_is_string(t) && json_string_length(t) > best_len) {
				best = t;
				best_key = texts[i];
				best_len = json_string_length(t);
			}
		}
		if (best != NULL && best_len > 64) {
			size_t	 over = size - max + 32, keep;
			char	*cut;

			keep = over < best_len ? best_len - over : best_len / 2;
			keep = atl_utf8_cut(json_string_value(best), keep);
			if ((cut = malloc(keep + 16)) == NULL)
				break;
			memcpy(cut, json_string_value(best), keep);
			memcpy(cut + keep, " [truncated]", 13);
			json_object_set_new(result, best_key, json_string(cut));
			free(cut);
			continue;
		}
		/* Nothing sensible left to shorten: say so instead. */
		json_object_clear(result);
		json_object_set_new(result, "truncated", json_true());
		json_object_set_new(result, "note", json_string("the result was too large to "
		    "return; narrow the request"));
		break;
next:		;
	}
}

/* --- the upstream call -------------------------------------------------------- */

/* Up to two messages from a Jira/Confluence error body, never the body. */
static void
atl_upstream_msg(const struct httpc_resp *resp, char *out, size_t sz)
{
	json_t	*v = resp->len > 0 ? json_loadb(resp->body, resp->len, 0, NULL) : NULL;
	json_t	*m, *x;
	const char *k;
	size_t	 i, n = 0;

	out[0] = '\0';
	json_array_foreach(json_object_get(v, "errorMessages"), i, m) {
		if (json_is_string(m) && n++ < 2)
			snprintf(out + strlen(out), sz - strlen(out), "%s%s",
			    out[0] != '\0' ? "; " : "", json_string_value(m));
	}
	json_object_foreach(json_object_get(v, "errors"), k, x) {
		if (json_is_string(x) && n++ < 2)
			snprintf(out + strlen(out), sz - strlen(out), "%s%s: %s",
			    out[0] != '\0' ? "; " : "", k, json_string_value(x));
	}
	if (out[0] == '\0' && jsonx_str(v, "message") != NULL)
		snprintf(out, sz, "%s", jsonx_str(v, "message"));
	json_decref(v);
}

static int
atl_status_err(const struct httpc_resp *resp, const struct atl_call *c, const char *tenant,
    struct err *e)
{
	char	 m[200];
	long	 s = resp->status;

	atl_upstream_msg(resp, m, sizeof m);
	if (s == 401)
		return err_set(e, 502, "upstream_unauthorized", "Atlassian refused tenant '%s''s "
		    "stored credentials (401); an administrator must rotate its API token",
		    tenant);
	if (s == 403)
		return err_set(e, 403, "upstream_forbidden", "tenant '%s''s Atlassian account may "
		    "not access %s (403)%s%.120s", tenant, c->what, m[0] != '\0' ? ": " : "", m);
	if (s == 404)
		return err_set(e, 404, "upstream_not_found", "%s was not found in tenant '%s' (404)",
		    c->what, tenant);
	if (s == 429)
		return err_set(e, 429, "upstream_rate_limited", "Atlassian is rate-limiting tenant "
		    "'%s' (429); try again later", tenant);
	if (s >= 500)
		return err_set(e, 502, "upstream_unavailable", "Atlassian failed for tenant '%s' "
		    "(%ld); try again later", tenant, s);
	return err_set(e, 400, "upstream_rejected", "Atlassian rejected %s (%ld)%s%.160s",
	    c->what, s, m[0] != '\0' ? ": " : "", m);
}

/* Parks the request's coroutine (clock.h), never the loop. */
static void
atl_sleep(long seconds)
{
	clock_sleep_ms(seconds * 1000);
}

int
atlassian_exec(const struct toolcat_entry *te, const json_t *args,
    const struct atlassian_target *t, const struct fwdconf *conf, json_t **result,
    struct err *e)
{
	const struct atl_row	*row = atl_row(te->name);
	struct atl_call		 c;
	struct httpc_req	 req;
	struct httpc_resp	 resp;
	char			*url = NULL, *body = NULL;
	json_t			*up = NULL;
	int			 rc = -1;
	size_t			 n;

	*result = NULL;
	memset(&c, 0, sizeof c);
	if (row == NULL)
		return err_set(e, 500, "no_executor", "no executor for tool %s", te->name);
	if (row->build(args, &c, e) == -1)
		goto out;
	n = strlen(t->base_url) + strlen(c.path) + 1;
	if ((url = malloc(n)) == NULL) {
		err_set(e, 500, "nomem", "out of memory");
		goto out;
	}
	snprintf(url, n, "%s%s", t->base_url, c.path);
	if (c.body != NULL && (body = jsonx_dump(c.body)) == NULL) {
		err_set(e, 500, "nomem", "out of memory");
		goto out;
	}
	memset(&req, 0, sizeof req);
	req.method = c.method;
	req.url = url;
	req.body = body;
	req.body_len = body != NULL ? strlen(body) : 0;
	req.headers = (const char *const[]){ "Accept: application/json", NULL };
	req.secret_header = t->auth;
	req.timeout_ms = (long)conf->upstream_timeout * 1000;
	req.connect_timeout_ms = (long)conf->upstream_connect_timeout * 1000;
	req.max_response = conf->upstream_max_response;
	req.ca_file = conf->upstream_ca_file;

	for (int attempt = 0;; attempt++) {
		if (httpc_do(&req, &resp, e) == -1) {
			char why[ERR_MSG_MAX];

			snprintf(why, sizeof why, "%s", e->msg);
			if (strcmp(e->code, "upstream_timeout") == 0)
				err_set(e, 504, "upstream_timeout", "Atlassian did not answer %s for "
				    "tenant '%s' within %d s", c.what, t->tenant,
				    conf->upstream_timeout);
			else if (strcmp(e->code, "upstream_too_large") == 0)
				err_set(e, 502, "upstream_too_large", "Atlassian's answer to %s is "
				    "larger than %zu bytes; narrow the request", c.what,
				    conf->upstream_max_response);
			else
				err_set(e, 502, e->code[0] != '\0' ? e->code : "upstream_error",
				    "cannot reach Atlassian for tenant '%s': %.160s", t->tenant, why);
			goto out;
		}
		if (resp.status == 429 && attempt == 0) {
			long wait = resp.retry_after >= 0 ? resp.retry_after : 1;

			if (wait <= conf->retry_after_max) {
				log_info("atlassian: %s: 429 for %s, retrying in %lds", t->tenant,
				    te->name, wait);
				httpc_resp_free(&resp);
				atl_sleep(wait);
				continue;
			}
			log_info("atlassian: %s: 429 for %s with Retry-After %lds (> %ds): not "
			    "retried", t->tenant, te->name, wait, conf->retry_after_max);
		}
		break;
	}
	if (resp.status < 200 || resp.status > 299) {
		atl_status_err(&resp, &c, t->tenant, e);
		if (resp.status == 429 && resp.retry_after >= 0) {
			snprintf(e->msg + strlen(e->msg), sizeof e->msg - strlen(e->msg),
			    " (Retry-After: %ld s)", resp.retry_after);
			e->retry_after = resp.retry_after > 3600 ? 3600 : (int)resp.retry_after;
		}
		httpc_resp_free(&resp);
		goto out;
	}
	if (resp.len > 0 && (up = json_loadb(resp.body, resp.len, 0, NULL)) == NULL) {
		httpc_resp_free(&resp);
		err_set(e, 502, "upstream_bad_json", "Atlassian's answer to %s is not JSON", c.what);
		goto out;
	}
	httpc_resp_free(&resp);
	if ((*result = row->trim(up, t->base_url, args)) == NULL) {
		err_set(e, 500, "nomem", "out of memory");
		goto out;
	}
	atlassian_cap(*result, conf->tool_result_max_bytes);
	rc = 0;
out:
	json_decref(up);
	json_decref(c.body);
	free(body);
	free(url);
	return rc;
}
