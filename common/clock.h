/*
 * clock: monotonic milliseconds and retry jitter, shared by everything
 * that waits, backs off or times out (httpc, vault, store).
 */
#ifndef TG_CLOCK_H
#define TG_CLOCK_H

long	clock_now_ms(void);	/* CLOCK_MONOTONIC */
/* Uniform in [ms/2, ms]: spreads the retries of many clients apart. */
long	clock_jitter(long ms);
void	clock_sleep_ms(long ms);	/* restarts after EINTR */

#endif
