/*
 * fwd: the forwarder's process-wide state (one per process, passed to every
 * handler as the route argument) and the per-request view of it. Nothing
 * here is a global: tests build their own.
 */
#ifndef TG_FWD_H
#define TG_FWD_H

#include <pthread.h>

#include "fwdconf.h"
#include "metrics.h"

struct broker_client;
struct grants_cache;
struct backend_cache;
struct bulkhead_set;
struct grantset;
struct err;
struct fwd_renewal;

enum fwd_metric {
	FM_MCP_REQUESTS, FM_TOOL_CALLS, FM_TOOL_ERRORS, FM_TOOL_REFUSED,
	FM_AUTH_REFUSED, FM_BROKER_ERRORS, FM_GRANT_RENEWALS, FM_GRANT_BG_RENEWALS,
	FM_GRANT_BG_RENEW_FAILS, FM_UPSTREAM_RETRIES,
	FM_GRANT_CACHE_SIZE, FM__COUNT
};

struct fwd {
	pthread_mutex_t		 lock;		/* guards snap */
	struct fwdconf_snap	*snap;
	struct broker_client	*broker;
	struct grants_cache	*grants;
	struct backend_cache	*backends;
	struct bulkhead_set	*bulkheads;	/* loop thread only */
	long			 broker_ok_ms;	/* last good /readyz probe; loop thread */
	struct fwd_renewal	*renewals;	/* background grant renewals; loop thread */
	int			 renewals_stopped; /* draining: none start */
	struct metric		 metrics[FM__COUNT];
	struct histogram	 latency;
};

/* One request's view: the config it started with, the caller's token (a
 * bearer credential: never logged) and grants once resolved. */
struct fwd_req {
	struct fwd		*fwd;
	struct fwdconf_snap	*snap;
	const struct fwdconf	*conf;
	const char		*assertion;
	struct grantset		*gs;
};

struct fwd	*fwd_new(struct fwdconf_snap *, struct err *);
void		 fwd_free(struct fwd *);
/* Swap in a reloaded config (takes the reference). */
void		 fwd_set_conf(struct fwd *, struct fwdconf_snap *);
/* A new reference to the current config. */
struct fwdconf_snap *fwd_conf(struct fwd *);

void		 fwd_req_init(struct fwd_req *, struct fwd *);
void		 fwd_req_done(struct fwd_req *);
/* Resolve the caller's grants (cached); see grants_get(). */
int		 fwd_req_grants(struct fwd_req *, struct err *);
/* Drop the current grants and ask the broker again (an expired grant). */
int		 fwd_req_renew(struct fwd_req *, struct err *);
/* Draining: start no more background grant renewals and cancel the
 * running ones (they end within a loop turn or two). */
void		 fwd_stop_renewals(struct fwd *);

#endif
