/*
 * janitor: the job table, its worker threads and the loop-side timers
 * that kick them (see janitor.h for why the loop only kicks). One mutex
 * guards every job's flags; a job's own work runs outside it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>

#include "clock.h"
#include "err.h"
#include "janitor.h"
#include "log.h"

#define JANITOR_THREADS_MAX	8

struct janitor_job {
	struct janitor	*j;
	const char	*name;
	int		 group;
	janitor_fn	 fn;
	void		*arg;
	struct event	*tick;		/* every_ms, persistent; NULL without */
	struct event	*later;		/* the run a job's return value asks for */
	int		 queued;	/* kicked, not started yet */
	unsigned long	 queued_seq;	/* order of the kick, for fairness */
	int		 running;
	unsigned long	 runs;
};

struct janitor {
	struct event_base	*base;
	pthread_mutex_t		 lock;
	pthread_cond_t		 work;	/* a job was queued, or stop */
	pthread_cond_t		 idle;	/* a run ended */
	int			 stop;
	unsigned long		 seq;
	struct janitor_job	 jobs[JANITOR_JOBS_MAX];
	int			 njobs;
	pthread_t		 threads[JANITOR_THREADS_MAX];
	int			 nthreads;
};

/* Runnable: queued, not running, and nothing of its group running. The
 * longest queued first, so a job kicked while it runs cannot starve
 * another of its group. */
static struct janitor_job *
janitor_next(struct janitor *j)
{
	struct janitor_job *best = NULL;

	for (int i = 0; i < j->njobs; i++) {
		struct janitor_job *jb = &j->jobs[i];
		int busy = jb->running;

		for (int k = 0; k < j->njobs && !busy && jb->group != 0; k++)
			busy = j->jobs[k].group == jb->group && j->jobs[k].running;
		if (jb->queued && !busy && (best == NULL || jb->queued_seq < best->queued_seq))
			best = jb;
	}
	return best;
}

static void *
janitor_main(void *arg)
{
	struct janitor		*j = arg;
	struct janitor_job	*jb;
	long			 again;

	pthread_mutex_lock(&j->lock);
	while (!j->stop) {
		if ((jb = janitor_next(j)) == NULL) {
			pthread_cond_wait(&j->work, &j->lock);
			continue;
		}
		jb->queued = 0;
		jb->running = 1;
		pthread_mutex_unlock(&j->lock);
		again = jb->fn(jb->arg);
		pthread_mutex_lock(&j->lock);
		jb->running = 0;
		jb->runs++;
		if (again > 0 && jb->later != NULL && !j->stop) {
			struct timeval tv = { again / 1000, (again % 1000) * 1000 };

			/* The base is thread-aware (daemon_base_new()). */
			evtimer_add(jb->later, &tv);
		}
		/* Its group may hold back another queued job: wake all. */
		pthread_cond_broadcast(&j->work);
		pthread_cond_broadcast(&j->idle);
	}
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

struct janitor *
janitor_new(struct event_base *base, int nthreads, struct err *e)
{
	struct janitor		*j;
	pthread_condattr_t	 ca;

	if (nthreads < 1 || nthreads > JANITOR_THREADS_MAX) {
		err_set(e, 500, "bad_config", "janitor: 1 to %d threads", JANITOR_THREADS_MAX);
		return NULL;
	}
	if ((j = calloc(1, sizeof *j)) == NULL) {
		err_set(e, 500, "nomem", "out of memory");
		return NULL;
	}
	j->base = base;
	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->work, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&j->idle, &ca);
	pthread_condattr_destroy(&ca);
	for (; j->nthreads < nthreads; j->nthreads++) {
		if (pthread_create(&j->threads[j->nthreads], NULL, janitor_main, j) != 0) {
			err_set(e, 500, "nomem", "janitor: cannot start a thread");
			janitor_free(j);
			return NULL;
		}
	}
	return j;
}

static void
janitor_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	janitor_kick(arg);
}

struct janitor_job *
janitor_add(struct janitor *j, const char *name, int group, janitor_fn fn, void *arg,
    long every_ms)
{
	struct janitor_job	*jb;
	struct timeval		 tv = { every_ms / 1000, (every_ms % 1000) * 1000 };

	pthread_mutex_lock(&j->lock);
	if (j->njobs == JANITOR_JOBS_MAX) {
		pthread_mutex_unlock(&j->lock);
		return NULL;
	}
	jb = &j->jobs[j->njobs];
	jb->j = j;
	jb->name = name;
	jb->group = group;
	jb->fn = fn;
	jb->arg = arg;
	if (j->base != NULL) {
		if ((jb->later = evtimer_new(j->base, janitor_tick, jb)) == NULL ||
		    (every_ms > 0 && ((jb->tick = event_new(j->base, -1, EV_PERSIST,
		    janitor_tick, jb)) == NULL || evtimer_add(jb->tick, &tv) == -1))) {
			if (jb->later != NULL)
				event_free(jb->later);
			if (jb->tick != NULL)
				event_free(jb->tick);
			jb->later = jb->tick = NULL;
			pthread_mutex_unlock(&j->lock);
			return NULL;
		}
	}
	j->njobs++;
	pthread_mutex_unlock(&j->lock);
	return jb;
}

void
janitor_kick(struct janitor_job *jb)
{
	struct janitor *j;

	if (jb == NULL)
		return;
	j = jb->j;
	pthread_mutex_lock(&j->lock);
	if (!jb->queued && !j->stop) {
		jb->queued = 1;
		jb->queued_seq = ++j->seq;
		pthread_cond_broadcast(&j->work);
	}
	pthread_mutex_unlock(&j->lock);
}

unsigned long
janitor_runs(struct janitor_job *jb)
{
	unsigned long n;

	pthread_mutex_lock(&jb->j->lock);
	n = jb->runs;
	pthread_mutex_unlock(&jb->j->lock);
	return n;
}

int
janitor_wait_idle(struct janitor_job *jb, long ms)
{
	struct janitor	*j = jb->j;
	struct timespec	 until;
	int		 rc = 0;

	clock_deadline(CLOCK_MONOTONIC, ms, &until);
	pthread_mutex_lock(&j->lock);
	while ((jb->queued || jb->running) && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&j->idle, &j->lock, &until);
	rc = jb->queued || jb->running ? -1 : 0;
	pthread_mutex_unlock(&j->lock);
	return rc;
}

void
janitor_free(struct janitor *j)
{
	if (j == NULL)
		return;
	pthread_mutex_lock(&j->lock);
	j->stop = 1;
	for (int i = 0; i < j->njobs; i++) {
		if (j->jobs[i].queued)
			log_debug("janitor: %s dropped at shutdown", j->jobs[i].name);
		j->jobs[i].queued = 0;
	}
	pthread_cond_broadcast(&j->work);
	pthread_mutex_unlock(&j->lock);
	for (int i = 0; i < j->nthreads; i++)
		pthread_join(j->threads[i], NULL);
	for (int i = 0; i < j->njobs; i++) {
		if (j->jobs[i].tick != NULL)
			event_free(j->jobs[i].tick);
		if (j->jobs[i].later != NULL)
			event_free(j->jobs[i].later);
	}
	pthread_cond_destroy(&j->work);
	pthread_cond_destroy(&j->idle);
	pthread_mutex_destroy(&j->lock);
	free(j);
}
