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
#include "jsonx.h"
#include "log.h"
#include "mcp.h"

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
	text[jsonx_utf8_prefix(text)] = '\0';
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

static void
mcp_out_json(struct mcp_out *out, int status, json_t *msg)
{
	out->status = status;
	out->body = msg != NULL ? jsonx_dump(msg) : NULL;
	json_decref(msg);
	if (out->body == NULL) {
		/* Building the reply failed (out of memory): still say so. */
		out->status = 500;
		out->body = strdup("{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32603,"
		    "\"message\":\"Internal error: cannot build the reply\"}}");
	}
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

/* --- methods (shared by both revisions) -------------------------------------------- */

static json_t *
mcp_server_info(const struct mcp_ops *ops)
{
	return json_pack("{s:s,s:s}", "name", ops->server_name, "version", ops->server_version);
}

static json_t *
mcp_tools_list(const json_t *id, const struct mcp_ops *ops, int modern)
{
	struct err	 e;
	json_t		*tools, *res;

	err_clear(&e);
	if ((tools = ops->list(ops->arg, &e)) == NULL)
		return mcp_error(id, MCP_INTERNAL_ERROR, e.msg, json_pack("{s:i,s:s}", "status",
		    e.status, "code", e.code));
	res = json_pack("{s:o}", "tools", tools);
	if (modern) {
		json_object_set_new(res, "resultType", json_string("complete"));
		json_object_set_new(res, "ttlMs", json_integer(0));
		json_object_set_new(res, "cacheScope", json_string("private"));
		json_object_set_new(res, "_meta", json_pack("{s:o}", META_SERVER,
		    mcp_server_info(ops)));
	}
	return mcp_result(id, res);
}

static json_t *
mcp_tools_call(const json_t *id, const json_t *params, const struct mcp_ops *ops, int modern)
{
	const json_t	*name = json_object_get(params, "name");
	const json_t	*args = json_object_get(params, "arguments");
	json_t		*res = NULL, *empty = NULL;
	struct err	 e;
	char		 msg[ERR_MSG_MAX + 160];

	if (!json_is_string(name))
		return mcp_error(id, MCP_INVALID_PARAMS, "tools/call needs params.name, a string",
		    NULL);
	if (args != NULL && !json_is_null(args) && !json_is_object(args))
		return mcp_error(id, MCP_INVALID_PARAMS, "tools/call params.arguments must be an "
		    "object", NULL);
	if (args == NULL || json_is_null(args))
		args = empty = json_object();
	err_clear(&e);
	if (ops->call(ops->arg, json_string_value(name), args, &res, &e) == -1) {
		json_decref(empty);
		if (e.status == 403 || e.status == 404) {
			snprintf(msg, sizeof msg, "Unknown tool: %.100s (%s)",
			    json_string_value(name), e.msg);
			return mcp_error(id, MCP_INVALID_PARAMS, msg, NULL);
		}
		return mcp_error(id, MCP_INTERNAL_ERROR, e.msg, json_pack("{s:i,s:s}", "status",
		    e.status, "code", e.code));
	}
	json_decref(empty);
	if (res == NULL)
		return mcp_error(id, MCP_INTERNAL_ERROR, "Internal error: the tool produced no "
		    "result", NULL);
	if (modern) {
		json_object_set_new(res, "resultType", json_string("complete"));
		json_object_set_new(res, "_meta", json_pack("{s:o}", META_SERVER,
		    mcp_server_info(ops)));
	}
	return mcp_result(id, res);
}

/* --- the classic (handshake) revisions ------------------------------------------------ */

static json_t *
mcp_initialize(const json_t *id, const json_t *params, const struct mcp_ops *ops)
{
	const char	*asked = jsonx_str(params, "protocolVersion");
	json_t		*res;

	if (asked == NULL)
		return mcp_error(id, MCP_INVALID_PARAMS, "initialize needs "
		    "params.protocolVersion", NULL);
	/* Echo a revision we speak, else offer our latest (the client decides). */
	res = json_pack("{s:s,s:{s:{s:b}},s:o}", "protocolVersion", mcp_is_handshake(asked) ?
	    asked : MCP_HANDSHAKE_LATEST, "capabilities", "tools", "listChanged", 0,
	    "serverInfo", mcp_server_info(ops));
	if (ops->instructions != NULL)
		json_object_set_new(res, "instructions", json_string(ops->instructions));
	return mcp_result(id, res);
}

/* One message at a handshake revision; NULL when nothing is owed. */
static json_t *
mcp_legacy_one(const json_t *m, const struct mcp_ops *ops, int in_batch)
{
	const json_t	*id = json_object_get(m, "id");
	const json_t	*params = json_object_get(m, "params");
	const char	*method;
	char		 msg[200];

	switch (mcp_kind(m)) {
	case MK_NOTIFICATION:
	case MK_RESPONSE:
		return NULL;	/* initialized, cancelled, progress: nothing to do */
	case MK_INVALID:
		return mcp_error(mcp_id_ok(id) ? id : NULL, MCP_INVALID_REQUEST,
		    "not a valid JSON-RPC 2.0 request", NULL);
	case MK_REQUEST:
		break;
	}
	method = json_string_value(json_object_get(m, "method"));
	if (strcmp(method, "initialize") == 0)
		return in_batch ? mcp_error(id, MCP_INVALID_REQUEST, "initialize must not be part "
		    "of a batch", NULL) : mcp_initialize(id, params, ops);
	if (strcmp(method, "ping") == 0)
		return mcp_result(id, json_object());
	if (strcmp(method, "tools/list") == 0)
		return mcp_tools_list(id, ops, 0);
	if (strcmp(method, "tools/call") == 0)
		return mcp_tools_call(id, params, ops, 0);
	snprintf(msg, sizeof msg, "Method not found: %.100s", method);
	return mcp_error(id, MCP_METHOD_NOT_FOUND, msg, NULL);
}

static void
mcp_legacy(json_t *body, const char *version, const struct mcp_ops *ops, struct mcp_out *out)
{
	json_t	*replies, *r, *m;
	size_t	 i;
	char	 msg[160];

	snprintf(out->version, sizeof out->version, "%s", version);
	if (!json_is_array(body)) {
		r = mcp_legacy_one(body, ops, 0);
		if (r == NULL) {
			out->status = 202;
			return;
		}
		/* Envelope faults are the transport's 400; method faults ride a 200. */
		mcp_out_json(out, json_integer_value(json_object_get(json_object_get(r, "error"),
		    "code")) == MCP_INVALID_REQUEST ? 400 : 200, r);
		return;
	}
	/* JSON-RPC batches existed in 2025-03-26 only. */
	if (strcmp(version, "2025-03-26") != 0) {
		snprintf(msg, sizeof msg, "batch requests are not part of MCP %s; send one "
		    "message per request", version);
		mcp_out_json(out, 400, mcp_error(NULL, MCP_INVALID_REQUEST, msg, NULL));
		return;
	}
	if (json_array_size(body) == 0 || json_array_size(body) > MCP_MAX_BATCH) {
		snprintf(msg, sizeof msg, "a batch must hold 1 to %d messages", MCP_MAX_BATCH);
		mcp_out_json(out, 400, mcp_error(NULL, MCP_INVALID_REQUEST, msg, NULL));
		return;
	}
	replies = json_array();
	json_array_foreach(body, i, m)
		if ((r = mcp_legacy_one(m, ops, 1)) != NULL)
			json_array_append_new(replies, r);
	if (json_array_size(replies) == 0) {
		json_decref(replies);
		out->status = 202;
		return;
	}
	mcp_out_json(out, 200, replies);
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

static void
mcp_modern_reply(struct mcp_out *out, json_t *msg)
{
	const json_t *er = json_object_get(msg, "error");

	mcp_out_json(out, er != NULL ? mcp_status_for((int)json_integer_value(json_object_get(er,
	    "code"))) : 200, msg);
}

static void
mcp_modern(json_t *body, const struct mcp_in *in, const struct mcp_ops *ops,
    struct mcp_out *out)
{
	const json_t	*id, *params, *meta, *pv;
	const char	*method;
	char		 msg[200];

	snprintf(out->version, sizeof out->version, "%s", MCP_MODERN_VERSION);
	if (json_is_object(body) && json_object_get(body, "id") == NULL &&
	    mcp_kind(body) == MK_NOTIFICATION) {
		out->status = 202;	/* acknowledged and dropped, as the SDK does */
		return;
	}
	if (mcp_kind(body) != MK_REQUEST) {
		mcp_modern_reply(out, mcp_error(NULL, MCP_INVALID_REQUEST, "Body must be a single "
		    "JSON-RPC request or notification object", NULL));
		return;
	}
	id = json_object_get(body, "id");
	params = json_object_get(body, "params");
	method = json_string_value(json_object_get(body, "method"));
	meta = json_object_get(params, "_meta");
	if (!json_is_object(meta) || json_object_get(meta, META_VERSION) == NULL ||
	    json_object_get(meta, META_CAPS) == NULL) {
		mcp_modern_reply(out, mcp_error(id, MCP_INVALID_PARAMS, "params._meta must carry "
		    "the '" META_VERSION "' and '" META_CAPS "' envelope keys", NULL));
		return;
	}
	pv = json_object_get(meta, META_VERSION);
	if (in->protocol_version == NULL || !json_is_string(pv) ||
	    strcmp(in->protocol_version, json_string_value(pv)) != 0) {
		mcp_modern_reply(out, mcp_error(id, MCP_HEADER_MISMATCH, "mcp-protocol-version "
		    "header does not match the request envelope's protocol version", NULL));
		return;
	}
	if (in->method_hdr == NULL || strcmp(in->method_hdr, method) != 0) {
		mcp_modern_reply(out, mcp_error(id, MCP_HEADER_MISMATCH, "mcp-method header does "
		    "not match the request body's method", NULL));
		return;
	}
	if (strcmp(method, "tools/call") == 0 && jsonx_str(params, "name") != NULL &&
	    !mcp_name_matches(in->name_hdr, jsonx_str(params, "name"))) {
		mcp_modern_reply(out, mcp_error(id, MCP_HEADER_MISMATCH, "mcp-name header does not "
		    "match the request body's 'name' parameter", NULL));
		return;
	}
	if (strcmp(json_string_value(pv), MCP_MODERN_VERSION) != 0) {
		mcp_modern_reply(out, mcp_error(id, MCP_UNSUPPORTED_VERSION, "Unsupported protocol "
		    "version", mcp_unsupported_data(json_string_value(pv))));
		return;
	}
	if (strcmp(method, "server/discover") == 0) {
		json_t *res = json_pack("{s:[s],s:{s:{s:b}},s:s,s:i,s:s,s:{s:o}}",
		    "supportedVersions", MCP_MODERN_VERSION, "capabilities", "tools",
		    "listChanged", 0, "resultType", "complete", "ttlMs", 0, "cacheScope",
		    "private", "_meta", META_SERVER, mcp_server_info(ops));

		if (ops->instructions != NULL)
			json_object_set_new(res, "instructions", json_string(ops->instructions));
		mcp_modern_reply(out, mcp_result(id, res));
	} else if (strcmp(method, "tools/list") == 0)
		mcp_modern_reply(out, mcp_tools_list(id, ops, 1));
	else if (strcmp(method, "tools/call") == 0)
		mcp_modern_reply(out, mcp_tools_call(id, params, ops, 1));
	else {
		snprintf(msg, sizeof msg, "Method not found: %.100s", method);
		mcp_modern_reply(out, mcp_error(id, MCP_METHOD_NOT_FOUND, msg, NULL));
	}
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
		mcp_out_json(out, 400, mcp_error(NULL, MCP_UNSUPPORTED_VERSION, "Unsupported "
		    "protocol version", mcp_unsupported_data(in->protocol_version)));
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
		mcp_out_json(out, 400, mcp_error(NULL, MCP_PARSE_ERROR, msg, NULL));
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
