/*
 * feed: answers for GET /v1/changes and the thread that holds the
 * long-polls (see feed.h for why a thread and not the workers).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "err.h"
#include "feed.h"
#include "httpd.h"
#include "jsonx.h"
#include "log.h"
#include "store.h"

#define FEED_MAX_PARKED		4096	/* long-polls held at once */
#define FEED_POLL_MS		1000	/* safety poll while any is parked */
#define FEED_PRUNE_MS		60000
#define FEED_MEMO		16	/* distinct `since` values per pass */

struct feed_wait {
	struct httpd_req	*r;
	long long		 since;
	long			 deadline_ms;
	unsigned long		 gen;	/* changes up to this were looked for */
	struct feed_wait	*next;
};

struct feed {
	struct store		*store;
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct feed_wait	*waits;
	int			 nwaits;
	unsigned long		 gen;
	int			 retention_s;
	int			 release;	/* answer everything now */
	int			 stop;
};

struct feed_memo {
	long long	 since;
	json_t		*reply;		/* NULL: the query failed (err) */
	int		 news;
	struct err	 err;
};

int
feed_answer(struct store *s, long long since, json_t **reply, int *news, struct err *e)
{
	long long	 head, floor;
	json_t		*events, *seq;
	size_t		 n;
	int		 reset = 0;

	*reply = NULL;
	*news = 0;
	if (store_changes(s, since, FEED_MAX_EVENTS, &head, &floor, &events, e) == -1)
		return err_prefix(e, "the change feed cannot be read");
	n = json_array_size(events);
	if (since == 0 || since > head || (floor > 0 && since < floor - 1)) {
		/* since == 0 asks where the feed is now. Otherwise events
		 * after `since` were pruned (or the client comes from another
		 * database): it must drop everything it cached. A gap left by
		 * a rolled-back transaction below floor can also land here; a
		 * needless reset is safe. */
		reset = since != 0;
		json_array_clear(events);
		seq = json_integer(head);
		*news = 1;
	} else if (n > 0) {
		seq = json_incref(json_object_get(json_array_get(events, n - 1), "seq"));
		*news = 1;
	} else
		seq = json_integer(since);
	*reply = json_pack("{s:o,s:o,s:b}", "seq", seq, "events", events, "reset", reset);
	if (*reply == NULL)
		return err_set(e, 500, "nomem", "out of memory");
	return 0;
}

unsigned long
feed_gen(struct feed *f)
{
	unsigned long g;

	pthread_mutex_lock(&f->lock);
	g = f->gen;
	pthread_mutex_unlock(&f->lock);
	return g;
}

int
feed_park(struct feed *f, struct httpd_req *r, long long since, int wait_s, unsigned long gen)
{
	struct feed_wait *w;

	if ((w = calloc(1, sizeof *w)) == NULL)
		return -1;
	w->r = r;
	w->since = since;
	w->deadline_ms = clock_now_ms() + wait_s * 1000L;
	w->gen = gen;
	pthread_mutex_lock(&f->lock);
	if (f->stop || f->release || f->nwaits >= FEED_MAX_PARKED) {
		pthread_mutex_unlock(&f->lock);
		free(w);
		return -1;
	}
	/* From here on another thread may answer r: park it first. */
	httpd_park(r);
	w->next = f->waits;
	f->waits = w;
	f->nwaits++;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->lock);
	return 0;
}

void
feed_on_change(struct feed *f)
{
	pthread_mutex_lock(&f->lock);
	f->gen++;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

void
feed_release_all(struct feed *f)
{
	pthread_mutex_lock(&f->lock);
	f->release = 1;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

void
feed_set_retention(struct feed *f, int retention_s)
{
	pthread_mutex_lock(&f->lock);
	f->retention_s = retention_s;
	pthread_mutex_unlock(&f->lock);
}

static void
feed_reply_empty(struct feed_wait *w)
{
	httpd_reply_json(w->r, 200, json_pack("{s:I,s:[],s:b}", "seq", (json_int_t)w->since,
	    "events", "reset", 0));
	httpd_resume(w->r);
	free(w);
}

/* One answer per distinct since in a pass; beyond FEED_MEMO, ask again. */
static struct feed_memo *
feed_lookup(struct feed *f, struct feed_memo *memo, int *nmemo, struct feed_memo *spare,
    long long since)
{
	struct feed_memo *m;

	for (int i = 0; i < *nmemo; i++)
		if (memo[i].since == since)
			return &memo[i];
	if (*nmemo < FEED_MEMO)
		m = &memo[(*nmemo)++];
	else {
		json_decref(spare->reply);
		m = spare;
	}
	memset(m, 0, sizeof *m);
	m->since = since;
	err_clear(&m->err);
	if (feed_answer(f->store, since, &m->reply, &m->news, &m->err) == -1)
		m->reply = NULL;
	return m;
}

/* One pass over the detached waits: answer what has news or is due, give
 * the rest back. Runs without the lock. */
static struct feed_wait *
feed_pass(struct feed *f, struct feed_wait *list, unsigned long gen, int poll, int release,
    long now)
{
	struct feed_memo	 memo[FEED_MEMO], spare;
	struct feed_wait	*w, *next, *keep = NULL;
	int			 nmemo = 0;

	memset(&spare, 0, sizeof spare);
	for (w = list; w != NULL; w = next) {
		next = w->next;
		if (w->gen != gen || poll || release) {
			struct feed_memo *m = feed_lookup(f, memo, &nmemo, &spare, w->since);

			if (m->reply == NULL) {
				/* The forwarder must learn that the feed is down. */
				httpd_reply_err(w->r, &m->err);
				httpd_resume(w->r);
				free(w);
				continue;
			}
			if (m->news) {
				httpd_reply_json(w->r, 200, json_incref(m->reply));
				httpd_resume(w->r);
				free(w);
				continue;
			}
			w->gen = gen;
		}
		if (release || now >= w->deadline_ms) {
			feed_reply_empty(w);
			continue;
		}
		w->next = keep;
		keep = w;
	}
	for (int i = 0; i < nmemo; i++)
		json_decref(memo[i].reply);
	json_decref(spare.reply);
	return keep;
}

/* When the thread next has something to do, given the waits. */
static long
feed_due(struct feed *f, long now, long next_poll, long next_prune)
{
	long due = next_prune;

	if (f->release && f->waits != NULL)
		return now;
	if (f->waits != NULL && next_poll < due)
		due = next_poll;
	for (struct feed_wait *w = f->waits; w != NULL; w = w->next) {
		if (w->gen != f->gen)
			return now;
		if (w->deadline_ms < due)
			due = w->deadline_ms;
	}
	return due;
}

static void
feed_prune(struct feed *f, int retention_s)
{
	struct err	e;
	int		n;

	err_clear(&e);
	if ((n = store_changes_prune(f->store, retention_s, &e)) == -1)
		log_warnx("change feed: pruning events older than %ds: %s", retention_s, e.msg);
	else if (n > 0)
		log_info("change feed: pruned %d event(s) older than %ds", n, retention_s);
}

static void *
feed_main(void *arg)
{
	struct feed		*f = arg;
	struct feed_wait	*list, *keep, *tail;
	long			 now, due, next_poll, next_prune;
	unsigned long		 gen;
	int			 poll, prune, release, retention;

	now = clock_now_ms();
	next_poll = now + FEED_POLL_MS;
	next_prune = now;	/* once at start, then every minute */
	pthread_mutex_lock(&f->lock);
	while (!f->stop) {
		now = clock_now_ms();
		if ((due = feed_due(f, now, next_poll, next_prune)) > now) {
			struct timespec ts;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += (due - now) / 1000;
			ts.tv_nsec += ((due - now) % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			(void)pthread_cond_timedwait(&f->cond, &f->lock, &ts);
			continue;
		}
		list = f->waits;
		f->waits = NULL;
		f->nwaits = 0;
		gen = f->gen;
		release = f->release;
		retention = f->retention_s;
		poll = now >= next_poll;
		prune = now >= next_prune;
		pthread_mutex_unlock(&f->lock);

		if (poll)
			next_poll = now + FEED_POLL_MS;
		if (prune) {
			next_prune = now + FEED_PRUNE_MS;
			feed_prune(f, retention);
		}
		keep = feed_pass(f, list, gen, poll, release, now);

		pthread_mutex_lock(&f->lock);
		if (keep != NULL) {
			int n = 1;

			for (tail = keep; tail->next != NULL; tail = tail->next)
				n++;
			tail->next = f->waits;
			f->waits = keep;
			f->nwaits += n;
		}
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

struct feed *
feed_new(struct store *s, int retention_s, struct err *e)
{
	struct feed		*f;
	pthread_condattr_t	 ca;
	int			 rc;

	if ((f = calloc(1, sizeof *f)) == NULL) {
		err_set(e, 500, "nomem", "out of memory");
		return NULL;
	}
	f->store = s;
	f->retention_s = retention_s;
	pthread_mutex_init(&f->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cond, &ca);
	pthread_condattr_destroy(&ca);
	if ((rc = pthread_create(&f->thread, NULL, feed_main, f)) != 0) {
		pthread_mutex_destroy(&f->lock);
		pthread_cond_destroy(&f->cond);
		free(f);
		err_set(e, 500, "internal", "cannot start the change feed thread: %s",
		    strerror(rc));
		return NULL;
	}
	return f;
}

void
feed_free(struct feed *f)
{
	struct feed_wait *w, *next;

	if (f == NULL)
		return;
	pthread_mutex_lock(&f->lock);
	f->stop = 1;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->lock);
	pthread_join(f->thread, NULL);
	for (w = f->waits; w != NULL; w = next) {
		next = w->next;
		feed_reply_empty(w);
	}
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->cond);
	free(f);
}
