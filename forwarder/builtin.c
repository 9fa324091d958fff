/*
 * builtin: the rows of the built-in tools, their body builders and result
 * trimmers, and what is computed once from them (schemas, argument
 * checkers, tools/list fragments per tenant).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adf.h"
#include "builtin.h"
#include "err.h"
#include "jbuf.h"
#include "jscan.h"
#include "jsonx.h"
#include "log.h"
#include "toolargs.h"
#include "utf8.h"

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
static void builtin_t_search(const struct jscan *, int, const char *, const json_t *,
    struct buf *);
static void builtin_t_get_issue(const struct jscan *, int, const char *, const json_t *,
    struct buf *);
static void builtin_t_create(const struct jscan *, int, const char *, const json_t *,
    struct buf *);
static void builtin_t_comment(const struct jscan *, int, const char *, const json_t *,
    struct buf *);
static void builtin_t_transitions(const struct jscan *, int, const char *, const json_t *,
    struct buf *);
static void builtin_t_transition(const struct jscan *, int, const char *, const json_t *,
    struct buf *);
static void builtin_t_cql(const struct jscan *, int, const char *, const json_t *,
    struct buf *);
static void builtin_t_page(const struct jscan *, int, const char *, const json_t *,
    struct buf *);

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
builtin_fragment_write(const char *tenant, const struct toolcat_entry *te, struct buf *out)
{
	const struct builtin	*b = builtin_of(te);
	char			 s[1024];

	snprintf(s, sizeof s, "%s__%s", tenant, te->name);
	buf_puts(out, "{\"name\":");
	jbuf_put_str(out, s, strnlen(s, 127));
	snprintf(s, sizeof s, "%s (%s)", b->title, tenant);
	buf_puts(out, ",\"title\":");
	jbuf_put_str(out, s, strnlen(s, 159));
	snprintf(s, sizeof s, "%s in tenant '%s'. %s", b->title, tenant, b->description);
	buf_puts(out, ",\"description\":");
	jbuf_put_str(out, s, strlen(s));
	buf_puts(out, ",\"inputSchema\":");
	builtin_schema(te);
	buf_puts(out, bi.schema_text[te - toolcat]);
	buf_puts(out, te->access == TOOL_READ ? ",\"annotations\":{\"readOnlyHint\":true," :
	    ",\"annotations\":{\"readOnlyHint\":false,");
	buf_puts(out, "\"destructiveHint\":false,\"openWorldHint\":true}}");
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
		struct buf b = { 0 };

		builtin_fragment_write(tenant, &toolcat[i], &b);
		if ((f->frag[i] = buf_steal(&b, &f->len[i])) == NULL) {
			for (size_t k = 0; k < i; k++)
				free(f->frag[k]);
			free(f);
			return NULL;
		}
	}
	return f;
}

void
builtin_tool_fragment(const char *tenant, const struct toolcat_entry *te, struct buf *out)
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
		buf_put(out, f->frag[i], f->len[i]);
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

/*
 * A trimmer reads the scanned answer (forwarder/jscan.h) and writes the
 * result object's text straight into out, compact, member by member in a
 * fixed order: the bytes Jansson wrote for the tree the trimmers used to
 * build (test/fuzz/trim_ref.c keeps that version to compare against).
 * A value that is missing or of the wrong type leaves its member out.
 */

/* One object being written: a comma before every member but the first. */
struct builtin_w {
	struct buf	*b;
	int		 n;
};

/* k is the member's name with its quotes and colon: "\"key\":". */
static void
builtin_key(struct builtin_w *w, const char *k)
{
	if (w->n++ > 0)
		buf_put(w->b, ",", 1);
	buf_puts(w->b, k);
}

/* A string member from the answer, if t is a string. */
static void
builtin_put_s(struct builtin_w *w, const char *k, const struct jscan *js, int t)
{
	if (jscan_type(js, t) != JSCAN_STRING)
		return;
	builtin_key(w, k);
	jscan_put_str(js, t, w->b);
}

/* A string member from a tool argument, or JSON null when absent. */
static void
builtin_put_arg(struct builtin_w *w, const char *k, const json_t *args, const char *name)
{
	const char *v = jsonx_str(args, name);

	builtin_key(w, k);
	if (v != NULL)
		jbuf_put_str(w->b, v, strlen(v));
	else
		buf_puts(w->b, "null");
}

/* Text we made (a link, converted ADF): left out when it is not valid
 * UTF-8 (a link cut mid-character, a surrogate from an HTML entity), as
 * json_string() refused it before. */
static void
builtin_put_text(struct builtin_w *w, const char *k, const char *v)
{
	size_t n = strlen(v);

	if (!utf8_valid(v, n))
		return;
	builtin_key(w, k);
	jbuf_put_str(w->b, v, n);
}

/* A link, cut to sz - 1 bytes as the fixed buffers always cut it. */
__attribute__((format(printf, 4, 5)))
static void
builtin_put_url(struct builtin_w *w, const char *k, size_t sz, const char *fmt, ...)
{
	char	url[2048];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(url, sz < sizeof url ? sz : sizeof url, fmt, ap);
	va_end(ap);
	builtin_put_text(w, k, url);
}

static int
builtin_dig(const struct jscan *js, int v, const char *a, const char *b)
{
	return jscan_get(js, jscan_get(js, v, a), b);
}

/* A string of the answer as a C string, cut to sz - 1 bytes. */
static const char *
builtin_cstr(const struct jscan *js, int t, char *buf, size_t sz)
{
	jscan_strcpy(js, t, buf, sz);
	return buf;
}

/* A string of the answer, whole and NUL-terminated (caller frees), or
 * NULL when t is not a string or memory is short. */
static char *
builtin_dup(const struct jscan *js, int t)
{
	size_t	 len;
	char	*s;

	if (jscan_type(js, t) != JSCAN_STRING)
		return NULL;
	jscan_raw(js, t, &len);
	if ((s = malloc(len + 1)) != NULL)
		s[jscan_unescape(js, t, s)] = '\0';
	return s;
}

/* An integer member copied from the answer, if t is one. */
static void
builtin_put_int(struct builtin_w *w, const char *k, const struct jscan *js, int t)
{
	long long	v;
	char		num[32];

	if (jscan_int(js, t, &v) == -1)
		return;
	builtin_key(w, k);
	snprintf(num, sizeof num, "%lld", v);
	buf_puts(w->b, num);
}

/* An array copied as Jansson re-writes it. Labels are strings; anything
 * else in one (reals, objects with repeated keys) is rare enough to hand
 * to Jansson itself for that array only. */
static void
builtin_put_array(struct builtin_w *w, const char *k, const struct jscan *js, int arr)
{
	uint32_t	 i;
	int		 c;
	size_t		 len;
	const char	*raw;
	json_t		*v;

	JSCAN_ITEMS(js, arr, i, c)
		if (jscan_type(js, c) != JSCAN_STRING)
			break;
	builtin_key(w, k);
	if (i == jscan_items(js, arr)) {
		buf_put(w->b, "[", 1);
		JSCAN_ITEMS(js, arr, i, c) {
			if (i > 0)
				buf_put(w->b, ",", 1);
			jscan_put_str(js, c, w->b);
		}
		buf_put(w->b, "]", 1);
		return;
	}
	raw = jscan_raw(js, arr, &len);
	if ((v = json_loadb(raw, len, 0, NULL)) == NULL) {
		buf_free(w->b);
		w->b->failed = 1;
		return;
	}
	jbuf_put_json(w->b, v);
	json_decref(v);
}

static void
builtin_issue_brief(struct builtin_w *w, const struct jscan *js, int is, const char *base)
{
	int	f = jscan_get(js, is, "fields"), key = jscan_get(js, is, "key");
	int	a = builtin_dig(js, f, "assignee", "displayName");
	char	kbuf[1024];

	builtin_put_s(w, "\"key\":", js, key);
	builtin_put_s(w, "\"summary\":", js, jscan_get(js, f, "summary"));
	builtin_put_s(w, "\"status\":", js, builtin_dig(js, f, "status", "name"));
	builtin_put_s(w, "\"type\":", js, builtin_dig(js, f, "issuetype", "name"));
	builtin_put_s(w, "\"priority\":", js, builtin_dig(js, f, "priority", "name"));
	if (jscan_type(js, a) == JSCAN_STRING)
		builtin_put_s(w, "\"assignee\":", js, a);
	else {
		builtin_key(w, "\"assignee\":");
		buf_puts(w->b, "null");
	}
	builtin_put_s(w, "\"updated\":", js, jscan_get(js, f, "updated"));
	if (jscan_type(js, key) == JSCAN_STRING)
		builtin_put_url(w, "\"url\":", 1024, "%s/browse/%s", base,
		    builtin_cstr(js, key, kbuf, sizeof kbuf));
}

static void
builtin_t_search(const struct jscan *js, int up, const char *base, const json_t *args,
    struct buf *out)
{
	struct builtin_w	 w = { out, 0 };
	int			 issues = jscan_get(js, up, "issues"), is;
	int			 tok = jscan_get(js, up, "nextPageToken");
	uint32_t		 i;
	char			 num[32];

	(void)args;
	buf_puts(out, "{\"issues\":[");
	JSCAN_ITEMS(js, issues, i, is) {
		struct builtin_w o = { out, 0 };

		buf_puts(out, i > 0 ? ",{" : "{");
		builtin_issue_brief(&o, js, is, base);
		buf_put(out, "}", 1);
	}
	snprintf(num, sizeof num, "],\"count\":%u", (unsigned)jscan_items(js, issues));
	buf_puts(out, num);
	w.n = 2;
	builtin_put_s(&w, "\"next_page_token\":", js, tok);
	builtin_key(&w, jscan_type(js, tok) == JSCAN_STRING ? "\"is_last\":false" :
	    "\"is_last\":true");
	buf_put(out, "}", 1);
}

static void
builtin_t_get_issue(const struct jscan *js, int up, const char *base, const json_t *args,
    struct buf *out)
{
	struct builtin_w	 w = { out, 0 };
	int			 f = jscan_get(js, up, "fields");
	int			 labels = jscan_get(js, f, "labels");
	int			 d = jscan_get(js, f, "description");
	char			*desc;

	(void)args;
	buf_put(out, "{", 1);
	builtin_issue_brief(&w, js, up, base);
	builtin_put_s(&w, "\"project\":", js, builtin_dig(js, f, "project", "key"));
	builtin_put_s(&w, "\"reporter\":", js, builtin_dig(js, f, "reporter", "displayName"));
	builtin_put_s(&w, "\"created\":", js, jscan_get(js, f, "created"));
	if (jscan_type(js, labels) == JSCAN_ARRAY)
		builtin_put_array(&w, "\"labels\":", js, labels);
	builtin_key(&w, "\"description\":");
	if (jscan_type(js, d) != JSCAN_NONE && jscan_type(js, d) != JSCAN_NULL &&
	    (desc = adf_tok_to_text(js, d)) != NULL) {
		jbuf_put_str(out, desc, strlen(desc));
		free(desc);
	} else
		buf_puts(out, "\"\"");
	buf_put(out, "}", 1);
}

static void
builtin_t_create(const struct jscan *js, int up, const char *base, const json_t *args,
    struct buf *out)
{
	struct builtin_w	 w = { out, 0 };
	int			 key = jscan_get(js, up, "key");
	char			 kbuf[1024];

	(void)args;
	buf_put(out, "{", 1);
	builtin_put_s(&w, "\"key\":", js, key);
	builtin_put_s(&w, "\"id\":", js, jscan_get(js, up, "id"));
	if (jscan_type(js, key) == JSCAN_STRING)
		builtin_put_url(&w, "\"url\":", 1024, "%s/browse/%s", base,
		    builtin_cstr(js, key, kbuf, sizeof kbuf));
	buf_put(out, "}", 1);
}

static void
builtin_t_comment(const struct jscan *js, int up, const char *base, const json_t *args,
    struct buf *out)
{
	struct builtin_w	 w = { out, 0 };
	int			 id = jscan_get(js, up, "id");
	const char		*key = jsonx_str(args, "issue_key");
	char			*text = adf_tok_to_text(js, jscan_get(js, up, "body"));
	char			 ibuf[1024];

	buf_put(out, "{", 1);
	builtin_put_s(&w, "\"id\":", js, id);
	if (key != NULL)
		builtin_put_arg(&w, "\"issue_key\":", args, "issue_key");
	builtin_put_s(&w, "\"author\":", js, builtin_dig(js, up, "author", "displayName"));
	builtin_put_s(&w, "\"created\":", js, jscan_get(js, up, "created"));
	if (text != NULL) {
		builtin_key(&w, "\"body\":");
		jbuf_put_str(out, text, strlen(text));
		free(text);
	}
	if (jscan_type(js, id) == JSCAN_STRING)
		builtin_put_url(&w, "\"url\":", 1024, "%s/browse/%s?focusedCommentId=%s", base,
		    key != NULL ? key : "(null)", builtin_cstr(js, id, ibuf, sizeof ibuf));
	buf_put(out, "}", 1);
}

static void
builtin_t_transitions(const struct jscan *js, int up, const char *base, const json_t *args,
    struct buf *out)
{
	struct builtin_w	 w = { out, 0 };
	int			 t;
	uint32_t		 i;

	(void)base;
	buf_put(out, "{", 1);
	builtin_put_arg(&w, "\"issue_key\":", args, "issue_key");
	builtin_key(&w, "\"transitions\":[");
	JSCAN_ITEMS(js, jscan_get(js, up, "transitions"), i, t) {
		struct builtin_w o = { out, 0 };

		buf_puts(out, i > 0 ? ",{" : "{");
		builtin_put_s(&o, "\"id\":", js, jscan_get(js, t, "id"));
		builtin_put_s(&o, "\"name\":", js, jscan_get(js, t, "name"));
		builtin_put_s(&o, "\"to_status\":", js, builtin_dig(js, t, "to", "name"));
		buf_put(out, "}", 1);
	}
	buf_puts(out, "]}");
}

static void
builtin_t_transition(const struct jscan *js, int up, const char *base, const json_t *args,
    struct buf *out)
{
	struct builtin_w	 w = { out, 0 };
	const char		*key = jsonx_str(args, "issue_key");
	char			 url[1024];

	(void)js;
	(void)up;
	snprintf(url, sizeof url, "%s/browse/%s", base, key != NULL ? key : "(null)");
	buf_put(out, "{", 1);
	builtin_put_arg(&w, "\"issue_key\":", args, "issue_key");
	builtin_put_arg(&w, "\"transition_id\":", args, "transition_id");
	builtin_key(&w, "\"done\":true");
	builtin_key(&w, "\"url\":");
	jbuf_put_str(out, url, strlen(url));
	buf_put(out, "}", 1);
}

/* Confluence storage XHTML in string t as text, or NULL. */
static char *
builtin_storage_text(const struct jscan *js, int t)
{
	char *html = builtin_dup(js, t), *text;

	if (html == NULL)
		return NULL;
	text = adf_storage_to_text(html);
	free(html);
	return text;
}

static void
builtin_t_cql(const struct jscan *js, int up, const char *base, const json_t *args,
    struct buf *out)
{
	int		 results = jscan_get(js, up, "results"), r;
	uint32_t	 i;
	char		 num[32], wbuf[2048];
	long long	 total;

	(void)args;
	buf_puts(out, "{\"results\":[");
	JSCAN_ITEMS(js, results, i, r) {
		struct builtin_w o = { out, 0 };
		int	 ct = jscan_get(js, r, "content");
		int	 webui = builtin_dig(js, ct, "_links", "webui");
		int	 title = jscan_get(js, r, "title");
		char	*ex;

		if (jscan_type(js, webui) != JSCAN_STRING)
			webui = jscan_get(js, r, "url");
		if (jscan_type(js, title) != JSCAN_STRING)
			title = jscan_get(js, ct, "title");
		buf_puts(out, i > 0 ? ",{" : "{");
		builtin_put_s(&o, "\"id\":", js, jscan_get(js, ct, "id"));
		builtin_put_s(&o, "\"title\":", js, title);
		builtin_put_s(&o, "\"type\":", js, jscan_get(js, ct, "type"));
		if ((ex = builtin_storage_text(js, jscan_get(js, r, "excerpt"))) != NULL) {
			builtin_put_text(&o, "\"excerpt\":", ex);
			free(ex);
		}
		builtin_put_s(&o, "\"space\":", js, builtin_dig(js, r, "resultGlobalContainer",
		    "title"));
		builtin_put_s(&o, "\"last_modified\":", js, jscan_get(js, r, "lastModified"));
		if (jscan_type(js, webui) == JSCAN_STRING)
			builtin_put_url(&o, "\"url\":", 2048, "%s/wiki%s", base,
			    builtin_cstr(js, webui, wbuf, sizeof wbuf));
		buf_put(out, "}", 1);
	}
	snprintf(num, sizeof num, "],\"count\":%u", (unsigned)jscan_items(js, results));
	buf_puts(out, num);
	if (jscan_int(js, jscan_get(js, up, "totalSize"), &total) == 0) {
		snprintf(num, sizeof num, ",\"total\":%lld", total);
		buf_puts(out, num);
	}
	buf_put(out, "}", 1);
}

static void
builtin_t_page(const struct jscan *js, int up, const char *base, const json_t *args,
    struct buf *out)
{
	struct builtin_w	 w = { out, 0 };
	int			 webui = builtin_dig(js, up, "_links", "webui");
	int			 value = builtin_dig(js, jscan_get(js, up, "body"), "storage",
				    "value");
	char			 wbuf[2048], *text;

	(void)args;
	buf_put(out, "{", 1);
	builtin_put_s(&w, "\"id\":", js, jscan_get(js, up, "id"));
	builtin_put_s(&w, "\"title\":", js, jscan_get(js, up, "title"));
	builtin_put_s(&w, "\"status\":", js, jscan_get(js, up, "status"));
	builtin_put_int(&w, "\"version\":", js, builtin_dig(js, up, "version", "number"));
	builtin_put_s(&w, "\"created\":", js, jscan_get(js, up, "createdAt"));
	if (jscan_type(js, webui) == JSCAN_STRING)
		builtin_put_url(&w, "\"url\":", 2048, "%s/wiki%s", base,
		    builtin_cstr(js, webui, wbuf, sizeof wbuf));
	text = jscan_type(js, value) == JSCAN_STRING ? builtin_storage_text(js, value) :
	    adf_storage_to_text("");
	builtin_put_text(&w, "\"body\":", text != NULL ? text : "");
	free(text);
	buf_put(out, "}", 1);
}
