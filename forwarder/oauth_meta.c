/*
 * oauth_meta: RFC 9728 protected-resource metadata and the 401 challenge.
 * MCP clients (the official SDKs, Claude) find the IdP this way: the 401's
 * resource_metadata, else /.well-known/oauth-protected-resource/mcp, else
 * the root document. Both well-known paths serve the same document, since
 * the forwarder is one resource (its /mcp URL) whatever path is asked.
 * Every value comes from the config and is checked there for characters
 * that would break a quoted header parameter.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "front.h"
#include "fwd.h"
#include "fwdconf.h"
#include "httpd.h"
#include "oauth_meta.h"

#define OAUTH_META_URL_MAX	1024

/* Printable ASCII without '"' and '\': safe inside a quoted parameter and
 * in a URL. */
static int
oauth_meta_quotable(const char *s, int space_ok)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < (space_ok ? 0x20 : 0x21) || (unsigned char)*s >= 0x7f || *s == '"' ||
		    *s == '\\')
			return 0;
	return 1;
}

static int
oauth_meta_plain(const char *s)
{
	return oauth_meta_quotable(s, 0);
}

static int
oauth_meta_http_url(const char *s)
{
	return (strncmp(s, "https://", 8) == 0 && s[8] != '\0' && s[8] != '/') ||
	    (strncmp(s, "http://", 7) == 0 && s[7] != '\0' && s[7] != '/');
}

const char *
oauth_meta_check(const struct fwdconf *c)
{
	if (c->resource_url == NULL)
		return NULL;
	if (!oauth_meta_http_url(c->resource_url) || !oauth_meta_plain(c->resource_url) ||
	    strchr(c->resource_url, '#') != NULL || strchr(c->resource_url, '?') != NULL ||
	    strlen(c->resource_url) > OAUTH_META_URL_MAX / 2)
		return "resource_url must be an absolute http(s) URL without query or fragment "
		    "(RFC 8707), e.g. https://tools.example.com/mcp";
	if (c->authorization_servers == NULL || c->authorization_servers[0] == NULL)
		return "resource_url needs authorization_servers: the issuer URL of the IdP "
		    "MCP clients get tokens from";
	for (size_t i = 0; c->authorization_servers[i] != NULL; i++)
		if (!oauth_meta_http_url(c->authorization_servers[i]) ||
		    !oauth_meta_plain(c->authorization_servers[i]))
			return "authorization_servers must be absolute http(s) issuer URLs";
	for (size_t i = 0; c->scopes_supported != NULL && c->scopes_supported[i] != NULL; i++)
		if (!oauth_meta_plain(c->scopes_supported[i]) || c->scopes_supported[i][0] == '\0')
			return "scopes_supported: a scope is printable ASCII without spaces, '\"' "
			    "or '\\' (RFC 6749 section 3.3)";
	return NULL;
}

/* RFC 9728 section 3.1: the well-known segment goes between the host and
 * the resource's path ("https://h/mcp" -> "https://h/.well-known/...-resource/mcp"). */
static void
oauth_meta_url(const char *resource, char *buf, size_t sz)
{
	const char	*host = strstr(resource, "://") + 3;
	const char	*path = strchr(host, '/');
	int		 n = path != NULL ? (int)(path - resource) : (int)strlen(resource);

	if (path == NULL || strcmp(path, "/") == 0)
		path = "";
	snprintf(buf, sz, "%.*s%s%s", n, resource, OAUTH_META_WELL_KNOWN, path);
}

/* "a b c" from the scopes list. */
static void
oauth_meta_scopes(const struct fwdconf *c, char *buf, size_t sz)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; c->scopes_supported != NULL && c->scopes_supported[i] != NULL; i++) {
		int n = snprintf(buf + off, sz - off, "%s%s", off > 0 ? " " : "",
		    c->scopes_supported[i]);

		if (n < 0 || (size_t)n >= sz - off) {
			buf[off] = '\0';	/* never a cut scope */
			break;
		}
		off += (size_t)n;
	}
}

void
oauth_meta_challenge(const struct fwdconf *c, const char *error_code, char *buf, size_t sz)
{
	char	url[OAUTH_META_URL_MAX], scopes[512];
	size_t	off;
	int	n;

	n = snprintf(buf, sz, "Bearer realm=\"%s\"", oauth_meta_quotable(c->realm, 1) ? c->realm :
	    "tenantgate");
	off = n > 0 && (size_t)n < sz ? (size_t)n : sz - 1;
	if (c->resource_url != NULL) {
		oauth_meta_url(c->resource_url, url, sizeof url);
		oauth_meta_scopes(c, scopes, sizeof scopes);
		n = snprintf(buf + off, sz - off, ", resource_metadata=\"%s\"%s%s%s", url,
		    scopes[0] != '\0' ? ", scope=\"" : "", scopes, scopes[0] != '\0' ? "\"" : "");
		off = n > 0 && (size_t)n < sz - off ? off + (size_t)n : sz - 1;
	}
	/* RFC 6750 section 3.1: invalid_token only when a token was sent. */
	if (error_code != NULL)
		snprintf(buf + off, sz - off, ", error=\"invalid_token\", "
		    "error_description=\"%.100s\"", oauth_meta_plain(error_code) ? error_code :
		    "refused");
}

void
oauth_meta_h_document(struct httpd_req *r, void *arg)
{
	struct fwd		*f = arg;
	struct fwdconf_snap	*snap = fwd_conf(f);
	const struct fwdconf	*c = fwdconf_get(snap);
	const char		*suffix = httpd_path(r) + strlen(OAUTH_META_WELL_KNOWN);
	const char		*rpath = NULL;
	json_t			*doc, *servers, *scopes;

	if (c->resource_url != NULL && (rpath = strchr(strstr(c->resource_url, "://") + 3,
	    '/')) == NULL)
		rpath = "";
	/* The root document, the /mcp one, and the one for resource_url's own
	 * path (a proxy may publish /mcp under a prefix); nothing else. */
	if (c->resource_url == NULL || (*suffix != '\0' && strcmp(suffix, "/mcp") != 0 &&
	    strcmp(suffix, rpath) != 0)) {
		httpd_reply_error(r, 404, c->resource_url == NULL ? "oauth_not_configured" :
		    "not_found", c->resource_url == NULL ? "this forwarder publishes no OAuth "
		    "metadata: the operator has not set resource_url and authorization_servers" :
		    "no protected resource here; see %s", OAUTH_META_WELL_KNOWN);
		fwdconf_unref(snap);
		return;
	}
	servers = json_array();
	scopes = json_array();
	for (size_t i = 0; c->authorization_servers[i] != NULL; i++)
		json_array_append_new(servers, json_string(c->authorization_servers[i]));
	for (size_t i = 0; c->scopes_supported != NULL && c->scopes_supported[i] != NULL; i++)
		json_array_append_new(scopes, json_string(c->scopes_supported[i]));
	doc = json_pack("{s:s,s:o,s:o,s:[s],s:s}", "resource", c->resource_url,
	    "authorization_servers", servers, "scopes_supported", scopes,
	    "bearer_methods_supported", "header", "resource_name", "tenantgate");
	/* Public and the same for everyone: browser-based clients may read it. */
	httpd_add_header(r, "Access-Control-Allow-Origin", "*");
	httpd_add_header(r, "Cache-Control", "public, max-age=300");
	httpd_reply_json(r, 200, doc);
	fwdconf_unref(snap);
}
