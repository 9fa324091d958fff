/*
 * config: the broker's settings, one row per key in broker_conf_table
 * (broker/config.c). The table drives parsing, defaults, SIGHUP reload
 * rules, --show-config and docs/broker-config.md.
 */
#ifndef TG_BROKER_CONFIG_H
#define TG_BROKER_CONFIG_H

#include <stddef.h>

#include "conf.h"
#include "conf_http.h"

struct broker_cfg {
	CONF_HTTP_MEMBER;
	char	*tls_cert_file;
	char	*tls_key_file;

	char	*database_url;
	int	 db_pool;
	int	 members_cache_ttl;
	int	 members_max_stale;
	int	 changes_retention;
	int	 key_expiry_interval;

	char	*vault_addr;
	char	*vault_auth;
	char	*vault_k8s_mount;
	char	*vault_k8s_role;
	char	*vault_sa_token_file;
	char	*vault_token_file;
	char	*vault_kv_mount;
	char	*vault_kv_prefix;
	int	 vault_timeout;
	int	 vault_cache_ttl;
	int	 vault_cache_max_stale;
	char	*vault_ca_file;

	char	*signing_key_source;
	char	*signing_key_path;
	char	*signing_key_file;
	char	*signing_key_id;
	char	*previous_key_file;
	char	*previous_key_id;
	int	 grant_ttl;
	char	*grant_issuer;
	char	*grant_audience;

	char	*oidc_issuer;
	char	*oidc_audience;
	char	*oidc_jwks_url;
	char	*oidc_ca_file;
	char	**oidc_algs;
	char	*email_claim;
	char	*email_non_ascii;
	int	 require_email_verified;
	char	*groups_claim;
	int	 clock_skew;
	int	 jwks_refresh;
	size_t	 max_token_size;
	char	*openwebui_secret_file;
	char	*openwebui_issuer;

	char	*callers_secret_file;
	char	*callers_tokenreview_url;
	char	*callers_tokenreview_token_file;
	char	**callers_allowed;
	char	*callers_audience;
	int	 callers_review_rate;
	char	*admin_token_file;
	char	**oidc_resources;
};

extern const struct conf_entry broker_conf_table[];

#endif
