/*
 * janitor (common/janitor.c): a job never runs twice at once, kicks
 * coalesce (a slow job does not pile up copies), jobs of one group never
 * overlap, timers and a job's "again in" drive runs, and a stop waits for
 * the run in progress and drops queued ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "daemon.h"
#include "err.h"
#include "janitor.h"

struct probe {
	atomic_int	*inside;	/* runs in progress (shared by a group) */
	atomic_int	 max_inside;
	atomic_int	 runs;
	long		 sleep_ms;
	long		 again_ms;	/* returned while runs < again_until */
	int		 again_until;
};

static void
nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static long
probe_run(void *arg)
{
	struct probe	*p = arg;
	int		 now = atomic_fetch_add(p->inside, 1) + 1;
	int		 max = atomic_load(&p->max_inside);

	while (now > max && !atomic_compare_exchange_weak(&p->max_inside, &max, now))
		;
	nap(p->sleep_ms);
	atomic_fetch_sub(p->inside, 1);
	return atomic_fetch_add(&p->runs, 1) + 1 < p->again_until ? p->again_ms : 0;
}

struct kicker {
	struct janitor_job	*job;
	int			 n;
};

static void *
kicker_run(void *arg)
{
	struct kicker *k = arg;

	for (int i = 0; i < k->n; i++) {
		janitor_kick(k->job);
		nap(1);
	}
	return NULL;
}

static void
test_no_double_runs_and_kicks_coalesce(void **state)
{
	atomic_int		 inside = 0;
	struct probe		 p = { .inside = &inside, .sleep_ms = 20 };
	struct kicker		 k;
	pthread_t		 th[4];
	struct janitor		*j;
	struct janitor_job	*jb;
	struct err		 e;

	assert_non_null(j = janitor_new(NULL, 4, &e));
	assert_non_null(jb = janitor_add(j, "probe", 0, probe_run, &p, 0));
	k.job = jb;
	k.n = 50;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, kicker_run, &k), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(janitor_wait_idle(jb, 5000), 0);
	/* Four idle workers, 200 kicks: never two runs at once, and far
	 * fewer runs than kicks (each run took 20 ms, kicks came every 1). */
	assert_int_equal(atomic_load(&p.max_inside), 1);
	assert_true(atomic_load(&p.runs) >= 1);
	assert_true(atomic_load(&p.runs) < 100);
	assert_int_equal(janitor_runs(jb), (unsigned long)atomic_load(&p.runs));

	/* Kicked ten times while it runs: exactly one more run after. */
	atomic_store(&p.runs, 0);
	p.sleep_ms = 200;
	janitor_kick(jb);
	nap(50);
	for (int i = 0; i < 10; i++)
		janitor_kick(jb);
	assert_int_equal(janitor_wait_idle(jb, 5000), 0);
	assert_int_equal(atomic_load(&p.runs), 2);
	janitor_free(j);
}

static void
test_group_never_overlaps(void **state)
{
	atomic_int		 inside = 0, other = 0;
	struct probe		 a = { .inside = &inside, .sleep_ms = 30 };
	struct probe		 b = { .inside = &inside, .sleep_ms = 30 };
	struct probe		 c = { .inside = &other, .sleep_ms = 200 };
	struct janitor_job	*ja, *jb, *jc;
	struct janitor		*j;
	struct err		 e;

	assert_non_null(j = janitor_new(NULL, 3, &e));
	assert_non_null(ja = janitor_add(j, "a", 1, probe_run, &a, 0));
	assert_non_null(jb = janitor_add(j, "b", 1, probe_run, &b, 0));
	assert_non_null(jc = janitor_add(j, "slow", 0, probe_run, &c, 0));
	janitor_kick(jc);	/* a slow job elsewhere holds back neither */
	for (int i = 0; i < 5; i++) {
		janitor_kick(ja);
		janitor_kick(jb);
		nap(20);
	}
	assert_int_equal(janitor_wait_idle(ja, 5000), 0);
	assert_int_equal(janitor_wait_idle(jb, 5000), 0);
	/* a and b share `inside`: one of the group at a time. */
	assert_int_equal(atomic_load(&a.max_inside), 1);
	assert_int_equal(atomic_load(&b.max_inside), 1);
	assert_true(atomic_load(&a.runs) >= 2 && atomic_load(&b.runs) >= 2);
	janitor_free(j);
	assert_int_equal(atomic_load(&c.runs), 1);
}

static void
test_stop_waits_for_the_run_and_drops_the_queue(void **state)
{
	atomic_int		 inside = 0;
	struct probe		 p = { .inside = &inside, .sleep_ms = 300 };
	struct janitor		*j;
	struct janitor_job	*jb;
	struct err		 e;
	struct timespec		 t0, t1;

	assert_non_null(j = janitor_new(NULL, 2, &e));
	assert_non_null(jb = janitor_add(j, "slow", 0, probe_run, &p, 0));
	janitor_kick(jb);
	nap(50);
	janitor_kick(jb);	/* queued behind the run: dropped by the stop */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	janitor_free(j);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* The run in progress finished (not cut off), the queued one never
	 * started, and the stop took about the rest of the run. */
	assert_int_equal(atomic_load(&p.runs), 1);
	assert_int_equal(atomic_load(&inside), 0);
	assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 >= 150);
	janitor_kick(NULL);
	janitor_free(NULL);
}

static void
loop_for(struct event_base *base, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static void
test_timers_kick_on_the_loop(void **state)
{
	atomic_int		 inside = 0, inside2 = 0;
	struct probe		 every = { .inside = &inside };
	struct probe		 again = { .inside = &inside2, .again_ms = 30, .again_until = 3 };
	struct event_base	*base = daemon_base_new();
	struct janitor_job	*je, *ja;
	struct janitor		*j;
	struct err		 e;

	assert_non_null(base);
	assert_non_null(j = janitor_new(base, 2, &e));
	assert_non_null(je = janitor_add(j, "every", 0, probe_run, &every, 50));
	assert_non_null(ja = janitor_add(j, "again", 0, probe_run, &again, 0));
	janitor_kick(ja);
	loop_for(base, 400);
	/* Every 50 ms for 400 ms; the other asked twice for one more run. */
	assert_true(atomic_load(&every.runs) >= 4);
	assert_int_equal(atomic_load(&again.runs), 3);
	janitor_free(j);
	event_base_free(base);
}

static void
test_full_table(void **state)
{
	atomic_int		 inside = 0;
	struct probe		 p = { .inside = &inside };
	struct janitor		*j;
	struct err		 e;

	assert_null(janitor_new(NULL, 0, &e));
	assert_non_null(j = janitor_new(NULL, 1, &e));
	for (int i = 0; i < JANITOR_JOBS_MAX; i++)
		assert_non_null(janitor_add(j, "p", 0, probe_run, &p, 0));
	assert_null(janitor_add(j, "one too many", 0, probe_run, &p, 0));
	janitor_free(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_double_runs_and_kicks_coalesce),
		cmocka_unit_test(test_group_never_overlaps),
		cmocka_unit_test(test_stop_waits_for_the_run_and_drops_the_queue),
		cmocka_unit_test(test_timers_kick_on_the_loop),
		cmocka_unit_test(test_full_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
