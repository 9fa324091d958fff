/* clock: monotonic time, jitter and sleeping. */
#include <errno.h>
#include <stdint.h>
#include <time.h>

#include <openssl/rand.h>

#include "clock.h"
#include "coro.h"

long
clock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long
clock_jitter(long ms)
{
	uint32_t r;

	if (ms < 2)
		return ms;
	if (RAND_bytes((unsigned char *)&r, sizeof r) != 1)
		r = (uint32_t)clock_now_ms();
	return ms / 2 + (long)(r % (uint32_t)(ms / 2 + 1));
}

static _Thread_local int clock_no_sleep;

void
clock_forbid_sleep(void)
{
	clock_no_sleep = 1;
}

int
clock_may_sleep(void)
{
	return !clock_no_sleep || coro_self() != NULL;
}

void
clock_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	/* In a coroutine, sleeping parks it instead of the whole loop. */
	if (coro_self() != NULL) {
		coro_sleep_ms(ms);
		return;
	}
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

void
clock_deadline(clockid_t id, long ms, struct timespec *out)
{
	clock_gettime(id, out);
	out->tv_sec += ms / 1000;
	out->tv_nsec += (ms % 1000) * 1000000L;
	if (out->tv_nsec >= 1000000000L) {
		out->tv_sec++;
		out->tv_nsec -= 1000000000L;
	}
}
