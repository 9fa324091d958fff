/*
 * fwdconf: the forwarder's config, one table row per key (pgbouncer
 * bouncer_params[]). The same table drives parsing, defaults, --show-config,
 * --config-docs (docs/forwarder.md) and the SIGHUP reload rules. A loaded
 * config is an immutable, refcounted snapshot: each request holds the one it
 * started with, so a reload never changes a value under a running handler.
 */
#ifndef TG_FWDCONF_H
#define TG_FWDCONF_H

#include <stddef.h>

#include "conf.h"
#include "conf_http.h"

struct fwdconf {
	CONF_HTTP_MEMBER;
	int	  drain_timeout;
	char	**allowed_origins;
	char	**allowed_hosts;
	char	 *realm;

	char	 *broker_url;
	char	 *broker_secret_file;
	char	 *broker_sa_token_file;
	char	 *broker_ca_file;
	int	  broker_timeout;

	int	  grant_cache_max;
	int	  grant_renew_margin;
	int	  no_tenant_cache_ttl;
	int	  credential_cache_max;
	int	  feed_max_stale;
	int	  audit_queue_max;

	int	  upstream_timeout;
	int	  upstream_connect_timeout;
	char	 *upstream_ca_file;
	size_t	  upstream_max_response;
	size_t	  tool_result_max_bytes;
	int	  retry_after_max;
	int	  backend_tools_ttl;
	int	  backend_max_tools;

	int	  tenant_max_inflight;
	int	  tenant_max_queue;
	int	  tenant_queue_timeout;
	int	  tenant_rate;
	int	  tenant_burst;
	int	  user_rate;
	int	  user_burst;

	char	 *resource_url;
	char	**authorization_servers;
	char	**scopes_supported;
};

extern const struct conf_entry fwdconf_table[];

/* A refcounted snapshot of one loaded config. */
struct fwdconf_snap;

/* Load path (may be NULL) plus "key=value" overrides; on failure *causes
 * holds every problem, one "file:line: message" per line (caller frees). */
struct fwdconf_snap	*fwdconf_load(const char *path, const char *const *overrides,
			    char **causes);
const struct fwdconf	*fwdconf_get(const struct fwdconf_snap *);
struct fwdconf_snap	*fwdconf_ref(struct fwdconf_snap *);
void			 fwdconf_unref(struct fwdconf_snap *);

#endif
