/*
 * ready: can this broker issue grants now? That is what /readyz answers
 * and what tenantgate_broker_ready reports, so Kubernetes takes a broker
 * out of the Service only when it cannot serve, not whenever a dependency
 * blips: every replica shares the same PostgreSQL and Vault, and taking
 * them all out at once would throw away the caches meant to ride it out.
 *
 * Ready = the signing key is loaded (it is held in memory: Vault need not
 * answer to sign) and PostgreSQL answers or answered within
 * members_max_stale (cached memberships still allow grants) and Vault
 * answers or answered within vault_cache_max_stale (cached credentials
 * still redeem). How stale each source is goes in the body and metrics.
 */
#ifndef TG_BROKER_READY_H
#define TG_BROKER_READY_H

#include <jansson.h>

struct broker;
struct broker_state;

struct ready {
	int	ready;
	char	reason[128];		/* why not, "" when ready */
	int	keys_loaded;
	char	kid[64];
	int	db_ok;			/* answered the last probe */
	long	db_stale_s;		/* since the last good answer; -1 = never */
	long	db_max_stale_s;
	char	db_error[200];		/* scrubbed: no host, port or URL */
	int	vault_ok;
	long	vault_stale_s;		/* -1 = never */
	long	vault_max_stale_s;
	int	vault_logged_in, vault_sealed, vault_serving_stale;
	long	vault_token_ttl_s;
	char	vault_error[200];	/* scrubbed */
	long	jwks_age_s;		/* -1 = none fetched (or OIDC off) */
};

/* Evaluate; with probe, ask PostgreSQL and Vault (each at most every
 * READYZ_PROBE_MS, so probes never pile up on the workers). s: the
 * request's snapshot. Also sets the readiness gauges. */
void	 ready_eval(struct broker *, const struct broker_state *s, int probe, struct ready *);
json_t	*ready_json(const struct ready *);

#endif
