/*
 * front: routes, request admission (Host, Origin, identity, grants) and the MCP,
 * health, readiness and metrics handlers. The forwarder verifies no token:
 * the broker does, and its answer (cached per token) decides.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "broker_client.h"
#include "bulkhead.h"
#include "err.h"
#include "clock.h"
#include "coro.h"
#include "feed.h"
#include "front.h"
#include "fwd.h"
#include "grants.h"
#include "jsonx.h"
#include "log.h"
#include "mcp.h"
#include "oauth_meta.h"
#include "metrics.h"
#include "openapi.h"
#include "ratelimit.h"
#include "toolres.h"
#include "usertools.h"

/* --- admission ---------------------------------------------------------------- */

const char *
front_assertion(struct httpd_req *r)
{
	const char *v;

	/* Open WebUI may put a static tool-server key in Authorization and the
	 * user in its signed header: the signed user JWT wins. */
	if ((v = httpd_header(r, "X-OpenWebUI-User-Jwt")) != NULL && *v != '\0')
		return v;
	if ((v = httpd_header(r, "Authorization")) != NULL && strncasecmp(v, "Bearer ", 7) == 0) {
		v += 7;
		while (*v == ' ')
			v++;
		if (*v != '\0')
			return v;
	}
	return NULL;
}

/* HTTP-level refusals on /mcp still carry a JSON-RPC error, so MCP clients
 * show the message; data names our status and code. */
static void
front_mcp_refuse(struct httpd_req *r, int status, int rpc_code, const char *code,
    const char *msg)
{
	json_t *v = json_pack("{s:s,s:n,s:{s:i,s:s,s:{s:i,s:s}}}", "jsonrpc", "2.0", "id",
	    "error", "code", rpc_code, "message", msg, "data", "status", status, "code", code);

	httpd_reply_json(r, status, v);
}

void
front_fail(struct httpd_req *r, int jsonrpc, const struct err *e)
{
	int status = e->status != 0 ? e->status : 500;

	if (!jsonrpc) {
		httpd_reply_err(r, e);
		return;
	}
	if (status >= 500)
		log_warnx("%s %s -> %d %s: %s", httpd_method(r), httpd_path(r), status, e->code,
		    e->msg);
	front_mcp_refuse(r, status, status == 401 ? FRONT_RPC_UNAUTHORIZED :
	    status >= 500 ? MCP_INTERNAL_ERROR : MCP_INVALID_REQUEST,
	    e->code[0] != '\0' ? e->code : "internal", e->msg);
}

void
front_unauthorized(struct httpd_req *r, const struct fwdconf *c, int jsonrpc,
    const struct err *e)
{
	struct err	def;
	char		hdr[1536];

	if (e != NULL && err_isset(e))
		oauth_meta_challenge(c, e->code, hdr, sizeof hdr);
	else {
		oauth_meta_challenge(c, NULL, hdr, sizeof hdr);
		err_set(&def, 401, "unauthenticated", "send the user's token as "
		    "Authorization: Bearer <token> or X-OpenWebUI-User-Jwt");
		e = &def;
	}
	httpd_add_header(r, "WWW-Authenticate", hdr);
	front_fail(r, jsonrpc, e);
}

int
front_begin(struct httpd_req *r, struct fwd *f, struct fwd_req *fr, int jsonrpc)
{
	struct err e;

	fwd_req_init(fr, f);
	err_clear(&e);
	/* One deadline for the whole request: time queued behind a busy
	 * tenant or spent at the broker comes out of it, never on top. */
	coro_set_deadline(clock_now_ms() + (long)fr->conf->upstream_timeout * 1000 +
	    FRONT_DEADLINE_MARGIN_MS);
	/* DNS rebinding: a page on another site that resolves to us. */
	if (!front_host_ok(httpd_header(r, "Host"), fr->conf->allowed_hosts, fr->conf->listen)) {
		log_warnx("refused Host %.100s from %s", httpd_header(r, "Host"), httpd_peer(r));
		err_set(&e, 403, "host_not_allowed", "Host %.100s is not allowed (set "
		    "allowed_hosts)", httpd_header(r, "Host"));
		front_fail(r, jsonrpc, &e);
		fwd_req_done(fr);
		return -1;
	}
	if (!front_origin_ok(httpd_header(r, "Origin"), fr->conf->allowed_origins)) {
		log_warnx("refused Origin %.100s from %s", httpd_header(r, "Origin"),
		    httpd_peer(r));
		err_set(&e, 403, "origin_not_allowed", "Origin %.100s is not allowed (set "
		    "allowed_origins)", httpd_header(r, "Origin"));
		front_fail(r, jsonrpc, &e);
		fwd_req_done(fr);
		return -1;
	}
	if ((fr->assertion = front_assertion(r)) == NULL) {
		metrics_inc(&f->metrics[FM_AUTH_REFUSED]);
		front_unauthorized(r, fr->conf, jsonrpc, NULL);
		fwd_req_done(fr);
		return -1;
	}
	if (strlen(fr->assertion) > FRONT_ASSERTION_MAX) {
		err_set(&e, 401, "token_too_large", "the user token is larger than %d bytes",
		    FRONT_ASSERTION_MAX);
		metrics_inc(&f->metrics[FM_AUTH_REFUSED]);
		front_unauthorized(r, fr->conf, jsonrpc, &e);
		fwd_req_done(fr);
		return -1;
	}
	if (fwd_req_grants(fr, &e) == -1) {
		if (e.status == 401) {
			metrics_inc(&f->metrics[FM_AUTH_REFUSED]);
			log_info("identity refused by the broker: %s", e.code);
			front_unauthorized(r, fr->conf, jsonrpc, &e);
		} else
			front_fail(r, jsonrpc, &e);
		fwd_req_done(fr);
		return -1;
	}
	return 0;
}

void
front_observe(struct httpd_req *r, struct fwd *f)
{
	metrics_observe(&f->latency, httpd_age(r));
}

/* "scheme://host[:port]" with host a loopback name. */
static int
front_origin_loopback(const char *o)
{
	static const char *const hosts[] = { "127.0.0.1", "localhost", "[::1]" };
	const char	*h;

	if (strncmp(o, "http://", 7) == 0)
		h = o + 7;
	else if (strncmp(o, "https://", 8) == 0)
		h = o + 8;
	else
		return 0;
	for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
		size_t n = strlen(hosts[i]);

		if (strncasecmp(h, hosts[i], n) == 0 && (h[n] == '\0' ||
		    (h[n] == ':' && h[n + 1] != '\0' && strspn(h + n + 1, "0123456789") ==
		    strlen(h + n + 1))))
			return 1;
	}
	return 0;
}

int
front_origin_ok(const char *origin, char *const *allowed)
{
	if (origin == NULL)
		return 1;	/* not a browser: nothing to rebind */
	if (front_origin_loopback(origin))
		return 1;
	for (size_t i = 0; allowed != NULL && allowed[i] != NULL; i++)
		if (strcmp(allowed[i], "*") == 0 || strcasecmp(allowed[i], origin) == 0)
			return 1;
	return 0;
}

/* The host part of "host[:port]" / "[v6]:port" into buf. */
static void
front_hostname(const char *hp, char *buf, size_t sz)
{
	const char	*end;
	size_t		 n;

	if (hp[0] == '[')
		end = strchr(hp, ']') != NULL ? strchr(hp, ']') + 1 : hp + strlen(hp);
	else
		end = strchr(hp, ':') != NULL ? strchr(hp, ':') : hp + strlen(hp);
	n = (size_t)(end - hp);
	if (n >= sz)
		n = sz - 1;
	memcpy(buf, hp, n);
	buf[n] = '\0';
}

/* A loopback name: localhost, an IPv4 literal in 127/8, or [::1]. Only
 * literals: "127.0.0.1.evil.example" is a name an attacker can own. */
static int
front_name_loopback(const char *name)
{
	struct in_addr a;

	if (strcasecmp(name, "localhost") == 0 || strcmp(name, "[::1]") == 0 ||
	    strcmp(name, "::1") == 0)
		return 1;
	return inet_pton(AF_INET, name, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

int
front_host_ok(const char *host, char *const *allowed, char *const *listen)
{
	char	name[256];
	int	loopback_only = 1;

	if (host == NULL || *host == '\0')
		return 1;	/* HTTP/1.0, not a browser */
	front_hostname(host, name, sizeof name);
	if (front_name_loopback(name))
		return 1;
	for (size_t i = 0; allowed != NULL && allowed[i] != NULL; i++) {
		if (strcmp(allowed[i], "*") == 0 || strcasecmp(allowed[i], host) == 0 ||
		    strcasecmp(allowed[i], name) == 0)
			return 1;
	}
	if (allowed != NULL && allowed[0] != NULL)
		return 0;
	/* Unset: a loopback-only server knows every name it may be called by. */
	for (size_t i = 0; listen != NULL && listen[i] != NULL; i++) {
		char l[256];

		if (strncmp(listen[i], "unix:", 5) == 0)
			continue;
		front_hostname(listen[i], l, sizeof l);
		if (!front_name_loopback(l))
			loopback_only = 0;
	}
	return !loopback_only;
}

/* --- /mcp --------------------------------------------------------------------------- */

static char *
front_ops_list(void *arg, size_t *len, struct err *e)
{
	return usertools_list_text(arg, len, e);
}

static int
front_ops_call(void *arg, const char *name, const json_t *args, struct toolres *result,
    struct err *e)
{
	struct fwd_req	*fr = arg;
	char		 tenant[64];
	const char	*tool;
	int		 rc;

	if (usertools_split(name, tenant, sizeof tenant, &tool) == -1)
		return err_set(e, 404, "unknown_tool", "tool names look like <tenant>__<tool>");
	log_ctx_add("tenant", "%s", tenant);
	metrics_inc(&fr->fwd->metrics[FM_TOOL_CALLS]);
	rc = usertools_call(fr, tenant, tool, args, result, e);
	if (rc == 0 && result->is_error) {
		metrics_inc(&fr->fwd->metrics[FM_TOOL_ERRORS]);
		log_info("tools/call %s: tool error %s: %s", name, e->code, e->msg);
	} else if (rc == 0)
		log_info("tools/call %s: ok", name);
	else
		log_info("tools/call %s: refused: %s", name, e->code);
	return rc;
}

static int
front_accepts_json(const char *accept)
{
	if (accept == NULL)
		return 1;
	return strstr(accept, "application/json") != NULL || strstr(accept, "*/*") != NULL ||
	    strstr(accept, "application/*") != NULL;
}

static void
front_mcp(struct httpd_req *r, void *arg)
{
	struct fwd	*f = arg;
	struct fwd_req	 fr;
	struct mcp_in	 in;
	struct mcp_out	 out;
	struct mcp_ops	 ops;
	const char	*ct = httpd_header(r, "Content-Type");

	metrics_inc(&f->metrics[FM_MCP_REQUESTS]);
	if (front_begin(r, f, &fr, 1) == -1)
		return;
	if (!front_accepts_json(httpd_header(r, "Accept"))) {
		front_mcp_refuse(r, 406, MCP_INVALID_REQUEST, "not_acceptable", "Not Acceptable: "
		    "the client must accept application/json");
		fwd_req_done(&fr);
		return;
	}
	if (ct != NULL && strncasecmp(ct, "application/json", 16) != 0) {
		front_mcp_refuse(r, 415, MCP_INVALID_REQUEST, "unsupported_media_type",
		    "Unsupported Media Type: Content-Type must be application/json");
		fwd_req_done(&fr);
		return;
	}
	memset(&in, 0, sizeof in);
	in.body = httpd_body(r, &in.len);
	in.protocol_version = httpd_header(r, "MCP-Protocol-Version");
	in.method_hdr = httpd_header(r, "Mcp-Method");
	in.name_hdr = httpd_header(r, "Mcp-Name");
	memset(&ops, 0, sizeof ops);
	ops.arg = &fr;
	ops.server_name = "tenantgate-forwarder";
	ops.server_version = FRONT_VERSION;
	ops.instructions = "Tools are named <tenant>__<tool>; each runs in that tenant's "
	    "Jira, Confluence or MCP server with the tenant's own credentials.";
	ops.list = front_ops_list;
	ops.call = front_ops_call;
	mcp_handle(&in, &ops, &out);
	if (out.body == NULL)
		httpd_reply(r, out.status, NULL, NULL, 0);
	else
		httpd_reply_take(r, out.status, "application/json", out.body, out.len);
	fwd_req_done(&fr);
	front_observe(r, f);
}

static void
front_mcp_other(struct httpd_req *r, void *arg)
{
	(void)arg;
	/* No server-initiated stream and no sessions to delete. */
	httpd_add_header(r, "Allow", "POST");
	front_mcp_refuse(r, 405, MCP_INVALID_REQUEST, "method_not_allowed", "Method Not "
	    "Allowed: this server answers POST only (no SSE stream, no sessions)");
}

/* --- operations --------------------------------------------------------------------- */

static void
front_health(struct httpd_req *r, void *arg)
{
	(void)arg;
	httpd_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

/* Ready means "can serve": a single failed probe of the broker (a blip, a
 * rolling restart) does not take every forwarder out of its Service; only
 * a broker unreachable for FRONT_READY_GRACE_MS does. */
static void
front_readyz(struct httpd_req *r, void *arg)
{
	struct fwd		*f = arg;
	struct fwdconf_snap	*snap = fwd_conf(f);
	struct err		 e;
	long			 now = clock_now_ms();
	int			 ok;

	err_clear(&e);
	ok = broker_client_ready(f->broker, fwdconf_get(snap), &e) == 0;
	fwdconf_unref(snap);
	if (ok)
		f->broker_ok_ms = now;
	if (ok)
		httpd_reply_json(r, 200, json_pack("{s:s,s:s}", "status", "ready", "broker", "ok"));
	else if (f->broker_ok_ms != 0 && now - f->broker_ok_ms < FRONT_READY_GRACE_MS)
		httpd_reply_json(r, 200, json_pack("{s:s,s:s,s:{s:s,s:s},s:I}", "status", "ready",
		    "broker", "degraded", "error", "code", e.code, "message", e.msg,
		    "broker_last_ok_ms_ago", (json_int_t)(now - f->broker_ok_ms)));
	else
		httpd_reply_json(r, 503, json_pack("{s:s,s:{s:s,s:s},s:{s:s,s:s}}", "status",
		    "not_ready", "broker", "code", e.code, "message", e.msg, "error", "code",
		    e.code, "message", e.msg));
}

/* Connection metric rows httpd_metrics() may add. */
#define FRONT_HTTPD_METRICS	16
/* Feed and audit rows, half each. */
#define FRONT_FEED_METRICS	32
#define FRONT_RATELIMIT_METRICS	8

static void
front_metrics(struct httpd_req *r, void *arg)
{
	struct fwd		*f = arg;
	struct metric		**rows = NULL, **brows = NULL;
	struct histogram	**hists = NULL, **bhists = NULL;
	size_t			 nb = 0, nbh = 0, len = 0, n = 0;
	char			*text = NULL;

	metrics_set(&f->metrics[FM_GRANT_CACHE_SIZE], grants_count(f->grants));
	if (bulkhead_metrics(f->bulkheads, &brows, &nb, &bhists, &nbh) == 0 &&
	    (rows = calloc(FM__COUNT + FRONT_HTTPD_METRICS + FRONT_FEED_METRICS +
	    FRONT_RATELIMIT_METRICS + nb, sizeof *rows)) != NULL &&
	    (hists = calloc(1 + nbh, sizeof *hists)) != NULL) {
		for (int i = 0; i < FM__COUNT; i++)
			rows[n++] = &f->metrics[i];
		n += httpd_metrics(httpd_req_server(r), rows + n, FRONT_HTTPD_METRICS);
		/* the change feed's and the audit queue's rows */
		n += feed_metric_rows(rows + n, FRONT_FEED_METRICS / 2);
		n += audit_metric_rows(rows + n, FRONT_FEED_METRICS / 2);
		n += ratelimit_metric_rows(rows + n, FRONT_RATELIMIT_METRICS);
		memcpy(rows + n, brows, nb * sizeof *rows);
		hists[0] = &f->latency;
		memcpy(hists + 1, bhists, nbh * sizeof *hists);
		text = metrics_render(rows, n + nb, hists, 1 + nbh, &len);
	}
	free(brows);
	free(bhists);
	free(rows);
	free(hists);
	if (text == NULL) {
		httpd_reply_error(r, 500, "nomem", "out of memory");
		return;
	}
	httpd_reply(r, 200, "text/plain; version=0.0.4", text, len);
	free(text);
}

const struct httpd_route front_routes[] = {
	{ "GET", "/health", front_health, 1 },
	{ "GET", "/healthz", front_health, 1 },
	{ "GET", "/readyz", front_readyz, 0 },
	{ "GET", "/metrics", front_metrics, 0 },
	{ "GET", OAUTH_META_WELL_KNOWN "*", oauth_meta_h_document, 1 },
	{ "POST", "/mcp", front_mcp, 0 },
	{ NULL, "/mcp", front_mcp_other, 1 },
	{ "GET", "/openapi.json", openapi_h_document, 0 },
	{ "GET", "/tools", openapi_h_tools, 0 },
	{ "GET", "/tenants", openapi_h_tenants, 0 },
	{ "POST", "/tools/*", openapi_h_execute, 0 },
	{ NULL, NULL, NULL, 0 },
};
