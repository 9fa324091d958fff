/*
 * clock: monotonic milliseconds and retry jitter, shared by everything
 * that waits, backs off or times out (httpc, vault, store).
 */
#ifndef TG_CLOCK_H
#define TG_CLOCK_H

#include <time.h>

long	clock_now_ms(void);	/* CLOCK_MONOTONIC */
/* Uniform in [ms/2, ms]: spreads the retries of many clients apart. */
long	clock_jitter(long ms);
void	clock_sleep_ms(long ms);	/* restarts after EINTR */
/*
 * A thread that answers requests never sleeps: httpd's workers call
 * clock_forbid_sleep() once, and code that would back off (httpc's retry)
 * asks clock_may_sleep() and retries at once instead. A coroutine parks
 * rather than sleeps, so it may.
 */
void	clock_forbid_sleep(void);
int	clock_may_sleep(void);
/* now + ms on clock id, for pthread_cond_timedwait() (a condvar set to
 * that clock with pthread_condattr_setclock()). */
void	clock_deadline(clockid_t id, long ms, struct timespec *out);

#endif
