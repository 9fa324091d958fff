/*
 * feed: the change-feed thread. Event kinds map to cache drops here and
 * only here (feed_plan()); the caches match entries against the result.
 *
 *   kind           grant sets          credentials        MCP tool lists
 *   membership     the user's          user in tenant     -
 *   user           the user's          the user's         -
 *   user_revoked   the user's          the user's         -
 *   grant_revoked  holding the jti     the jti's          -
 *   group_mapping  all (who is in      the tenant's       -
 *                  the tenant changed)
 *   tenant         all (an enabled     the tenant's       the tenant's
 *                  tenant must show)
 *   integration    holding the tenant  the integration's  the integration's
 *   anything else  all                 all                all
 *
 * Dropping a grant set is cheap (the broker hands back the same grant and
 * its credential stays cached); credentials go only where the event says.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend_mcp.h"
#include "broker_client.h"
#include "clock.h"
#include "dropset.h"
#include "err.h"
#include "feed.h"
#include "fwd.h"
#include "fwdconf.h"
#include "grants.h"
#include "jsonx.h"
#include "log.h"
#include "metrics.h"

#define FEED_BACKOFF_MIN_MS	200
#define FEED_BACKOFF_MAX_MS	2000
#define FEED_WAIT_MAX_S		25
#define FEED_LOG_EVERY_MS	30000

enum feed_metric {
	FEEDM_AGE, FEEDM_SEQ, FEEDM_CURRENT, FEEDM_EVENTS, FEEDM_RESETS, FEEDM_ERRORS,
	FEEDM_DROPPED, FEEDM_CREDS, FEEDM__COUNT
};

static struct metric feed_metrics[FEEDM__COUNT] = {
	[FEEDM_AGE] = { "tenantgate_forwarder_feed_age_ms", NULL, METRIC_GAUGE,
	    "Time since the broker's change feed last answered", 0 },
	[FEEDM_SEQ] = { "tenantgate_forwarder_feed_seq", NULL, METRIC_GAUGE,
	    "Last change-feed sequence number applied", 0 },
	[FEEDM_CURRENT] = { "tenantgate_forwarder_feed_current", NULL, METRIC_GAUGE,
	    "1 while caches are trusted (feed within feed_max_stale), 0 = per-call mode", 0 },
	[FEEDM_EVENTS] = { "tenantgate_forwarder_feed_events_total", NULL, METRIC_COUNTER,
	    "Change-feed events applied", 0 },
	[FEEDM_RESETS] = { "tenantgate_forwarder_feed_resets_total", NULL, METRIC_COUNTER,
	    "Whole-cache drops: the broker said reset, or the feed was back after a gap", 0 },
	[FEEDM_ERRORS] = { "tenantgate_forwarder_feed_errors_total", NULL, METRIC_COUNTER,
	    "Change-feed polls that failed", 0 },
	[FEEDM_DROPPED] = { "tenantgate_forwarder_feed_dropped_entries_total", NULL,
	    METRIC_COUNTER, "Cache entries dropped by change-feed events", 0 },
	[FEEDM_CREDS] = { "tenantgate_forwarder_credential_cache_entries", NULL, METRIC_GAUGE,
	    "Redeemed credentials cached (one per grant and integration)", 0 },
};

/* Read by /metrics; the process runs one feed at most. */
static atomic_long		 feed_last_ok_ms;
/* The last seq applied to the caches: sent with /v1/grants (seen_seq). */
static atomic_llong		 feed_applied_seq;
static struct grants_cache	*_Atomic feed_metrics_grants;

struct feed {
	struct fwd	*fwd;
	pthread_t	 th;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	int		 stop;		/* under lock */
	int		 current;	/* first answer seen, under lock */
	long long	 seq;
	int		 have_pos;	/* seq is a place in the feed */
	int		 need_reset;
};

/* --- the mapping ------------------------------------------------------------------- */

static int
feed_plan_one(const json_t *ev, struct dropset *d)
{
	const char	*kind = jsonx_str(ev, "kind"), *user = jsonx_str(ev, "user");
	const char	*tenant = jsonx_str(ev, "tenant"), *integ = jsonx_str(ev, "integration");
	const char	*jti = jsonx_str(ev, "jti");

	if (kind == NULL)
		return -1;
	if (strcmp(kind, "membership") == 0 && user != NULL && tenant != NULL)
		return dropset_add(d, 'U', user, NULL) | dropset_add(d, 'M', tenant, user);
	if ((strcmp(kind, "user") == 0 || strcmp(kind, "user_revoked") == 0) && user != NULL)
		return dropset_add(d, 'U', user, NULL) | dropset_add(d, 'V', user, NULL);
	if (strcmp(kind, "grant_revoked") == 0 && jti != NULL)
		return dropset_add(d, 'J', jti, NULL);
	if (strcmp(kind, "group_mapping") == 0 && tenant != NULL) {
		d->all_sets = 1;
		return dropset_add(d, 'C', tenant, NULL);
	}
	if (strcmp(kind, "tenant") == 0 && tenant != NULL) {
		d->all_sets = 1;
		return dropset_add(d, 'T', tenant, NULL);
	}
	if (strcmp(kind, "integration") == 0 && tenant != NULL && integ != NULL)
		return dropset_add(d, 'S', tenant, NULL) | dropset_add(d, 'I', tenant, integ);
	if (strcmp(kind, "integration") == 0 && tenant != NULL)
		return dropset_add(d, 'S', tenant, NULL) | dropset_add(d, 'T', tenant, NULL);
	return -1;
}

size_t
feed_plan(const json_t *events, struct dropset *d)
{
	size_t	 i, n = 0;
	json_t	*ev;

	json_array_foreach(events, i, ev) {
		n++;
		if (feed_plan_one(ev, d) == -1) {
			log_warnx("feed: event %lld (kind %.40s) not understood: dropping every "
			    "cache entry", (long long)json_integer_value(json_object_get(ev, "seq")),
			    jsonx_str(ev, "kind") != NULL ? jsonx_str(ev, "kind") : "-");
			d->all = 1;
		}
	}
	dropset_seal(d);
	return n;
}

/* --- the thread -------------------------------------------------------------------- */

/* Poll wait: well inside the bound, so a healthy feed never lapses. */
static int
feed_wait_s(const struct fwdconf *c)
{
	int w = c->feed_max_stale / 4;

	return w < 1 ? 1 : w > FEED_WAIT_MAX_S ? FEED_WAIT_MAX_S : w;
}

static void
feed_drop(struct feed *fd, const struct dropset *d)
{
	size_t n = grants_drop(fd->fwd->grants, d);

	n += backend_mcp_drop(fd->fwd->backends, d);
	metrics_add(&feed_metrics[FEEDM_DROPPED], n);
	if (n > 0)
		log_debug("feed: %zu cache entr%s dropped", n, n == 1 ? "y" : "ies");
}

static void
feed_reset(struct feed *fd, const char *why)
{
	struct dropset d;

	dropset_init(&d);
	d.all = 1;
	feed_drop(fd, &d);
	metrics_inc(&feed_metrics[FEEDM_RESETS]);
	log_info("feed: every cached grant and credential dropped (%s)", why);
}

/* Apply one 200 answer; -1 when it does not parse (nothing applied). */
static int
feed_answer(struct feed *fd, const json_t *a, long long since)
{
	json_t		*jseq = json_object_get(a, "seq"), *events = json_object_get(a, "events");
	long long	 seq;
	struct dropset	 d;

	if (!json_is_integer(jseq) || json_integer_value(jseq) < 0 ||
	    (events != NULL && !json_is_array(events)))
		return -1;
	seq = json_integer_value(jseq);
	/* since=0 answers with the current seq and no events: from a known
	 * place 0, a higher seq means events were skipped. */
	if (!fd->have_pos || fd->need_reset || json_is_true(json_object_get(a, "reset")) ||
	    seq < since || (since == 0 && seq > 0)) {
		/* A start, a gap, or a broker that lost our place: whatever
		 * happened meanwhile is unknown, so nothing cached is kept. */
		feed_reset(fd, !fd->have_pos ? "feed started" : fd->need_reset ?
		    "the feed was down longer than feed_max_stale" : "the broker said reset");
		fd->need_reset = 0;
		fd->have_pos = 1;
	} else if (json_array_size(events) > 0) {
		dropset_init(&d);
		metrics_add(&feed_metrics[FEEDM_EVENTS], feed_plan(events, &d));
		feed_drop(fd, &d);
		dropset_clear(&d);
	}
	fd->seq = seq;
	atomic_store(&feed_applied_seq, seq);
	metrics_set(&feed_metrics[FEEDM_SEQ], (uint64_t)seq);
	return 0;
}

long long
feed_seen_seq(void)
{
	return atomic_load(&feed_applied_seq);
}

/* Sleep ms unless asked to stop; 1 when stopping. */
static int
feed_pause(struct feed *fd, long ms)
{
	struct timespec	ts;
	int		stop;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&fd->lock);
	while (!fd->stop && pthread_cond_timedwait(&fd->cond, &fd->lock, &ts) == 0)
		;
	stop = fd->stop;
	pthread_mutex_unlock(&fd->lock);
	return stop;
}

static int
feed_stopping(struct feed *fd)
{
	int stop;

	pthread_mutex_lock(&fd->lock);
	stop = fd->stop;
	pthread_mutex_unlock(&fd->lock);
	return stop;
}

static void *
feed_main(void *arg)
{
	struct feed		*fd = arg;
	struct fwdconf_snap	*snap;
	const struct fwdconf	*c;
	json_t			*a;
	struct err		 e;
	long			 backoff = FEED_BACKOFF_MIN_MS, last_log = 0, now;
	long long		 since;
	int			 rc;

	log_ctx_add("task", "feed");
	while (!feed_stopping(fd)) {
		snap = fwd_conf(fd->fwd);
		c = fwdconf_get(snap);
		/* A lapsed feed restarts from a reset: events were missed. */
		if (!grants_trusted(fd->fwd->grants) && fd->have_pos)
			fd->need_reset = 1;
		since = fd->need_reset ? 0 : fd->seq;
		err_clear(&e);
		a = NULL;
		rc = broker_client_changes(fd->fwd->broker, c, since, feed_wait_s(c), &a, &e);
		if (rc == 0 && (rc = feed_answer(fd, a, since)) == -1)
			err_set(&e, 502, "broker_error", "the broker's change-feed answer lacks seq "
			    "or events");
		json_decref(a);
		now = clock_now_ms();
		if (rc == 0) {
			atomic_store(&feed_last_ok_ms, now);
			grants_feed_ok(fd->fwd->grants, now + (long)c->feed_max_stale * 1000);
			pthread_mutex_lock(&fd->lock);
			if (!fd->current)
				log_info("feed: current at seq %lld", fd->seq);
			fd->current = 1;
			pthread_cond_broadcast(&fd->cond);
			pthread_mutex_unlock(&fd->lock);
			backoff = FEED_BACKOFF_MIN_MS;
			fwdconf_unref(snap);
			/* At seq 0 (no change ever) the broker answers at once. */
			if (fd->seq == 0 && feed_pause(fd, FEED_BACKOFF_MIN_MS))
				break;
			continue;
		}
		metrics_inc(&feed_metrics[FEEDM_ERRORS]);
		if (last_log == 0 || now - last_log >= FEED_LOG_EVERY_MS) {
			log_warnx("feed: %s (%s); caches are trusted for %d s after the last "
			    "answer, then every call asks the broker", e.msg, e.code,
			    c->feed_max_stale);
			last_log = now;
		}
		fwdconf_unref(snap);
		if (feed_pause(fd, clock_jitter(backoff)))
			break;
		backoff = backoff * 2 > FEED_BACKOFF_MAX_MS ? FEED_BACKOFF_MAX_MS : backoff * 2;
	}
	log_ctx_clear();
	return NULL;
}

struct feed *
feed_start(struct fwd *f)
{
	struct feed *fd;

	if ((fd = calloc(1, sizeof *fd)) == NULL)
		return NULL;
	fd->fwd = f;
	pthread_mutex_init(&fd->lock, NULL);
	pthread_cond_init(&fd->cond, NULL);
	atomic_store(&feed_metrics_grants, f->grants);
	if (pthread_create(&fd->th, NULL, feed_main, fd) != 0) {
		log_warnx("feed: cannot start its thread; every call asks the broker");
		atomic_store(&feed_metrics_grants, NULL);
		pthread_cond_destroy(&fd->cond);
		pthread_mutex_destroy(&fd->lock);
		free(fd);
		return NULL;
	}
	return fd;
}

int
feed_wait_current(struct feed *fd, long ms)
{
	long	deadline = clock_now_ms() + ms;
	int	current = 0;

	for (; fd != NULL; clock_sleep_ms(10)) {
		pthread_mutex_lock(&fd->lock);
		current = fd->current;
		pthread_mutex_unlock(&fd->lock);
		if (current || clock_now_ms() >= deadline)
			break;
	}
	return current ? 0 : -1;
}

void
feed_stop_soon(struct feed *fd)
{
	if (fd == NULL)
		return;
	pthread_mutex_lock(&fd->lock);
	fd->stop = 1;
	pthread_cond_broadcast(&fd->cond);
	pthread_mutex_unlock(&fd->lock);
}

void
feed_stop(struct feed *fd)
{
	if (fd == NULL)
		return;
	feed_stop_soon(fd);
	pthread_join(fd->th, NULL);
	atomic_store(&feed_metrics_grants, NULL);
	pthread_cond_destroy(&fd->cond);
	pthread_mutex_destroy(&fd->lock);
	free(fd);
}

size_t
feed_metric_rows(struct metric **rows, size_t max)
{
	struct grants_cache	*gc = atomic_load(&feed_metrics_grants);
	long			 last = atomic_load(&feed_last_ok_ms);

	metrics_set(&feed_metrics[FEEDM_AGE], last > 0 ? (uint64_t)(clock_now_ms() - last) : 0);
	metrics_set(&feed_metrics[FEEDM_CURRENT], gc != NULL && grants_trusted(gc));
	metrics_set(&feed_metrics[FEEDM_CREDS], gc != NULL ? grants_cred_count(gc) : 0);
	return metrics_rows(feed_metrics, FEEDM__COUNT, rows, max);
}
