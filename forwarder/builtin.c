/*
 * builtin: the rows of the built-in tools, their body builders and result
 * trimmers, and what is computed once from them (schemas, argument
 * checkers, tools/list fragments per tenant).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adf.h"
#include "builtin.h"
#include "err.h"
#include "jbuf.h"
#include "jsonx.h"
#include "log.h"
#include "toolargs.h"

#define ISSUE_KEY_SCHEMA \
	"\"issue_key\":{\"type\":\"string\",\"pattern\":\"^[A-Z][A-Z0-9_]+-[0-9]+$\"," \
	"\"description\":\"Issue key, e.g. PROJ-123\"}"

#define JIRA_LIST_FIELDS "summary,status,assignee,updated,priority,issuetype"
#define JIRA_ISSUE_FIELDS "summary,status,assignee,reporter,priority,issuetype,project," \
	"created,updated,description,labels"

/* Tenants whose tools/list fragments are kept; past it they are built per
 * request (a bound, not a working limit: tenants come from grants). */
#define BUILTIN_FRAG_TENANTS_MAX	4096

static json_t *builtin_b_create(const json_t *);
static json_t *builtin_b_comment(const json_t *);
static json_t *builtin_b_transition(const json_t *);
static json_t *builtin_t_search(const json_t *, const char *, const json_t *);
static json_t *builtin_t_get_issue(const json_t *, const char *, const json_t *);
static json_t *builtin_t_create(const json_t *, const char *, const json_t *);
static json_t *builtin_t_comment(const json_t *, const char *, const json_t *);
static json_t *builtin_t_transitions(const json_t *, const char *, const json_t *);
static json_t *builtin_t_transition(const json_t *, const char *, const json_t *);
static json_t *builtin_t_cql(const json_t *, const char *, const json_t *);
static json_t *builtin_t_page(const json_t *, const char *, const json_t *);

const struct builtin builtin[TC__COUNT] = {
	[TC_JIRA_SEARCH] = {
	  "Search Jira issues",
	  "Search issues with JQL; returns key, summary, status, assignee, updated and a link. "
	  "The JQL must restrict the search (for example project = PROJ, assignee = "
	  "currentUser() or updated >= -7d): Jira Cloud refuses unbounded JQL such as "
	  "just \"order by created DESC\".",
	  "{\"type\":\"object\",\"properties\":{"
	  "\"jql\":{\"type\":\"string\",\"description\":\"JQL query with at least one restriction, "
	  "e.g. project = PROJ AND status = \\\"In Progress\\\" ORDER BY created DESC "
	  "(unbounded JQL is refused)\"},"
	  "\"max_results\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":50,\"default\":20},"
	  "\"next_page_token\":{\"type\":\"string\",\"description\":\"From a previous result, for the next page\"}},"
	  "\"required\":[\"jql\"],\"additionalProperties\":false}",
	  "GET", "/rest/api/3/search/jql",
	  { { "jql", "jql", NULL }, { "maxResults", "max_results", NULL },
	    { "fields", NULL, JIRA_LIST_FIELDS }, { "nextPageToken", "next_page_token", NULL } },
	  NULL, builtin_t_search, "the JQL search" },
	[TC_JIRA_GET_ISSUE] = {
	  "Get a Jira issue",
	  "Fetch one issue: summary, status, assignee, priority, description as plain text.",
	  "{\"type\":\"object\",\"properties\":{" ISSUE_KEY_SCHEMA "},"
	  "\"required\":[\"issue_key\"],\"additionalProperties\":false}",
	  "GET", "/rest/api/3/issue/{issue_key}",
	  { { "fields", NULL, JIRA_ISSUE_FIELDS } },
	  NULL, builtin_t_get_issue, "issue {issue_key}" },
	[TC_JIRA_CREATE_ISSUE] = {
	  "Create a Jira issue",
	  "Create an issue in a project; the description is plain text.",
	  "{\"type\":\"object\",\"properties\":{"
	  "\"project_key\":{\"type\":\"string\",\"pattern\":\"^[A-Z][A-Z0-9_]+$\"},"
	  "\"summary\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":255},"
	  "\"description\":{\"type\":\"string\",\"maxLength\":32000},"
	  "\"issue_type\":{\"type\":\"string\",\"default\":\"Task\"}},"
	  "\"required\":[\"project_key\",\"summary\"],\"additionalProperties\":false}",
	  "POST", "/rest/api/3/issue", { { NULL, NULL, NULL } },
	  builtin_b_create, builtin_t_create, "project {project_key}" },
	[TC_JIRA_ADD_COMMENT] = {
	  "Comment on a Jira issue",
	  "Add a plain-text comment to an issue.",
	  "{\"type\":\"object\",\"properties\":{" ISSUE_KEY_SCHEMA ","
	  "\"body\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":32000}},"
	  "\"required\":[\"issue_key\",\"body\"],\"additionalProperties\":false}",
	  "POST", "/rest/api/3/issue/{issue_key}/comment", { { NULL, NULL, NULL } },
	  builtin_b_comment, builtin_t_comment, "issue {issue_key}" },
	[TC_JIRA_GET_TRANSITIONS] = {
	  "List Jira transitions",
	  "List the workflow transitions available for an issue (id and name).",
	  "{\"type\":\"object\",\"properties\":{" ISSUE_KEY_SCHEMA "},"
	  "\"required\":[\"issue_key\"],\"additionalProperties\":false}",
	  "GET", "/rest/api/3/issue/{issue_key}/transitions", { { NULL, NULL, NULL } },
	  NULL, builtin_t_transitions, "issue {issue_key}" },
	[TC_JIRA_TRANSITION_ISSUE] = {
	  "Move a Jira issue",
	  "Apply a workflow transition (from jira_get_transitions) to an issue.",
	  "{\"type\":\"object\",\"properties\":{" ISSUE_KEY_SCHEMA ","
	  "\"transition_id\":{\"type\":\"string\",\"pattern\":\"^[0-9]+$\"}},"
	  "\"required\":[\"issue_key\",\"transition_id\"],\"additionalProperties\":false}",
	  "POST", "/rest/api/3/issue/{issue_key}/transitions", { { NULL, NULL, NULL } },
	  builtin_b_transition, builtin_t_transition, "issue {issue_key}" },
	[TC_CONFLUENCE_SEARCH] = {
	  "Search Confluence",
	  "Search pages with CQL; returns id, title, excerpt and a link.",
	  "{\"type\":\"object\",\"properties\":{"
	  "\"cql\":{\"type\":\"string\",\"description\":\"CQL, e.g. type = page AND text ~ \\\"roadmap\\\"\"},"
	  "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":50,\"default\":10}},"
	  "\"required\":[\"cql\"],\"additionalProperties\":false}",
	  "GET", "/wiki/rest/api/search",
	  { { "cql", "cql", NULL }, { "limit", "limit", NULL } },
	  NULL, builtin_t_cql, "the CQL search" },
	[TC_CONFLUENCE_GET_PAGE] = {
	  "Read a Confluence page",
	  "Fetch one page with its body converted to plain text.",
	  "{\"type\":\"object\",\"properties\":{"
	  "\"page_id\":{\"type\":\"string\",\"pattern\":\"^[0-9]+$\"}},"
	  "\"required\":[\"page_id\"],\"additionalProperties\":false}",
	  "GET", "/wiki/api/v2/pages/{page_id}",
	  { { "body-format", NULL, "storage" } },
	  NULL, builtin_t_page, "page {page_id}" },
};

/* --- computed once ------------------------------------------------------------ */

struct builtin_frags {
	struct builtin_frags	*next;
	char			*frag[TC__COUNT];
	size_t			 len[TC__COUNT];
	char			 tenant[];
};

static struct {
	pthread_once_t		 once;
	json_t			*schema[TC__COUNT];
	char			*schema_text[TC__COUNT];
	struct toolargs		*args[TC__COUNT];
	pthread_mutex_t		 lock;
	struct builtin_frags	*frags;
	size_t			 nfrags;
} bi = { PTHREAD_ONCE_INIT, { NULL }, { NULL }, { NULL }, PTHREAD_MUTEX_INITIALIZER,
    NULL, 0 };

static void
builtin_init(void)
{
	struct err e;

	for (size_t i = 0; i < TC__COUNT; i++) {
		err_clear(&e);
		/* A typo in the table above: the unit tests catch it first. */
		if ((bi.schema[i] = json_loads(builtin[i].input_schema, 0, NULL)) == NULL ||
		    (bi.schema_text[i] = jsonx_dump(bi.schema[i])) == NULL ||
		    (bi.args[i] = toolargs_compile(bi.schema[i], &e)) == NULL)
			abort();
	}
}

const struct builtin *
builtin_of(const struct toolcat_entry *te)
{
	return &builtin[te - toolcat];
}

const json_t *
builtin_schema(const struct toolcat_entry *te)
{
	pthread_once(&bi.once, builtin_init);
	return bi.schema[te - toolcat];
}

const struct toolargs *
builtin_args(const struct toolcat_entry *te)
{
	pthread_once(&bi.once, builtin_init);
	return bi.args[te - toolcat];
}

void
builtin_upstream(const struct toolcat_entry *te, char *buf, size_t sz)
{
	const struct builtin	*b = builtin_of(te);
	size_t			 n;

	snprintf(buf, sz, "%s %s", b->method, b->path);
	for (size_t i = 0; b->query[i].param != NULL; i++) {
		n = strlen(buf);
		snprintf(buf + n, sz - n, "%s%s=%s%s%s", i == 0 ? "?" : "&", b->query[i].param,
		    b->query[i].arg != NULL ? "{" : "", b->query[i].arg != NULL ?
		    b->query[i].arg : b->query[i].fixed, b->query[i].arg != NULL ? "}" : "");
	}
	if (b->body != NULL) {
		n = strlen(buf);
		snprintf(buf + n, sz - n, " (JSON body)");
	}
}

json_t *
builtin_tool_json(const char *tenant, const struct toolcat_entry *te)
{
	const struct builtin	*b = builtin_of(te);
	char			 name[128], title[160], desc[1024];

	snprintf(name, sizeof name, "%s__%s", tenant, te->name);
	snprintf(title, sizeof title, "%s (%s)", b->title, tenant);
	snprintf(desc, sizeof desc, "%s in tenant '%s'. %s", b->title, tenant, b->description);
	return json_pack("{s:s,s:s,s:s,s:O,s:{s:b,s:b,s:b}}", "name", name, "title", title,
	    "description", desc, "inputSchema", builtin_schema(te), "annotations",
	    "readOnlyHint", te->access == TOOL_READ, "destructiveHint", 0, "openWorldHint", 1);
}

/* The text of builtin_tool_json(), written directly. */
static void
builtin_fragment_write(const char *tenant, const struct toolcat_entry *te, struct jbuf *out)
{
	const struct builtin	*b = builtin_of(te);
	char			 s[1024];

	snprintf(s, sizeof s, "%s__%s", tenant, te->name);
	jbuf_puts(out, "{\"name\":");
	jbuf_put_str(out, s, strnlen(s, 127));
	snprintf(s, sizeof s, "%s (%s)", b->title, tenant);
	jbuf_puts(out, ",\"title\":");
	jbuf_put_str(out, s, strnlen(s, 159));
	snprintf(s, sizeof s, "%s in tenant '%s'. %s", b->title, tenant, b->description);
	jbuf_puts(out, ",\"description\":");
	jbuf_put_str(out, s, strlen(s));
	jbuf_puts(out, ",\"inputSchema\":");
	builtin_schema(te);
	jbuf_puts(out, bi.schema_text[te - toolcat]);
	jbuf_puts(out, te->access == TOOL_READ ? ",\"annotations\":{\"readOnlyHint\":true," :
	    ",\"annotations\":{\"readOnlyHint\":false,");
	jbuf_puts(out, "\"destructiveHint\":false,\"openWorldHint\":true}}");
}

static struct builtin_frags *
builtin_frags_new(const char *tenant)
{
	size_t			 n = strlen(tenant);
	struct builtin_frags	*f = calloc(1, sizeof *f + n + 1);

	if (f == NULL)
		return NULL;
	memcpy(f->tenant, tenant, n + 1);
	for (size_t i = 0; i < TC__COUNT; i++) {
		struct jbuf b = { 0 };

		builtin_fragment_write(tenant, &toolcat[i], &b);
		if ((f->frag[i] = jbuf_steal(&b, &f->len[i])) == NULL) {
			for (size_t k = 0; k < i; k++)
				free(f->frag[k]);
			free(f);
			return NULL;
		}
	}
	return f;
}

void
builtin_tool_fragment(const char *tenant, const struct toolcat_entry *te, struct jbuf *out)
{
	struct builtin_frags	*f;
	size_t			 i = (size_t)(te - toolcat);

	pthread_mutex_lock(&bi.lock);
	for (f = bi.frags; f != NULL; f = f->next)
		if (strcmp(f->tenant, tenant) == 0)
			break;
	if (f == NULL && bi.nfrags < BUILTIN_FRAG_TENANTS_MAX &&
	    (f = builtin_frags_new(tenant)) != NULL) {
		f->next = bi.frags;
		bi.frags = f;
		bi.nfrags++;
	}
	/* Fragments never change once built: copy outside the lock. */
	pthread_mutex_unlock(&bi.lock);
	if (f != NULL)
		jbuf_put(out, f->frag[i], f->len[i]);
	else
		builtin_fragment_write(tenant, te, out);
}

/* --- docs ----------------------------------------------------------------------- */

void
builtin_docs(FILE *f)
{
	fputs("# Built-in tools\n\n<!-- generated from forwarder/builtin.c by "
	    "`tenantgate-forwarder --tools-docs`; do not edit -->\n\n"
	    "Each tenant integration of kind `jira` or `confluence` offers these tools, "
	    "named `<tenant>__<tool>` in MCP and reached at "
	    "`POST /tools/{tenant}/{tool}/execute` in the OpenAPI server. "
	    "Members with the `viewer` role get the read tools only. The upstream "
	    "column is the request each tool sends below the integration's `base_url`: "
	    "`{arg}` is the URL-encoded argument; a query parameter whose argument is "
	    "left out takes the schema's default, or is not sent.\n\n"
	    "| tool | kind | access | upstream request | arguments (* = required) | "
	    "what it does |\n|---|---|---|---|---|---|\n", f);
	for (size_t i = 0; i < toolcat_len; i++) {
		const struct toolcat_entry	*te = &toolcat[i];
		const json_t			*schema = builtin_schema(te);
		const json_t			*req = json_object_get(schema, "required");
		const char			*key;
		json_t				*prop, *v;
		char				 up[512];
		size_t				 k;
		int				 first = 1;

		builtin_upstream(te, up, sizeof up);
		fprintf(f, "| `%s` | %s | %s | `%s` | ", te->name, te->kind,
		    te->access == TOOL_READ ? "read" : "write", up);
		json_object_foreach((json_t *)json_object_get(schema, "properties"), key, prop) {
			int required = 0;

			json_array_foreach(req, k, v)
				required |= strcmp(json_string_value(v), key) == 0;
			fprintf(f, "%s`%s`%s %s", first ? "" : ", ", key, required ? "*" : "",
			    json_string_value(json_object_get(prop, "type")));
			first = 0;
		}
		fprintf(f, " | %s |\n", builtin[i].description);
	}
}

json_t *
builtin_catalogue(void)
{
	json_t *list = json_array();

	for (size_t i = 0; i < toolcat_len; i++) {
		const struct toolcat_entry	*te = &toolcat[i];
		const struct builtin		*b = &builtin[i];
		char				 up[512];

		builtin_upstream(te, up, sizeof up);
		json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:s,s:s,s:O,s:s,s:s,s:s}",
		    "name", te->name, "kind", te->kind, "access", te->access == TOOL_READ ?
		    "read" : "write", "title", b->title, "description", b->description,
		    "input_schema", builtin_schema(te), "upstream", up, "method", b->method,
		    "path", b->path));
	}
	return list;
}

/* --- request bodies ------------------------------------------------------------- */

static json_t *
builtin_b_create(const json_t *args)
{
	const char	*desc = jsonx_str(args, "description");
	const char	*type = jsonx_str(args, "issue_type");
	json_t		*fields;

	fields = json_pack("{s:{s:s},s:s,s:{s:s}}", "project", "key",
	    jsonx_str(args, "project_key"), "summary", jsonx_str(args, "summary"),
	    "issuetype", "name", type != NULL ? type : "Task");
	if (fields == NULL)
		return NULL;
	if (desc != NULL && desc[0] != '\0')
		json_object_set_new(fields, "description", adf_from_text(desc));
	return json_pack("{s:o}", "fields", fields);
}

static json_t *
builtin_b_comment(const json_t *args)
{
	json_t *doc = adf_from_text(jsonx_str(args, "body"));

	return doc != NULL ? json_pack("{s:o}", "body", doc) : NULL;
}

static json_t *
builtin_b_transition(const json_t *args)
{
	return json_pack("{s:{s:s}}", "transition", "id", jsonx_str(args, "transition_id"));
}

/* --- trimmers ------------------------------------------------------------------- */

static void
builtin_set_str(json_t *o, const char *k, const char *v)
{
	if (v != NULL)
		json_object_set_new(o, k, json_string(v));
}

static const char *
builtin_dig(const json_t *v, const char *a, const char *b)
{
	return jsonx_str(json_object_get(v, a), b);
}

static json_t *
builtin_issue_brief(const json_t *is, const char *base)
{
	const json_t	*f = json_object_get(is, "fields");
	const char	*key = jsonx_str(is, "key");
	json_t		*o = json_object();
	char		 url[1024];

	builtin_set_str(o, "key", key);
	builtin_set_str(o, "summary", jsonx_str(f, "summary"));
	builtin_set_str(o, "status", builtin_dig(f, "status", "name"));
	builtin_set_str(o, "type", builtin_dig(f, "issuetype", "name"));
	builtin_set_str(o, "priority", builtin_dig(f, "priority", "name"));
	json_object_set_new(o, "assignee", builtin_dig(f, "assignee", "displayName") != NULL ?
	    json_string(builtin_dig(f, "assignee", "displayName")) : json_null());
	builtin_set_str(o, "updated", jsonx_str(f, "updated"));
	if (key != NULL) {
		snprintf(url, sizeof url, "%s/browse/%s", base, key);
		json_object_set_new(o, "url", json_string(url));
	}
	return o;
}

static json_t *
builtin_t_search(const json_t *up, const char *base, const json_t *args)
{
	json_t	*list = json_array(), *is, *o;
	size_t	 i;

	(void)args;
	json_array_foreach(json_object_get(up, "issues"), i, is)
		json_array_append_new(list, builtin_issue_brief(is, base));
	o = json_pack("{s:o,s:I}", "issues", list, "count", (json_int_t)json_array_size(list));
	if (jsonx_str(up, "nextPageToken") != NULL)
		json_object_set_new(o, "next_page_token",
		    json_string(jsonx_str(up, "nextPageToken")));
	json_object_set_new(o, "is_last", json_boolean(jsonx_str(up, "nextPageToken") == NULL));
	return o;
}

static json_t *
builtin_t_get_issue(const json_t *up, const char *base, const json_t *args)
{
	const json_t	*f = json_object_get(up, "fields");
	json_t		*o = builtin_issue_brief(up, base);
	char		*desc;

	(void)args;
	builtin_set_str(o, "project", builtin_dig(f, "project", "key"));
	builtin_set_str(o, "reporter", builtin_dig(f, "reporter", "displayName"));
	builtin_set_str(o, "created", jsonx_str(f, "created"));
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
builtin_t_create(const json_t *up, const char *base, const json_t *args)
{
	const char	*key = jsonx_str(up, "key");
	json_t		*o = json_object();
	char		 url[1024];

	(void)args;
	builtin_set_str(o, "key", key);
	builtin_set_str(o, "id", jsonx_str(up, "id"));
	if (key != NULL) {
		snprintf(url, sizeof url, "%s/browse/%s", base, key);
		json_object_set_new(o, "url", json_string(url));
	}
	return o;
}

static json_t *
builtin_t_comment(const json_t *up, const char *base, const json_t *args)
{
	json_t	*o = json_object();
	char	 url[1024];
	char	*text = adf_to_text(json_object_get(up, "body"));

	builtin_set_str(o, "id", jsonx_str(up, "id"));
	builtin_set_str(o, "issue_key", jsonx_str(args, "issue_key"));
	builtin_set_str(o, "author", builtin_dig(up, "author", "displayName"));
	builtin_set_str(o, "created", jsonx_str(up, "created"));
	builtin_set_str(o, "body", text);
	free(text);
	if (jsonx_str(up, "id") != NULL) {
		snprintf(url, sizeof url, "%s/browse/%s?focusedCommentId=%s", base,
		    jsonx_str(args, "issue_key"), jsonx_str(up, "id"));
		json_object_set_new(o, "url", json_string(url));
	}
	return o;
}

static json_t *
builtin_t_transitions(const json_t *up, const char *base, const json_t *args)
{
	json_t	*list = json_array(), *t;
	size_t	 i;

	(void)base;
	json_array_foreach(json_object_get(up, "transitions"), i, t) {
		json_t *o = json_object();

		builtin_set_str(o, "id", jsonx_str(t, "id"));
		builtin_set_str(o, "name", jsonx_str(t, "name"));
		builtin_set_str(o, "to_status", builtin_dig(t, "to", "name"));
		json_array_append_new(list, o);
	}
	return json_pack("{s:s?,s:o}", "issue_key", jsonx_str(args, "issue_key"),
	    "transitions", list);
}

static json_t *
builtin_t_transition(const json_t *up, const char *base, const json_t *args)
{
	char url[1024];

	(void)up;
	snprintf(url, sizeof url, "%s/browse/%s", base, jsonx_str(args, "issue_key"));
	return json_pack("{s:s?,s:s?,s:b,s:s}", "issue_key", jsonx_str(args, "issue_key"),
	    "transition_id", jsonx_str(args, "transition_id"), "done", 1, "url", url);
}

static json_t *
builtin_t_cql(const json_t *up, const char *base, const json_t *args)
{
	json_t	*list = json_array(), *r;
	size_t	 i;
	char	 url[2048];

	(void)args;
	json_array_foreach(json_object_get(up, "results"), i, r) {
		const json_t	*ct = json_object_get(r, "content");
		const char	*webui = builtin_dig(ct, "_links", "webui");
		json_t		*o = json_object();
		char		*ex = NULL;

		if (webui == NULL)
			webui = jsonx_str(r, "url");
		builtin_set_str(o, "id", jsonx_str(ct, "id"));
		builtin_set_str(o, "title", jsonx_str(r, "title") != NULL ? jsonx_str(r, "title") :
		    jsonx_str(ct, "title"));
		builtin_set_str(o, "type", jsonx_str(ct, "type"));
		if (jsonx_str(r, "excerpt") != NULL &&
		    (ex = adf_storage_to_text(jsonx_str(r, "excerpt"))) != NULL)
			json_object_set_new(o, "excerpt", json_string(ex));
		free(ex);
		builtin_set_str(o, "space", builtin_dig(r, "resultGlobalContainer", "title"));
		builtin_set_str(o, "last_modified", jsonx_str(r, "lastModified"));
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
builtin_t_page(const json_t *up, const char *base, const json_t *args)
{
	json_t		*o = json_object();
	const char	*webui = builtin_dig(up, "_links", "webui");
	const json_t	*body = json_object_get(json_object_get(up, "body"), "storage");
	char		 url[2048];
	char		*text;

	(void)args;
	builtin_set_str(o, "id", jsonx_str(up, "id"));
	builtin_set_str(o, "title", jsonx_str(up, "title"));
	builtin_set_str(o, "status", jsonx_str(up, "status"));
	if (json_is_integer(json_object_get(json_object_get(up, "version"), "number")))
		json_object_set(o, "version", json_object_get(json_object_get(up, "version"),
		    "number"));
	builtin_set_str(o, "created", jsonx_str(up, "createdAt"));
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

json_t *
builtin_trim(const char *tool, const json_t *up, const char *base, const json_t *args)
{
	const struct toolcat_entry *te = toolcat_find(tool);

	return te != NULL ? builtin_of(te)->trim(up, base, args) : NULL;
}
