/*
 * fwdconf: the forwarder's config table and its refcounted snapshots.
 * Validation that spans keys (broker identity file) lives here too, so
 * --check, start-up and SIGHUP all refuse the same bad configs.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwdconf.h"
#include "oauth_meta.h"

#define O(f)	offsetof(struct fwdconf, f)
#define NR	CONF_NO_RELOAD

const struct conf_entry fwdconf_table[] = {
	CONF_HTTP_ROWS(struct fwdconf, "127.0.0.1:8190", "8",
	    "Unused: requests run as coroutines on the event loop and never block a thread (kept so old configs load)",
	    "Unused: see tenant_max_queue (kept so old configs load)",
	    "1MiB", 67108864, "Largest request body accepted (413 beyond)",
	    "60s", 3600, "32MiB"),
	{ "drain_timeout", CONF_DURATION, O(drain_timeout), 0, "20s", 0, 600, NULL,
	  "On SIGTERM, how long in-flight requests may take before the process exits anyway" },
	{ "allowed_origins", CONF_LIST, O(allowed_origins), 0, NULL, 0, 0, NULL,
	  "Browser Origins allowed on /mcp besides loopback ones (exact, e.g. https://chat.example.com)" },
	{ "allowed_hosts", CONF_LIST, O(allowed_hosts), 0, NULL, 0, 0, NULL,
	  "Host headers accepted besides loopback names, e.g. forwarder.internal:8190 or * (unset: any Host unless every listen address is loopback)" },
	{ "realm", CONF_STR, O(realm), 0, "tenantgate", 0, 0, NULL,
	  "Realm named in WWW-Authenticate on 401 answers" },

	{ "broker_url", CONF_STR, O(broker_url), CONF_REQUIRED, NULL, 0, 0, NULL,
	  "Base URL of tenantgate-broker, e.g. http://127.0.0.1:8181" },
	{ "broker_secret_file", CONF_PATH, O(broker_secret_file), 0, NULL, 0, 0, NULL,
	  "File with the client secret sent to the broker as Authorization: Bearer (outside Kubernetes)" },
	{ "broker_sa_token_file", CONF_PATH, O(broker_sa_token_file), 0, NULL, 0, 0, NULL,
	  "Projected Kubernetes service-account token sent to the broker instead (re-read every minute)" },
	{ "broker_ca_file", CONF_PATH, O(broker_ca_file), 0, NULL, 0, 0, NULL,
	  "CA bundle for an https broker_url (system store when unset)" },
	{ "broker_timeout", CONF_DURATION, O(broker_timeout), 0, "5s", 1, 120, NULL,
	  "Time allowed for one broker call" },

	{ "grant_cache_max", CONF_INT, O(grant_cache_max), 0, "10000", 0, 10000000, NULL,
	  "User tokens whose grants are cached at once (0 = no cache); the least recently used is dropped first" },
	{ "grant_renew_margin", CONF_DURATION, O(grant_renew_margin), 0, "10s", 0, 120, NULL,
	  "A cached grant answer is renewed this long before its earliest grant expires" },
	{ "no_tenant_cache_ttl", CONF_DURATION, O(no_tenant_cache_ttl), 0, "30s", 0, 3600, NULL,
	  "How long 'member of no tenant' is remembered for a token" },
	{ "credential_cache_max", CONF_INT, O(credential_cache_max), 0, "10000", 0, 10000000, NULL,
	  "Redeemed tenant credentials kept, one per grant and integration (0 = redeem per call); the least recently used is dropped first" },
	{ "feed_max_stale", CONF_DURATION, O(feed_max_stale), 0, "10s", 2, 300, NULL,
	  "Once the broker's change feed has been silent this long, cached grants and credentials are not used: grants and redeem per call until it is back" },
	{ "audit_queue_max", CONF_INT, O(audit_queue_max), NR, "10000", 100, 1000000, NULL,
	  "Tool-call audit records held for the broker at most; beyond it new ones are dropped (counted)" },

	{ "upstream_timeout", CONF_DURATION, O(upstream_timeout), 0, "15s", 1, 300, NULL,
	  "Time allowed for one call to Atlassian or a tenant MCP backend" },
	{ "upstream_connect_timeout", CONF_DURATION, O(upstream_connect_timeout), 0, "3s", 1, 60, NULL,
	  "Time allowed to connect to an upstream" },
	{ "upstream_ca_file", CONF_PATH, O(upstream_ca_file), 0, NULL, 0, 0, NULL,
	  "CA bundle for upstream https (system store when unset)" },
	{ "upstream_max_response", CONF_SIZE, O(upstream_max_response), 0, "4MiB", 4096, 268435456, NULL,
	  "Largest upstream response read; a larger one is a tool error" },
	{ "tool_result_max_bytes", CONF_SIZE, O(tool_result_max_bytes), 0, "64KiB", 1024, 16777216, NULL,
	  "Cap on one tool result handed to the model (lists are shortened, texts cut)" },
	{ "retry_after_max", CONF_DURATION, O(retry_after_max), 0, "5s", 0, 120, NULL,
	  "An upstream 429 is retried once if its Retry-After is at most this; longer waits become a tool error" },
	{ "backend_tools_ttl", CONF_DURATION, O(backend_tools_ttl), 0, "60s", 0, 3600, NULL,
	  "How long a tenant MCP backend's tool list is reused" },
	{ "backend_max_tools", CONF_INT, O(backend_max_tools), 0, "200", 1, 10000, NULL,
	  "Tools taken from one tenant MCP backend at most" },

	{ "tenant_max_inflight", CONF_INT, O(tenant_max_inflight), 0, "16", 1, 10000, NULL,
	  "Upstream calls one tenant (or one tenant MCP backend) may have running at once" },
	{ "tenant_max_queue", CONF_INT, O(tenant_max_queue), 0, "32", 0, 10000, NULL,
	  "Calls that may wait for a busy tenant's slot; beyond it the answer is 503 at once" },
	{ "tenant_queue_timeout", CONF_DURATION, O(tenant_queue_timeout), 0, "2s", 0, 60, NULL,
	  "Longest wait for a slot before 503 tenant_busy (Retry-After: 1)" },
	{ "tenant_rate", CONF_INT, O(tenant_rate), 0, "50", 0, 100000, NULL,
	  "Calls per second to one tenant's upstream, all users together (0 = unlimited)" },
	{ "tenant_burst", CONF_INT, O(tenant_burst), 0, "100", 1, 1000000, NULL,
	  "Calls a tenant may make at once above tenant_rate before 429" },
	{ "user_rate", CONF_INT, O(user_rate), 0, "10", 0, 100000, NULL,
	  "Calls per second one user may make to one tenant (0 = unlimited)" },
	{ "user_burst", CONF_INT, O(user_burst), 0, "20", 1, 1000000, NULL,
	  "Calls one user may make at once to one tenant above user_rate before 429" },

	{ "resource_url", CONF_STR, O(resource_url), 0, NULL, 0, 0, NULL,
	  "Public URL of /mcp as MCP clients reach it, e.g. https://tools.example.com/mcp: the RFC 9728 resource (and RFC 8707 token audience, listed in the broker's oidc_resources); unset = no OAuth metadata" },
	{ "authorization_servers", CONF_LIST, O(authorization_servers), 0, NULL, 0, 0, NULL,
	  "Issuer URL(s) of the IdP that MCP clients get user tokens from (RFC 9728 authorization_servers); required with resource_url" },
	{ "scopes_supported", CONF_LIST, O(scopes_supported), 0, "openid,email", 0, 0, NULL,
	  "Scopes a client should ask the IdP for (the token must carry the user's email); named in metadata and in the 401 challenge" },
	{ NULL, 0, 0, 0, NULL, 0, 0, NULL, NULL },
};

struct fwdconf_snap {
	struct fwdconf	c;
	atomic_int	refs;
};

/* Checks that span keys, every one: each failure names the line of the
 * key it is about, as the parser's own errors do. */
static void
fwdconf_check(const struct fwdconf *c, struct conf_load *l)
{
	const char *msg;

	if (c->broker_url != NULL && strncmp(c->broker_url, "http://", 7) != 0 &&
	    strncmp(c->broker_url, "https://", 8) != 0)
		conf_load_cause(l, "broker_url", "broker_url must start with http:// or https://");
	if (c->broker_secret_file != NULL && c->broker_sa_token_file != NULL)
		conf_load_cause(l, "broker_sa_token_file",
		    "set only one of broker_secret_file and broker_sa_token_file");
	if (c->broker_secret_file == NULL && c->broker_sa_token_file == NULL)
		conf_load_cause(l, NULL, "set broker_secret_file or broker_sa_token_file: the "
		    "broker only answers callers that identify themselves");
	if (c->listen == NULL || c->listen[0] == NULL)
		conf_load_cause(l, "listen", "listen must name at least one address");
	if ((msg = oauth_meta_check(c)) != NULL)
		conf_load_cause(l, "resource_url", "%s", msg);
}

struct fwdconf_snap *
fwdconf_load(const char *path, const char *const *overrides, char **causes)
{
	struct fwdconf_snap	*s;
	struct conf_load	 l;

	if (causes != NULL)
		*causes = NULL;
	if ((s = calloc(1, sizeof *s)) == NULL) {
		if (causes != NULL)
			*causes = strdup("out of memory");
		return NULL;
	}
	/* Cross-key checks run even after a parse error: all at once. */
	(void)conf_load_begin(&l, fwdconf_table, &s->c, path, overrides);
	fwdconf_check(&s->c, &l);
	if (conf_load_end(&l, causes) == -1) {
		conf_free(fwdconf_table, &s->c);
		free(s);
		return NULL;
	}
	atomic_init(&s->refs, 1);
	return s;
}

const struct fwdconf *
fwdconf_get(const struct fwdconf_snap *s)
{
	return &s->c;
}

struct fwdconf_snap *
fwdconf_ref(struct fwdconf_snap *s)
{
	atomic_fetch_add(&s->refs, 1);
	return s;
}

void
fwdconf_unref(struct fwdconf_snap *s)
{
	if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	conf_free(fwdconf_table, &s->c);
	free(s);
}
