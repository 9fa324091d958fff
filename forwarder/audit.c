/*
 * audit: the tool-call audit queue (a ring of records under one mutex) and
 * its flusher thread. The head of the ring is only ever removed by the
 * flusher, so a batch it copied stays the head while it is being sent;
 * producers append at the tail or, when full, count a drop.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "broker_client.h"
#include "clock.h"
#include "err.h"
#include "fwd.h"
#include "fwdconf.h"
#include "jsonx.h"
#include "log.h"
#include "metrics.h"
#include "utf8.h"

#define AUDIT_BACKOFF_MAX_MS	10000
/* The broker's bounds (a record beyond them would fail its whole batch). */
#define AUDIT_USER_MAX		320
#define AUDIT_TENANT_MAX	63
#define AUDIT_TOOL_MAX		200

enum audit_metric { AUM_QUEUED, AUM_SENT, AUM_DROPPED, AUM_FAILURES, AUM__COUNT };

static struct metric audit_metrics[AUM__COUNT] = {
	[AUM_QUEUED] = { "tenantgate_forwarder_audit_queued", NULL, METRIC_GAUGE,
	    "Tool-call audit records waiting for the broker", 0 },
	[AUM_SENT] = { "tenantgate_forwarder_audit_sent_total", NULL, METRIC_COUNTER,
	    "Tool-call audit records the broker accepted", 0 },
	[AUM_DROPPED] = { "tenantgate_forwarder_audit_dropped_total", NULL, METRIC_COUNTER,
	    "Tool-call audit records lost: queue full, refused by the broker, or left at exit",
	    0 },
	[AUM_FAILURES] = { "tenantgate_forwarder_audit_send_failures_total", NULL,
	    METRIC_COUNTER, "Audit batches the broker could not take (retried)", 0 },
};

struct audit_rec {
	long long	 at_ms;
	char		*user;
	char		*tenant;
	char		*tool;
	const char	*outcome;	/* a string literal */
	int		 status;
	long		 latency_ms;
};

struct audit {
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct audit_rec	*ring;
	size_t			 cap, head, n;
	int			 stop;
	pthread_t		 th;
	int			 running;
	struct fwd		*fwd;
};

/* The process's queue, for the hook in usertools_call(). */
static struct audit *_Atomic audit_active;

struct audit *
audit_new(size_t cap)
{
	struct audit *a;

	if (cap == 0 || (a = calloc(1, sizeof *a)) == NULL)
		return NULL;
	if ((a->ring = calloc(cap, sizeof *a->ring)) == NULL) {
		free(a);
		return NULL;
	}
	a->cap = cap;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	return a;
}

static void
audit_rec_clear(struct audit_rec *r)
{
	free(r->user);
	free(r->tenant);
	free(r->tool);
	memset(r, 0, sizeof *r);
}

void
audit_free(struct audit *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->n; i++)
		audit_rec_clear(&a->ring[(a->head + i) % a->cap]);
	free(a->ring);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

static long long
audit_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A field the broker will take: non-empty, within max bytes, valid text.
 * Tenant and tool names come from the request line, so anything but
 * printable ASCII becomes '?'; the user (from the broker) is cut on a
 * character boundary.
 */
static char *
audit_field(const char *s, size_t max, int ascii)
{
	char *out = strndup(s != NULL && *s != '\0' ? s : "-", max);

	if (out == NULL)
		return NULL;
	if (ascii) {
		for (char *p = out; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				*p = '?';
	} else {
		json_t *probe;

		utf8_cut(out, max);
		if ((probe = json_string(out)) == NULL) {	/* not UTF-8 */
			free(out);
			return strdup("-");
		}
		json_decref(probe);
	}
	return out;
}

void
audit_record(struct audit *a, const char *user, const char *tenant, const char *tool,
    const char *outcome, int status, long latency_ms)
{
	struct audit_rec r;

	memset(&r, 0, sizeof r);
	r.at_ms = audit_now_ms();
	/* Copied outside the lock. */
	r.user = audit_field(user, AUDIT_USER_MAX, 0);
	r.tenant = audit_field(tenant, AUDIT_TENANT_MAX, 1);
	r.tool = audit_field(tool, AUDIT_TOOL_MAX, 1);
	r.outcome = outcome;
	r.status = status;
	r.latency_ms = latency_ms < 0 ? 0 : latency_ms;
	if (r.user == NULL || r.tenant == NULL || r.tool == NULL) {
		audit_rec_clear(&r);
		metrics_inc(&audit_metrics[AUM_DROPPED]);
		return;
	}
	pthread_mutex_lock(&a->lock);
	if (a->n == a->cap) {
		pthread_mutex_unlock(&a->lock);
		audit_rec_clear(&r);
		metrics_inc(&audit_metrics[AUM_DROPPED]);
		return;
	}
	a->ring[(a->head + a->n) % a->cap] = r;
	a->n++;
	metrics_set(&audit_metrics[AUM_QUEUED], a->n);
	if (a->n == AUDIT_BATCH)
		pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

size_t
audit_queued(struct audit *a)
{
	size_t n;

	pthread_mutex_lock(&a->lock);
	n = a->n;
	pthread_mutex_unlock(&a->lock);
	return n;
}

json_t *
audit_batch(struct audit *a, size_t max, size_t *n)
{
	json_t	*events, *body;
	size_t	 k;

	*n = 0;
	if ((events = json_array()) == NULL)
		return NULL;
	pthread_mutex_lock(&a->lock);
	k = a->n < max ? a->n : max;
	for (size_t i = 0; i < k; i++) {
		const struct audit_rec *r = &a->ring[(a->head + i) % a->cap];

		json_array_append_new(events, json_pack("{s:I,s:s,s:s,s:s,s:s,s:i,s:I}", "at",
		    (json_int_t)r->at_ms, "user", r->user, "tenant", r->tenant, "tool", r->tool,
		    "outcome", r->outcome, "status", r->status, "latency_ms",
		    (json_int_t)r->latency_ms));
	}
	pthread_mutex_unlock(&a->lock);
	if (k == 0 || json_array_size(events) != k) {
		json_decref(events);
		return NULL;
	}
	if ((body = json_pack("{s:o}", "events", events)) != NULL)
		*n = k;
	return body;
}

void
audit_done(struct audit *a, size_t n)
{
	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < n && a->n > 0; i++) {
		audit_rec_clear(&a->ring[a->head]);
		a->head = (a->head + 1) % a->cap;
		a->n--;
	}
	metrics_set(&audit_metrics[AUM_QUEUED], a->n);
	pthread_mutex_unlock(&a->lock);
}

/* Send one batch; 0 sent (or refused for good and dropped), -1 retry. */
static int
audit_flush_one(struct audit *a, const struct fwdconf *c)
{
	struct err	 e;
	json_t		*body;
	size_t		 n;

	if ((body = audit_batch(a, AUDIT_BATCH_MAX, &n)) == NULL)
		return audit_queued(a) > 0 ? -1 : 0;	/* out of memory: later */
	err_clear(&e);
	if (broker_client_audit(a->fwd->broker, c, body, &e) == 0) {
		audit_done(a, n);
		metrics_add(&audit_metrics[AUM_SENT], n);
		json_decref(body);
		return 0;
	}
	json_decref(body);
	metrics_inc(&audit_metrics[AUM_FAILURES]);
	if (e.status >= 400 && e.status < 500 && e.status != 408 && e.status != 429) {
		/* Sending it again would be refused again: drop, loudly. */
		log_warnx("audit: the broker refused %zu tool-call record(s) (%s: %s); dropped",
		    n, e.code, e.msg);
		audit_done(a, n);
		metrics_add(&audit_metrics[AUM_DROPPED], n);
		return 0;
	}
	log_debug("audit: %zu record(s) kept for later: %s", n, e.msg);
	return -1;
}

static void *
audit_main(void *arg)
{
	struct audit		*a = arg;
	struct fwdconf_snap	*snap;
	struct timespec		 ts;
	long			 wait_ms = AUDIT_INTERVAL_MS, backoff = AUDIT_INTERVAL_MS;
	int			 stop;

	for (;;) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += wait_ms / 1000;
		ts.tv_nsec += (wait_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&a->lock);
		while (!a->stop && a->n < AUDIT_BATCH &&
		    pthread_cond_timedwait(&a->cond, &a->lock, &ts) == 0)
			;
		stop = a->stop;
		pthread_mutex_unlock(&a->lock);
		snap = fwd_conf(a->fwd);
		/* Whole batches while the broker takes them; stop at a failure. */
		while (audit_queued(a) > 0) {
			if (audit_flush_one(a, fwdconf_get(snap)) == -1)
				break;
		}
		fwdconf_unref(snap);
		if (stop)
			break;
		if (audit_queued(a) > 0) {
			backoff = backoff * 2 > AUDIT_BACKOFF_MAX_MS ? AUDIT_BACKOFF_MAX_MS :
			    backoff * 2;
			wait_ms = clock_jitter(backoff);
		} else
			wait_ms = backoff = AUDIT_INTERVAL_MS;
	}
	return NULL;
}

int
audit_start(struct fwd *f, size_t cap)
{
	struct audit *a;

	if ((a = audit_new(cap)) == NULL)
		return -1;
	a->fwd = f;
	if (pthread_create(&a->th, NULL, audit_main, a) != 0) {
		audit_free(a);
		return -1;
	}
	a->running = 1;
	atomic_store(&audit_active, a);
	return 0;
}

void
audit_stop(void)
{
	struct audit *a = atomic_exchange(&audit_active, NULL);

	if (a == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = 1;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
	if (a->running)
		pthread_join(a->th, NULL);
	if (a->n > 0) {
		log_warnx("audit: %zu tool-call record(s) not delivered at exit", a->n);
		metrics_add(&audit_metrics[AUM_DROPPED], a->n);
	}
	audit_free(a);
}

void
audit_tool_call(const char *user, const char *tenant, const char *tool, int rc,
    int is_error, const struct err *e, long latency_ms)
{
	struct audit	*a = atomic_load(&audit_active);
	const char	*outcome = "ok";
	int		 status = 200;

	if (a == NULL || user == NULL)
		return;
	if (rc == -1) {
		status = e->status != 0 ? e->status : 500;
		outcome = status == 403 || status == 404 ? "refused" : "error";
	} else if (is_error) {
		status = e->status != 0 ? e->status : 502;
		outcome = "error";
	}
	audit_record(a, user, tenant, tool, outcome, status, latency_ms);
}

size_t
audit_metric_rows(struct metric **rows, size_t max)
{
	return metrics_rows(audit_metrics, AUM__COUNT, rows, max);
}
