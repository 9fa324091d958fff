/*
 * janitor: periodic and on-demand background jobs for a daemon with one
 * libevent loop. The loop's timers (and signal handlers, and request
 * threads) only *kick* a job; a small pool of worker threads runs it, so
 * PostgreSQL, Vault, file and network I/O never hold the loop, and no
 * request ever runs or sleeps out periodic work.
 *
 * A job never runs twice at once. Kicks coalesce: however often a slow
 * job is kicked while it is queued or running, it runs at most once more
 * afterwards, so copies never pile up. Jobs that share a nonzero `group`
 * never run at the same time either (they touch the same state).
 */
#ifndef TG_JANITOR_H
#define TG_JANITOR_H

struct err;
struct event_base;
struct janitor;
struct janitor_job;

#define JANITOR_JOBS_MAX	16

/* A job's work. Returns 0, or the milliseconds after which it wants one
 * more run (a back-off, say) on top of its period and kicks. */
typedef long	(*janitor_fn)(void *arg);

/* Starts nthreads workers. base may be NULL (no timers: jobs run only
 * when kicked; for tests). NULL with e. */
struct janitor		*janitor_new(struct event_base *, int nthreads, struct err *);
/* A job, run every every_ms (0: only when kicked or asked for by its own
 * return value). Loop thread, before or after the loop started. NULL when
 * full or out of memory. name is kept (a string constant). */
struct janitor_job	*janitor_add(struct janitor *, const char *name, int group,
			    janitor_fn, void *arg, long every_ms);
/* Run the job soon. Any thread; never blocks on the job. NULL is fine. */
void			 janitor_kick(struct janitor_job *);
/* Stop: no new runs start, queued ones are dropped, a run in progress
 * finishes (its own I/O timeouts bound that), the workers are joined and
 * the timers freed. Call on the loop thread once the loop is done with
 * them (after event_base_dispatch returned). NULL is fine. */
void			 janitor_free(struct janitor *);

/* Completed runs of a job (for tests and logs). */
unsigned long		 janitor_runs(struct janitor_job *);
/* Wait until the job is neither queued nor running, at most ms; 0 when
 * idle. For tests. */
int			 janitor_wait_idle(struct janitor_job *, long ms);

#endif
