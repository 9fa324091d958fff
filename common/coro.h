/*
 * coro: stackful coroutines on one event loop thread.
 *
 * Why: a request handler that calls an upstream (the broker, Atlassian, a
 * tenant's MCP backend) used to hold a worker thread for the whole call, so
 * a few hung upstreams of one tenant stalled every tenant. Here each request
 * runs in a coroutine on the loop thread; a call that would block parks the
 * coroutine (a socket and a timer held, never a thread) and the loop runs
 * everyone else. The handler code stays linear, as in Tarantool's fibers.
 *
 * Rules: only the thread that called coro_init() runs its coroutines; a
 * coroutine never holds a pthread mutex across coro_park(); every wake-up
 * is deferred to the loop (no resume from inside a libcurl or libevent
 * callback), so nothing re-enters.
 */
#ifndef TG_CORO_H
#define TG_CORO_H

#include <limits.h>

struct coro;
struct event_base;

/* What coro_park() returns besides the value given to coro_wake(). */
#define CORO_TIMEDOUT	(-110)		/* its timeout or the deadline passed */
#define CORO_CANCELLED	(-125)		/* coro_cancel(): the client went away */

#define CORO_STACK_SIZE	(256 * 1024)

/* This thread's scheduler, on this loop. 0, or -1 on ENOMEM. */
int		 coro_init(struct event_base *);
/* Free the scheduler (no coroutine may be alive). */
void		 coro_shutdown(void);

/* Start fn(arg) in a new coroutine; when fn returns, done(arg) runs on the
 * loop's own stack (free what the coroutine used there). *handle (if not
 * NULL) is set before fn starts, since fn may finish before this returns.
 * Called from the loop stack, fn runs at once until it first parks.
 * 0, or -1 on ENOMEM (fn did not run). */
int		 coro_spawn(void (*fn)(void *), void (*done)(void *), void *arg,
		    struct coro **handle);

/* The running coroutine, or NULL on the loop's own stack or another thread. */
struct coro	*coro_self(void);

/* Park the running coroutine until coro_wake(), its timeout (ms, < 0 for
 * none) or its deadline. Returns the woken value, CORO_TIMEDOUT or
 * CORO_CANCELLED. A cancelled coroutine returns CORO_CANCELLED at once. */
int		 coro_park(long timeout_ms);
/* Resume a parked coroutine with value on the next loop turn. The first
 * wake wins; a coroutine that is not parked is left alone. */
void		 coro_wake(struct coro *, int value);
/* Mark cancelled and wake it if parked: every later park fails at once. */
void		 coro_cancel(struct coro *);

/* Sleep ms in the running coroutine: 0 when the time passed, -1 when the
 * deadline or a cancel came first. */
int		 coro_sleep_ms(long ms);

/* An absolute deadline (clock_now_ms() scale) for everything the running
 * coroutine does from now on; 0 clears it. */
void		 coro_set_deadline(long deadline_ms);
/* The running coroutine's deadline, 0 for none (to restore it later). */
long		 coro_deadline(void);
/* Milliseconds left before the running coroutine's deadline: LONG_MAX with
 * none (or outside a coroutine), 0 once passed. */
long		 coro_remaining_ms(void);

/* How many coroutines are alive on this thread (for metrics). */
int		 coro_count(void);

#endif
