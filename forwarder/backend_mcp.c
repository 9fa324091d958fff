/*
 * backend_mcp: a small MCP client for tenant backends. One cache entry per
 * (tenant, integration, URL) holds the revision the backend speaks and its
 * tool list, each with its own expiry judged here; the entries live in a
 * common/cache (LRU bound) whose lock is never held across a network call.
 *
 * Limit: the handshake-era path sends no Mcp-Session-Id (httpc does not
 * expose response headers), so it works with stateless backends; backends
 * that speak 2026-07-28 (any current SDK) need no session at all.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "backend_mcp.h"
#include "cache.h"
#include "dropset.h"
#include "err.h"
#include "fwdconf.h"
#include "httpc.h"
#include "jsonx.h"
#include "log.h"

#define BACKEND_MODERN		"2026-07-28"
#define BACKEND_HANDSHAKE	"2025-11-25"
#define BACKEND_ERA_TTL		600
#define BACKEND_MAX_PAGES	10
#define BACKEND_MAX_ENTRIES	1024

enum backend_era { ERA_UNKNOWN, ERA_MODERN, ERA_LEGACY };

struct backend_entry {
	char			*tenant;
	char			*integ;
	enum backend_era	 era;
	char			 proto[16];
	time_t			 era_exp;
	json_t			*tools;
	time_t			 tools_exp;
};

struct backend_cache {
	pthread_mutex_t		 lock;
	struct cache		*cache;		/* "tenant|integ|url" -> entry */
};

static cache_free_fn backend_entry_free;

struct backend_cache *
backend_mcp_new(void)
{
	struct backend_cache *c;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return NULL;
	if ((c->cache = cache_new(BACKEND_MAX_ENTRIES, backend_entry_free)) == NULL) {
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

static void
backend_entry_free(void *p)
{
	struct backend_entry *be = p;

	json_decref(be->tools);
	free(be->tenant);
	free(be->integ);
	free(be);
}

void
backend_mcp_free(struct backend_cache *c)
{
	if (c == NULL)
		return;
	cache_free(c->cache);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* Neither the revision nor the tool list is of use any more. */
static int
backend_expired(const char *key, void *val, void *arg)
{
	const struct backend_entry	*be = val;
	time_t				 now = *(const time_t *)arg;

	(void)key;
	return be->tools_exp <= now && be->era_exp <= now;
}

void
backend_mcp_sweep(struct backend_cache *c, time_t now)
{
	/* Two expiries per entry, so the owner judges them; nothing here
	 * reads the generation that a drop bumps. */
	pthread_mutex_lock(&c->lock);
	cache_drop_if(c->cache, backend_expired, &now);
	pthread_mutex_unlock(&c->lock);
}

static int
backend_named(const char *key, void *val, void *arg)
{
	const struct backend_entry	*be = val;
	const struct dropset		*d = arg;

	(void)key;
	return dropset_has(d, 'T', be->tenant, NULL) || dropset_has(d, 'I', be->tenant, be->integ);
}

size_t
backend_mcp_drop(struct backend_cache *c, const struct dropset *d)
{
	size_t n;

	pthread_mutex_lock(&c->lock);
	n = d->all ? cache_flush(c->cache) : cache_drop_if(c->cache, backend_named, (void *)d);
	pthread_mutex_unlock(&c->lock);
	return n;
}

/* Under the lock: the entry for a target, created when missing (the
 * least recently used one makes room). */
static struct backend_entry *
backend_entry(struct backend_cache *c, const struct backend_target *t)
{
	struct backend_entry	*be;
	char			 key[2048];

	snprintf(key, sizeof key, "%s|%s|%s", t->tenant, t->integ, t->url);
	if ((be = cache_find(c->cache, key)) != NULL)
		return be;
	if ((be = calloc(1, sizeof *be)) == NULL)
		return NULL;
	if ((be->tenant = strdup(t->tenant)) == NULL || (be->integ = strdup(t->integ)) == NULL) {
		backend_entry_free(be);
		return NULL;
	}
	return cache_put(c->cache, key, be, 0, cache_gen(c->cache)) ? be : NULL;
}

/* --- wire ------------------------------------------------------------------- */

static json_t *
backend_match(json_t *msg, json_int_t id)
{
	json_t *jid = json_object_get(msg, "id");

	if (json_is_integer(jid) && json_integer_value(jid) == id &&
	    (json_object_get(msg, "result") != NULL || json_object_get(msg, "error") != NULL))
		return json_incref(msg);
	return NULL;
}

json_t *
backend_mcp_parse(const char *body, size_t len, const char *content_type, json_int_t id)
{
	json_t		*msg, *hit = NULL;
	const char	*p, *end;
	char		*data = NULL;
	size_t		 dlen = 0;

	if (body == NULL || len == 0)
		return NULL;
	if (content_type == NULL || strncasecmp(content_type, "text/event-stream", 17) != 0) {
		msg = json_loadb(body, len, 0, NULL);
		hit = backend_match(msg, id);
		json_decref(msg);
		return hit;
	}
	/* SSE: events end at a blank line; an event's data is its data:
	 * lines joined with '\n'. */
	if ((data = malloc(len + 1)) == NULL)
		return NULL;
	for (p = body, end = body + len; p < end && hit == NULL;) {
		const char	*nl = memchr(p, '\n', (size_t)(end - p));
		size_t		 ll = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

		if (ll > 0 && p[ll - 1] == '\r')
			ll--;
		if (ll == 0) {
			if (dlen > 0) {
				msg = json_loadb(data, dlen, 0, NULL);
				hit = backend_match(msg, id);
				json_decref(msg);
			}
			dlen = 0;
		} else if (ll >= 5 && strncmp(p, "data:", 5) == 0) {
			const char *v = p + 5;
			size_t	    vl = ll - 5;

			if (vl > 0 && *v == ' ') {
				v++;
				vl--;
			}
			if (dlen > 0)
				data[dlen++] = '\n';
			memcpy(data + dlen, v, vl);
			dlen += vl;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	if (hit == NULL && dlen > 0) {	/* a last event without its blank line */
		msg = json_loadb(data, dlen, 0, NULL);
		hit = backend_match(msg, id);
		json_decref(msg);
	}
	free(data);
	return hit;
}

/*
 * One JSON-RPC exchange. era picks the envelope: modern adds _meta and the
 * routing headers. 0 with *result; -1 with e; *rpc_error is set when the
 * backend answered with a JSON-RPC error (e holds its message).
 */
static int
backend_rpc(const struct fwdconf *conf, const struct backend_target *t,
    enum backend_era era, const char *proto, const char *method, const json_t *params,
    int notification, json_t **result, int *rpc_error, struct err *e)
{
	struct httpc_req	 req;
	struct httpc_resp	 resp;
	json_t			*msg, *p, *answer, *er;
	char			*body, h_ver[64], h_meth[128], h_name[200];
	const char		*hdrs[7];
	int			 nh = 0, rc = -1;

	*result = NULL;
	*rpc_error = 0;
	p = params != NULL ? json_deep_copy(params) : json_object();
	if (era == ERA_MODERN)
		json_object_set_new(p, "_meta", json_pack("{s:s,s:{},s:{s:s,s:s}}",
		    "io.modelcontextprotocol/protocolVersion", proto,
		    "io.modelcontextprotocol/clientCapabilities",
		    "io.modelcontextprotocol/clientInfo", "name", "tenantgate-forwarder",
		    "version", "1"));
	msg = notification ? json_pack("{s:s,s:s,s:o}", "jsonrpc", "2.0", "method", method,
	    "params", p) : json_pack("{s:s,s:i,s:s,s:o}", "jsonrpc", "2.0", "id", 1, "method",
	    method, "params", p);
	body = jsonx_dump(msg);
	json_decref(msg);
	if (body == NULL)
		return err_set(e, 500, "nomem", "out of memory");

	hdrs[nh++] = "Accept: application/json, text/event-stream";
	if (proto != NULL) {
		snprintf(h_ver, sizeof h_ver, "MCP-Protocol-Version: %s", proto);
		hdrs[nh++] = h_ver;
	}
	if (era == ERA_MODERN) {
		snprintf(h_meth, sizeof h_meth, "Mcp-Method: %s", method);
		hdrs[nh++] = h_meth;
		if (strcmp(method, "tools/call") == 0 && jsonx_str(params, "name") != NULL) {
			snprintf(h_name, sizeof h_name, "Mcp-Name: %s", jsonx_str(params, "name"));
			hdrs[nh++] = h_name;
		}
	}
	hdrs[nh] = NULL;
	memset(&req, 0, sizeof req);
	req.method = "POST";
	req.url = t->url;
	req.body = body;
	req.body_len = strlen(body);
	req.headers = hdrs;
	req.secret_header = t->auth;
	req.timeout_ms = (long)conf->upstream_timeout * 1000;
	req.connect_timeout_ms = (long)conf->upstream_connect_timeout * 1000;
	req.max_response = conf->upstream_max_response;
	req.ca_file = conf->upstream_ca_file;
	if (httpc_do(&req, &resp, e) == -1) {
		char why[ERR_MSG_MAX];

		snprintf(why, sizeof why, "%s", e->msg);
		if (strcmp(e->code, "upstream_timeout") == 0)
			err_set(e, 504, "backend_timeout", "tenant '%s''s MCP server did not answer "
			    "%s within %d s", t->tenant, method, conf->upstream_timeout);
		else
			err_set(e, 502, "backend_unreachable", "tenant '%s''s MCP server: %.160s",
			    t->tenant, why);
		secret_free_str(body);
		return -1;
	}
	secret_free_str(body);
	if (notification) {
		rc = resp.status >= 200 && resp.status < 300 ? 0 : err_set(e, 502, "backend_error",
		    "tenant '%s''s MCP server refused %s (%ld)", t->tenant, method, resp.status);
		httpc_resp_free(&resp);
		return rc;
	}
	answer = backend_mcp_parse(resp.body, resp.len, resp.content_type, 1);
	if (answer != NULL && (er = json_object_get(answer, "error")) != NULL) {
		*rpc_error = 1;
		err_set(e, 502, "backend_error", "tenant '%s''s MCP server refused %s: %.160s",
		    t->tenant, method, jsonx_str(er, "message") != NULL ?
		    jsonx_str(er, "message") : "(no message)");
	} else if (answer != NULL && json_is_object(json_object_get(answer, "result"))) {
		*result = json_incref(json_object_get(answer, "result"));
		rc = 0;
	} else if (resp.status == 401 || resp.status == 403) {
		err_set(e, 502, "backend_unauthorized", "tenant '%s''s MCP server refused the "
		    "tenant credential (%ld)", t->tenant, resp.status);
	} else {
		err_set(e, 502, "backend_error", "tenant '%s''s MCP server gave no usable answer "
		    "to %s (HTTP %ld)", t->tenant, method, resp.status);
	}
	json_decref(answer);
	httpc_resp_free(&resp);
	return rc;
}

/* Which revision does the backend speak? Probe once per BACKEND_ERA_TTL. */
static int
backend_era(struct backend_cache *c, const struct fwdconf *conf,
    const struct backend_target *t, enum backend_era *era, char *proto, size_t psz,
    struct err *e)
{
	struct backend_entry	*be;
	json_t			*res = NULL;
	int			 rpc_err, modern = 0;
	time_t			 now = time(NULL);

	pthread_mutex_lock(&c->lock);
	if ((be = backend_entry(c, t)) != NULL && be->era != ERA_UNKNOWN && be->era_exp > now) {
		*era = be->era;
		snprintf(proto, psz, "%s", be->proto);
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	pthread_mutex_unlock(&c->lock);

	if (backend_rpc(conf, t, ERA_MODERN, BACKEND_MODERN, "server/discover", NULL, 0, &res,
	    &rpc_err, e) == 0) {
		modern = jsonx_array_has(json_object_get(res, "supportedVersions"),
		    BACKEND_MODERN);
		json_decref(res);
	} else if (!rpc_err && strcmp(e->code, "backend_error") != 0) {
		return -1;	/* unreachable, timeout, refused credential */
	}
	if (modern) {
		*era = ERA_MODERN;
		snprintf(proto, psz, "%s", BACKEND_MODERN);
	} else {
		json_t *params = json_pack("{s:s,s:{},s:{s:s,s:s}}", "protocolVersion",
		    BACKEND_HANDSHAKE, "capabilities", "clientInfo", "name",
		    "tenantgate-forwarder", "version", "1");

		err_clear(e);
		if (backend_rpc(conf, t, ERA_LEGACY, NULL, "initialize", params, 0, &res,
		    &rpc_err, e) == -1) {
			json_decref(params);
			return -1;
		}
		json_decref(params);
		snprintf(proto, psz, "%s", jsonx_str(res, "protocolVersion") != NULL ?
		    jsonx_str(res, "protocolVersion") : BACKEND_HANDSHAKE);
		json_decref(res);
		*era = ERA_LEGACY;
		if (backend_rpc(conf, t, ERA_LEGACY, proto, "notifications/initialized", NULL, 1,
		    &res, &rpc_err, e) == -1)
			log_debug("backend %s/%s: notifications/initialized: %s", t->tenant,
			    t->integ, e->msg);
		err_clear(e);
	}
	log_info("backend %s/%s speaks MCP %s", t->tenant, t->integ, proto);
	pthread_mutex_lock(&c->lock);
	if ((be = backend_entry(c, t)) != NULL) {
		be->era = *era;
		snprintf(be->proto, sizeof be->proto, "%s", proto);
		be->era_exp = now + BACKEND_ERA_TTL;
	}
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static void
backend_forget_era(struct backend_cache *c, const struct backend_target *t)
{
	struct backend_entry *be;

	pthread_mutex_lock(&c->lock);
	if ((be = backend_entry(c, t)) != NULL)
		be->era = ERA_UNKNOWN;
	pthread_mutex_unlock(&c->lock);
}

/* A request at the backend's revision; re-probes once if it changed. */
static int
backend_request(struct backend_cache *c, const struct fwdconf *conf,
    const struct backend_target *t, const char *method, const json_t *params,
    json_t **result, struct err *e)
{
	enum backend_era	 era;
	char			 proto[16];
	int			 rpc_err;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (backend_era(c, conf, t, &era, proto, sizeof proto, e) == -1)
			return -1;
		if (backend_rpc(conf, t, era, proto, method, params, 0, result, &rpc_err, e) == 0)
			return 0;
		/* A restarted or upgraded backend: learn its revision again. */
		if (rpc_err || strcmp(e->code, "backend_error") != 0)
			return -1;
		backend_forget_era(c, t);
	}
	return -1;
}

static int
backend_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-' || s[i] == '.'))
			return 0;
	return 1;
}

int
backend_mcp_tools(struct backend_cache *c, const struct fwdconf *conf,
    const struct backend_target *t, json_t **tools, struct err *e)
{
	struct backend_entry	*be;
	json_t			*all, *res, *params, *tool;
	const char		*cursor;
	time_t			 now = time(NULL);
	size_t			 i;

	*tools = NULL;
	pthread_mutex_lock(&c->lock);
	if ((be = backend_entry(c, t)) != NULL && be->tools != NULL && be->tools_exp > now) {
		*tools = json_incref(be->tools);
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	pthread_mutex_unlock(&c->lock);

	all = json_array();
	params = json_object();
	for (int page = 0; page < BACKEND_MAX_PAGES; page++) {
		if (backend_request(c, conf, t, "tools/list", params, &res, e) == -1) {
			json_decref(params);
			json_decref(all);
			return -1;
		}
		json_array_foreach(json_object_get(res, "tools"), i, tool) {
			const char *name = jsonx_str(tool, "name");

			if (json_array_size(all) >= (size_t)conf->backend_max_tools)
				break;
			if (name == NULL || !backend_name_ok(name)) {
				log_warnx("backend %s/%s: skipping a tool with an unusable name",
				    t->tenant, t->integ);
				continue;
			}
			json_array_append(all, tool);
		}
		cursor = jsonx_str(res, "nextCursor");
		if (cursor == NULL || json_array_size(all) >= (size_t)conf->backend_max_tools) {
			json_decref(res);
			break;
		}
		json_object_set_new(params, "cursor", json_string(cursor));
		json_decref(res);
	}
	json_decref(params);
	pthread_mutex_lock(&c->lock);
	if ((be = backend_entry(c, t)) != NULL) {
		json_decref(be->tools);
		be->tools = json_incref(all);
		be->tools_exp = now + conf->backend_tools_ttl;
	}
	pthread_mutex_unlock(&c->lock);
	*tools = all;
	return 0;
}

int
backend_mcp_call(struct backend_cache *c, const struct fwdconf *conf,
    const struct backend_target *t, const char *tool, const json_t *args, json_t **result,
    struct err *e)
{
	json_t	*params;
	int	 rc;

	params = json_pack("{s:s,s:o}", "name", tool, "arguments", args != NULL ?
	    json_incref((json_t *)args) : json_object());
	if (params == NULL)
		return err_set(e, 500, "nomem", "out of memory");
	rc = backend_request(c, conf, t, "tools/call", params, result, e);
	json_decref(params);
	return rc;
}
