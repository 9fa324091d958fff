/*
 * mcp: JSON-RPC 2.0 for MCP Streamable HTTP. Routing by revision: the
 * MCP-Protocol-Version header decides (a modern value -> the stateless
 * envelope path; a handshake value -> the classic path; anything else ->
 * -32022 naming what we serve); without the header, `initialize` and
 * envelope-less bodies take the classic path at 2025-03-26, the revision
 * the spec says to assume. Answers are always application/json.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "err.h"
#include "jbuf.h"
#include "jsonx.h"
#include "log.h"
#include "mcp.h"
#include "toolres.h"
#include "utf8.h"

#define META_VERSION	"io.modelcontextprotocol/protocolVersion"
#define META_CAPS	"io.modelcontextprotocol/clientCapabilities"
#define META_SERVER	"io.modelcontextprotocol/serverInfo"

static const char *const mcp_handshake_versions[] = {
	"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05",
};

static int
mcp_is_handshake(const char *v)
{
	for (size_t i = 0; i < sizeof mcp_handshake_versions / sizeof mcp_handshake_versions[0];
	    i++)
		if (strcmp(v, mcp_handshake_versions[i]) == 0)
			return 1;
	return 0;
}

int
mcp_version_known(const char *v)
{
	return v != NULL && (mcp_is_handshake(v) || strcmp(v, MCP_MODERN_VERSION) == 0);
}

/* --- building replies -------------------------------------------------------- */

static json_t *
mcp_error(const json_t *id, int code, const char *msg, json_t *data)
{
	char	 text[1024];
	json_t	*er;

	/* Messages quote request text cut at a byte count: keep them UTF-8. */
	snprintf(text, sizeof text, "%s", msg);
	text[utf8_prefix(text, strlen(text))] = '\0';
	er = json_pack("{s:i,s:s}", "code", code, "message", text);

	if (data != NULL)
		json_object_set_new(er, "data", data);
	return json_pack("{s:s,s:O,s:o}", "jsonrpc", "2.0", "id", id != NULL ? id : json_null(),
	    "error", er);
}

static json_t *
mcp_result(const json_t *id, json_t *result)
{
	return json_pack("{s:s,s:O,s:o}", "jsonrpc", "2.0", "id", id, "result", result);
}

static json_t *
mcp_unsupported_data(const char *requested)
{
	json_t *sup = json_array();

	json_array_append_new(sup, json_string(MCP_MODERN_VERSION));
	for (size_t i = 0; i < sizeof mcp_handshake_versions / sizeof mcp_handshake_versions[0];
	    i++)
		json_array_append_new(sup, json_string(mcp_handshake_versions[i]));
	return json_pack("{s:o,s:s}", "supported", sup, "requested", requested);
}

/* --- request shape ------------------------------------------------------------- */

/* An id is a string or an integer (JSON-RPC allows numbers; MCP says
 * string or integer, never null). */
static int
mcp_id_ok(const json_t *id)
{
	return json_is_string(id) || json_is_integer(id);
}

enum mcp_kind { MK_REQUEST, MK_NOTIFICATION, MK_RESPONSE, MK_INVALID };

static enum mcp_kind
mcp_kind(const json_t *m)
{
	const json_t *id, *method, *params;

	if (!json_is_object(m) || !json_is_string(json_object_get(m, "jsonrpc")) ||
	    strcmp(json_string_value(json_object_get(m, "jsonrpc")), "2.0") != 0)
		return MK_INVALID;
	id = json_object_get(m, "id");
	method = json_object_get(m, "method");
	params = json_object_get(m, "params");
	if (method == NULL && id != NULL &&
	    (json_object_get(m, "result") != NULL || json_object_get(m, "error") != NULL))
		return MK_RESPONSE;
	if (!json_is_string(method) || (params != NULL && !json_is_object(params)))
		return MK_INVALID;
	if (id == NULL)
		return MK_NOTIFICATION;
	return mcp_id_ok(id) ? MK_REQUEST : MK_INVALID;
}

/* --- replies as text ------------------------------------------------------------ */

/* One JSON-RPC reply being written. Results are written around text that
 * is already serialised (a tool result, the tools/list fragments), so
 * nothing is serialised twice. */
struct mcp_msg {
	struct buf	 b;
	int		 code;		/* JSON-RPC error code; 0 for a result */
	int		 none;		/* nothing owed (a notification) */
};

/* Steals v, an error or a result object built by mcp_error/mcp_result. */
static void
mcp_msg_json(struct mcp_msg *m, json_t *v)
{
	m->code = (int)json_integer_value(json_object_get(json_object_get(v, "error"), "code"));
	if (v == NULL)
		m->b.failed = 1;
	else
		jbuf_put_json(&m->b, v);
	json_decref(v);
}

static void
mcp_msg_error(struct mcp_msg *m, const json_t *id, int code, const char *msg, json_t *data)
{
	mcp_msg_json(m, mcp_error(id, code, msg, data));
}

/* `{"jsonrpc":"2.0","id":<id>,"result":` ... then mcp_msg_close(). */
static void
mcp_msg_open(struct mcp_msg *m, const json_t *id)
{
	buf_puts(&m->b, "{\"jsonrpc\":\"2.0\",\"id\":");
	jbuf_put_json(&m->b, id);
	buf_puts(&m->b, ",\"result\":");
}

/* The 2026-07-28 members every result carries (tools/list adds caching). */
static void
mcp_msg_modern(struct mcp_msg *m, const struct mcp_ops *ops, int list)
{
	buf_puts(&m->b, list ? ",\"resultType\":\"complete\",\"ttlMs\":0,\"cacheScope\":"
	    "\"private\"" : ",\"resultType\":\"complete\"");
	buf_puts(&m->b, ",\"_meta\":{\"" META_SERVER "\":{\"name\":");
	jbuf_put_str(&m->b, ops->server_name, strlen(ops->server_name));
	buf_puts(&m->b, ",\"version\":");
	jbuf_put_str(&m->b, ops->server_version, strlen(ops->server_version));
	buf_puts(&m->b, "}}");
}

/* --- methods (shared by both revisions) -------------------------------------------- */

struct mcp_ctx {
	const struct mcp_ops	*ops;
	int			 modern;
};

static json_t *
mcp_server_info(const struct mcp_ops *ops)
{
	return json_pack("{s:s,s:s}", "name", ops->server_name, "version", ops->server_version);
}

static void
mcp_m_tools_list(const struct mcp_ctx *c, const json_t *id, const json_t *params,
    struct mcp_msg *m)
{
	struct err	 e;
	char		*tools;
	size_t		 len;

	(void)params;
	err_clear(&e);
	if ((tools = c->ops->list(c->ops->arg, &len, &e)) == NULL) {
		mcp_msg_error(m, id, MCP_INTERNAL_ERROR, e.msg, json_pack("{s:i,s:s}", "status",
		    e.status, "code", e.code));
		return;
	}
	mcp_msg_open(m, id);
	buf_puts(&m->b, "{\"tools\":");
	buf_put(&m->b, tools, len);
	free(tools);
	if (c->modern)
		mcp_msg_modern(m, c->ops, 1);
	buf_puts(&m->b, "}}");
}

static void
mcp_m_tools_call(const struct mcp_ctx *c, const json_t *id, const json_t *params,
    struct mcp_msg *m)
{
	const json_t	*name = json_object_get(params, "name");
	const json_t	*args = json_object_get(params, "arguments");
	json_t		*empty = NULL;
	struct toolres	 res;
	struct err	 e;
	char		 msg[ERR_MSG_MAX + 160];
	int		 rc;

	if (!json_is_string(name)) {
		mcp_msg_error(m, id, MCP_INVALID_PARAMS, "tools/call needs params.name, a string",
		    NULL);
		return;
	}
	if (args != NULL && !json_is_null(args) && !json_is_object(args)) {
		mcp_msg_error(m, id, MCP_INVALID_PARAMS, "tools/call params.arguments must be an "
		    "object", NULL);
		return;
	}
	if (args == NULL || json_is_null(args))
		args = empty = json_object();
	err_clear(&e);
	memset(&res, 0, sizeof res);
	rc = c->ops->call(c->ops->arg, json_string_value(name), args, &res, &e);
	json_decref(empty);
	if (rc == -1) {
		toolres_clear(&res);
		if (e.status == 403 || e.status == 404) {
			snprintf(msg, sizeof msg, "Unknown tool: %.100s (%s)",
			    json_string_value(name), e.msg);
			mcp_msg_error(m, id, MCP_INVALID_PARAMS, msg, NULL);
			return;
		}
		mcp_msg_error(m, id, MCP_INTERNAL_ERROR, e.msg, json_pack("{s:i,s:s}", "status",
		    e.status, "code", e.code));
		return;
	}
	if (res.text == NULL && res.call == NULL) {
		mcp_msg_error(m, id, MCP_INTERNAL_ERROR, "Internal error: the tool produced no "
		    "result", NULL);
		return;
	}
	mcp_msg_open(m, id);
	buf_put(&m->b, "{", 1);
	toolres_members(&res, &m->b);
	toolres_clear(&res);
	if (c->modern)
		mcp_msg_modern(m, c->ops, 0);
	buf_puts(&m->b, "}}");
}

static void
mcp_m_ping(const struct mcp_ctx *c, const json_t *id, const json_t *params,
    struct mcp_msg *m)
{
	(void)c;
	(void)params;
	mcp_msg_json(m, mcp_result(id, json_object()));
}

static void
mcp_m_initialize(const struct mcp_ctx *c, const json_t *id, const json_t *params,
    struct mcp_msg *m)
{
	const char	*asked = jsonx_str(params, "protocolVersion");
	json_t		*res;

	if (asked == NULL) {
		mcp_msg_error(m, id, MCP_INVALID_PARAMS, "initialize needs "
		    "params.protocolVersion", NULL);
		return;
	}
	/* Echo a revision we speak, else offer our latest (the client decides). */
	res = json_pack("{s:s,s:{s:{s:b}},s:o}", "protocolVersion", mcp_is_handshake(asked) ?
	    asked : MCP_HANDSHAKE_LATEST, "capabilities", "tools", "listChanged", 0,
	    "serverInfo", mcp_server_info(c->ops));
	if (c->ops->instructions != NULL)
		json_object_set_new(res, "instructions", json_string(c->ops->instructions));
	mcp_msg_json(m, mcp_result(id, res));
}

static void
mcp_m_discover(const struct mcp_ctx *c, const json_t *id, const json_t *params,
    struct mcp_msg *m)
{
	json_t *res = json_pack("{s:[s],s:{s:{s:b}},s:s,s:i,s:s,s:{s:o}}",
	    "supportedVersions", MCP_MODERN_VERSION, "capabilities", "tools",
	    "listChanged", 0, "resultType", "complete", "ttlMs", 0, "cacheScope",
	    "private", "_meta", META_SERVER, mcp_server_info(c->ops));

	(void)params;
	if (c->ops->instructions != NULL)
		json_object_set_new(res, "instructions", json_string(c->ops->instructions));
	mcp_msg_json(m, mcp_result(id, res));
}

/* Which revisions a method exists in. */
#define MCP_REV_CLASSIC	0x1	/* the handshake revisions, 2024-11-05 .. 2025-11-25 */
#define MCP_REV_MODERN	0x2	/* 2026-07-28 */

/*
 * The methods we serve, one row each. Every method needs the caller's
 * identity (front.c admits a request before it gets here): a 401 on
 * `initialize` is what starts an MCP client's OAuth discovery.
 */
static const struct mcp_method {
	const char	*name;
	unsigned	 revs;
	int		 batch_ok;	/* may be part of a 2025-03-26 batch */
	void		 (*fn)(const struct mcp_ctx *, const json_t *id,
			    const json_t *params, struct mcp_msg *);
} mcp_methods[] = {
	{ "initialize",		MCP_REV_CLASSIC,		0, mcp_m_initialize },
	{ "ping",		MCP_REV_CLASSIC,		1, mcp_m_ping },
	{ "server/discover",	MCP_REV_MODERN,			1, mcp_m_discover },
	{ "tools/list",		MCP_REV_CLASSIC | MCP_REV_MODERN, 1, mcp_m_tools_list },
	{ "tools/call",		MCP_REV_CLASSIC | MCP_REV_MODERN, 1, mcp_m_tools_call },
};

static const struct mcp_method *
mcp_method_find(const char *name, unsigned rev)
{
	for (size_t i = 0; i < sizeof mcp_methods / sizeof mcp_methods[0]; i++)
		if ((mcp_methods[i].revs & rev) != 0 && strcmp(mcp_methods[i].name, name) == 0)
			return &mcp_methods[i];
	return NULL;
}

static void
mcp_dispatch(const struct mcp_ctx *c, const char *method, const json_t *id,
    const json_t *params, int in_batch, struct mcp_msg *m)
{
	const struct mcp_method	*mm = mcp_method_find(method, c->modern ? MCP_REV_MODERN :
				    MCP_REV_CLASSIC);
	char			 msg[200];

	if (mm == NULL) {
		snprintf(msg, sizeof msg, "Method not found: %.100s", method);
		mcp_msg_error(m, id, MCP_METHOD_NOT_FOUND, msg, NULL);
		return;
	}
	if (in_batch && !mm->batch_ok) {
		snprintf(msg, sizeof msg, "%s must not be part of a batch", mm->name);
		mcp_msg_error(m, id, MCP_INVALID_REQUEST, msg, NULL);
		return;
	}
	mm->fn(c, id, params, m);
}

/* Hand the written reply to out, or a fixed internal error when writing it
 * ran out of memory. */
static void
mcp_out_msg(struct mcp_out *out, int status, struct mcp_msg *m)
{
	out->status = status;
	if ((out->body = buf_steal(&m->b, &out->len)) == NULL) {
		static const char oom[] = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":"
		    "-32603,\"message\":\"Internal error: cannot build the reply\"}}";

		out->status = 500;
		out->body = strdup(oom);
		out->len = out->body != NULL ? sizeof oom - 1 : 0;
	}
}

/* A reply with nothing but an error (envelope faults). */
static void
mcp_out_error(struct mcp_out *out, int status, const json_t *id, int code, const char *msg,
    json_t *data)
{
	struct mcp_msg m;

	memset(&m, 0, sizeof m);
	mcp_msg_error(&m, id, code, msg, data);
	mcp_out_msg(out, status, &m);
}

/* --- the classic (handshake) revisions ------------------------------------------------ */

/* One message at a handshake revision; m->none when nothing is owed. */
static void
mcp_legacy_one(const json_t *msg, const struct mcp_ctx *c, int in_batch, struct mcp_msg *m)
{
	const json_t *id = json_object_get(msg, "id");

	switch (mcp_kind(msg)) {
	case MK_NOTIFICATION:
	case MK_RESPONSE:
		m->none = 1;	/* initialized, cancelled, progress: nothing to do */
		return;
	case MK_INVALID:
		mcp_msg_error(m, mcp_id_ok(id) ? id : NULL, MCP_INVALID_REQUEST,
		    "not a valid JSON-RPC 2.0 request", NULL);
		return;
	case MK_REQUEST:
		break;
	}
	mcp_dispatch(c, json_string_value(json_object_get(msg, "method")), id,
	    json_object_get(msg, "params"), in_batch, m);
}

static void
mcp_legacy(json_t *body, const char *version, const struct mcp_ops *ops, struct mcp_out *out)
{
	struct mcp_ctx	 c = { ops, 0 };
	struct mcp_msg	 m;
	struct buf	 all = { 0 };
	json_t		*one;
	size_t		 i;
	int		 n = 0;
	char		 msg[160];

	snprintf(out->version, sizeof out->version, "%s", version);
	memset(&m, 0, sizeof m);
	if (!json_is_array(body)) {
		mcp_legacy_one(body, &c, 0, &m);
		if (m.none) {
			buf_free(&m.b);
			out->status = 202;
			return;
		}
		/* Envelope faults are the transport's 400; method faults ride a 200. */
		mcp_out_msg(out, m.code == MCP_INVALID_REQUEST ? 400 : 200, &m);
		return;
	}
	/* JSON-RPC batches existed in 2025-03-26 only. */
	if (strcmp(version, "2025-03-26") != 0) {
		snprintf(msg, sizeof msg, "batch requests are not part of MCP %s; send one "
		    "message per request", version);
		mcp_out_error(out, 400, NULL, MCP_INVALID_REQUEST, msg, NULL);
		return;
	}
	if (json_array_size(body) == 0 || json_array_size(body) > MCP_MAX_BATCH) {
		snprintf(msg, sizeof msg, "a batch must hold 1 to %d messages", MCP_MAX_BATCH);
		mcp_out_error(out, 400, NULL, MCP_INVALID_REQUEST, msg, NULL);
		return;
	}
	buf_put(&all, "[", 1);
	json_array_foreach(body, i, one) {
		memset(&m, 0, sizeof m);
		mcp_legacy_one(one, &c, 1, &m);
		if (!m.none) {
			buf_puts(&all, n++ > 0 ? "," : "");
			if (m.b.failed)
				all.failed = 1;
			else
				buf_put(&all, m.b.p, m.b.len);
		}
		buf_free(&m.b);
	}
	if (n == 0) {
		buf_free(&all);
		out->status = 202;
		return;
	}
	buf_put(&all, "]", 1);
	memset(&m, 0, sizeof m);
	m.b = all;
	mcp_out_msg(out, 200, &m);
}

/* --- 2026-07-28: one self-contained request per POST ------------------------------------- */

/* "=?base64?...?=" carries a value that is not a plain header token. */
static int
mcp_name_matches(const char *hdr, const char *name)
{
	size_t		 n, plen;
	const char	*pl;
	unsigned char	*dec;
	int		 len, ok;

	if (hdr == NULL)
		return 0;
	n = strlen(hdr);
	if (n < 12 || strncmp(hdr, "=?base64?", 9) != 0 || strcmp(hdr + n - 2, "?=") != 0)
		return strcmp(hdr, name) == 0;
	pl = hdr + 9;
	plen = n - 11;
	if (plen % 4 != 0 || (dec = malloc(plen + 1)) == NULL)
		return 0;
	len = EVP_DecodeBlock(dec, (const unsigned char *)pl, (int)plen);
	/* EVP_DecodeBlock counts '=' padding as decoded zero bytes. */
	if (len >= 1 && pl[plen - 1] == '=')
		len--;
	if (len >= 1 && pl[plen - 2] == '=')
		len--;
	ok = len >= 0 && (size_t)len == strlen(name) && memcmp(dec, name, (size_t)len) == 0;
	free(dec);
	return ok;
}

static int
mcp_status_for(int code)
{
	switch (code) {
	case MCP_PARSE_ERROR:
	case MCP_INVALID_REQUEST:
	case MCP_INVALID_PARAMS:
	case MCP_HEADER_MISMATCH:
	case MCP_UNSUPPORTED_VERSION:
		return 400;
	case MCP_METHOD_NOT_FOUND:
		return 404;
	default:
		return 200;
	}
}

/* A 2026-07-28 reply: the status follows the error class. */
static void
mcp_modern_reply(struct mcp_out *out, struct mcp_msg *m)
{
	mcp_out_msg(out, m->code != 0 ? mcp_status_for(m->code) : 200, m);
}

static void
mcp_modern_error(struct mcp_out *out, const json_t *id, int code, const char *msg,
    json_t *data)
{
	mcp_out_error(out, mcp_status_for(code), id, code, msg, data);
}

static void
mcp_modern(json_t *body, const struct mcp_in *in, const struct mcp_ops *ops,
    struct mcp_out *out)
{
	const json_t	*id, *params, *meta, *pv;
	const char	*method;
	struct mcp_ctx	 c = { ops, 1 };
	struct mcp_msg	 m;

	snprintf(out->version, sizeof out->version, "%s", MCP_MODERN_VERSION);
	if (json_is_object(body) && json_object_get(body, "id") == NULL &&
	    mcp_kind(body) == MK_NOTIFICATION) {
		out->status = 202;	/* acknowledged and dropped, as the SDK does */
		return;
	}
	if (mcp_kind(body) != MK_REQUEST) {
		mcp_modern_error(out, NULL, MCP_INVALID_REQUEST, "Body must be a single "
		    "JSON-RPC request or notification object", NULL);
		return;
	}
	id = json_object_get(body, "id");
	params = json_object_get(body, "params");
	method = json_string_value(json_object_get(body, "method"));
	meta = json_object_get(params, "_meta");
	if (!json_is_object(meta) || json_object_get(meta, META_VERSION) == NULL ||
	    json_object_get(meta, META_CAPS) == NULL) {
		mcp_modern_error(out, id, MCP_INVALID_PARAMS, "params._meta must carry "
		    "the '" META_VERSION "' and '" META_CAPS "' envelope keys", NULL);
		return;
	}
	pv = json_object_get(meta, META_VERSION);
	if (in->protocol_version == NULL || !json_is_string(pv) ||
	    strcmp(in->protocol_version, json_string_value(pv)) != 0) {
		mcp_modern_error(out, id, MCP_HEADER_MISMATCH, "mcp-protocol-version "
		    "header does not match the request envelope's protocol version", NULL);
		return;
	}
	if (in->method_hdr == NULL || strcmp(in->method_hdr, method) != 0) {
		mcp_modern_error(out, id, MCP_HEADER_MISMATCH, "mcp-method header does "
		    "not match the request body's method", NULL);
		return;
	}
	if (strcmp(method, "tools/call") == 0 && jsonx_str(params, "name") != NULL &&
	    !mcp_name_matches(in->name_hdr, jsonx_str(params, "name"))) {
		mcp_modern_error(out, id, MCP_HEADER_MISMATCH, "mcp-name header does not "
		    "match the request body's 'name' parameter", NULL);
		return;
	}
	if (strcmp(json_string_value(pv), MCP_MODERN_VERSION) != 0) {
		mcp_modern_error(out, id, MCP_UNSUPPORTED_VERSION, "Unsupported protocol "
		    "version", mcp_unsupported_data(json_string_value(pv)));
		return;
	}
	memset(&m, 0, sizeof m);
	mcp_dispatch(&c, method, id, params, 0, &m);
	mcp_modern_reply(out, &m);
}

/* --- entry ---------------------------------------------------------------------------- */

void
mcp_handle(const struct mcp_in *in, const struct mcp_ops *ops, struct mcp_out *out)
{
	json_t		*body;
	json_error_t	 je;
	const json_t	*meta;
	char		 msg[200];

	memset(out, 0, sizeof *out);
	if (in->protocol_version != NULL && !mcp_version_known(in->protocol_version)) {
		snprintf(out->version, sizeof out->version, "%s", MCP_MODERN_VERSION);
		mcp_out_error(out, 400, NULL, MCP_UNSUPPORTED_VERSION, "Unsupported "
		    "protocol version", mcp_unsupported_data(in->protocol_version));
		return;
	}
	body = in->len > 0 ? json_loadb(in->body, in->len, JSON_REJECT_DUPLICATES |
	    JSON_DECODE_ANY, &je) : NULL;
	if (body == NULL) {
		if (in->len == 0)
			snprintf(msg, sizeof msg, "Parse error: the request body is empty");
		else
			snprintf(msg, sizeof msg, "Parse error: line %d column %d: %.120s",
			    je.line, je.column, je.text);
		mcp_out_error(out, 400, NULL, MCP_PARSE_ERROR, msg, NULL);
		return;
	}
	if (in->protocol_version != NULL &&
	    strcmp(in->protocol_version, MCP_MODERN_VERSION) == 0)
		mcp_modern(body, in, ops, out);
	else if (in->protocol_version != NULL)
		mcp_legacy(body, in->protocol_version, ops, out);
	else if (json_is_object(body) && json_is_object(meta = json_object_get(
	    json_object_get(body, "params"), "_meta")) &&
	    json_object_get(meta, META_VERSION) != NULL)
		mcp_modern(body, in, ops, out);	/* reports the missing header */
	else
		mcp_legacy(body, "2025-03-26", ops, out);
	json_decref(body);
}
