/*
 * keyexpiry: the expiry job's thread, its memory of what it already
 * logged, and the tenantgate_key_expiry_days rows (see keyexpiry.h for
 * why a thread and not the loop).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "keyexpiry.h"
#include "log.h"
#include "store.h"

struct ke_entry {
	struct key_expiry	k;
	int			rank;	/* the most severe threshold logged */
};

struct keyexpiry {
	struct store		*store;
	pthread_t		 thread;
	pthread_mutex_t		 lock;	/* guards everything below */
	pthread_cond_t		 cond;
	int			 kicked, stop;
	struct ke_entry		*v;	/* the last good read */
	size_t			 n;
	int			 failing;	/* the last read failed (logged once) */
};

long
keyexpiry_days(long long expires_at, time_t now)
{
	long long d = expires_at - (long long)now;

	return (long)(d >= 0 ? d / KEYEXPIRY_DAY :
	    -((-d + KEYEXPIRY_DAY - 1) / KEYEXPIRY_DAY));
}

int
keyexpiry_level(long long expires_at, time_t now)
{
	long days;

	if ((long long)now >= expires_at)
		return -1;
	days = keyexpiry_days(expires_at, now);
	if (days <= 1)
		return 1;
	if (days <= 7)
		return 7;
	if (days <= 30)
		return 30;
	return 0;
}

/* Severity order of levels, so "more severe than logged" is a compare. */
static int
keyexpiry_rank(int level)
{
	switch (level) {
	case 30: return 1;
	case 7: return 2;
	case 1: return 3;
	case -1: return 4;
	default: return 0;
	}
}

void
keyexpiry_date(long long expires_at, char *buf, size_t len)
{
	time_t		t = (time_t)expires_at;
	struct tm	tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%d", &tm) == 0)
		snprintf(buf, len, "@%lld", expires_at);
}

void
keyexpiry_label(const char *s, char *out, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len && s[i] != '\0'; i++) {
		char c = s[i];

		out[i] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.') ? c : '_';
	}
	if (len > 0)
		out[i] = '\0';
}

/* One line per threshold crossed, with what to do about it. */
static void
keyexpiry_log(const struct key_expiry *k, int level, time_t now)
{
	char	date[32];
	long	days = keyexpiry_days(k->expires_at, now);

	keyexpiry_date(k->expires_at, date, sizeof date);
	if (level == -1)
		log_errx("key expiry: tenant '%s' integration '%s': its key (version %d) "
		    "EXPIRED on %s; redeems are refused (key_expired) until it is rotated: "
		    "tenantgate-admin key rotate %s %s --expires ...", k->tenant, k->name,
		    k->cred_version, date, k->tenant, k->name);
	else
		log_warnx("key expiry: tenant '%s' integration '%s': its key (version %d) "
		    "expires in %ld day%s, on %s (%d-day warning); rotate it: "
		    "tenantgate-admin key rotate %s %s --expires ...", k->tenant, k->name,
		    k->cred_version, days, days == 1 ? "" : "s", date, level, k->tenant,
		    k->name);
}

/* What the previous read logged for this key version, if it had it. */
static int
keyexpiry_logged(const struct ke_entry *old, size_t n, const struct key_expiry *k)
{
	for (size_t i = 0; i < n; i++)
		if (old[i].k.cred_version == k->cred_version &&
		    strcmp(old[i].k.tenant, k->tenant) == 0 &&
		    strcmp(old[i].k.name, k->name) == 0)
			return old[i].rank;
	return 0;
}

/* One read: outside the lock while PostgreSQL answers; then the new list
 * replaces the old one, carrying over what was logged per key version. */
static void
keyexpiry_run(struct keyexpiry *ke)
{
	struct key_expiry	*rows = NULL;
	struct ke_entry		*v = NULL, *old;
	size_t			 n = 0;
	struct err		 e;
	time_t			 now;
	int			 rank, was;

	err_clear(&e);
	if (store_key_expiries(ke->store, &rows, &n, &e) == -1) {
		pthread_mutex_lock(&ke->lock);
		was = ke->failing;
		ke->failing = 1;
		pthread_mutex_unlock(&ke->lock);
		/* The metric keeps the last good read (its days still count
		 * down at scrape time); one line per outage, not per minute. */
		if (!was)
			log_warnx("key expiry: cannot read the keys' expiry dates, keeping "
			    "the last ones: %s", e.msg);
		return;
	}
	if (n > 0 && (v = calloc(n, sizeof *v)) == NULL) {
		free(rows);
		log_warnx("key expiry: out of memory");
		return;
	}
	now = time(NULL);
	pthread_mutex_lock(&ke->lock);
	for (size_t i = 0; i < n; i++) {
		v[i].k = rows[i];
		was = keyexpiry_logged(ke->v, ke->n, &rows[i]);
		rank = keyexpiry_rank(keyexpiry_level(rows[i].expires_at, now));
		/* Logged under the lock so two reads never both log one
		 * crossing; a line costs no I/O wait worth avoiding. */
		if (rank > was)
			keyexpiry_log(&rows[i], keyexpiry_level(rows[i].expires_at, now), now);
		/* An expiry moved later on the same version (edited by hand)
		 * may cross again, and then says so again. */
		v[i].rank = rank;
	}
	old = ke->v;
	ke->v = v;
	ke->n = n;
	if (ke->failing)
		log_info("key expiry: expiry dates read again (%zu key(s) with one)", n);
	ke->failing = 0;
	pthread_mutex_unlock(&ke->lock);
	free(old);
	free(rows);
}

static void *
keyexpiry_main(void *arg)
{
	struct keyexpiry *ke = arg;

	pthread_mutex_lock(&ke->lock);
	while (!ke->stop) {
		if (!ke->kicked) {
			pthread_cond_wait(&ke->cond, &ke->lock);
			continue;
		}
		ke->kicked = 0;
		pthread_mutex_unlock(&ke->lock);
		keyexpiry_run(ke);
		pthread_mutex_lock(&ke->lock);
	}
	pthread_mutex_unlock(&ke->lock);
	return NULL;
}

struct keyexpiry *
keyexpiry_new(struct store *s, struct err *e)
{
	struct keyexpiry	*ke;
	int			 rc;

	if ((ke = calloc(1, sizeof *ke)) == NULL) {
		err_set(e, 500, "nomem", "out of memory");
		return NULL;
	}
	ke->store = s;
	ke->kicked = 1;		/* the first read at start-up */
	pthread_mutex_init(&ke->lock, NULL);
	pthread_cond_init(&ke->cond, NULL);
	if ((rc = pthread_create(&ke->thread, NULL, keyexpiry_main, ke)) != 0) {
		pthread_mutex_destroy(&ke->lock);
		pthread_cond_destroy(&ke->cond);
		free(ke);
		err_set(e, 500, "internal", "cannot start the key expiry thread: %s",
		    strerror(rc));
		return NULL;
	}
	return ke;
}

void
keyexpiry_kick(struct keyexpiry *ke)
{
	if (ke == NULL)
		return;
	pthread_mutex_lock(&ke->lock);
	ke->kicked = 1;
	pthread_cond_signal(&ke->cond);
	pthread_mutex_unlock(&ke->lock);
}

void
keyexpiry_free(struct keyexpiry *ke)
{
	if (ke == NULL)
		return;
	pthread_mutex_lock(&ke->lock);
	ke->stop = 1;
	pthread_cond_signal(&ke->cond);
	pthread_mutex_unlock(&ke->lock);
	pthread_join(ke->thread, NULL);
	pthread_mutex_destroy(&ke->lock);
	pthread_cond_destroy(&ke->cond);
	free(ke->v);
	free(ke);
}

char *
keyexpiry_metrics(struct keyexpiry *ke, time_t now, size_t *len)
{
	static const char head[] =
	    "# HELP tenantgate_key_expiry_days Days until the tenant key of an "
	    "integration expires (negative once expired; keys without a known "
	    "expiry have no series)\n"
	    "# TYPE tenantgate_key_expiry_days gauge\n";
	const char	*name = "tenantgate_key_expiry_days";
	char		*out, tl[64], il[64];
	size_t		 cap, w;
	int		 k;

	pthread_mutex_lock(&ke->lock);
	/* name + two labels of at most 63 bytes + a value: 256 is plenty. */
	cap = sizeof head + ke->n * 256;
	if ((out = malloc(cap)) == NULL) {
		pthread_mutex_unlock(&ke->lock);
		return NULL;
	}
	memcpy(out, head, sizeof head - 1);
	w = sizeof head - 1;
	for (size_t i = 0; i < ke->n; i++) {
		keyexpiry_label(ke->v[i].k.tenant, tl, sizeof tl);
		keyexpiry_label(ke->v[i].k.name, il, sizeof il);
		k = snprintf(out + w, cap - w, "%s{tenant=\"%s\",integration=\"%s\"} %.6f\n",
		    name, tl, il, (double)(ke->v[i].k.expires_at - (long long)now) /
		    KEYEXPIRY_DAY);
		if (k > 0 && (size_t)k < cap - w)
			w += (size_t)k;
	}
	pthread_mutex_unlock(&ke->lock);
	out[w] = '\0';
	*len = w;
	return out;
}
