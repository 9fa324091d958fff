/* Coroutines on a loop (coro.c) and libcurl's multi interface on that loop
 * (evcurl.c, through httpc_do): parking, waking, sleeping, deadlines,
 * cancelling, and a hung upstream that holds a coroutine, not the loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "clock.h"
#include "coro.h"
#include "err.h"
#include "evcurl.h"
#include "httpc.h"
#include "testsrv.h"

static struct event_base *base;
static int finished;
static char order[64];

static void
note(char c)
{
	size_t n = strlen(order);

	order[n] = c;
	order[n + 1] = '\0';
}

static void
done(void *arg)
{
	(void)arg;
	finished++;
}

static int
setup(void **state)
{
	(void)state;
	base = event_base_new();
	finished = 0;
	order[0] = '\0';
	return coro_init(base) == 0 && evcurl_init(base) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	evcurl_shutdown();
	coro_shutdown();
	event_base_free(base);
	return 0;
}

static void
run_until_done(int n)
{
	long until = clock_now_ms() + 10000;

	while (finished < n && clock_now_ms() < until)
		event_base_loop(base, EVLOOP_ONCE);
}

static void
sleeper(void *arg)
{
	note(*(char *)arg);
	assert_int_equal(coro_sleep_ms(30), 0);
	note((char)(*(char *)arg - 'a' + 'A'));
}

static void
test_sleeps_interleave(void **state)
{
	static char a = 'a', b = 'b';

	(void)state;
	assert_int_equal(coro_spawn(sleeper, done, &a, NULL), 0);
	assert_int_equal(coro_spawn(sleeper, done, &b, NULL), 0);
	/* both started before either finished: nobody blocked the loop */
	assert_string_equal(order, "ab");
	assert_null(coro_self());
	run_until_done(2);
	assert_int_equal(finished, 2);
	assert_string_equal(order, "abAB");
	assert_int_equal(coro_count(), 0);
}

static struct coro *parked;

static void
waiter(void *arg)
{
	*(int *)arg = coro_park(-1);
}

static void
test_wake_and_cancel(void **state)
{
	int v1 = 0, v2 = 0;

	(void)state;
	assert_int_equal(coro_spawn(waiter, done, &v1, &parked), 0);
	coro_wake(parked, 7);
	coro_wake(parked, 8);		/* the first wake wins */
	run_until_done(1);
	assert_int_equal(v1, 7);
	assert_int_equal(coro_spawn(waiter, done, &v2, &parked), 0);
	coro_cancel(parked);
	run_until_done(2);
	assert_int_equal(v2, CORO_CANCELLED);
}

static void
deadline_sleeper(void *arg)
{
	long t0 = clock_now_ms();

	coro_set_deadline(t0 + 50);
	*(int *)arg = coro_sleep_ms(5000);
	assert_true(clock_now_ms() - t0 < 1000);
	assert_int_equal(coro_remaining_ms(), 0);
}

static void
test_deadline_cuts_a_sleep(void **state)
{
	int r = 0;

	(void)state;
	assert_int_equal(coro_spawn(deadline_sleeper, done, &r, NULL), 0);
	run_until_done(1);
	assert_int_equal(r, -1);
}

/* An upstream that never answers. */
static void
hang(int fd)
{
	char buf[4096];

	if (read(fd, buf, sizeof buf) < 0)
		return;
	usleep(1500 * 1000);
}

static int hung_port;

/* GET the hung server with a timeout; the error code it ended with. */
static int
get_hung(long timeout_ms, char code[32])
{
	struct httpc_req	req;
	struct httpc_resp	resp;
	struct err		e;
	char			url[64];
	int			rc;

	snprintf(url, sizeof url, "http://127.0.0.1:%d/", hung_port);
	memset(&req, 0, sizeof req);
	req.url = url;
	req.timeout_ms = timeout_ms;
	err_clear(&e);
	rc = httpc_do(&req, &resp, &e);
	snprintf(code, 32, "%s", e.code);
	httpc_resp_free(&resp);
	return rc;
}

static void
hung_call(void *arg)
{
	char code[32];

	*(int *)arg = get_hung(300, code);
	assert_string_equal(code, "upstream_timeout");
	note('h');
}

static void
quick(void *arg)
{
	(void)arg;
	assert_int_equal(coro_sleep_ms(10), 0);
	note('q');
}

static void
test_hung_upstream_parks_only_its_coroutine(void **state)
{
	struct testsrv	srv;
	int		rc = 0;

	(void)state;
	assert_int_equal(testsrv_start(&srv, hang), 0);
	hung_port = srv.port;
	assert_int_equal(coro_spawn(hung_call, done, &rc, NULL), 0);
	assert_int_equal(coro_spawn(quick, done, NULL, NULL), 0);
	run_until_done(2);
	assert_int_equal(rc, -1);
	/* the quick one finished first, while the other waited on the socket */
	assert_string_equal(order, "qh");
	testsrv_stop(&srv);
}

static void
cancelled_call(void *arg)
{
	char code[32];

	*(int *)arg = get_hung(5000, code);
	assert_string_equal(code, "client_gone");
}

static void
test_cancel_stops_a_transfer(void **state)
{
	struct testsrv	srv;
	int		rc = 0;
	long		t0 = clock_now_ms();

	(void)state;
	assert_int_equal(testsrv_start(&srv, hang), 0);
	hung_port = srv.port;
	assert_int_equal(coro_spawn(cancelled_call, done, &rc, &parked), 0);
	event_base_loop(base, EVLOOP_NONBLOCK);
	coro_cancel(parked);
	run_until_done(1);
	assert_int_equal(rc, -1);
	assert_true(clock_now_ms() - t0 < 1000);
	testsrv_stop(&srv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sleeps_interleave, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wake_and_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadline_cuts_a_sleep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hung_upstream_parks_only_its_coroutine,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_stops_a_transfer, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
