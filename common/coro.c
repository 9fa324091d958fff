/*
 * coro: the scheduler behind coro.h. Each loop thread has one; it owns the
 * run queue (coroutines woken this turn), a pool of stacks and the context
 * of the loop's own stack. Switching is ucontext; under AddressSanitizer
 * every switch is announced so ASan knows which stack is live.
 */
#include <sys/mman.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock.h"
#include "coro.h"
#include "log.h"

#if defined(__SANITIZE_ADDRESS__)
#define CORO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CORO_ASAN 1
#endif
#endif
#ifdef CORO_ASAN
#include <sanitizer/common_interface_defs.h>
#define ASAN_START(save, bottom, size) __sanitizer_start_switch_fiber(save, bottom, size)
#define ASAN_FINISH(save, bottom, size) __sanitizer_finish_switch_fiber(save, bottom, size)
#else
#define ASAN_START(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#define ASAN_FINISH(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#endif

#define CORO_STACK_POOL	64

struct coro {
	ucontext_t	 ctx;
	char		*map;		/* guard page + stack */
	size_t		 map_len;
	void		(*fn)(void *);
	void		(*done)(void *);
	void		*arg;
	int		 parked;
	int		 wake_queued;
	int		 wake_value;
	int		 cancelled;
	int		 finished;
	long		 deadline;
	struct event	*timer;
	void		*asan_fake;
	struct log_ctx	 logctx;
	/* What it had bound when it last parked (its own logctx, or the
	 * context of the request it runs), bound again when it resumes. */
	struct log_ctx	*logbound;
	struct coro	*run_next;
};

struct coro_sched {
	struct event_base *base;
	ucontext_t	 main_ctx;
	struct coro	*cur;
	struct coro	*runq_head, *runq_tail;
	struct event	*run_ev;
	int		 alive;
	char		*pool[CORO_STACK_POOL];
	int		 npool;
	const void	*main_bottom;
	size_t		 main_size;
};

static _Thread_local struct coro_sched *sched;

static size_t
coro_page(void)
{
	long p = sysconf(_SC_PAGESIZE);

	return p > 0 ? (size_t)p : 4096;
}

static char *
coro_stack_get(size_t *len)
{
	char *m;

	*len = CORO_STACK_SIZE + coro_page();
	if (sched->npool > 0)
		return sched->pool[--sched->npool];
	m = mmap(NULL, *len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	/* A guard page below the stack: an overflow faults, never corrupts. */
	if (mprotect(m, coro_page(), PROT_NONE) == -1) {
		munmap(m, *len);
		return NULL;
	}
	return m;
}

static void
coro_stack_put(char *m, size_t len)
{
	if (sched != NULL && sched->npool < CORO_STACK_POOL) {
		/* Give the pages back; the mapping stays for the next request. */
		madvise(m + coro_page(), len - coro_page(), MADV_DONTNEED);
		sched->pool[sched->npool++] = m;
		return;
	}
	munmap(m, len);
}

static void
coro_free(struct coro *co)
{
	if (co->timer != NULL)
		event_free(co->timer);
	coro_stack_put(co->map, co->map_len);
	free(co);
	sched->alive--;
}

/* Loop stack -> coroutine, until it parks or finishes. */
static void
coro_resume(struct coro *co)
{
	void		*fake = NULL;
	struct log_ctx	*loop_ctx;

	sched->cur = co;
	loop_ctx = log_ctx_bind(co->logbound);
	ASAN_START(&fake, co->map + coro_page(), co->map_len - coro_page());
	swapcontext(&sched->main_ctx, &co->ctx);
	ASAN_FINISH(fake, NULL, NULL);
	co->logbound = log_ctx_bind(loop_ctx);
	sched->cur = NULL;
	if (co->finished) {
		co->done(co->arg);
		coro_free(co);
	}
}

/* Coroutine -> loop stack. last: the coroutine never runs again. */
static void
coro_yield(struct coro *co, int last)
{
	ASAN_START(last ? NULL : &co->asan_fake, sched->main_bottom, sched->main_size);
	swapcontext(&co->ctx, &sched->main_ctx);
	ASAN_FINISH(co->asan_fake, &sched->main_bottom, &sched->main_size);
}

static void
coro_entry(void)
{
	struct coro *co = sched->cur;

	ASAN_FINISH(NULL, &sched->main_bottom, &sched->main_size);
	co->parked = 0;
	co->fn(co->arg);
	co->finished = 1;
	coro_yield(co, 1);
	abort();	/* not reached: a finished coroutine is never resumed */
}

static void
coro_run_cb(evutil_socket_t fd, short what, void *arg)
{
	struct coro	*co, *tail = sched->runq_tail;

	(void)fd;
	(void)what;
	(void)arg;
	/* Only those queued before this turn: a coroutine that wakes another
	 * in a loop cannot keep the loop from polling. */
	while ((co = sched->runq_head) != NULL) {
		sched->runq_head = co->run_next;
		if (sched->runq_head == NULL)
			sched->runq_tail = NULL;
		co->run_next = NULL;
		co->wake_queued = 0;
		coro_resume(co);
		if (co == tail)
			break;
	}
	if (sched->runq_head != NULL)
		event_active(sched->run_ev, EV_READ, 0);
}

static void
coro_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	coro_wake(arg, CORO_TIMEDOUT);
}

int
coro_init(struct event_base *base)
{
	if (sched != NULL)
		return 0;
	if ((sched = calloc(1, sizeof *sched)) == NULL)
		return -1;
	sched->base = base;
	if ((sched->run_ev = event_new(base, -1, 0, coro_run_cb, NULL)) == NULL) {
		free(sched);
		sched = NULL;
		return -1;
	}
	return 0;
}

void
coro_shutdown(void)
{
	if (sched == NULL)
		return;
	if (sched->alive != 0)
		log_warnx("coro: %d coroutines still alive at shutdown", sched->alive);
	event_free(sched->run_ev);
	while (sched->npool > 0)
		munmap(sched->pool[--sched->npool], CORO_STACK_SIZE + coro_page());
	free(sched);
	sched = NULL;
}

/* Apart from coro_spawn(): getcontext() returns twice, and locals of its
 * caller could be clobbered. */
static void __attribute__((noinline))
coro_prepare(struct coro *co)
{
	getcontext(&co->ctx);
	co->ctx.uc_stack.ss_sp = co->map + coro_page();
	co->ctx.uc_stack.ss_size = co->map_len - coro_page();
	co->ctx.uc_link = NULL;
	makecontext(&co->ctx, coro_entry, 0);
}

int
coro_spawn(void (*fn)(void *), void (*done)(void *), void *arg, struct coro **handle)
{
	struct coro *co;

	if (sched == NULL || (co = calloc(1, sizeof *co)) == NULL)
		return -1;
	if ((co->map = coro_stack_get(&co->map_len)) == NULL) {
		free(co);
		return -1;
	}
	if (handle != NULL)
		*handle = co;
	co->fn = fn;
	co->done = done;
	co->arg = arg;
	co->logbound = &co->logctx;
	coro_prepare(co);
	sched->alive++;
	if (sched->cur == NULL)
		coro_resume(co);
	else {
		/* From inside a coroutine: start it on the next turn. */
		co->parked = 1;
		coro_wake(co, 0);
	}
	return 0;
}

struct coro *
coro_self(void)
{
	return sched != NULL ? sched->cur : NULL;
}

int
coro_park(long timeout_ms)
{
	struct coro	*co = coro_self();
	long		 left;

	if (co == NULL)
		abort();	/* a blocking call outside a coroutine is a bug */
	if (co->cancelled)
		return CORO_CANCELLED;
	if ((left = coro_remaining_ms()) == 0)
		return CORO_TIMEDOUT;
	if (timeout_ms >= 0 && timeout_ms < left)
		left = timeout_ms;
	if (left != LONG_MAX) {
		struct timeval tv = { left / 1000, (left % 1000) * 1000 };

		if (co->timer == NULL &&
		    (co->timer = evtimer_new(sched->base, coro_timer_cb, co)) == NULL)
			return CORO_TIMEDOUT;
		evtimer_add(co->timer, &tv);
	}
	co->parked = 1;
	co->wake_value = 0;
	coro_yield(co, 0);
	co->parked = 0;
	if (co->timer != NULL)
		evtimer_del(co->timer);
	return co->wake_value;
}

void
coro_wake(struct coro *co, int value)
{
	if (co == NULL || !co->parked || co->wake_queued)
		return;
	co->wake_queued = 1;
	co->wake_value = value;
	if (sched->runq_tail != NULL)
		sched->runq_tail->run_next = co;
	else
		sched->runq_head = co;
	sched->runq_tail = co;
	event_active(sched->run_ev, EV_READ, 0);
}

void
coro_cancel(struct coro *co)
{
	if (co == NULL || co->finished)
		return;
	co->cancelled = 1;
	coro_wake(co, CORO_CANCELLED);
}

int
coro_sleep_ms(long ms)
{
	int r = coro_park(ms < 0 ? 0 : ms);

	return r == CORO_TIMEDOUT && coro_remaining_ms() > 0 ? 0 : -1;
}

void
coro_set_deadline(long deadline_ms)
{
	struct coro *co = coro_self();

	if (co != NULL)
		co->deadline = deadline_ms;
}

long
coro_deadline(void)
{
	struct coro *co = coro_self();

	return co != NULL ? co->deadline : 0;
}

long
coro_remaining_ms(void)
{
	struct coro	*co = coro_self();
	long		 left;

	if (co == NULL || co->deadline == 0)
		return LONG_MAX;
	left = co->deadline - clock_now_ms();
	return left > 0 ? left : 0;
}

int
coro_count(void)
{
	return sched != NULL ? sched->alive : 0;
}
