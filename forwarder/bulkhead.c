/*
 * bulkhead: pools (one per tenant and per tenant MCP backend), their FIFO
 * queues of parked coroutines, and the token buckets. Pools live as long
 * as the process (there are as many as tenants and backends); per-user
 * buckets are dropped by the janitor once idle.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulkhead.h"
#include "clock.h"
#include "coro.h"
#include "err.h"
#include "fwdconf.h"
#include "log.h"
#include "metrics.h"

#define BH_POOL_BUCKETS	64
#define BH_USER_BUCKETS	4096
#define BH_USER_IDLE_MS	(120 * 1000)

static const char *const bh_reason_label[BH__REASONS] = {
	[BH_QUEUE_FULL] = "reason=\"queue_full\"",
	[BH_QUEUE_TIMEOUT] = "reason=\"queue_timeout\"",
	[BH_TENANT_RATE] = "reason=\"tenant_rate\"",
	[BH_USER_RATE] = "reason=\"user_rate\"",
	[BH_UPSTREAM_BACKOFF] = "reason=\"upstream_429\"",
};

struct bh_bucket {
	double	 tokens;
	long	 last_ms;
};

struct bh_waiter {
	struct coro	*co;
	int		 granted;
	struct bh_waiter *next;
};

struct bulkhead_pool {
	char		*name;
	struct bulkhead_set *set;
	int		 inflight;
	int		 queued;
	struct bh_waiter *qhead, *qtail;
	struct bh_bucket bucket;
	long		 backoff_until_ms;
	char		*labels;
	char		*reason_labels[BH__REASONS];
	struct metric	 m_inflight, m_queued, m_rejected[BH__REASONS];
	struct histogram latency;
	struct bulkhead_pool *next;
};

struct bh_user {
	char		*key;		/* user "\t" pool */
	struct bh_bucket bucket;
	struct bh_user	*next;
};

struct bulkhead_set {
	struct bulkhead_pool *pools[BH_POOL_BUCKETS];
	size_t		 npools;
	struct bh_user	*users[BH_USER_BUCKETS];
	unsigned long	 rejections;
};

static unsigned
bh_hash(const char *a, const char *b)
{
	unsigned h = 2166136261u;

	for (; *a != '\0'; a++)
		h = (h ^ (unsigned char)*a) * 16777619u;
	if (b != NULL) {
		h = (h ^ '\t') * 16777619u;
		for (; *b != '\0'; b++)
			h = (h ^ (unsigned char)*b) * 16777619u;
	}
	return h;
}

struct bulkhead_set *
bulkhead_new(void)
{
	return calloc(1, sizeof(struct bulkhead_set));
}

static void
bh_pool_free(struct bulkhead_pool *p)
{
	free(p->name);
	free(p->labels);
	for (int i = 0; i < BH__REASONS; i++)
		free(p->reason_labels[i]);
	free(p);
}

void
bulkhead_free(struct bulkhead_set *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < BH_POOL_BUCKETS; i++)
		for (struct bulkhead_pool *p = s->pools[i], *n; p != NULL; p = n) {
			n = p->next;
			bh_pool_free(p);
		}
	for (size_t i = 0; i < BH_USER_BUCKETS; i++)
		for (struct bh_user *u = s->users[i], *n; u != NULL; u = n) {
			n = u->next;
			free(u->key);
			free(u);
		}
	free(s);
}

/* A Prometheus label value: tenant and integration names are slugs, but
 * the exposition must never break, whatever a config holds. */
static void
bh_label_value(char *out, size_t n, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < n && i < len && s[i] != '\0'; i++)
		out[i] = (s[i] == '"' || s[i] == '\\' || s[i] == '\n') ? '_' : s[i];
	out[i] = '\0';
}

static struct bulkhead_pool *
bh_pool_get(struct bulkhead_set *s, const char *name)
{
	unsigned		 h = bh_hash(name, NULL) % BH_POOL_BUCKETS;
	struct bulkhead_pool	*p;
	const char		*slash;
	char			 lab[256], tv[100], bv[100];

	for (p = s->pools[h]; p != NULL; p = p->next)
		if (strcmp(p->name, name) == 0)
			return p;
	if ((p = calloc(1, sizeof *p)) == NULL || (p->name = strdup(name)) == NULL) {
		free(p);
		return NULL;
	}
	p->set = s;
	p->bucket.tokens = -1;		/* filled to the burst on first use */
	slash = strchr(name, '/');
	bh_label_value(tv, sizeof tv, name, slash != NULL ? (size_t)(slash - name) :
	    strlen(name));
	if (slash != NULL) {
		bh_label_value(bv, sizeof bv, slash + 1, strlen(slash + 1));
		snprintf(lab, sizeof lab, "tenant=\"%s\",backend=\"%s\"", tv, bv);
	} else
		snprintf(lab, sizeof lab, "tenant=\"%s\"", tv);
	p->labels = strdup(lab);
	for (int i = 0; i < BH__REASONS; i++) {
		char rl[320];

		snprintf(rl, sizeof rl, "%s,%s", lab, bh_reason_label[i]);
		if ((p->reason_labels[i] = strdup(rl)) == NULL) {
			bh_pool_free(p);
			return NULL;
		}
	}
	p->m_inflight = (struct metric){ "tenantgate_forwarder_tenant_inflight", p->labels,
	    METRIC_GAUGE, "Upstream calls running now, per tenant (and tenant MCP backend)", 0 };
	p->m_queued = (struct metric){ "tenantgate_forwarder_tenant_queued", p->labels,
	    METRIC_GAUGE, "Calls waiting for a slot in their tenant's pool", 0 };
	for (int i = 0; i < BH__REASONS; i++)
		p->m_rejected[i] = (struct metric){ "tenantgate_forwarder_tenant_rejected_total",
		    p->reason_labels[i], METRIC_COUNTER,
		    "Calls refused before reaching the upstream, by reason", 0 };
	p->latency.name = "tenantgate_forwarder_tenant_upstream_seconds";
	p->latency.help = "Time upstream calls held a slot, per tenant";
	p->latency.labels = p->labels;
	if (p->labels == NULL) {
		bh_pool_free(p);
		return NULL;
	}
	p->next = s->pools[h];
	s->pools[h] = p;
	s->npools++;
	return p;
}

/* Take one token; 0 when the bucket had one, else the ms until it will. */
static long
bh_take(struct bh_bucket *b, int rate, int burst, long now)
{
	if (rate <= 0)
		return 0;
	if (burst < 1)
		burst = 1;
	if (b->tokens < 0)
		b->tokens = burst;
	else {
		b->tokens += (double)(now - b->last_ms) * rate / 1000.0;
		if (b->tokens > burst)
			b->tokens = burst;
	}
	b->last_ms = now;
	if (b->tokens >= 1) {
		b->tokens -= 1;
		return 0;
	}
	return (long)((1 - b->tokens) * 1000.0 / rate) + 1;
}

static struct bh_bucket *
bh_user_get(struct bulkhead_set *s, const char *user, const char *pool)
{
	unsigned	 h = bh_hash(user, pool) % BH_USER_BUCKETS;
	struct bh_user	*u;
	size_t		 ul = strlen(user);

	for (u = s->users[h]; u != NULL; u = u->next)
		if (strncmp(u->key, user, ul) == 0 && u->key[ul] == '\t' &&
		    strcmp(u->key + ul + 1, pool) == 0)
			return &u->bucket;
	if ((u = calloc(1, sizeof *u)) == NULL)
		return NULL;
	if ((u->key = malloc(ul + strlen(pool) + 2)) == NULL) {
		free(u);
		return NULL;
	}
	sprintf(u->key, "%s\t%s", user, pool);
	u->bucket.tokens = -1;
	u->next = s->users[h];
	s->users[h] = u;
	return &u->bucket;
}

static int
bh_refuse(struct bulkhead_pool *p, enum bulkhead_reason why, long wait_ms, struct err *e)
{
	int secs = (int)((wait_ms + 999) / 1000);

	metrics_inc(&p->m_rejected[why]);
	p->set->rejections++;
	switch (why) {
	case BH_USER_RATE:
		err_set(e, 429, "user_rate_limited", "you are calling tenant '%s' too often; "
		    "retry in %d s", p->name, secs);
		break;
	case BH_TENANT_RATE:
		err_set(e, 429, "tenant_rate_limited", "tenant '%s' is at its call rate limit; "
		    "retry in %d s", p->name, secs);
		break;
	case BH_UPSTREAM_BACKOFF:
		err_set(e, 429, "upstream_rate_limited", "tenant '%s''s service asked us to "
		    "slow down; retry in %d s", p->name, secs);
		break;
	default:
		err_set(e, 503, "tenant_busy", "tenant '%s' is busy (%d calls running, %d "
		    "waiting); retry in %d s", p->name, p->inflight, p->queued, secs);
		break;
	}
	e->retry_after = secs > 0 ? secs : 1;
	return -1;
}

int
bulkhead_enter(struct bulkhead_set *s, const char *name, const char *user,
    const struct fwdconf *conf, struct bulkhead_slot *slot, struct err *e)
{
	struct bulkhead_pool	*p;
	struct bh_bucket	*ub;
	struct bh_waiter	 w = { coro_self(), 0, NULL };
	long			 now = clock_now_ms(), wait;
	int			 r;

	slot->pool = NULL;
	if ((p = bh_pool_get(s, name)) == NULL)
		return err_set(e, 503, "nomem", "out of memory; retry shortly");
	if (p->backoff_until_ms > now)
		return bh_refuse(p, BH_UPSTREAM_BACKOFF, p->backoff_until_ms - now, e);
	if (user != NULL && conf->user_rate > 0 &&
	    (ub = bh_user_get(s, user, name)) != NULL &&
	    (wait = bh_take(ub, conf->user_rate, conf->user_burst, now)) > 0)
		return bh_refuse(p, BH_USER_RATE, wait, e);
	if ((wait = bh_take(&p->bucket, conf->tenant_rate, conf->tenant_burst, now)) > 0)
		return bh_refuse(p, BH_TENANT_RATE, wait, e);
	if (p->inflight < conf->tenant_max_inflight) {
		p->inflight++;
		metrics_set(&p->m_inflight, (uint64_t)p->inflight);
		slot->pool = p;
		slot->started_ms = now;
		return 0;
	}
	if (p->queued >= conf->tenant_max_queue || w.co == NULL)
		return bh_refuse(p, BH_QUEUE_FULL, 1000, e);

	if (p->qtail != NULL)
		p->qtail->next = &w;
	else
		p->qhead = &w;
	p->qtail = &w;
	p->queued++;
	metrics_set(&p->m_queued, (uint64_t)p->queued);
	r = coro_park((long)conf->tenant_queue_timeout * 1000);
	if (w.granted) {
		slot->pool = p;
		slot->started_ms = clock_now_ms();
		return 0;
	}
	/* Timed out or cancelled: leave the queue (it is short). */
	for (struct bh_waiter **pp = &p->qhead, *prev = NULL; *pp != NULL;
	    prev = *pp, pp = &(*pp)->next) {
		if (*pp != &w)
			continue;
		*pp = w.next;
		if (p->qtail == &w)
			p->qtail = prev;
		break;
	}
	p->queued--;
	metrics_set(&p->m_queued, (uint64_t)p->queued);
	if (r == CORO_CANCELLED)
		return err_set(e, 499, "client_gone", "the caller went away while queued");
	return bh_refuse(p, BH_QUEUE_TIMEOUT, 1000, e);
}

void
bulkhead_leave(struct bulkhead_slot *slot)
{
	struct bulkhead_pool	*p = slot->pool;
	struct bh_waiter	*w;

	if (p == NULL)
		return;
	slot->pool = NULL;
	metrics_observe(&p->latency, (double)(clock_now_ms() - slot->started_ms) / 1000.0);
	if ((w = p->qhead) != NULL) {
		/* Hand the slot over: the queue is first come, first served. */
		p->qhead = w->next;
		if (p->qhead == NULL)
			p->qtail = NULL;
		p->queued--;
		metrics_set(&p->m_queued, (uint64_t)p->queued);
		w->granted = 1;
		coro_wake(w->co, 0);
		return;
	}
	p->inflight--;
	metrics_set(&p->m_inflight, (uint64_t)p->inflight);
}

void
bulkhead_backoff(struct bulkhead_set *s, const char *name, long seconds)
{
	struct bulkhead_pool	*p = bh_pool_get(s, name);
	long			 until;

	if (p == NULL || seconds <= 0)
		return;
	until = clock_now_ms() + seconds * 1000;
	if (until > p->backoff_until_ms)
		p->backoff_until_ms = until;
}

void
bulkhead_sweep(struct bulkhead_set *s, time_t now_s)
{
	long now = clock_now_ms();

	(void)now_s;
	for (size_t i = 0; i < BH_USER_BUCKETS; i++)
		for (struct bh_user **pp = &s->users[i]; *pp != NULL;) {
			struct bh_user *u = *pp;

			if (now - u->bucket.last_ms > BH_USER_IDLE_MS) {
				*pp = u->next;
				free(u->key);
				free(u);
			} else
				pp = &u->next;
		}
}

unsigned long
bulkhead_take_rejections(struct bulkhead_set *s)
{
	unsigned long n = s->rejections;

	s->rejections = 0;
	return n;
}

int
bulkhead_metrics(struct bulkhead_set *s, struct metric ***rows, size_t *nrows,
    struct histogram ***hists, size_t *nhists)
{
	size_t per = 2 + BH__REASONS, n = 0, k = 0;

	*rows = calloc(s->npools * per + 1, sizeof **rows);
	*hists = calloc(s->npools + 1, sizeof **hists);
	if (*rows == NULL || *hists == NULL) {
		free(*rows);
		free(*hists);
		return -1;
	}
	/* Grouped by metric name, as the exposition format wants. */
	for (size_t kind = 0; kind < per; kind++)
		for (size_t i = 0; i < BH_POOL_BUCKETS; i++)
			for (struct bulkhead_pool *p = s->pools[i]; p != NULL; p = p->next)
				(*rows)[n++] = kind == 0 ? &p->m_inflight : kind == 1 ?
				    &p->m_queued : &p->m_rejected[kind - 2];
	for (size_t i = 0; i < BH_POOL_BUCKETS; i++)
		for (struct bulkhead_pool *p = s->pools[i]; p != NULL; p = p->next)
			(*hists)[k++] = &p->latency;
	*nrows = n;
	*nhists = k;
	return 0;
}
