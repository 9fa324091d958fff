/*
 * oauth_meta: the forwarder as an OAuth 2.0 protected resource (MCP
 * authorization, RFC 9728): the metadata document at
 * /.well-known/oauth-protected-resource[/<path>] and the 401 challenge that
 * points clients to it. Verifying tokens stays the broker's job.
 */
#ifndef TG_OAUTH_META_H
#define TG_OAUTH_META_H

#include <stddef.h>

struct fwdconf;
struct httpd_req;

#define OAUTH_META_WELL_KNOWN	"/.well-known/oauth-protected-resource"

/* NULL if resource_url, authorization_servers and scopes_supported can be
 * published as they are, else a static message for the config error. */
const char	*oauth_meta_check(const struct fwdconf *);
/* The WWW-Authenticate value for a 401: realm, and with resource_url set
 * resource_metadata and scope (RFC 9728 section 5.1, RFC 6750 section 3);
 * error="invalid_token" when a token was sent and refused (error_code is
 * our code for it, e.g. "bad_audience"; NULL = no token was sent). */
void		 oauth_meta_challenge(const struct fwdconf *, const char *error_code,
		    char *buf, size_t sz);
/* GET /.well-known/oauth-protected-resource*: route handler (arg: struct fwd). */
void		 oauth_meta_h_document(struct httpd_req *, void *arg);

#endif
