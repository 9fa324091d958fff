/*
 * evcurl: the glue between libcurl's multi interface and libevent, after
 * curl's docs/examples/ghiper.c. libcurl tells us which sockets to watch
 * (socket callback) and when to call it back (timer callback); libevent
 * tells libcurl when a socket is ready. A finished transfer wakes the
 * coroutine that waits on it; the wake-up runs on the next loop turn, so
 * the coroutine never re-enters libcurl from inside libcurl.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "coro.h"
#include "evcurl.h"
#include "log.h"

#define EVCURL_EASY_POOL	64

struct evcurl {
	CURLM		*m;
	struct event_base *base;
	struct event	*timer;
	int		 running;
	CURL		*pool[EVCURL_EASY_POOL];
	int		 npool;
};

/* One coroutine waiting on one transfer. */
struct evcurl_wait {
	struct coro	*co;
	CURLcode	 rc;
	int		 done;
};

static _Thread_local struct evcurl *ec;

static void
evcurl_check_done(void)
{
	CURLMsg			*msg;
	struct evcurl_wait	*w;
	int			 left;

	while ((msg = curl_multi_info_read(ec->m, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		w = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&w);
		if (w != NULL) {
			w->rc = msg->data.result;
			w->done = 1;
			coro_wake(w->co, 0);
		}
		curl_multi_remove_handle(ec->m, msg->easy_handle);
	}
}

static void
evcurl_event_cb(evutil_socket_t fd, short kind, void *arg)
{
	int action = ((kind & EV_READ) ? CURL_CSELECT_IN : 0) |
	    ((kind & EV_WRITE) ? CURL_CSELECT_OUT : 0);

	(void)arg;
	curl_multi_socket_action(ec->m, fd, action, &ec->running);
	evcurl_check_done();
	if (ec->running <= 0)
		evtimer_del(ec->timer);
}

static void
evcurl_timeout_cb(evutil_socket_t fd, short kind, void *arg)
{
	(void)fd;
	(void)kind;
	(void)arg;
	curl_multi_socket_action(ec->m, CURL_SOCKET_TIMEOUT, 0, &ec->running);
	evcurl_check_done();
}

static int
evcurl_sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct event	*ev = socketp;
	short		 kind;

	(void)easy;
	(void)userp;
	if (what == CURL_POLL_REMOVE) {
		if (ev != NULL)
			event_free(ev);
		curl_multi_assign(ec->m, s, NULL);
		return 0;
	}
	kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
	    ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (ev != NULL)
		event_free(ev);
	if ((ev = event_new(ec->base, s, kind, evcurl_event_cb, NULL)) == NULL) {
		curl_multi_assign(ec->m, s, NULL);
		return -1;
	}
	event_add(ev, NULL);
	curl_multi_assign(ec->m, s, ev);
	return 0;
}

static int
evcurl_timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };

	(void)m;
	(void)userp;
	if (timeout_ms < 0)
		evtimer_del(ec->timer);
	else
		evtimer_add(ec->timer, &tv);
	return 0;
}

int
evcurl_init(struct event_base *base)
{
	if (ec != NULL)
		return 0;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((ec = calloc(1, sizeof *ec)) == NULL)
		return -1;
	ec->base = base;
	if ((ec->m = curl_multi_init()) == NULL ||
	    (ec->timer = evtimer_new(base, evcurl_timeout_cb, NULL)) == NULL) {
		evcurl_shutdown();
		return -1;
	}
	curl_multi_setopt(ec->m, CURLMOPT_SOCKETFUNCTION, evcurl_sock_cb);
	curl_multi_setopt(ec->m, CURLMOPT_TIMERFUNCTION, evcurl_timer_cb);
	/* Keep enough idle connections for every tenant's upstream. */
	curl_multi_setopt(ec->m, CURLMOPT_MAXCONNECTS, 256L);
	return 0;
}

void
evcurl_shutdown(void)
{
	if (ec == NULL)
		return;
	while (ec->npool > 0)
		curl_easy_cleanup(ec->pool[--ec->npool]);
	if (ec->m != NULL)
		curl_multi_cleanup(ec->m);
	if (ec->timer != NULL)
		event_free(ec->timer);
	free(ec);
	ec = NULL;
}

int
evcurl_usable(void)
{
	return ec != NULL && coro_self() != NULL;
}

CURL *
evcurl_easy_get(void)
{
	CURL *c;

	if (ec->npool > 0) {
		c = ec->pool[--ec->npool];
		curl_easy_reset(c);
		return c;
	}
	return curl_easy_init();
}

void
evcurl_easy_put(CURL *c)
{
	if (c == NULL)
		return;
	if (ec != NULL && ec->npool < EVCURL_EASY_POOL)
		ec->pool[ec->npool++] = c;
	else
		curl_easy_cleanup(c);
}

CURLcode
evcurl_perform(CURL *easy)
{
	struct evcurl_wait	w = { coro_self(), CURLE_OK, 0 };
	int			r;

	curl_easy_setopt(easy, CURLOPT_PRIVATE, (char *)&w);
	if (curl_multi_add_handle(ec->m, easy) != CURLM_OK)
		return CURLE_FAILED_INIT;
	do
		r = coro_park(-1);
	while (!w.done && r == 0);
	if (!w.done) {
		/* Cancelled or past the deadline: stop the transfer now. */
		curl_multi_remove_handle(ec->m, easy);
		return r == CORO_CANCELLED ? CURLE_ABORTED_BY_CALLBACK :
		    CURLE_OPERATION_TIMEDOUT;
	}
	return w.rc;
}
