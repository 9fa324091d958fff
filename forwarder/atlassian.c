/*
 * atlassian: the one request builder behind every built-in tool (a row of
 * forwarder/builtin.c: method, path template, query map, body), the
 * upstream call, its error policy (which status becomes which tool error;
 * a 429 is answered at once, never slept out) and the size cap on results. A result
 * leaves here serialised, once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atlassian.h"
#include "ratelimit.h"
#include "builtin.h"
#include "err.h"
#include "fwdconf.h"
#include "httpc.h"
#include "jbuf.h"
#include "jscan.h"
#include "jsonx.h"
#include "log.h"
#include "secret.h"
#include "toolargs.h"
#include "toolcat.h"
#include "utf8.h"

#define ATL_URL_MAX	8192

/* What the builder produces: method, path+query (below base_url), body. */
struct atl_call {
	const char	*method;
	char		 path[ATL_URL_MAX];
	json_t		*body;		/* NULL for GET */
	const char	*what;		/* "issue GOOG-1", for messages */
	char		 what_buf[160];
};

/* --- the request builder -------------------------------------------------------- */

/* An argument as text: strings as they are, integers in decimal. */
static const char *
atl_arg_text(const json_t *v, char *num, size_t sz)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(num, sz, "%lld", (long long)json_integer_value(v));
		return num;
	}
	return NULL;
}

/* Append the URL-encoded v to path. */
static int
atl_put_enc(char *path, size_t sz, const char *v, const char *arg, struct err *e)
{
	char	*enc = httpc_urlencode(v);
	size_t	 n = strlen(path);
	int	 w;

	if (enc == NULL)
		return err_set(e, 500, "nomem", "out of memory");
	w = snprintf(path + n, sz - n, "%s", enc);
	free(enc);
	if (w < 0 || (size_t)w >= sz - n)
		return arg != NULL ? err_set(e, 400, "bad_arguments", "argument '%s' is too long",
		    arg) : err_set(e, 400, "bad_arguments", "argument is too long");
	return 0;
}

/* Expand "{name}" in tmpl from args into out: URL-encoded for a path,
 * as-is (cut at 60 bytes) for a message. */
static int
atl_expand(const char *tmpl, const json_t *args, int encode, char *out, size_t sz,
    struct err *e)
{
	const char	*p = tmpl, *open, *close;
	char		 name[64], num[32];
	size_t		 n;

	out[0] = '\0';
	while ((open = strchr(p, '{')) != NULL && (close = strchr(open, '}')) != NULL) {
		const char *v;

		n = strlen(out);
		snprintf(out + n, sz - n, "%.*s", (int)(open - p), p);
		snprintf(name, sizeof name, "%.*s", (int)(close - open - 1), open + 1);
		if ((v = atl_arg_text(json_object_get(args, name), num, sizeof num)) == NULL)
			v = "";
		if (encode) {
			if (atl_put_enc(out, sz, v, NULL, e) == -1)
				return -1;
		} else {
			n = strlen(out);
			snprintf(out + n, sz - n, "%.60s", v);
		}
		p = close + 1;
	}
	n = strlen(out);
	if ((size_t)snprintf(out + n, sz - n, "%s", p) >= sz - n)
		return err_set(e, 400, "bad_arguments", "argument is too long");
	return 0;
}

/* The row's request for args (already checked against its schema). */
static int
atl_build(const struct toolcat_entry *te, const json_t *args, struct atl_call *c,
    struct err *e)
{
	const struct builtin	*b = builtin_of(te);
	const struct toolargs	*ta = builtin_args(te);
	char			 num[32];

	c->method = b->method;
	if (strchr(b->what, '{') != NULL) {
		atl_expand(b->what, args, 0, c->what_buf, sizeof c->what_buf, e);
		c->what = c->what_buf;
	} else
		c->what = b->what;
	if (atl_expand(b->path, args, 1, c->path, sizeof c->path, e) == -1)
		return -1;
	for (size_t i = 0; b->query[i].param != NULL; i++) {
		const struct builtin_query	*q = &b->query[i];
		const char			*v = q->fixed;
		size_t				 n = strlen(c->path);

		if (q->arg != NULL) {
			const json_t *a = json_object_get(args, q->arg);

			if (a == NULL)
				a = toolargs_default(ta, q->arg);
			if ((v = atl_arg_text(a, num, sizeof num)) == NULL)
				continue;
		}
		if ((size_t)snprintf(c->path + n, sizeof c->path - n, "%s%s=", strchr(c->path,
		    '?') != NULL ? "&" : "?", q->param) >= sizeof c->path - n)
			return err_set(e, 400, "bad_arguments", "argument '%s' is too long",
			    q->arg != NULL ? q->arg : q->param);
		if (atl_put_enc(c->path, sizeof c->path, v, q->arg != NULL ? q->arg : q->param,
		    e) == -1)
			return -1;
	}
	if (b->body != NULL && (c->body = b->body(args)) == NULL)
		return err_set(e, 500, "nomem", "out of memory");
	return 0;
}

int
atlassian_has(const char *tool)
{
	const struct toolcat_entry *te = toolcat_find(tool);

	return te != NULL && builtin_of(te)->trim != NULL && builtin_of(te)->method != NULL;
}

int
atlassian_request(const struct toolcat_entry *te, const json_t *args, char **method,
    char **path, char **body, struct err *e)
{
	struct atl_call c;

	memset(&c, 0, sizeof c);
	*method = *path = *body = NULL;
	if (atl_build(te, args, &c, e) == -1) {
		json_decref(c.body);
		return -1;
	}
	*method = strdup(c.method);
	*path = strdup(c.path);
	if (c.body != NULL)
		*body = jsonx_dump(c.body);
	json_decref(c.body);
	return 0;
}

/* --- the size cap ----------------------------------------------------------- */

/* The serialised size, measured without building the string. */
static size_t
atl_json_size(const json_t *v)
{
	return json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
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
			keep = utf8_prefix(json_string_value(best), keep);
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

/* Serialise once; only a result over the cap is shortened and written
 * again. The text is what the echo check scans and the client gets. */
int
atlassian_serialise(json_t *result, size_t max, char **text, size_t *len)
{
	struct buf b = { 0 };

	jbuf_put_json(&b, result);
	if (!b.failed && b.len > max) {
		buf_free(&b);
		atlassian_cap(result, max);
		jbuf_put_json(&b, result);
	}
	return (*text = buf_steal(&b, len)) != NULL ? 0 : -1;
}

/* --- the answer ------------------------------------------------------------------ */

/* Over the cap (rare): shorten the result as atlassian_cap() always has,
 * on a tree of the result (not of the answer), and write it again. */
static int
atl_recap(struct buf *b, size_t max, char **text, size_t *len)
{
	json_t	*r = json_loadb(b->p, b->len, 0, NULL);
	int	 rc;

	buf_free(b);
	if (r == NULL)
		return -1;
	rc = atlassian_serialise(r, max, text, len);
	json_decref(r);
	return rc;
}

int
atlassian_answer(const struct toolcat_entry *te, const char *body, size_t blen,
    size_t max_response, const char *base_url, const json_t *args, size_t max,
    const char *what, char **text, size_t *len, struct err *e)
{
	struct jscan	 js;
	struct buf	 b = { 0 };
	int		 root = -1;

	*text = NULL;
	*len = 0;
	memset(&js, 0, sizeof js);
	/* An empty answer (204, or 200 without a body) trims as if every
	 * field were missing. */
	if (blen > 0) {
		if (jscan_parse(&js, body, blen, max_response, 0, 0) == -1) {
			jscan_free(&js);
			if (js.nomem)
				return err_set(e, 500, "nomem", "out of memory");
			log_debug("atlassian: answer to %s: %s", what, js.err);
			return err_set(e, 502, "upstream_bad_json", "Atlassian's answer to %s is not "
			    "JSON", what);
		}
		root = 0;
	}
	builtin_of(te)->trim(&js, root, base_url, args, &b);
	jscan_free(&js);
	if (b.failed)
		return err_set(e, 500, "nomem", "out of memory");
	if (b.len > max) {
		if (atl_recap(&b, max, text, len) == -1)
			return err_set(e, 500, "nomem", "out of memory");
		return 0;
	}
	if ((*text = buf_steal(&b, len)) == NULL)
		return err_set(e, 500, "nomem", "out of memory");
	return 0;
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

int
atlassian_exec(const struct toolcat_entry *te, const json_t *args,
    const struct atlassian_target *t, const struct fwdconf *conf, char **text, size_t *len,
    struct err *e)
{
	struct atl_call		 c;
	struct httpc_req	 req;
	struct httpc_resp	 resp;
	char			*url = NULL, *body = NULL;
	const char		*api;
	int			 rc = -1;
	size_t			 n;

	*text = NULL;
	*len = 0;
	memset(&c, 0, sizeof c);
	if (atl_build(te, args, &c, e) == -1)
		goto out;
	api = t->api_url != NULL ? t->api_url : t->base_url;
	n = strlen(api) + strlen(c.path) + 1;
	if ((url = malloc(n)) == NULL) {
		err_set(e, 500, "nomem", "out of memory");
		goto out;
	}
	snprintf(url, n, "%s%s", api, c.path);
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
		/* A request never sleeps out a 429: it is answered at once with
		 * the wait (err.retry_after), which usertools turns into the
		 * tenant's shared back-off (bulkhead_backoff()). Only an explicit
		 * "Retry-After: 0" (no wait at all) is retried, once, at once. */
		if (resp.status == 429 && attempt == 0 && resp.retry_after == 0) {
			ratelimit_count(resp.ratelimit_reason);
			log_info("atlassian: %s: 429 (%s) for %s with Retry-After 0, retrying "
			    "at once", t->tenant, resp.ratelimit_reason[0] != '\0' ?
			    resp.ratelimit_reason : "no reason", te->name);
			httpc_resp_free(&resp);
			continue;
		}
		break;
	}
	if (resp.status < 200 || resp.status > 299) {
		if (resp.status == 429)
			ratelimit_error(&resp, t->tenant, e);
		else
			atl_status_err(&resp, &c, t->tenant, e);
		httpc_resp_free(&resp);
		goto out;
	}
	/* The answer's tokens point into resp.body: free it after. */
	rc = atlassian_answer(te, resp.body, resp.len, conf->upstream_max_response, t->base_url,
	    args, conf->tool_result_max_bytes, c.what, text, len, e);
	httpc_resp_free(&resp);
out:
	json_decref(c.body);
	free(body);
	free(url);
	return rc;
}
