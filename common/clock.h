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
/* now + ms on clock id, for pthread_cond_timedwait() (a condvar set to
 * that clock with pthread_condattr_setclock()). */
void	clock_deadline(clockid_t id, long ms, struct timespec *out);

#endif
