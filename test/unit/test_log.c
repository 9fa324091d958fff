/* The log context (log.c): fields are added, never wiped by a later
 * setter; a bound context (a request's) shows on every line of the thread
 * or coroutine it is bound to and on no other; values stay one word. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "clock.h"
#include "coro.h"
#include "log.h"

static char	lines[16][512];
static int	nlines;

static void
capture(enum log_level lvl, const char *line, void *arg)
{
	(void)lvl;
	(void)arg;
	if (nlines < 16)
		snprintf(lines[nlines++], sizeof lines[0], "%s", line);
}

static int
setup(void **state)
{
	(void)state;
	nlines = 0;
	log_init("test", LOG_LVL_DEBUG);
	log_set_sink(capture, NULL);
	log_ctx_bind(NULL);
	log_ctx_clear();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	log_ctx_clear();
	log_ctx_bind(NULL);
	log_set_sink(NULL, NULL);
	return 0;
}

/* The context part of a captured line: what follows "test[info] ". */
static const char *
ctx_of(int i)
{
	const char *p = strstr(lines[i], "] ");

	return p != NULL ? p + 2 : "";
}

static void
test_setters_add(void **state)
{
	(void)state;
	log_ctx_add("req", "%s", "00ab");
	log_ctx_add("user", "%s", "alice@example.com");
	log_info("one");
	log_ctx_add("tenant", "%s", "acme");
	log_info("two");
	/* A second value for a key replaces the first; the rest stay. */
	log_ctx_add("user", "%s", "bob@example.com");
	log_info("three");
	assert_int_equal(nlines, 3);
	assert_string_equal(ctx_of(0), "req=00ab user=alice@example.com one");
	assert_string_equal(ctx_of(1), "req=00ab user=alice@example.com tenant=acme two");
	assert_string_equal(ctx_of(2), "req=00ab tenant=acme user=bob@example.com three");
	/* A key that is the tail of another is another key. */
	log_ctx_clear();
	log_ctx_add("xreq", "1");
	log_ctx_add("req", "2");
	log_info("four");
	assert_string_equal(ctx_of(3), "xreq=1 req=2 four");
}

static void
test_values_stay_one_word(void **state)
{
	char long_value[300];

	(void)state;
	log_ctx_add("user", "%s", "a b=c\td\x1b[31m");
	log_info("x");
	assert_string_equal(ctx_of(0), "user=a_b_c_d?[31m x");
	/* A long value is cut; a field that would not fit is left out whole. */
	memset(long_value, 'v', sizeof long_value - 1);
	long_value[sizeof long_value - 1] = '\0';
	log_ctx_clear();
	log_ctx_add("a", "%s", long_value);
	log_ctx_add("b", "%s", long_value);
	log_ctx_add("c", "%s", long_value);
	log_info("y");
	assert_int_equal(strlen(ctx_of(1)), 2 * (2 + LOG_CTX_VALUE_MAX - 1) + 1 + 2);
	assert_null(strstr(ctx_of(1), "c=v"));
	assert_non_null(strstr(ctx_of(1), "b=v"));
}

static void
test_bind_is_per_request(void **state)
{
	struct log_ctx	 a, b, *prev;

	(void)state;
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	log_ctx_add("task", "loop");
	prev = log_ctx_bind(&a);
	assert_null(prev);
	log_ctx_add("req", "1");
	assert_ptr_equal(log_ctx_bind(&b), &a);
	log_ctx_add("req", "2");
	log_ctx_bind(&a);
	log_ctx_add("user", "u1");
	log_info("in a");
	log_ctx_bind(prev);
	log_info("own");
	assert_string_equal(a.text, "req=1 user=u1");
	assert_string_equal(b.text, "req=2");
	assert_string_equal(ctx_of(0), "req=1 user=u1 in a");
	assert_string_equal(ctx_of(1), "task=loop own");
}

/* A worker fills the request's context; the loop thread writes the
 * summary line from the same context afterwards (as httpd.c does). */
static void *
worker(void *arg)
{
	struct log_ctx *prev = log_ctx_bind(arg);

	log_ctx_add("user", "alice@example.com");
	log_ctx_add("tenant", "acme");
	log_info("handler");
	log_ctx_bind(prev);
	log_info("worker idle");
	return NULL;
}

static void
test_summary_reads_the_requests_context(void **state)
{
	struct log_ctx	 req, *prev;
	pthread_t	 t;

	(void)state;
	snprintf(req.text, sizeof req.text, "req=00ab");
	log_ctx_add("task", "loop");
	assert_int_equal(pthread_create(&t, NULL, worker, &req), 0);
	pthread_join(t, NULL);
	prev = log_ctx_bind(&req);
	log_info("POST /v1/grants -> 200");
	log_ctx_bind(prev);
	log_info("loop");
	assert_int_equal(nlines, 4);
	assert_string_equal(ctx_of(0), "req=00ab user=alice@example.com tenant=acme handler");
	assert_string_equal(ctx_of(1), "worker idle");
	assert_string_equal(ctx_of(2), "req=00ab user=alice@example.com tenant=acme "
	    "POST /v1/grants -> 200");
	assert_string_equal(ctx_of(3), "task=loop loop");
}

/* Two coroutines on one loop, each bound to its own request's context,
 * park in turn: each line carries its own request's fields, and the loop
 * gets its own context back after every switch. */
static struct event_base *base;
static int finished;

static void
co_req(void *arg)
{
	struct log_ctx *lc = arg;

	log_ctx_bind(lc);
	log_info("start");
	assert_int_equal(coro_sleep_ms(20), 0);
	log_ctx_add("tenant", "%c", lc->text[4] == '1' ? 'x' : 'y');
	assert_int_equal(coro_sleep_ms(20), 0);
	log_info("end");
}

static void
co_done(void *arg)
{
	(void)arg;
	finished++;
}

static void
test_coroutines_keep_their_context(void **state)
{
	struct log_ctx	 r1, r2;
	long		 until = clock_now_ms() + 10000;
	int		 ends = 0;

	(void)state;
	base = event_base_new();
	assert_int_equal(coro_init(base), 0);
	snprintf(r1.text, sizeof r1.text, "req=1");
	snprintf(r2.text, sizeof r2.text, "req=2");
	log_ctx_add("task", "loop");
	assert_int_equal(coro_spawn(co_req, co_done, &r1, NULL), 0);
	assert_int_equal(coro_spawn(co_req, co_done, &r2, NULL), 0);
	log_info("between");
	while (finished < 2 && clock_now_ms() < until)
		event_base_loop(base, EVLOOP_ONCE);
	log_info("after");
	coro_shutdown();
	event_base_free(base);
	assert_int_equal(finished, 2);
	assert_int_equal(nlines, 6);
	assert_string_equal(ctx_of(0), "req=1 start");
	assert_string_equal(ctx_of(1), "req=2 start");
	assert_string_equal(ctx_of(2), "task=loop between");
	for (int i = 3; i < 5; i++)
		ends += strcmp(ctx_of(i), "req=1 tenant=x end") == 0 ||
		    strcmp(ctx_of(i), "req=2 tenant=y end") == 0;
	assert_int_equal(ends, 2);
	assert_string_equal(ctx_of(5), "task=loop after");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_setters_add, setup, teardown),
		cmocka_unit_test_setup_teardown(test_values_stay_one_word, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_is_per_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_summary_reads_the_requests_context, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_coroutines_keep_their_context, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
