/*
 * chores: the broker's background work, run on the janitor's threads
 * (common/janitor.h) so the event loop never waits on PostgreSQL, Vault
 * or the IdP, and no request thread does periodic work:
 *   purge	revocations of grants that have expired anyway, at start-up
 *		and every minute (PostgreSQL);
 *   keys	the signing key while it is not loaded (Vault unreachable at
 *		start-up), retried after 1, 2, 4 .. 30 s;
 *   reload	SIGHUP: the configuration, keys and secrets (Vault, files);
 *   jwks	the IdP's key set: every few seconds identity_refresh()
 *		decides whether it is due, and a request with an unknown kid
 *		asks for it at once (chores_jwks_ask) instead of fetching.
 * keys and reload share a group: both may set the snapshot's keys.
 */
#ifndef TG_BROKER_CHORES_H
#define TG_BROKER_CHORES_H

struct broker;
struct chores;
struct err;

#define CHORES_PURGE_S		60
#define CHORES_JWKS_TICK_S	5
#define CHORES_KEYS_RETRY_MAX_S	30

/* Start the workers and the timers on b->base, once everything the jobs
 * use exists (store, vault, the snapshot as loaded at start-up).
 * reload(reload_arg) is the SIGHUP work, run on a worker. A missing
 * signing key is retried at once. */
struct chores	*chores_start(struct broker *, void (*reload)(void *), void *reload_arg,
		    struct err *);
/* SIGHUP, on the loop: queue a reload (several signals, one reload). */
void		 chores_reload(struct chores *);
/* identity's refresher (identity_set_refresher): arg is the broker. */
void		 chores_jwks_ask(void *broker);
/* Stop the timers and workers; a job in progress finishes first. */
void		 chores_stop(struct chores *);

#endif
