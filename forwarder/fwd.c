/* fwd: process state (config snapshot, caches, metrics) and request views. */
#include <stdlib.h>
#include <string.h>

#include "backend_mcp.h"
#include "broker_client.h"
#include "bulkhead.h"
#include "coro.h"
#include "err.h"
#include "fwd.h"
#include "grants.h"
#include "log.h"

static const struct {
	const char	*name;
	const char	*labels;
	enum metric_type type;
	const char	*help;
} fwd_metric_rows[FM__COUNT] = {
	[FM_MCP_REQUESTS] = { "tenantgate_forwarder_mcp_requests_total", NULL, METRIC_COUNTER,
	    "JSON-RPC requests served on /mcp" },
	[FM_TOOL_CALLS] = { "tenantgate_forwarder_tool_calls_total", NULL, METRIC_COUNTER,
	    "Tool calls run (MCP and OpenAPI)" },
	[FM_TOOL_ERRORS] = { "tenantgate_forwarder_tool_errors_total", NULL, METRIC_COUNTER,
	    "Tool calls that ended in a tool error" },
	[FM_TOOL_REFUSED] = { "tenantgate_forwarder_tool_refused_total", NULL, METRIC_COUNTER,
	    "Tool calls refused: tool not in the caller's grants" },
	[FM_AUTH_REFUSED] = { "tenantgate_forwarder_auth_refused_total", NULL, METRIC_COUNTER,
	    "Requests answered 401" },
	[FM_BROKER_ERRORS] = { "tenantgate_forwarder_broker_errors_total", NULL, METRIC_COUNTER,
	    "Broker calls that failed (unreachable, 5xx, refused our credential)" },
	[FM_GRANT_RENEWALS] = { "tenantgate_forwarder_grant_renewals_total", NULL, METRIC_COUNTER,
	    "Grants renewed because the broker called them invalid mid-session" },
	[FM_GRANT_BG_RENEWALS] = { "tenantgate_forwarder_grant_background_renewals_total", NULL,
	    METRIC_COUNTER, "Cached grants renewed in the background inside grant_renew_margin" },
	[FM_GRANT_BG_RENEW_FAILS] = { "tenantgate_forwarder_grant_background_renewal_failures_total",
	    NULL, METRIC_COUNTER, "Background grant renewals not used (broker error, or a "
	    "change-feed drop ran meanwhile)" },
	[FM_UPSTREAM_RETRIES] = { "tenantgate_forwarder_credential_retries_total", NULL,
	    METRIC_COUNTER, "Tool calls retried with a re-redeemed credential" },
	[FM_GRANT_CACHE_SIZE] = { "tenantgate_forwarder_grant_cache_entries", NULL, METRIC_GAUGE,
	    "Users whose grants are cached" },
};

struct fwd *
fwd_new(struct fwdconf_snap *snap, struct err *e)
{
	struct fwd *f;

	if ((f = calloc(1, sizeof *f)) == NULL) {
		err_set(e, 500, "nomem", "out of memory");
		return NULL;
	}
	pthread_mutex_init(&f->lock, NULL);
	f->snap = snap;
	for (int i = 0; i < FM__COUNT; i++) {
		f->metrics[i].name = fwd_metric_rows[i].name;
		f->metrics[i].labels = fwd_metric_rows[i].labels;
		f->metrics[i].type = fwd_metric_rows[i].type;
		f->metrics[i].help = fwd_metric_rows[i].help;
	}
	f->latency.name = "tenantgate_forwarder_request_seconds";
	f->latency.help = "Time to answer a request";
	if ((f->broker = broker_client_new()) == NULL ||
	    (f->grants = grants_cache_new(f->broker)) == NULL ||
	    (f->backends = backend_mcp_new()) == NULL ||
	    (f->bulkheads = bulkhead_new()) == NULL) {
		err_set(e, 500, "nomem", "out of memory");
		f->snap = NULL;
		fwd_free(f);
		return NULL;
	}
	return f;
}

void
fwd_free(struct fwd *f)
{
	if (f == NULL)
		return;
	backend_mcp_free(f->backends);
	bulkhead_free(f->bulkheads);
	grants_cache_free(f->grants);
	broker_client_free(f->broker);
	fwdconf_unref(f->snap);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

void
fwd_set_conf(struct fwd *f, struct fwdconf_snap *snap)
{
	struct fwdconf_snap *old;

	pthread_mutex_lock(&f->lock);
	old = f->snap;
	f->snap = snap;
	pthread_mutex_unlock(&f->lock);
	fwdconf_unref(old);
}

struct fwdconf_snap *
fwd_conf(struct fwd *f)
{
	struct fwdconf_snap *s;

	pthread_mutex_lock(&f->lock);
	s = fwdconf_ref(f->snap);
	pthread_mutex_unlock(&f->lock);
	return s;
}

void
fwd_req_init(struct fwd_req *r, struct fwd *f)
{
	memset(r, 0, sizeof *r);
	r->fwd = f;
	r->snap = fwd_conf(f);
	r->conf = fwdconf_get(r->snap);
}

void
fwd_req_done(struct fwd_req *r)
{
	if (r->gs != NULL)
		grants_put(r->fwd->grants, r->gs);
	r->gs = NULL;
	fwdconf_unref(r->snap);
	r->snap = NULL;
	r->conf = NULL;
}

/* One background grant renewal: a coroutine of its own, holding the config
 * it started with; listed so a drain can cancel it. */
struct fwd_renewal {
	struct fwd		*fwd;
	struct fwdconf_snap	*snap;
	struct grants_renewal	*ticket;
	struct coro		*co;
	struct fwd_renewal	*prev, *next;
};

static void
fwd_renewal_run(void *arg)
{
	struct fwd_renewal *w = arg;

	if (grants_renew(w->fwd->grants, fwdconf_get(w->snap), w->ticket) == 1)
		metrics_inc(&w->fwd->metrics[FM_GRANT_BG_RENEWALS]);
	else
		metrics_inc(&w->fwd->metrics[FM_GRANT_BG_RENEW_FAILS]);
	w->ticket = NULL;
}

static void
fwd_renewal_done(void *arg)
{
	struct fwd_renewal *w = arg;

	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		w->fwd->renewals = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	fwdconf_unref(w->snap);
	free(w);
}

/* Run the ticket in a new coroutine (it starts on the next loop turn);
 * without one (no memory, draining, no scheduler) the ticket is returned
 * and a later request renews. */
static void
fwd_renewal_start(struct fwd_req *r, struct grants_renewal *t)
{
	struct fwd		*f = r->fwd;
	struct fwd_renewal	*w;

	if (f->renewals_stopped || (w = calloc(1, sizeof *w)) == NULL) {
		grants_renew_abandon(f->grants, t);
		return;
	}
	w->fwd = f;
	w->snap = fwdconf_ref(r->snap);
	w->ticket = t;
	if ((w->next = f->renewals) != NULL)
		w->next->prev = w;
	f->renewals = w;
	if (coro_spawn(fwd_renewal_run, fwd_renewal_done, w, &w->co) == -1) {
		grants_renew_abandon(f->grants, t);
		fwd_renewal_done(w);
	}
}

void
fwd_stop_renewals(struct fwd *f)
{
	f->renewals_stopped = 1;
	for (struct fwd_renewal *w = f->renewals; w != NULL; w = w->next)
		coro_cancel(w->co);
}

int
fwd_req_grants(struct fwd_req *r, struct err *e)
{
	struct grants_renewal *renew = NULL;

	if (r->gs != NULL)
		return 0;
	if (grants_get(r->fwd->grants, r->conf, r->assertion, &r->gs, &renew, e) == -1) {
		if (e->status != 401)
			metrics_inc(&r->fwd->metrics[FM_BROKER_ERRORS]);
		return -1;
	}
	if (r->gs->user != NULL)
		log_ctx_add("user", "%s", r->gs->user);
	if (renew != NULL)
		fwd_renewal_start(r, renew);
	return 0;
}

int
fwd_req_renew(struct fwd_req *r, struct err *e)
{
	if (r->gs != NULL) {
		grants_invalidate(r->fwd->grants, r->gs);
		grants_put(r->fwd->grants, r->gs);
		r->gs = NULL;
	}
	metrics_inc(&r->fwd->metrics[FM_GRANT_RENEWALS]);
	return fwd_req_grants(r, e);
}
