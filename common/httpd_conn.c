/*
 * httpd_conn: accepted connections, from accept to close (see httpd_conn.h).
 *
 * States: SETUP (accepted, evhttp not done wiring it) -> HEADERS -> BODY ->
 * BUSY (a handler has the request) -> HEADERS again on keep-alive; CLOSING
 * once we decided to end it. HEADERS and BODY connections sit on a queue in
 * the order their request started, so the oldest unfinished one is at the
 * head when something has to be shed. Everything here runs on the loop
 * thread; only the metric rows are read from other threads (atomics).
 */
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>	/* a request's HTTP version (httpd_conn_replied) */
#include <event2/listener.h>

#include <openssl/ssl.h>

#include "httpd.h"
#include "httpd_conn.h"
#include "jsonx.h"
#include "log.h"
#include "metrics.h"
#include "secret.h"

enum { HC_SETUP, HC_HEADERS, HC_BODY, HC_BUSY, HC_CLOSING };
static const char *const httpd_conn_state_names[] = {
	"setup", "headers", "body", "busy", "closing"
};

static const char *const httpd_close_names[HTTPD_CLOSE__COUNT] = {
	[HTTPD_CLOSE_DONE] = "done",
	[HTTPD_CLOSE_CLIENT] = "client_closed",
	[HTTPD_CLOSE_IDLE] = "idle",
	[HTTPD_CLOSE_HEADER_TIMEOUT] = "header_timeout",
	[HTTPD_CLOSE_BODY_TIMEOUT] = "body_timeout",
	[HTTPD_CLOSE_IO_TIMEOUT] = "io_timeout",
	[HTTPD_CLOSE_HEADERS_TOO_LARGE] = "headers_too_large",
	[HTTPD_CLOSE_TOO_LARGE] = "too_large",
	[HTTPD_CLOSE_SHED_CONNECTIONS] = "shed_connection_limit",
	[HTTPD_CLOSE_SHED_FILES] = "shed_file_limit",
	[HTTPD_CLOSE_SHED_BUFFER] = "shed_buffer_limit",
	[HTTPD_CLOSE_REFUSED] = "refused_connection_limit",
	[HTTPD_CLOSE_ERROR] = "error",
	[HTTPD_CLOSE_SHUTDOWN] = "shutdown",
};

#define HC_MAX_LISTENERS	8
#define HC_PAUSE_MS		250	/* accept off this long after EMFILE */
#define HC_LOG_INTERVAL_S	10	/* at most one pressure line per interval */
#define HC_ANSWER_TIMEOUT_S	2	/* time to flush an error answer */
#define HC_SHED_ON_EMFILE	8	/* connections freed per accept pause */
/* Shed connections still hold their descriptor until their 503 is flushed
 * (the next loop iteration): allow this many over the cap before accept
 * itself stops, so a burst cannot run the process out of descriptors. */
#define HC_FD_SLACK		16

enum {
	HM_OPEN, HM_ACCEPTED, HM_SHED_CONN, HM_SHED_FILE, HM_SHED_BUFFER, HM_DEADLINE,
	HM_REJECTED, HM_PAUSED, HM_BUFFERED, HM__COUNT
};

TAILQ_HEAD(httpd_connq, httpd_conn);

struct httpd_conns {
	struct event_base	*base;
	struct evhttp		*http;
	struct httpd_conn_limits lim;
	int			 cap;		/* max_connections, lowered to fit the file limit */
	long			 nofile;
	SSL_CTX			*tls;
	void			(*on_close)(struct httpd_conn *, void *);
	void			*arg;

	struct httpd_connq	 all, hdrq, bodyq;
	int			 open, closing;
	int			 stopping;	/* evhttp_free() is closing them all */
	size_t			 buffered;
	uint64_t		 next_id;
	struct httpd_conn	**byfd;		/* lookup from an evhttp request */
	size_t			 nbyfd;

	struct evconnlistener	*lev[HC_MAX_LISTENERS];
	int			 nlev;
	struct event		*pause_ev;
	int			 paused;	/* after EMFILE, until pause_ev */
	int			 full;		/* open >= cap + HC_FD_SLACK */
	int			 pause_errno;

	/* Pressure is logged as one line per interval, never per event. */
	struct event		*log_ev;
	uint64_t		 logged[HM__COUNT];
	const struct timeval	*hdr_tv, *body_tv;	/* common timeouts */

	struct metric		 m[HM__COUNT];
};

static const struct metric httpd_conns_metric_rows[HM__COUNT] = {
	[HM_OPEN] = { "tenantgate_http_open_connections", NULL, METRIC_GAUGE,
	    "Open client connections, counted from accept", 0 },
	[HM_ACCEPTED] = { "tenantgate_http_connections_total", NULL, METRIC_COUNTER,
	    "Client connections accepted", 0 },
	[HM_SHED_CONN] = { "tenantgate_http_connections_shed_total",
	    "reason=\"connection_limit\"", METRIC_COUNTER,
	    "Unfinished connections closed to make room, by limit reached", 0 },
	[HM_SHED_FILE] = { "tenantgate_http_connections_shed_total", "reason=\"file_limit\"",
	    METRIC_COUNTER, "", 0 },
	[HM_SHED_BUFFER] = { "tenantgate_http_connections_shed_total",
	    "reason=\"buffer_limit\"", METRIC_COUNTER, "", 0 },
	[HM_DEADLINE] = { "tenantgate_http_connections_deadline_total", NULL, METRIC_COUNTER,
	    "Connections closed because headers or body missed their deadline", 0 },
	[HM_REJECTED] = { "tenantgate_http_connections_rejected_total", NULL, METRIC_COUNTER,
	    "New connections refused with 503 (nothing could be shed)", 0 },
	[HM_PAUSED] = { "tenantgate_http_accept_paused_total", NULL, METRIC_COUNTER,
	    "Times accepting was paused because the process ran out of file descriptors", 0 },
	[HM_BUFFERED] = { "tenantgate_http_buffered_request_bytes", NULL, METRIC_GAUGE,
	    "Bytes of unfinished requests held in memory", 0 },
};

/* libevent hands a listener's error callback the listener's user data,
 * which evhttp_bind_listener() set to the evhttp: map it back to us. */
#define HC_MAX_SERVERS	16
static struct {
	struct evhttp		*http;
	struct httpd_conns	*cs;
} httpd_conns_servers[HC_MAX_SERVERS];

static void	httpd_conn_timer(evutil_socket_t, short, void *);
static void	httpd_conn_condemn(struct httpd_conn *, int status, enum httpd_close);

static double
httpd_conn_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

const char *
httpd_conn_close_name(enum httpd_close why)
{
	return why < HTTPD_CLOSE__COUNT ? httpd_close_names[why] : "?";
}

/* --- header-end scanner -------------------------------------------------- */

/* evhttp ends a line at "\n" or "\r\n"; the header block ends at the first
 * empty line. 0: inside a line, 1: just after '\n', 2: after "\n\r". A
 * wrong guess here only swaps which absolute deadline and limit applies,
 * never lets bytes go uncounted. */
long
httpd_conn_scan(int *st, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char ch = p[i];

		if (ch == '\n') {
			if (*st != 0) {
				*st = 0;
				return (long)(i + 1);
			}
			*st = 1;
		} else if (ch == '\r' && *st == 1)
			*st = 2;
		else
			*st = 0;
	}
	return -1;
}

/* --- bookkeeping ----------------------------------------------------------- */

static void
httpd_conns_note(struct httpd_conns *cs, int which)
{
	metrics_inc(&cs->m[which]);
	/* The first event after a quiet spell is logged at once; later ones
	 * are summed into one line per interval (httpd_conns_log_cb). */
	if (!evtimer_pending(cs->log_ev, NULL)) {
		struct timeval tv = { HC_LOG_INTERVAL_S, 0 };

		evtimer_add(cs->log_ev, &tv);
		if (which == HM_PAUSED)
			log_warnx("accept paused for %d ms: %s (%d connections open, file limit %ld)",
			    HC_PAUSE_MS, strerror(cs->pause_errno), cs->open, cs->nofile);
		else
			log_warnx("connection pressure: %s (%d open, limit %d)",
			    which == HM_DEADLINE ? "a request missed its deadline" :
			    which == HM_REJECTED ? "a new connection was refused" :
			    "an unfinished connection was shed", cs->open, cs->cap);
		for (int i = 0; i < HM__COUNT; i++)
			cs->logged[i] = cs->m[i].v;
	}
}

static void
httpd_conns_log_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpd_conns	*cs = arg;
	uint64_t		 d[HM__COUNT];
	struct timeval		 tv = { HC_LOG_INTERVAL_S, 0 };
	int			 any = 0;

	(void)fd;
	(void)what;
	for (int i = HM_SHED_CONN; i <= HM_PAUSED; i++) {
		d[i] = cs->m[i].v - cs->logged[i];
		cs->logged[i] = cs->m[i].v;
		any |= d[i] != 0;
	}
	if (!any)
		return;		/* quiet: the next event logs at once again */
	log_warnx("connection pressure in the last %ds: shed %llu (connection limit %llu, "
	    "file limit %llu, buffer limit %llu), deadline %llu, refused %llu, accept "
	    "paused %llu; %d open (limit %d), %zu bytes buffered", HC_LOG_INTERVAL_S,
	    (unsigned long long)(d[HM_SHED_CONN] + d[HM_SHED_FILE] + d[HM_SHED_BUFFER]),
	    (unsigned long long)d[HM_SHED_CONN], (unsigned long long)d[HM_SHED_FILE],
	    (unsigned long long)d[HM_SHED_BUFFER], (unsigned long long)d[HM_DEADLINE],
	    (unsigned long long)d[HM_REJECTED], (unsigned long long)d[HM_PAUSED], cs->open,
	    cs->cap, cs->buffered);
	evtimer_add(cs->log_ev, &tv);
}

static void
httpd_conns_uncount(struct httpd_conn *c)
{
	struct httpd_conns *cs = c->cs;

	cs->buffered -= c->counted;
	c->counted = 0;
	metrics_set(&cs->m[HM_BUFFERED], cs->buffered);
}

static void
httpd_conn_set_state(struct httpd_conn *c, int state)
{
	struct httpd_conns *cs = c->cs;

	if (c->state == state)
		return;
	log_debug("conn=%llu %s -> %s", (unsigned long long)c->id,
	    httpd_conn_state_names[c->state], httpd_conn_state_names[state]);
	if (c->state == HC_HEADERS)
		TAILQ_REMOVE(&cs->hdrq, c, waitq);
	else if (c->state == HC_BODY)
		TAILQ_REMOVE(&cs->bodyq, c, waitq);
	else if (c->state == HC_CLOSING)
		abort();	/* nothing comes back from closing */
	if (state == HC_HEADERS)
		TAILQ_INSERT_TAIL(&cs->hdrq, c, waitq);
	else if (state == HC_BODY)
		TAILQ_INSERT_TAIL(&cs->bodyq, c, waitq);
	else if (state == HC_CLOSING)
		cs->closing++;
	c->state = state;
}

/* Arm the deadline of the current phase, measured from the request start
 * (accept, or the end of the previous reply), never from the last read. */
static void
httpd_conn_arm(struct httpd_conn *c, int limit_s)
{
	double		left = (double)limit_s - httpd_conn_since(&c->req_start);
	struct timeval	tv;

	if (left < 0)
		left = 0;
	tv.tv_sec = (time_t)left;
	tv.tv_usec = (suseconds_t)((left - (double)tv.tv_sec) * 1e6);
	evtimer_add(c->timer, &tv);
}

static void
httpd_conn_new_request(struct httpd_conn *c)
{
	clock_gettime(CLOCK_MONOTONIC, &c->req_start);
	c->scan = 0;
	c->hdr_bytes = c->body_bytes = 0;
	httpd_conns_uncount(c);
	httpd_conn_set_state(c, HC_HEADERS);
	evtimer_add(c->timer, c->cs->hdr_tv);
}

static void
httpd_conns_listen(struct httpd_conns *cs, int on)
{
	for (int i = 0; i < cs->nlev; i++) {
		if (on)
			evconnlistener_enable(cs->lev[i]);
		else
			evconnlistener_disable(cs->lev[i]);
	}
}

/* --- teardown -------------------------------------------------------------- */

/* The one teardown path: every close, ours or evhttp's, ends here with
 * the reason its caller gives, and logs one line. */
static void
httpd_conn_close(struct httpd_conn *c, enum httpd_close why)
{
	struct httpd_conns *cs = c->cs;

	cs->on_close(c, cs->arg);
	log_info("conn=%llu peer=%s closed: reason=%s age=%.3fs requests=%lu bytes_in=%llu "
	    "bytes_out=%llu", (unsigned long long)c->id, c->peer, httpd_conn_close_name(why),
	    httpd_conn_since(&c->born), c->requests, (unsigned long long)c->bytes_in,
	    (unsigned long long)c->bytes_out);
	if (c->in_cb != NULL)
		evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->in_cb);
	if (c->out_cb != NULL)
		evbuffer_remove_cb_entry(bufferevent_get_output(c->bev), c->out_cb);
	httpd_conns_uncount(c);
	if (c->state == HC_HEADERS)
		TAILQ_REMOVE(&cs->hdrq, c, waitq);
	else if (c->state == HC_BODY)
		TAILQ_REMOVE(&cs->bodyq, c, waitq);
	else if (c->state == HC_CLOSING)
		cs->closing--;
	TAILQ_REMOVE(&cs->all, c, all);
	if (c->fd >= 0 && (size_t)c->fd < cs->nbyfd && cs->byfd[c->fd] == c)
		cs->byfd[c->fd] = NULL;
	cs->open--;
	metrics_set(&cs->m[HM_OPEN], (uint64_t)cs->open);
	if (cs->full && cs->open < cs->cap + HC_FD_SLACK) {
		cs->full = 0;
		if (!cs->paused)
			httpd_conns_listen(cs, 1);
	}
	event_free(c->timer);
	free(c);
}

/* The client hung up: EOF or a reset waiting on the socket, or a TLS
 * close_notify already read. */
static int
httpd_conn_peer_gone(struct httpd_conn *c)
{
	SSL	*ssl;
	char	 b;
	ssize_t	 n;

	if (c->fd < 0)
		return 0;
	n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
		return 1;
	ssl = c->cs->tls != NULL ? bufferevent_openssl_get_ssl(c->bev) : NULL;
	return ssl != NULL && (SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN) != 0;
}

/* evhttp's close callback. evhttp closes a connection when its reply said
 * so, when it is freed, when the client hangs up, on its own idle timer, and
 * after answering a request it could not parse; it does not say which, so
 * the facts that tell them apart are read here. */
static void
httpd_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct httpd_conn	*c = arg;
	enum httpd_close	 why;

	(void)evcon;
	if (c->cs->stopping)
		why = HTTPD_CLOSE_SHUTDOWN;
	else if (c->close_after_reply)
		why = HTTPD_CLOSE_DONE;
	else if (httpd_conn_peer_gone(c))
		why = HTTPD_CLOSE_CLIENT;
	else if (httpd_conn_since(&c->last_io) >= c->cs->lim.io_timeout_s - 0.5)
		why = HTTPD_CLOSE_IO_TIMEOUT;
	else
		why = HTTPD_CLOSE_ERROR;
	httpd_conn_close(c, why);
}

/* Close now, for our own reason. Never called from inside the
 * connection's own input-buffer callback (evhttp would run on freed memory
 * after it returns). */
static void
httpd_conn_kill(struct httpd_conn *c, enum httpd_close why)
{
	struct evhttp_connection *evcon = c->evcon;

	/* Tear down ourselves rather than rely on evhttp calling the close
	 * callback (it only does for some connection states). */
	evhttp_connection_set_closecb(evcon, NULL, NULL);
	httpd_conn_close(c, why);
	evhttp_connection_free(evcon);
}

/* --- answering without evhttp ---------------------------------------------- */

/* After a condemned connection's answer: the reason is the verdict's. */
static void
httpd_conn_flushed(struct bufferevent *bev, void *arg)
{
	struct httpd_conn *c = arg;

	(void)bev;
	httpd_conn_kill(c, c->why);
}

static void
httpd_conn_discard(struct bufferevent *bev, void *arg)
{
	(void)arg;
	/* Keep reading (and dropping) so closing does not reset the socket
	 * before the client has read our answer. */
	evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
}

static void
httpd_conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct httpd_conn *c = arg;

	(void)bev;
	(void)what;
	httpd_conn_kill(c, c->why);
}

/* Write a JSON error and close once it is flushed (or after
 * HC_ANSWER_TIMEOUT_S). Called from the connection's timer only. */
static void
httpd_conn_answer(struct httpd_conn *c, int status)
{
	struct httpd_conns	*cs = c->cs;
	struct evbuffer		*out = bufferevent_get_output(c->bev);
	struct timeval		 tv = { HC_ANSWER_TIMEOUT_S, 0 };
	const char		*code, *msg;
	char			 text[160];
	char			*body;
	json_t			*j;

	switch (status) {
	case 408:
		code = "request_timeout";
		snprintf(text, sizeof text, "the request was not received in time (headers "
		    "within %d s, whole request within %d s)", cs->lim.header_timeout_s,
		    cs->lim.body_timeout_s);
		break;
	case 413:
		code = "body_too_large";
		snprintf(text, sizeof text, "request body is larger than %zu bytes",
		    cs->lim.max_body_bytes);
		break;
	case 431:
		code = "headers_too_large";
		snprintf(text, sizeof text, "request headers are larger than %zu bytes",
		    cs->lim.max_header_bytes);
		break;
	default:
		status = 503;
		code = "too_many_connections";
		snprintf(text, sizeof text, "the server is at its connection or memory limit "
		    "and closed this unfinished request; retry shortly");
		break;
	}
	msg = text;
	j = jsonx_error(code, msg);
	body = j != NULL ? jsonx_dump(j) : NULL;
	json_decref(j);
	evbuffer_drain(bufferevent_get_input(c->bev), evbuffer_get_length(bufferevent_get_input(c->bev)));
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\nCache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n%s\r\n%s", status,
	    status == 431 ? "Request Header Fields Too Large" :
	    status == 408 ? "Request Timeout" : httpd_reason(status),
	    body != NULL ? strlen(body) : 0, status == 503 ? "Retry-After: 1\r\n" : "",
	    body != NULL ? body : "");
	free(body);
	bufferevent_setcb(c->bev, httpd_conn_discard, httpd_conn_flushed, httpd_conn_event, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_set_timeouts(c->bev, NULL, NULL);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	evtimer_add(c->timer, &tv);
}

/* Decide to end an unfinished connection with an answer. Safe anywhere,
 * including inside its own input callback: evhttp is cut off at once (no
 * more parsing), the answer is written from the timer. */
static void
httpd_conn_condemn(struct httpd_conn *c, int status, enum httpd_close why)
{
	/* An idle keep-alive connection has no request to answer: an
	 * unsolicited 503 would be read as the reply to the client's next
	 * request, so it is closed quietly (clients retry on a new one). */
	c->verdict = c->state == HC_HEADERS && c->hdr_bytes == 0 && c->requests > 0 ? -1 : status;
	c->why = why;
	httpd_conns_uncount(c);
	if (c->state == HC_SETUP) {
		/* Not wired yet: httpd_conn_setup() answers as soon as it is. */
		return;
	}
	httpd_conn_set_state(c, HC_CLOSING);
	bufferevent_setcb(c->bev, NULL, NULL, httpd_conn_event, c);
	bufferevent_disable(c->bev, EV_READ);
	event_active(c->timer, EV_TIMEOUT, 1);
}

/* The oldest unfinished connection: headers only, or headers or body. */
static struct httpd_conn *
httpd_conns_oldest(struct httpd_conns *cs, int with_body)
{
	struct httpd_conn *h = TAILQ_FIRST(&cs->hdrq), *b = TAILQ_FIRST(&cs->bodyq);

	if (!with_body || b == NULL)
		return h;
	if (h == NULL)
		return b;
	return h->req_start.tv_sec < b->req_start.tv_sec ||
	    (h->req_start.tv_sec == b->req_start.tv_sec &&
	    h->req_start.tv_nsec <= b->req_start.tv_nsec) ? h : b;
}

/* --- reading ---------------------------------------------------------------- */

static void
httpd_conn_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct httpd_conn	*c = arg;
	struct httpd_conns	*cs = c->cs;
	size_t			 n = info->n_added, len = evbuffer_get_length(buf), off;
	struct evbuffer_ptr	 p;
	struct evbuffer_iovec	 v[4];
	int			 nv, limit = 64;

	c->bytes_in += n;
	if (n > 0)
		clock_gettime(CLOCK_MONOTONIC, &c->last_io);
	if (n == 0 || (c->state != HC_HEADERS && c->state != HC_BODY) || n > len)
		return;
	c->counted += n;
	cs->buffered += n;
	metrics_set(&cs->m[HM_BUFFERED], cs->buffered);
	/* The new bytes are the last n of the buffer. */
	for (off = len - n; c->state == HC_HEADERS && off < len && limit-- > 0;) {
		if (evbuffer_ptr_set(buf, &p, off, EVBUFFER_PTR_SET) != 0)
			break;
		nv = evbuffer_peek(buf, (ev_ssize_t)(len - off), &p, v, 4);
		for (int i = 0; i < nv && i < 4 && c->state == HC_HEADERS; i++) {
			long end = httpd_conn_scan(&c->scan, v[i].iov_base, v[i].iov_len);

			if (end < 0) {
				c->hdr_bytes += v[i].iov_len;
				off += v[i].iov_len;
				continue;
			}
			c->hdr_bytes += (size_t)end;
			off += (size_t)end;
			httpd_conn_set_state(c, HC_BODY);
			httpd_conn_arm(c, cs->lim.body_timeout_s);
		}
	}
	if (c->state == HC_BODY)
		c->body_bytes += len - off;
	else if (c->state == HC_HEADERS)
		c->hdr_bytes += len - off;	/* only if the extent loop gave up */
	if (c->hdr_bytes > cs->lim.max_header_bytes)
		httpd_conn_condemn(c, 431, HTTPD_CLOSE_HEADERS_TOO_LARGE);
	else if (c->state == HC_BODY &&
	    c->body_bytes > cs->lim.max_body_bytes + HTTPD_BODY_SLACK)
		httpd_conn_condemn(c, 413, HTTPD_CLOSE_TOO_LARGE);
	/* Over the global cap: the oldest unfinished requests go first, which
	 * may be this one. Bounded: each round takes one off a queue. */
	while (cs->buffered > cs->lim.max_buffered_bytes) {
		struct httpd_conn *victim = httpd_conns_oldest(cs, 1);

		if (victim == NULL)
			break;
		httpd_conns_note(cs, HM_SHED_BUFFER);
		httpd_conn_condemn(victim, 503, HTTPD_CLOSE_SHED_BUFFER);
	}
}

/* Bytes leave the output buffer as they are written to the socket (or to
 * TLS): the count is what the client was sent, headers included. */
static void
httpd_conn_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct httpd_conn *c = arg;

	(void)buf;
	if (info->n_deleted > 0) {
		c->bytes_out += info->n_deleted;
		clock_gettime(CLOCK_MONOTONIC, &c->last_io);
	}
}

/* --- accepting ---------------------------------------------------------------- */

/* Make room for one more connection: shed the oldest one still sending its
 * headers. Returns 0 if there was nobody to shed. */
static int
httpd_conns_shed(struct httpd_conns *cs, int which, enum httpd_close why)
{
	struct httpd_conn *victim = httpd_conns_oldest(cs, 0);

	if (victim == NULL)
		return 0;
	httpd_conns_note(cs, which);
	httpd_conn_condemn(victim, 503, why);
	return 1;
}

static void
httpd_conn_setup(struct httpd_conn *c)
{
	struct httpd_conns	*cs = c->cs;
	void			*cbarg = NULL;
	char			*addr = NULL;
	ev_uint16_t		 port = 0;

	/* evhttp has now given the bufferevent its socket and callbacks; the
	 * callback argument is the evhttp_connection. */
	bufferevent_getcb(c->bev, NULL, NULL, NULL, &cbarg);
	c->evcon = cbarg;
	c->fd = bufferevent_getfd(c->bev);
	if (c->evcon == NULL || c->fd < 0) {
		log_warnx("conn=%llu: evhttp did not set up the connection",
		    (unsigned long long)c->id);
		abort();
	}
	evhttp_connection_set_closecb(c->evcon, httpd_conn_closed, c);
	evhttp_connection_get_peer(c->evcon, &addr, &port);
	if (addr != NULL && addr[0] != '\0') {
		int one = 1;

		snprintf(c->peer, sizeof c->peer, "%s:%u", addr, port);
		/* A reply larger than one write (a 90 KB tools/list) must not
		 * wait 40 ms for the client's delayed ACK (Nagle). */
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	} else
		snprintf(c->peer, sizeof c->peer, "unix");
	if ((size_t)c->fd >= cs->nbyfd) {
		size_t			 n = cs->nbyfd == 0 ? 256 : cs->nbyfd;
		struct httpd_conn	**t;

		while (n <= (size_t)c->fd)
			n *= 2;
		if ((t = realloc(cs->byfd, n * sizeof *t)) == NULL) {
			c->state = HC_CLOSING;
			cs->closing++;
			httpd_conn_kill(c, HTTPD_CLOSE_ERROR);
			return;
		}
		memset(t + cs->nbyfd, 0, (n - cs->nbyfd) * sizeof *t);
		cs->byfd = t;
		cs->nbyfd = n;
	}
	cs->byfd[c->fd] = c;
	c->in_cb = evbuffer_add_cb(bufferevent_get_input(c->bev), httpd_conn_input, c);
	c->out_cb = evbuffer_add_cb(bufferevent_get_output(c->bev), httpd_conn_output, c);
	httpd_conn_new_request(c);
	if (c->verdict != 0) {
		int status = c->verdict;

		httpd_conn_condemn(c, status, c->why);
	}
}

static void
httpd_conn_timer(evutil_socket_t fd, short what, void *arg)
{
	struct httpd_conn	*c = arg;
	struct httpd_conns	*cs = c->cs;

	(void)fd;
	(void)what;
	switch (c->state) {
	case HC_SETUP:
		httpd_conn_setup(c);
		return;
	case HC_HEADERS:
	case HC_BODY:
		httpd_conns_note(cs, HM_DEADLINE);
		if (c->state == HC_HEADERS && c->hdr_bytes == 0) {
			/* Nothing sent: an idle keep-alive, or a client that never
			 * spoke. Nobody is waiting for an answer. */
			httpd_conn_set_state(c, HC_CLOSING);
			httpd_conn_kill(c, HTTPD_CLOSE_IDLE);
			return;
		}
		httpd_conn_condemn(c, 408, c->state == HC_HEADERS ?
		    HTTPD_CLOSE_HEADER_TIMEOUT : HTTPD_CLOSE_BODY_TIMEOUT);
		return;
	case HC_CLOSING:
		if (c->verdict > 0) {
			int status = c->verdict;

			c->verdict = 0;
			httpd_conn_answer(c, status);
			return;
		}
		httpd_conn_kill(c, c->why);	/* the answer did not flush in time */
		return;
	default:
		return;
	}
}

/* evhttp_set_bevcb(): called once per accepted connection, before evhttp
 * wires it, so this is where a connection starts to count. */
static struct bufferevent *
httpd_conns_bev(struct event_base *base, void *arg)
{
	struct httpd_conns	*cs = arg;
	struct httpd_conn	*c;
	SSL			*ssl;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return NULL;
	if (cs->tls != NULL) {
		if ((ssl = SSL_new(cs->tls)) != NULL &&
		    (c->bev = bufferevent_openssl_socket_new(base, -1, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE)) == NULL)
			SSL_free(ssl);
	} else
		c->bev = bufferevent_socket_new(base, -1, 0);
	if (c->bev == NULL || (c->timer = evtimer_new(base, httpd_conn_timer, c)) == NULL) {
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		free(c);
		return NULL;
	}
	c->cs = cs;
	c->fd = -1;
	c->id = ++cs->next_id;
	c->state = HC_SETUP;
	clock_gettime(CLOCK_MONOTONIC, &c->born);
	c->req_start = c->last_io = c->born;
	TAILQ_INSERT_TAIL(&cs->all, c, all);
	cs->open++;
	metrics_inc(&cs->m[HM_ACCEPTED]);
	metrics_set(&cs->m[HM_OPEN], (uint64_t)cs->open);
	/* Finish once evhttp has wired the bufferevent: still in this loop
	 * iteration, before its socket is ever polled. */
	event_active(c->timer, EV_TIMEOUT, 1);
	if (cs->open - cs->closing > cs->cap &&
	    !httpd_conns_shed(cs, HM_SHED_CONN, HTTPD_CLOSE_SHED_CONNECTIONS)) {
		httpd_conns_note(cs, HM_REJECTED);
		httpd_conn_condemn(c, 503, HTTPD_CLOSE_REFUSED);
	}
	/* A burst accepted in one go cannot shed itself (the new ones are not
	 * wired yet): stop accepting until closes bring us back under. */
	if (cs->open >= cs->cap + HC_FD_SLACK && !cs->full) {
		cs->full = 1;
		httpd_conns_listen(cs, 0);
	}
	return c->bev;
}

static void
httpd_conns_resume(evutil_socket_t fd, short what, void *arg)
{
	struct httpd_conns *cs = arg;

	(void)fd;
	(void)what;
	cs->paused = 0;
	if (!cs->full)
		httpd_conns_listen(cs, 1);
}

/* accept() failed with something other than EAGAIN (EMFILE, ENFILE,
 * ENOBUFS): the pending connection stays queued, so a level-triggered
 * listener would spin. Stop accepting for a moment and free descriptors. */
static void
httpd_conns_accept_error(struct evconnlistener *lev, void *http)
{
	struct httpd_conns	*cs = NULL;
	struct timeval		 tv = { 0, HC_PAUSE_MS * 1000 };
	int			 err = EVUTIL_SOCKET_ERROR();

	for (int i = 0; i < HC_MAX_SERVERS && cs == NULL; i++)
		if (httpd_conns_servers[i].http == http)
			cs = httpd_conns_servers[i].cs;
	if (cs == NULL) {
		evconnlistener_disable(lev);
		return;
	}
	cs->pause_errno = err;
	httpd_conns_listen(cs, 0);
	if (cs->paused)
		return;
	cs->paused = 1;
	evtimer_add(cs->pause_ev, &tv);
	httpd_conns_note(cs, HM_PAUSED);
	for (int i = 0; i < HC_SHED_ON_EMFILE; i++)
		if (!httpd_conns_shed(cs, HM_SHED_FILE, HTTPD_CLOSE_SHED_FILES))
			break;
}

/* --- setup and teardown ------------------------------------------------------- */

struct httpd_conns *
httpd_conn_table_new(struct event_base *base, struct evhttp *http,
    const struct httpd_conn_limits *lim, void (*on_close)(struct httpd_conn *, void *),
    void *arg)
{
	struct httpd_conns	*cs;
	struct rlimit		 rl;
	struct timeval		 hdr = { lim->header_timeout_s, 0 };
	struct timeval		 body = { lim->body_timeout_s, 0 };
	int			 slot = -1;

	for (int i = 0; i < HC_MAX_SERVERS && slot < 0; i++)
		if (httpd_conns_servers[i].http == NULL)
			slot = i;
	if (slot < 0 || (cs = calloc(1, sizeof *cs)) == NULL)
		return NULL;
	cs->base = base;
	cs->http = http;
	cs->lim = *lim;
	cs->on_close = on_close;
	cs->arg = arg;
	TAILQ_INIT(&cs->all);
	TAILQ_INIT(&cs->hdrq);
	TAILQ_INIT(&cs->bodyq);
	memcpy(cs->m, httpd_conns_metric_rows, sizeof cs->m);
	/* Every connection waits with the same two durations: libevent's
	 * common timeouts keep those O(1) however many are open. */
	cs->hdr_tv = event_base_init_common_timeout(base, &hdr);
	cs->body_tv = event_base_init_common_timeout(base, &body);
	cs->pause_ev = evtimer_new(base, httpd_conns_resume, cs);
	cs->log_ev = evtimer_new(base, httpd_conns_log_cb, cs);
	if (cs->hdr_tv == NULL || cs->body_tv == NULL || cs->pause_ev == NULL ||
	    cs->log_ev == NULL) {
		httpd_conn_free_all(cs);
		return NULL;
	}
	/* Connections need descriptors; keep some for upstream sockets, the
	 * log and the database, and never promise more than the limit. */
	cs->cap = lim->max_connections;
	cs->nofile = -1;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		long budget = (long)rl.rlim_cur - 32 - (long)rl.rlim_cur / 8;

		cs->nofile = (long)rl.rlim_cur;
		if (budget < 16)
			budget = 16;
		if (budget < cs->cap) {
			log_warnx("max_connections is %d but the file limit (%ld) leaves room for "
			    "%ld; serving at most %ld connections (raise LimitNOFILE)",
			    lim->max_connections, cs->nofile, budget, budget);
			cs->cap = (int)budget;
		}
	}
	httpd_conns_servers[slot].http = http;
	httpd_conns_servers[slot].cs = cs;
	evhttp_set_bevcb(http, httpd_conns_bev, cs);
	return cs;
}

void
httpd_conn_use_tls(struct httpd_conns *cs, SSL_CTX *tls)
{
	cs->tls = tls;
}

void
httpd_conn_watch(struct httpd_conns *cs, struct evhttp_bound_socket *bound)
{
	struct evconnlistener *lev = evhttp_bound_socket_get_listener(bound);

	if (cs->nlev >= HC_MAX_LISTENERS)
		return;
	cs->lev[cs->nlev++] = lev;
	evconnlistener_set_error_cb(lev, httpd_conns_accept_error);
	/* evhttp listens with a backlog of 128: a crowd connecting at once
	 * would overflow it and leave new clients waiting for SYN retries.
	 * A second listen() on a listening socket only changes the backlog. */
	listen(evconnlistener_get_fd(lev), SOMAXCONN > 4096 ? SOMAXCONN : 4096);
}

void
httpd_conn_unwatch(struct httpd_conns *cs)
{
	cs->nlev = 0;
	cs->paused = cs->full = 0;
	evtimer_del(cs->pause_ev);
}

/* Whether evhttp closes the connection once this reply is written: the
 * test evhttp_send_done() makes (Connection: close either way, or
 * HTTP/1.0 without keep-alive). */
static int
httpd_conn_reply_closes(struct evhttp_request *evreq)
{
	const char *in = evhttp_find_header(evhttp_request_get_input_headers(evreq),
	    "Connection");
	const char *out = evhttp_find_header(evhttp_request_get_output_headers(evreq),
	    "Connection");

	if ((in != NULL && strcasecmp(in, "close") == 0) ||
	    (out != NULL && strcasecmp(out, "close") == 0))
		return 1;
	return evreq->major == 1 && evreq->minor == 0 &&
	    (in == NULL || strcasecmp(in, "keep-alive") != 0);
}

/* The reply is written: on keep-alive the next request's header deadline
 * starts now (it doubles as the idle limit). If evhttp closes instead,
 * httpd_conn_closed() follows at once, and its reason is done. */
static void
httpd_conn_replied(struct evhttp_request *evreq, void *arg)
{
	struct httpd_conn *c = arg;

	c->close_after_reply = httpd_conn_reply_closes(evreq);
	if (c->state == HC_BUSY)
		httpd_conn_new_request(c);
}

struct httpd_conn *
httpd_conn_of_request(struct httpd_conns *cs, struct evhttp_request *evreq)
{
	struct evhttp_connection	*evcon = evhttp_request_get_connection(evreq);
	struct bufferevent		*bev;
	struct httpd_conn		*c;
	evutil_socket_t			 fd;

	if (evcon == NULL || (bev = evhttp_connection_get_bufferevent(evcon)) == NULL ||
	    (fd = bufferevent_getfd(bev)) < 0 || (size_t)fd >= cs->nbyfd ||
	    (c = cs->byfd[fd]) == NULL || c->bev != bev)
		return NULL;
	if (c->state == HC_CLOSING)
		return c;	/* already answered; the handler's reply is dropped */
	httpd_conns_uncount(c);
	httpd_conn_set_state(c, HC_BUSY);
	evtimer_del(c->timer);
	evhttp_request_set_on_complete_cb(evreq, httpd_conn_replied, c);
	return c;
}

void
httpd_conn_forget_pending(struct httpd_conns *cs)
{
	struct httpd_conn *c;

	TAILQ_FOREACH(c, &cs->all, all)
		c->pending = NULL;
	cs->stopping = 1;
}

void
httpd_conn_free_all(struct httpd_conns *cs)
{
	struct httpd_conn *c;

	if (cs == NULL)
		return;
	/* evhttp_free() closed every wired connection; what is left never got
	 * a socket from evhttp, so only our part is freed. */
	while ((c = TAILQ_FIRST(&cs->all)) != NULL) {
		TAILQ_REMOVE(&cs->all, c, all);
		event_free(c->timer);
		free(c);
	}
	for (int i = 0; i < HC_MAX_SERVERS; i++)
		if (httpd_conns_servers[i].cs == cs)
			httpd_conns_servers[i].http = NULL, httpd_conns_servers[i].cs = NULL;
	if (cs->pause_ev != NULL)
		event_free(cs->pause_ev);
	if (cs->log_ev != NULL)
		event_free(cs->log_ev);
	free(cs->byfd);
	free(cs);
}

void
httpd_conn_stats_get(struct httpd_conns *cs, struct httpd_conn_stats *st)
{
	st->accepted = cs->m[HM_ACCEPTED].v;
	st->shed = cs->m[HM_SHED_CONN].v + cs->m[HM_SHED_FILE].v + cs->m[HM_SHED_BUFFER].v;
	st->deadline_closed = cs->m[HM_DEADLINE].v;
	st->rejected = cs->m[HM_REJECTED].v;
	st->accept_paused = cs->m[HM_PAUSED].v;
	st->open = (int)cs->m[HM_OPEN].v;
	st->buffered = (size_t)cs->m[HM_BUFFERED].v;
}

size_t
httpd_conn_metrics(struct httpd_conns *cs, struct metric **rows, size_t max)
{
	size_t n = 0;

	for (int i = 0; i < HM__COUNT && n < max; i++)
		rows[n++] = &cs->m[i];
	return n;
}
