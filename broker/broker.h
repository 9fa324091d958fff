/*
 * broker: the process state shared by the request handlers. Everything a
 * SIGHUP may replace (config, identity verifier, keys, callers) is one
 * immutable, refcounted snapshot (broker_state.h): a handler takes a reference
 * to `state` for one request; reload swaps the pointer.
 */
#ifndef TG_BROKER_H
#define TG_BROKER_H

#include <pthread.h>
#include <time.h>

#include <jansson.h>

#include "config.h"
#include "httpd.h"
#include "metrics.h"
#include "secret.h"

struct broker_state;
struct callers;
struct chores;
struct event_base;
struct feed;
struct ints;
struct keyexpiry;
struct reuse;
struct httpd;
struct idv;
struct keyring;
struct members;
struct store;
struct vault;

struct broker {
	struct event_base	*base;
	struct httpd		*httpd;
	struct vault		*vault;
	struct store		*store;
	struct members		*members;
	struct feed		*feed;
	struct ints		*ints;		/* tenant integrations cache */
	struct reuse		*reuse;		/* grants handed out again */
	struct keyexpiry	*keyexpiry;	/* expiry job and metric */
	struct chores		*chores;	/* background jobs (chores.h) */
	/* The highest access_changes seq whose NOTIFY flushed our caches. */
	_Atomic long long	 applied_seq;

	pthread_mutex_t		 state_lock;	/* broker_state.c: the pointer only */
	struct broker_state	*state;		/* the current snapshot */

	/* /readyz asks Vault and PostgreSQL itself at most every
	 * READYZ_PROBE_MS (ready.c); all under probe_lock. */
	pthread_mutex_t		 probe_lock;
	long			 probe_at_ms;
	int			 probe_ok;
	time_t			 vault_ok_at;	/* wall clock of the last good probe */
	long			 db_probe_at_ms;
	int			 db_probe_ok;
	time_t			 db_ok_at;
	char			 db_error[256];	/* for the log-side detail only */
	char			 vault_error[256];	/* the last failed Vault probe's */
};

#define READYZ_PROBE_MS	2000

/* api.c */
extern const struct httpd_route broker_routes[];
#define API_CALLER_MAX		128
#define API_AUDIT_MAX_BODY	(1024 * 1024)
/* Authenticate the caller (forwarder); on failure e is the reply. */
int	api_caller(const struct broker_state *, struct httpd_req *, char *who, struct err *);
void	api_reply_err(struct httpd_req *, const struct err *);
/* One audit row; takes detail's reference. Logged when PostgreSQL fails. */
void	api_audit(struct broker *, const char *actor, const char *action,
	    const char *tenant, const char *subject, json_t *detail);
/* api_feed.c: handlers, given the request's snapshot by api.c */
void	api_feed_changes(struct httpd_req *, struct broker *, const struct broker_state *);
void	api_feed_audit(struct httpd_req *, struct broker *, const struct broker_state *);

/* broker_metrics.c */
enum broker_metric {
	BM_GRANTS_ISSUED, BM_DENIED_NOT_MEMBER, BM_DENIED_IDENTITY, BM_DENIED_CALLER,
	BM_DENIED_UNAVAILABLE, BM_REDEEMS, BM_REDEEM_REFUSED, BM_REVOKES,
	BM_VAULT_ERRORS, BM_DB_ERRORS, BM_MEMBERS_HITS, BM_MEMBERS_MISSES,
	BM_MEMBERS_STALE, BM_GRANTS_REUSED,
	/* callers.c: TokenReview calls made, refusals answered from the
	 * negative cache, checks refused by the rate limit */
	BM_CALLERS_REVIEWS, BM_CALLERS_NEG_HITS, BM_CALLERS_LIMITED,
	/* ready.c, set at scrape time: readiness and how stale each source is */
	BM_READY, BM_DB_STALE_S, BM_VAULT_STALE_S, BM_JWKS_AGE_S,
	BM__COUNT
};
extern struct metric	 broker_metrics[BM__COUNT];
extern struct histogram	 broker_latency;
char	*broker_metrics_render(struct broker *, size_t *len);

#endif
