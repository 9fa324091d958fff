/*
 * usertools: grants x catalogue -> the caller's tools; and the one path a
 * tool call takes: re-check against the grants, validate arguments, get
 * the tenant credential (renewing an expired grant once), run, and shape
 * the result as MCP content.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "atlassian.h"
#include "audit.h"
#include "backend_mcp.h"
#include "builtin.h"
#include "bulkhead.h"
#include "clock.h"
#include "coro.h"
#include "err.h"
#include "fwd.h"
#include "grants.h"
#include "jbuf.h"
#include "jsonx.h"
#include "log.h"
#include "toolargs.h"
#include "toolcat.h"
#include "toolres.h"
#include "usertools.h"
#include "utf8.h"

enum mcp_perm { PERM_NONE, PERM_READONLY, PERM_ALL };

int
usertools_split(const char *name, char *tenant, size_t tsz, const char **tool)
{
	const char *sep = strstr(name, USERTOOLS_SEP);

	if (sep == NULL || sep == name || sep[2] == '\0' || (size_t)(sep - name) >= tsz)
		return -1;
	memcpy(tenant, name, (size_t)(sep - name));
	tenant[sep - name] = '\0';
	*tool = sep + 2;
	return 0;
}

json_t *
usertools_result_ok(json_t *structured)
{
	char	*text = jsonx_dump(structured);
	json_t	*r;

	r = json_pack("{s:[{s:s,s:s}],s:o,s:b}", "content", "type", "text", "text",
	    text != NULL ? text : "{}", "structuredContent", structured, "isError", 0);
	free(text);
	return r;
}

json_t *
usertools_result_error(const struct err *e)
{
	return json_pack("{s:[{s:s,s:s}],s:b}", "content", "type", "text", "text", e->msg,
	    "isError", 1);
}

/* Does text contain the credential carried by the header line: its value,
 * or the password inside a Basic value? An upstream that echoes what it
 * was sent must not get the key to a user or into a log. */
static int
usertools_leaks(const char *text, const secret_t *line)
{
	const char	*v = strchr(secret_bytes(line), ':');
	unsigned char	*dec;
	const char	*pw;
	size_t		 n;
	int		 len, hit = 0;

	if (text == NULL || v == NULL)
		return 0;
	while (*++v == ' ')
		;
	if (strlen(v) >= 8 && strstr(text, v) != NULL)
		return 1;
	/* "Bearer <token>", "Token <token>": the token alone counts too. */
	if ((pw = strchr(v, ' ')) != NULL && strlen(pw + 1) >= 8 && strstr(text, pw + 1) != NULL)
		return 1;
	if (strncmp(v, "Basic ", 6) != 0 || (n = strlen(v + 6)) == 0 || n % 4 != 0 ||
	    (dec = malloc(n + 1)) == NULL)
		return 0;
	if ((len = EVP_DecodeBlock(dec, (const unsigned char *)v + 6, (int)n)) > 0) {
		dec[len] = '\0';
		if ((pw = strchr((char *)dec, ':')) != NULL && strlen(pw + 1) >= 8)
			hit = strstr(text, pw + 1) != NULL;
	}
	secret_wipe(dec, n + 1);
	free(dec);
	return hit;
}

/* Withhold a result or message that carries the credential. */
static void
usertools_scrub(json_t **result, struct err *e, const secret_t *line, const char *tenant)
{
	char	*text = *result != NULL ? jsonx_dump(*result) : NULL;
	int	 leak = usertools_leaks(text, line) || usertools_leaks(e->msg, line);

	secret_free_str(text);
	if (!leak)
		return;
	log_warnx("an upstream of tenant '%s' echoed the tenant credential; result withheld",
	    tenant);
	json_decref(*result);
	*result = NULL;
	err_set(e, 502, "upstream_echoed_credential", "tenant '%s''s upstream answered with "
	    "its own credential in the text; the answer was withheld", tenant);
}

/* The same for a built-in tool's result, checked in the one text the
 * client would get. */
static void
usertools_scrub_text(char **text, size_t *len, struct err *e, const secret_t *line,
    const char *tenant)
{
	if (!usertools_leaks(*text, line) && !usertools_leaks(e->msg, line))
		return;
	log_warnx("an upstream of tenant '%s' echoed the tenant credential; result withheld",
	    tenant);
	if (*text != NULL) {
		secret_wipe(*text, *len);
		free(*text);
	}
	*text = NULL;
	*len = 0;
	err_set(e, 502, "upstream_echoed_credential", "tenant '%s''s upstream answered with "
	    "its own credential in the text; the answer was withheld", tenant);
}

static enum mcp_perm
usertools_mcp_perm(const struct grant *g, const char *integ)
{
	char want[160];

	snprintf(want, sizeof want, "mcp:%s:*", integ);
	if (grants_has_tool(g, want))
		return PERM_ALL;
	snprintf(want, sizeof want, "mcp:%s:readonly", integ);
	return grants_has_tool(g, want) ? PERM_READONLY : PERM_NONE;
}

static int
usertools_readonly(const json_t *tool)
{
	return json_is_true(json_object_get(json_object_get(tool, "annotations"),
	    "readOnlyHint"));
}

static int
usertools_builtin_ok(const struct grant *g, const struct toolcat_entry *te)
{
	return te != NULL && grants_has_tool(g, te->name) &&
	    grants_integration(g, te->kind) != NULL && toolcat_role_allows(g->role, te->access);
}

static json_t *
usertools_backend_tool(const struct grant *g, const struct grant_integ *gi, const json_t *t)
{
	char		 name[160], desc[2048];
	const char	*d = jsonx_str(t, "description");
	json_t		*o, *schema;

	snprintf(name, sizeof name, "%s%s%s", g->tenant, USERTOOLS_SEP, jsonx_str(t, "name"));
	snprintf(desc, sizeof desc, "Tenant '%s' (%s): %s", g->tenant, gi->name,
	    d != NULL ? d : jsonx_str(t, "name"));
	schema = json_object_get(t, "inputSchema");
	schema = json_is_object(schema) ? json_incref(schema) : json_pack("{s:s}", "type",
	    "object");
	/* A long description was cut by bytes: end it on a whole character. */
	o = json_pack("{s:s,s:s%,s:o}", "name", name, "description", desc,
	    utf8_prefix(desc, strlen(desc)), "inputSchema", schema);
	if (jsonx_str(t, "title") != NULL)
		json_object_set_new(o, "title", json_string(jsonx_str(t, "title")));
	if (json_is_object(json_object_get(t, "annotations")))
		json_object_set(o, "annotations", json_object_get(t, "annotations"));
	if (json_is_object(json_object_get(t, "outputSchema")))
		json_object_set(o, "outputSchema", json_object_get(t, "outputSchema"));
	return o;
}

/* The backend's tool list, with the credential the grant allows. */
static int
usertools_backend_tools(struct fwd_req *r, const struct grant *g, struct grant_integ *gi,
    json_t **tools, struct err *e)
{
	struct backend_target	 t;
	secret_t		*cred;
	int			 rc;

	if ((cred = grants_credential(r->fwd->grants, r->conf, r->gs, g, gi, e)) == NULL)
		return -1;
	t.tenant = g->tenant;
	t.integ = gi->name;
	t.url = gi->base_url;
	t.auth = cred;
	rc = backend_mcp_tools(r->fwd->backends, r->conf, &t, tools, e);
	if (rc == -1 && usertools_leaks(e->msg, cred))
		err_set(e, 502, "upstream_echoed_credential", "tenant '%s''s MCP server "
		    "answered with its own credential in the text", g->tenant);
	secret_free(cred);
	return rc;
}

static const json_t *
usertools_find_named(const json_t *tools, const char *name)
{
	size_t	 i;
	json_t	*t;

	json_array_foreach(tools, i, t)
		if (jsonx_str(t, "name") != NULL && strcmp(jsonx_str(t, "name"), name) == 0)
			return t;
	return NULL;
}

/* Where a tools/list goes: a JSON array (OpenAPI) or JSON text (MCP),
 * the text built from the precomputed per-tenant fragments. */
struct usertools_sink {
	json_t		*arr;
	struct buf	*text;
	int		 n;
};

static void
usertools_sink_builtin(struct usertools_sink *s, const struct grant *g,
    const struct toolcat_entry *te)
{
	if (s->arr != NULL) {
		json_array_append_new(s->arr, builtin_tool_json(g->tenant, te));
		return;
	}
	buf_puts(s->text, s->n++ > 0 ? "," : "");
	builtin_tool_fragment(g->tenant, te, s->text);
}

static void
usertools_sink_json(struct usertools_sink *s, json_t *tool)
{
	if (s->arr != NULL) {
		json_array_append_new(s->arr, tool);
		return;
	}
	buf_puts(s->text, s->n++ > 0 ? "," : "");
	jbuf_put_json(s->text, tool);
	json_decref(tool);
}

static int
usertools_collect(struct fwd_req *r, struct usertools_sink *s, struct err *e)
{
	if (fwd_req_grants(r, e) == -1)
		return -1;
	for (size_t i = 0; i < r->gs->n; i++) {
		const struct grant *g = &r->gs->g[i];

		for (size_t k = 0; k < toolcat_len; k++)
			if (usertools_builtin_ok(g, &toolcat[k]))
				usertools_sink_builtin(s, g, &toolcat[k]);
		for (size_t k = 0; k < g->ninteg; k++) {
			struct grant_integ	*gi = &g->integ[k];
			enum mcp_perm		 perm;
			json_t			*tools, *t;
			struct err		 be;
			size_t			 j;
			long			 saved, bound;
			int			 rc;

			if (strcmp(gi->kind, "mcp") != 0 ||
			    (perm = usertools_mcp_perm(g, gi->name)) == PERM_NONE)
				continue;
			err_clear(&be);
			/* One slow backend must not hold up the whole list (the
			 * user's other tenants): it gets a short bound and is left
			 * out of this answer if it misses it. */
			saved = coro_deadline();
			bound = clock_now_ms() + USERTOOLS_LIST_BACKEND_MS;
			if (saved == 0 || bound < saved)
				coro_set_deadline(bound);
			rc = usertools_backend_tools(r, g, gi, &tools, &be);
			coro_set_deadline(saved);
			if (rc == -1) {
				log_warnx("tools/list: tenant %s backend %s left out: %s", g->tenant,
				    gi->name, be.msg);
				continue;
			}
			json_array_foreach(tools, j, t) {
				const struct toolcat_entry *te = toolcat_find(jsonx_str(t, "name"));

				if (perm == PERM_READONLY && !usertools_readonly(t))
					continue;
				if (usertools_builtin_ok(g, te))
					continue;	/* the built-in tool keeps its name */
				usertools_sink_json(s, usertools_backend_tool(g, gi, t));
			}
			json_decref(tools);
		}
	}
	return 0;
}

json_t *
usertools_list(struct fwd_req *r, struct err *e)
{
	struct usertools_sink s = { NULL, NULL, 0 };

	if ((s.arr = json_array()) == NULL) {
		err_set(e, 500, "nomem", "out of memory");
		return NULL;
	}
	if (usertools_collect(r, &s, e) == -1) {
		json_decref(s.arr);
		return NULL;
	}
	return s.arr;
}

char *
usertools_list_text(struct fwd_req *r, size_t *len, struct err *e)
{
	struct buf		b = { 0 };
	struct usertools_sink	s = { NULL, &b, 0 };
	char			*text;

	buf_put(&b, "[", 1);
	if (usertools_collect(r, &s, e) == -1) {
		buf_free(&b);
		return NULL;
	}
	buf_put(&b, "]", 1);
	if ((text = buf_steal(&b, len)) == NULL)
		err_set(e, 500, "nomem", "out of memory");
	return text;
}

/* Keep what MCP defines of a backend's CallToolResult, within the cap. */
static json_t *
usertools_backend_result(const json_t *res, size_t max, struct err *e)
{
	json_t	*content = json_object_get(res, "content");
	json_t	*sc = json_object_get(res, "structuredContent");
	int	 is_error = json_is_true(json_object_get(res, "isError"));
	json_t	*out;
	char	*text;

	out = json_pack("{s:o,s:b}", "content", json_is_array(content) ?
	    json_incref(content) : json_array(), "isError", is_error);
	if (json_is_object(sc))
		json_object_set(out, "structuredContent", sc);
	text = jsonx_dump(out);
	if (text != NULL && strlen(text) > max) {
		/* Too big to hand a model: the first text item, cut. */
		const char	*first = jsonx_str(json_array_get(content, 0), "text");
		char		*cut = strndup(first != NULL ? first : "", max / 2);

		if (cut != NULL)
			utf8_cut(cut, max / 2);

		json_decref(out);
		out = json_pack("{s:[{s:s,s:s}],s:b}", "content", "type", "text", "text",
		    cut != NULL ? cut : "", "isError", is_error);
		free(cut);
	}
	free(text);
	if (is_error) {
		const char *m = jsonx_str(json_array_get(content, 0), "text");

		err_set(e, 502, "backend_tool_error", "%.200s", m != NULL ? m :
		    "the tenant's MCP tool failed");
	}
	return out;
}

static int
usertools_run_builtin(struct fwd_req *r, const struct grant *g, const struct toolcat_entry *te,
    const json_t *args, char **text, size_t *len, int *renew, struct err *e)
{
	struct grant_integ	*gi = grants_integration(g, te->kind);
	struct atlassian_target	 t;
	struct bulkhead_slot	 slot;
	secret_t		*cred;
	int			 rc;

	*renew = 0;
	if ((cred = grants_credential(r->fwd->grants, r->conf, r->gs, g, gi, e)) == NULL) {
		*renew = e->status == 401;
		return -1;
	}
	t.tenant = g->tenant;
	t.base_url = gi->base_url;
	t.api_url = gi->api_url;
	t.auth = cred;
	if (bulkhead_enter(r->fwd->bulkheads, g->tenant, r->gs->user, r->conf, &slot, e) == -1) {
		secret_free(cred);
		return -1;
	}
	rc = atlassian_exec(te, args, &t, r->conf, text, len, e);
	bulkhead_leave(&slot);
	if (rc == -1 && e->status == 429 && e->retry_after > 0)
		bulkhead_backoff(r->fwd->bulkheads, g->tenant, e->retry_after);
	usertools_scrub_text(text, len, e, cred, g->tenant);
	secret_free(cred);
	if (rc == 0 && *text == NULL)
		rc = -1;
	if (rc == -1 && strcmp(e->code, "upstream_unauthorized") == 0) {
		/* The stored key was refused: maybe rotated since the grant. */
		grants_drop_credential(r->gs, gi);
		*renew = 2;
	}
	return rc;
}

/* Find the tool among the tenant's backends; 1 found (ran), 0 not there. */
static int
usertools_run_backend(struct fwd_req *r, const struct grant *g, const char *tool,
    const json_t *args, struct toolres *result, int *renew, struct err *e)
{
	*renew = 0;
	for (size_t k = 0; k < g->ninteg; k++) {
		struct grant_integ	*gi = &g->integ[k];
		struct backend_target	 t;
		struct bulkhead_slot	 slot;
		char			 pool[160];
		enum mcp_perm		 perm;
		const json_t		*def;
		json_t			*tools, *res;
		secret_t		*cred;
		int			 rc;

		if (strcmp(gi->kind, "mcp") != 0 ||
		    (perm = usertools_mcp_perm(g, gi->name)) == PERM_NONE)
			continue;
		if ((cred = grants_credential(r->fwd->grants, r->conf, r->gs, g, gi, e)) == NULL) {
			*renew = e->status == 401;
			toolres_set_error(result, e);
			return 1;
		}
		t.tenant = g->tenant;
		t.integ = gi->name;
		t.url = gi->base_url;
		t.auth = cred;
		if (backend_mcp_tools(r->fwd->backends, r->conf, &t, &tools, e) == -1) {
			if (usertools_leaks(e->msg, cred))
				err_set(e, 502, "upstream_echoed_credential", "tenant '%s''s MCP "
				    "server answered with its own credential in the text",
				    g->tenant);
			secret_free(cred);
			toolres_set_error(result, e);
			return 1;
		}
		if ((def = usertools_find_named(tools, tool)) == NULL) {
			json_decref(tools);
			secret_free(cred);
			continue;
		}
		if (perm == PERM_READONLY && !usertools_readonly(def)) {
			json_decref(tools);
			secret_free(cred);
			err_set(e, 403, "tool_not_granted", "tool '%s' changes data; your role in "
			    "tenant '%s' allows read-only tools", tool, g->tenant);
			return -1;
		}
		json_decref(tools);
		snprintf(pool, sizeof pool, "%s/%s", g->tenant, gi->name);
		if (bulkhead_enter(r->fwd->bulkheads, pool, r->gs->user, r->conf, &slot,
		    e) == -1) {
			secret_free(cred);
			toolres_set_error(result, e);
			return 1;
		}
		rc = backend_mcp_call(r->fwd->backends, r->conf, &t, tool, args, &res, e);
		bulkhead_leave(&slot);
		usertools_scrub(&res, e, cred, g->tenant);
		secret_free(cred);
		if (rc == -1 || res == NULL) {
			toolres_set_error(result, e);
			return 1;
		}
		toolres_set_call(result, usertools_backend_result(res,
		    r->conf->tool_result_max_bytes, e));
		json_decref(res);
		return 1;
	}
	return 0;
}

static int
usertools_call_run(struct fwd_req *r, const char *tenant, const char *tool, const json_t *args,
    struct toolres *result, struct err *e)
{
	const struct toolcat_entry	*te = toolcat_find(tool);
	const struct grant		*g;
	char				*text;
	size_t				 len;
	long long			 old_ver;
	int				 renew, found;

	toolres_clear(result);
	if (fwd_req_grants(r, e) == -1)
		return -1;
	for (int attempt = 0; attempt < 2; attempt++) {
		if ((g = grants_find(r->gs, tenant)) == NULL) {
			metrics_inc(&r->fwd->metrics[FM_TOOL_REFUSED]);
			log_warnx("tool call refused: %s%s%s: not a member of tenant '%s'", tenant,
			    USERTOOLS_SEP, tool, tenant);
			return err_set(e, 403, "not_member", "you are not a member of tenant '%s'",
			    tenant);
		}
		if (usertools_builtin_ok(g, te)) {
			if (toolargs_check(builtin_args(te), args, e) == -1) {
				toolres_set_error(result, e);
				return 0;
			}
			old_ver = grants_cred_version(r->gs, grants_integration(g, te->kind));

			if (usertools_run_builtin(r, g, te, args, &text, &len, &renew, e) == 0) {
				toolres_set_text(result, text, len);
				return 0;
			}
			if (attempt == 0 && renew) {
				struct err re;

				err_clear(&re);
				if (fwd_req_renew(r, &re) == -1) {
					*e = re;
					return -1;
				}
				const struct grant *ng = grants_find(r->gs, tenant);
				struct grant_integ *ngi = ng != NULL ?
				    grants_integration(ng, te->kind) : NULL;

				/* After a refused key, retry only with a new version. */
				if (renew == 1 || (ngi != NULL && ngi->cred_version != old_ver)) {
					metrics_inc(&r->fwd->metrics[FM_UPSTREAM_RETRIES]);
					continue;
				}
			}
			toolres_set_error(result, e);
			return 0;
		}
		/* A built-in this caller may not use is refused here: asking the
		 * tenant's MCP backends would redeem a credential for nothing. */
		if (te != NULL && grants_integration(g, te->kind) != NULL) {
			metrics_inc(&r->fwd->metrics[FM_TOOL_REFUSED]);
			log_warnx("tool call refused: %s%s%s not granted (role %s)", tenant,
			    USERTOOLS_SEP, tool, g->role);
			return err_set(e, 403, "tool_not_granted", "tool '%s' is not granted to you "
			    "in tenant '%s' (role %s)", tool, tenant, g->role);
		}
		found = usertools_run_backend(r, g, tool, args, result, &renew, e);
		if (found == -1)
			return -1;
		if (found == 1) {
			if (attempt == 0 && renew) {
				struct err re;

				toolres_clear(result);
				err_clear(&re);
				if (fwd_req_renew(r, &re) == -1) {
					*e = re;
					return -1;
				}
				continue;
			}
			return 0;
		}
		metrics_inc(&r->fwd->metrics[FM_TOOL_REFUSED]);
		return err_set(e, 404, "unknown_tool", "tenant '%s' has no tool '%.80s'", tenant,
		    tool);
	}
	return err_set(e, 500, "internal", "tool call retry loop ended");
}

/* fwd-feed: the tool-call audit hook (audit.h): every tools/call, MCP and
 * OpenAPI, goes through here once. */
int
usertools_call(struct fwd_req *r, const char *tenant, const char *tool, const json_t *args,
    struct toolres *result, struct err *e)
{
	long	t0 = clock_now_ms();
	int	rc = usertools_call_run(r, tenant, tool, args, result, e);

	audit_tool_call(r->gs != NULL ? r->gs->user : NULL, tenant, tool, rc,
	    rc == 0 && result->is_error, e, clock_now_ms() - t0);
	return rc;
}
