/*
 * httpd: libevent front + worker pool. The loop thread owns every libevent
 * object (evhttp, connections, requests); workers only see our own copy of
 * a request (method, path, query, headers, body), so a client that hangs up
 * mid-request cannot free memory under a running handler: the connection's
 * close callback just marks the request orphaned and the reply is dropped.
 *
 * Each request owns its log context (request id, then user and tenant as
 * handlers learn them): it is bound while the handler runs, on a worker or
 * in a coroutine, and again while the loop writes the request's summary
 * line, so every line about a request carries the same fields.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/queue.h>
#include <sys/un.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <event2/util.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "clock.h"
#include "coro.h"
#include "err.h"
#include "evcurl.h"
#include "httpd.h"
#include "httpd_conn.h"
#include "jsonx.h"
#include "log.h"
#include "secret.h"

#define HTTPD_MAX_BOUND	8

struct httpd_req {
	struct httpd		*h;
	struct httpd_conn	*conn;
	struct evhttp_request	*evreq;		/* NULL once the client is gone */
	const struct httpd_route *route;
	char			 rid[24];
	struct log_ctx		 lc;		/* req=, then what handlers add */
	char			 method[12];
	char			*path;
	struct evkeyvalq	 query;
	struct evkeyvalq	 in_headers;
	char			*body;
	size_t			 body_len;
	struct timespec		 arrived;
	/* reply */
	int			 status;
	char			*out_body;
	size_t			 out_len;
	struct evkeyvalq	 out_headers;
	int			 replied;
	struct httpd_req	*next;		/* job or done queue */
	struct coro		*co;		/* running it, in coroutine mode */
	struct event		*watch;		/* notices the client hanging up */
};

struct httpd {
	struct event_base	*base;
	struct evhttp		*http;
	struct httpd_limits	 lim;
	const struct httpd_route *routes;
	void			*arg;
	struct evhttp_bound_socket *bound[HTTPD_MAX_BOUND];
	int			 nbound;
	char			*unix_paths[HTTPD_MAX_BOUND];
	int			 nunix;

	pthread_t		*threads;
	int			 nthreads;
	pthread_mutex_t		 lock;		/* guards both queues + stop */
	pthread_cond_t		 cond;
	struct httpd_req	*jobs_head, *jobs_tail;
	int			 njobs;
	struct httpd_req	*done_head, *done_tail;
	struct event		*done_ev;
	int			 stop;

	struct httpd_conns	*cs;		/* accepted connections (httpd_conn.c) */
	uint32_t		 rid_prefix;
	uint64_t		 next_rid;
	int			 draining;
	void			(*drain_cb)(void *);
	void			*drain_arg;
	struct httpd_stats	 st;
	SSL_CTX			*tls;
};

static const struct {
	int		 status;
	const char	*reason;
} httpd_reasons[] = {
	{ 200, "OK" }, { 201, "Created" }, { 202, "Accepted" }, { 204, "No Content" },
	{ 400, "Bad Request" }, { 401, "Unauthorized" }, { 403, "Forbidden" },
	{ 404, "Not Found" }, { 405, "Method Not Allowed" }, { 406, "Not Acceptable" },
	{ 409, "Conflict" }, { 413, "Payload Too Large" }, { 415, "Unsupported Media Type" },
	{ 422, "Unprocessable Entity" }, { 429, "Too Many Requests" },
	{ 500, "Internal Server Error" }, { 502, "Bad Gateway" },
	{ 503, "Service Unavailable" }, { 504, "Gateway Timeout" },
};

const char *
httpd_reason(int status)
{
	for (size_t i = 0; i < sizeof httpd_reasons / sizeof httpd_reasons[0]; i++)
		if (httpd_reasons[i].status == status)
			return httpd_reasons[i].reason;
	return "Unknown";
}

static double
httpd_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* --- connections ------------------------------------------------------ */

/* Every connection is tracked from accept by httpd_conn.c, which calls
 * this first in its one teardown path: orphan an in-flight request so its
 * reply is dropped. */
static void
httpd_orphan(struct httpd_conn *c, void *arg)
{
	(void)arg;
	if (c->pending != NULL) {
		c->pending->evreq = NULL;
		c->pending->conn = NULL;
		/* Stop what it waits for (an upstream call, a queue): nobody
		 * is left to read the answer. The socket goes with the
		 * connection, so its watch goes now too. */
		if (c->pending->watch != NULL) {
			event_free(c->pending->watch);
			c->pending->watch = NULL;
		}
		coro_cancel(c->pending->co);
		c->pending = NULL;
	}
}

/* The request's connection; it already counts against max_connections
 * (from accept), so over_limit only reports a connection we lost track of. */
static struct httpd_conn *
httpd_conn_get(struct httpd *h, struct evhttp_request *evreq, int *over_limit)
{
	struct httpd_conn *c = httpd_conn_of_request(h->cs, evreq);

	*over_limit = c == NULL;
	return c;
}

/* --- requests --------------------------------------------------------- */

/* Bodies may hold a bearer token (request) or a credential (a /v1/redeem
 * reply): wipe them before their memory goes back to the allocator. */
static void
httpd_body_release(const void *data, size_t len, void *arg)
{
	(void)arg;
	secret_wipe((void *)(uintptr_t)data, len);
	free((void *)(uintptr_t)data);
}

/* Header values carry bearer tokens and client secrets: wipe before free.
 * all = 0 spares the headers libevent still reads (Connection and such). */
static void
httpd_headers_wipe(struct evkeyvalq *q, int all)
{
	static const char *const sensitive[] = { "Authorization", "Cookie",
	    "X-OpenWebUI-User-Jwt", "X-Tenantgate-Admin", "Proxy-Authorization" };
	struct evkeyval *kv;

	TAILQ_FOREACH(kv, q, next) {
		int wipe = all;

		for (size_t i = 0; !wipe && i < sizeof sensitive / sizeof sensitive[0]; i++)
			wipe = strcasecmp(kv->key, sensitive[i]) == 0;
		if (wipe)
			secret_wipe(kv->value, strlen(kv->value));
	}
}

static void
httpd_req_free(struct httpd_req *r)
{
	free(r->path);
	evhttp_clear_headers(&r->query);
	httpd_headers_wipe(&r->in_headers, 1);
	evhttp_clear_headers(&r->in_headers);
	evhttp_clear_headers(&r->out_headers);
	if (r->body != NULL)
		httpd_body_release(r->body, r->body_len, NULL);
	if (r->out_body != NULL)
		httpd_body_release(r->out_body, r->out_len, NULL);
	free(r);
}

/* Loop thread: write the reply (unless the client left) and free. */
static void
httpd_req_finish(struct httpd_req *r)
{
	struct httpd		*h = r->h;
	struct evkeyvalq	*oh;
	struct evkeyval		*kv;
	struct evbuffer		*buf;
	struct log_ctx		*prev;

	if (r->evreq != NULL) {
		oh = evhttp_request_get_output_headers(r->evreq);
		TAILQ_FOREACH(kv, &r->out_headers, next)
			evhttp_add_header(oh, kv->key, kv->value);
		evhttp_add_header(oh, "X-Request-Id", r->rid);
		evhttp_add_header(oh, "Cache-Control", "no-store");
		evhttp_add_header(oh, "X-Content-Type-Options", "nosniff");
		buf = evbuffer_new();
		/* Hand our buffer to libevent instead of copying it, so the one
		 * copy of the body is wiped once written. */
		if (buf != NULL && r->out_len > 0 && evbuffer_add_reference(buf, r->out_body,
		    r->out_len, httpd_body_release, NULL) == 0)
			r->out_body = NULL;
		evhttp_send_reply(r->evreq, r->status, httpd_reason(r->status), buf);
		if (buf != NULL)
			evbuffer_free(buf);
	}
	if (r->conn != NULL)
		r->conn->pending = NULL;
	/* The summary line reads the request's context, not the loop's: it
	 * names the user and tenant the handler found. */
	prev = log_ctx_bind(&r->lc);
	log_info("%s %s -> %d %.1fms peer=%s%s", r->method, r->path != NULL ? r->path : "-",
	    r->status, httpd_since(&r->arrived) * 1000, httpd_peer(r),
	    r->evreq == NULL ? " (client gone)" : "");
	log_ctx_bind(prev);
	if (r->route != NULL && !r->route->inline_ok)
		h->st.in_flight--;
	httpd_req_free(r);
	if (h->draining && h->st.in_flight == 0 && h->drain_cb != NULL) {
		void (*cb)(void *) = h->drain_cb;

		h->drain_cb = NULL;
		cb(h->drain_arg);
	}
}

static void
httpd_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpd		*h = arg;
	struct httpd_req	*list, *r;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&h->lock);
	list = h->done_head;
	h->done_head = h->done_tail = NULL;
	pthread_mutex_unlock(&h->lock);
	while ((r = list) != NULL) {
		list = r->next;
		httpd_req_finish(r);
	}
}

/* Set by httpd_park() in the handler's own thread: the worker must then
 * not touch the request again, because another thread may already be
 * answering it. */
static _Thread_local struct httpd_req *httpd_parked;

static void
httpd_done_push(struct httpd *h, struct httpd_req *r)
{
	pthread_mutex_lock(&h->lock);
	if (h->done_tail != NULL)
		h->done_tail->next = r;
	else
		h->done_head = r;
	h->done_tail = r;
	pthread_mutex_unlock(&h->lock);
	event_active(h->done_ev, EV_READ, 0);
}

void
httpd_park(struct httpd_req *r)
{
	httpd_parked = r;
}

void
httpd_resume(struct httpd_req *r)
{
	if (!r->replied)
		httpd_reply_error(r, 500, "internal", "the handler produced no reply");
	r->next = NULL;
	httpd_done_push(r->h, r);
}

static void *
httpd_worker(void *arg)
{
	struct httpd		*h = arg;
	struct httpd_req	*r;
	struct log_ctx		*prev;

	clock_forbid_sleep();
	for (;;) {
		pthread_mutex_lock(&h->lock);
		while (h->jobs_head == NULL && !h->stop)
			pthread_cond_wait(&h->cond, &h->lock);
		if (h->jobs_head == NULL) {
			pthread_mutex_unlock(&h->lock);
			return NULL;
		}
		r = h->jobs_head;
		h->jobs_head = r->next;
		if (h->jobs_head == NULL)
			h->jobs_tail = NULL;
		h->njobs--;
		pthread_mutex_unlock(&h->lock);

		r->next = NULL;
		prev = log_ctx_bind(&r->lc);
		httpd_parked = NULL;
		r->route->fn(r, h->arg);
		if (httpd_parked == r) {
			/* Its holder answers it (httpd_resume). */
			httpd_parked = NULL;
			log_ctx_bind(prev);
			continue;
		}
		if (!r->replied)
			httpd_reply_error(r, 500, "internal", "the handler produced no reply");
		log_ctx_bind(prev);
		httpd_done_push(h, r);
	}
}

static int
httpd_path_match(const char *pattern, const char *path)
{
	size_t n = strlen(pattern);

	if (n > 0 && pattern[n - 1] == '*')
		return strncmp(pattern, path, n - 1) == 0;
	return strcmp(pattern, path) == 0;
}

static const char *
httpd_method_name(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	case EVHTTP_REQ_TRACE: return "TRACE";
	case EVHTTP_REQ_CONNECT: return "CONNECT";
	case EVHTTP_REQ_PATCH: return "PATCH";
	}
	return "?";
}

/* Build our own copy of everything a handler may read. */
static struct httpd_req *
httpd_req_new(struct httpd *h, struct evhttp_request *evreq, struct httpd_conn *c)
{
	struct httpd_req	*r;
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(evreq);
	struct evkeyval		*kv;
	struct evbuffer		*in = evhttp_request_get_input_buffer(evreq);
	const char		*p, *q;

	if ((r = calloc(1, sizeof *r)) == NULL)
		return NULL;
	r->h = h;
	r->conn = c;
	r->evreq = evreq;
	r->status = 500;
	TAILQ_INIT(&r->query);
	TAILQ_INIT(&r->in_headers);
	TAILQ_INIT(&r->out_headers);
	clock_gettime(CLOCK_MONOTONIC, &r->arrived);
	snprintf(r->rid, sizeof r->rid, "%08x%08llx", h->rid_prefix,
	    (unsigned long long)++h->next_rid);
	snprintf(r->lc.text, sizeof r->lc.text, "req=%s", r->rid);
	snprintf(r->method, sizeof r->method, "%s",
	    httpd_method_name(evhttp_request_get_command(evreq)));
	p = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	r->path = evhttp_uridecode(p != NULL && *p != '\0' ? p : "/", 0, NULL);
	if ((q = uri != NULL ? evhttp_uri_get_query(uri) : NULL) != NULL)
		evhttp_parse_query_str(q, &r->query);
	TAILQ_FOREACH(kv, evhttp_request_get_input_headers(evreq), next)
		evhttp_add_header(&r->in_headers, kv->key, kv->value);
	/* libevent's own copies are not needed any more: wipe them now. */
	httpd_headers_wipe(evhttp_request_get_input_headers(evreq), 0);
	r->body_len = evbuffer_get_length(in);
	if ((r->body = malloc(r->body_len + 1)) == NULL || r->path == NULL) {
		httpd_req_free(r);
		return NULL;
	}
	evbuffer_remove(in, r->body, r->body_len);
	r->body[r->body_len] = '\0';
	return r;
}

/* Coroutine mode: the handler runs on the loop thread and parks whenever
 * it waits on the network; the reply is written from the loop's stack. */
static void
httpd_coro_run(void *arg)
{
	struct httpd_req *r = arg;

	/* Kept across parks by coro.c; dropped when the coroutine ends. */
	log_ctx_bind(&r->lc);
	r->route->fn(r, r->h->arg);
	if (!r->replied)
		httpd_reply_error(r, 500, "internal", "the handler produced no reply");
}

static void
httpd_coro_done(void *arg)
{
	struct httpd_req *r = arg;

	r->co = NULL;
	if (r->watch != NULL) {
		event_free(r->watch);
		r->watch = NULL;
	}
	httpd_req_finish(r);
}

/* evhttp stops reading a connection while its request is handled, so it
 * would see a client hang up only when the reply is written. Peek at the
 * socket instead: EOF or an error means nobody waits for the answer, and
 * the coroutine's upstream call is stopped now. Data (a pipelined request,
 * a TLS record) ends the watch. */
static void
httpd_watch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpd_req	*r = arg;
	char			 b;
	ssize_t			 n;

	(void)what;
	n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	event_del(r->watch);
	if (n <= 0) {
		struct log_ctx *prev = log_ctx_bind(&r->lc);

		log_info("the client went away; stopping its call");
		log_ctx_bind(prev);
		coro_cancel(r->co);
	}
}

static void
httpd_watch_start(struct httpd_req *r)
{
	struct bufferevent	*bev;
	evutil_socket_t		 fd;

	if (r->evreq == NULL ||
	    (bev = evhttp_connection_get_bufferevent(evhttp_request_get_connection(r->evreq)))
	    == NULL || (fd = bufferevent_getfd(bev)) < 0)
		return;
	if ((r->watch = event_new(r->h->base, fd, EV_READ | EV_PERSIST, httpd_watch_cb, r))
	    != NULL)
		event_add(r->watch, NULL);
}

/* Refuse, run inline, or hand to a worker or a coroutine; r's log context
 * is bound (httpd_gencb). r may be gone on return. */
static void
httpd_dispatch(struct httpd *h, struct httpd_req *r, struct httpd_conn *c, int over)
{
	struct evhttp_request	*evreq = r->evreq;
	const struct httpd_route *rt, *path_hit = NULL;

	if (over || c == NULL) {
		evhttp_add_header(evhttp_request_get_output_headers(evreq), "Connection", "close");
		httpd_reply_error(r, 503, "too_many_connections",
		    "the server is at its connection limit (%d); retry shortly",
		    h->lim.max_connections);
		r->conn = NULL;
		httpd_req_finish(r);
		return;
	}
	if (h->draining) {
		httpd_reply_error(r, 503, "draining", "the server is shutting down");
		httpd_req_finish(r);
		return;
	}
	for (rt = h->routes; rt->path != NULL; rt++) {
		if (!httpd_path_match(rt->path, r->path))
			continue;
		path_hit = rt;
		if (rt->method == NULL || strcmp(rt->method, r->method) == 0)
			break;
	}
	if (rt->path == NULL) {
		if (path_hit != NULL)
			httpd_reply_error(r, 405, "method_not_allowed",
			    "%s is not allowed on %s", r->method, r->path);
		else
			httpd_reply_error(r, 404, "not_found", "no such endpoint: %s", r->path);
		httpd_req_finish(r);
		return;
	}
	if (r->body_len > h->lim.max_body_bytes) {
		httpd_reply_error(r, 413, "body_too_large",
		    "request body is larger than %zu bytes", h->lim.max_body_bytes);
		httpd_req_finish(r);
		return;
	}
	r->route = rt;
	if (rt->inline_ok) {
		rt->fn(r, h->arg);
		if (!r->replied)
			httpd_reply_error(r, 500, "internal", "the handler produced no reply");
		httpd_req_finish(r);
		return;
	}
	if (h->lim.coroutines) {
		c->pending = r;
		h->st.in_flight++;
		/* Watch first: the handler may finish (and free r) before
		 * coro_spawn() returns; its done callback frees the watch. */
		httpd_watch_start(r);
		if (coro_spawn(httpd_coro_run, httpd_coro_done, r, &r->co) == -1) {
			r->co = NULL;
			httpd_reply_error(r, 503, "busy", "out of memory; retry shortly");
			httpd_coro_done(r);
		}
		return;
	}
	pthread_mutex_lock(&h->lock);
	if (h->njobs >= h->lim.max_queue) {
		pthread_mutex_unlock(&h->lock);
		h->st.rejected_busy++;
		r->route = NULL;
		httpd_reply_error(r, 503, "busy", "the server is busy; retry shortly");
		httpd_req_finish(r);
		return;
	}
	if (h->jobs_tail != NULL)
		h->jobs_tail->next = r;
	else
		h->jobs_head = r;
	h->jobs_tail = r;
	h->njobs++;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	c->pending = r;
	h->st.in_flight++;
}

static void
httpd_gencb(struct evhttp_request *evreq, void *arg)
{
	struct httpd		*h = arg;
	struct httpd_conn	*c;
	struct httpd_req	*r;
	struct log_ctx		*prev;
	int			 over;

	h->st.requests++;
	c = httpd_conn_get(h, evreq, &over);
	if ((r = httpd_req_new(h, evreq, c)) == NULL) {
		evhttp_send_error(evreq, 500, "out of memory");
		return;
	}
	if (c != NULL)
		c->requests++;
	prev = log_ctx_bind(&r->lc);
	httpd_dispatch(h, r, c, over);
	log_ctx_bind(prev);
}

/* --- setup and teardown ------------------------------------------------ */

int
httpd_use_tls(struct httpd *h, const char *cert_file, const char *key_file, struct err *e)
{
	char msg[256];

	if ((h->tls = SSL_CTX_new(TLS_server_method())) == NULL)
		return err_set(e, 500, "tls", "cannot create a TLS context");
	SSL_CTX_set_min_proto_version(h->tls, TLS1_2_VERSION);
	SSL_CTX_set_options(h->tls, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(h->tls, cert_file) != 1 ||
	    SSL_CTX_use_PrivateKey_file(h->tls, key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(h->tls) != 1) {
		ERR_error_string_n(ERR_get_error(), msg, sizeof msg);
		SSL_CTX_free(h->tls);
		h->tls = NULL;
		return err_set(e, 500, "tls", "TLS certificate %s / key %s: %s", cert_file,
		    key_file, msg);
	}
	httpd_conn_use_tls(h->cs, h->tls);
	return 0;
}

struct httpd *
httpd_new(struct event_base *base, const struct httpd_limits *lim,
    const struct httpd_route *routes, void *arg, struct err *e)
{
	struct httpd		*h;
	struct httpd_conn_limits cl;
	unsigned char		 rnd[4];

	if ((h = calloc(1, sizeof *h)) == NULL) {
		err_set(e, 500, "nomem", "out of memory");
		return NULL;
	}
	h->base = base;
	h->routes = routes;
	h->arg = arg;
	h->lim = *lim;
	if (h->lim.max_header_bytes == 0)
		h->lim.max_header_bytes = 16 * 1024;
	if (h->lim.max_body_bytes == 0)
		h->lim.max_body_bytes = 1024 * 1024;
	if (h->lim.max_connections <= 0)
		h->lim.max_connections = 1024;
	if (h->lim.timeout_s <= 0)
		h->lim.timeout_s = 30;
	if (h->lim.workers <= 0)
		h->lim.workers = 4;
	if (h->lim.max_queue <= 0)
		h->lim.max_queue = 1024;
	if (h->lim.header_timeout_s <= 0)
		h->lim.header_timeout_s = 10;
	if (h->lim.body_timeout_s <= 0)
		h->lim.body_timeout_s = 30;
	if (h->lim.body_timeout_s < h->lim.header_timeout_s)
		h->lim.body_timeout_s = h->lim.header_timeout_s;
	if (h->lim.max_buffered_bytes == 0)
		h->lim.max_buffered_bytes = 32 * 1024 * 1024;
	/* One request must always fit, or nothing with a body could be served. */
	if (h->lim.max_buffered_bytes < h->lim.max_body_bytes + h->lim.max_header_bytes +
	    HTTPD_BODY_SLACK)
		h->lim.max_buffered_bytes = h->lim.max_body_bytes + h->lim.max_header_bytes +
		    HTTPD_BODY_SLACK;
	if (RAND_bytes(rnd, sizeof rnd) == 1)
		memcpy(&h->rid_prefix, rnd, sizeof rnd);
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);

	if ((h->http = evhttp_new(base)) == NULL ||
	    (h->done_ev = event_new(base, -1, EV_PERSIST | EV_READ, httpd_done_cb, h)) == NULL) {
		err_set(e, 500, "httpd", "cannot create the HTTP server");
		httpd_free(h);
		return NULL;
	}
	cl.max_header_bytes = h->lim.max_header_bytes;
	cl.max_body_bytes = h->lim.max_body_bytes;
	cl.max_buffered_bytes = h->lim.max_buffered_bytes;
	cl.max_connections = h->lim.max_connections;
	cl.header_timeout_s = h->lim.header_timeout_s;
	cl.body_timeout_s = h->lim.body_timeout_s;
	cl.io_timeout_s = h->lim.timeout_s;
	if ((h->cs = httpd_conn_table_new(base, h->http, &cl, httpd_orphan, h)) == NULL) {
		err_set(e, 500, "httpd", "cannot set up connection tracking");
		httpd_free(h);
		return NULL;
	}
	/* httpd_conn.c counts header and body bytes as they arrive and answers
	 * 431/413 in JSON before evhttp's own limits (HTML answers) can trip:
	 * evhttp's header limit sits above ours, and its body limit is off so
	 * a large Content-Length is not refused in HTML before a byte is read.
	 * A slightly oversize body is read whole, so the handler side answers
	 * its JSON 413; far larger ones are cut off while reading. */
	evhttp_set_max_headers_size(h->http, (ev_ssize_t)(h->lim.max_header_bytes + 4096));
	evhttp_set_max_body_size(h->http, -1);
	/* Idle timer for reads and writes; the absolute header and body
	 * deadlines are httpd_conn.c's. */
	evhttp_set_timeout(h->http, h->lim.timeout_s);
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS);
	evhttp_set_default_content_type(h->http, "application/json");
	evhttp_set_gencb(h->http, httpd_gencb, h);

	if (h->lim.coroutines) {
		if (coro_init(base) == -1 || evcurl_init(base) == -1) {
			err_set(e, 500, "nomem", "out of memory");
			httpd_free(h);
			return NULL;
		}
		return h;
	}
	if ((h->threads = calloc((size_t)h->lim.workers, sizeof *h->threads)) == NULL) {
		err_set(e, 500, "nomem", "out of memory");
		httpd_free(h);
		return NULL;
	}
	for (; h->nthreads < h->lim.workers; h->nthreads++) {
		if (pthread_create(&h->threads[h->nthreads], NULL, httpd_worker, h) != 0) {
			err_set(e, 500, "httpd", "cannot start worker threads: %s", strerror(errno));
			httpd_free(h);
			return NULL;
		}
	}
	return h;
}

static int
httpd_listen_unix(struct httpd *h, const char *path, struct err *e)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	int			 fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path)
		return err_set(e, 400, "bad_listen", "unix socket path too long: %s", path);
	strcpy(sun.sun_path, path);
	/* Replace a stale socket from a previous run, never a regular file. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) == -1)
		return err_set(e, 500, "listen", "socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1 || listen(fd, 128) == -1 ||
	    chmod(path, 0660) == -1) {
		err_set(e, 500, "listen", "cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if ((h->bound[h->nbound] = evhttp_accept_socket_with_handle(h->http, fd)) == NULL) {
		close(fd);
		return err_set(e, 500, "listen", "cannot accept on %s", path);
	}
	httpd_conn_watch(h->cs, h->bound[h->nbound]);
	h->nbound++;
	h->unix_paths[h->nunix++] = strdup(path);
	return 0;
}

int
httpd_listen(struct httpd *h, const char *where, struct err *e)
{
	char			 host[256];
	const char		*colon;
	long			 port;
	char			*end;
	size_t			 hlen;

	if (h->nbound >= HTTPD_MAX_BOUND)
		return err_set(e, 400, "bad_listen", "too many listeners (max %d)", HTTPD_MAX_BOUND);
	if (strncmp(where, "unix:", 5) == 0)
		return httpd_listen_unix(h, where + 5, e);
	if ((colon = strrchr(where, ':')) == NULL)
		return err_set(e, 400, "bad_listen", "listen address '%s' needs host:port", where);
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || end == colon + 1 || port < 0 || port > 65535)
		return err_set(e, 400, "bad_listen", "bad port in '%s'", where);
	hlen = (size_t)(colon - where);
	if (hlen >= 2 && where[0] == '[' && where[hlen - 1] == ']') {
		where++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof host)
		return err_set(e, 400, "bad_listen", "bad host in listen address");
	memcpy(host, where, hlen);
	host[hlen] = '\0';
	h->bound[h->nbound] = evhttp_bind_socket_with_handle(h->http, host, (ev_uint16_t)port);
	if (h->bound[h->nbound] == NULL)
		return err_set(e, 500, "listen", "cannot listen on %s port %ld: %s", host, port,
		    strerror(errno));
	httpd_conn_watch(h->cs, h->bound[h->nbound]);
	h->nbound++;
	return 0;
}

void
httpd_drain(struct httpd *h, void (*done)(void *), void *arg)
{
	struct httpd_conn_stats cst;

	httpd_conn_unwatch(h->cs);
	for (int i = 0; i < h->nbound; i++)
		evhttp_del_accept_socket(h->http, h->bound[i]);
	h->nbound = 0;
	h->draining = 1;
	h->drain_cb = done;
	h->drain_arg = arg;
	httpd_conn_stats_get(h->cs, &cst);
	log_info("draining: %d request(s) in flight, %d connection(s) open",
	    h->st.in_flight, cst.open);
	if (h->st.in_flight == 0 && done != NULL) {
		h->drain_cb = NULL;
		done(arg);
	}
}

void
httpd_stats(struct httpd *h, struct httpd_stats *out)
{
	struct httpd_conn_stats cst;

	*out = h->st;
	httpd_conn_stats_get(h->cs, &cst);
	out->connections = cst.accepted;
	out->open_connections = cst.open;
	out->shed = cst.shed;
	out->deadline_closed = cst.deadline_closed;
	out->rejected_connections = cst.rejected;
	out->accept_paused = cst.accept_paused;
	out->buffered_bytes = cst.buffered;
}

size_t
httpd_metrics(struct httpd *h, struct metric **rows, size_t max)
{
	return httpd_conn_metrics(h->cs, rows, max);
}

struct httpd *
httpd_req_server(const struct httpd_req *r)
{
	return r->h;
}

void
httpd_free(struct httpd *h)
{
	struct httpd_req *r;

	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	h->stop = 1;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	for (int i = 0; i < h->nthreads; i++)
		pthread_join(h->threads[i], NULL);
	free(h->threads);
	/* Workers are gone: anything still queued is answered or dropped. */
	if (h->done_ev != NULL)
		httpd_done_cb(-1, 0, h);
	while ((r = h->jobs_head) != NULL) {
		h->jobs_head = r->next;
		httpd_req_free(r);
	}
	if (h->cs != NULL)
		httpd_conn_forget_pending(h->cs);
	if (h->http != NULL)
		evhttp_free(h->http);	/* closes connections via httpd_conn_close */
	httpd_conn_free_all(h->cs);
	if (h->done_ev != NULL)
		event_free(h->done_ev);
	for (int i = 0; i < h->nunix; i++) {
		unlink(h->unix_paths[i]);
		free(h->unix_paths[i]);
	}
	if (h->tls != NULL)
		SSL_CTX_free(h->tls);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
	free(h);
}

/* --- handler side ------------------------------------------------------ */

const char *
httpd_method(const struct httpd_req *r)
{
	return r->method;
}

const char *
httpd_path(const struct httpd_req *r)
{
	return r->path;
}

const char *
httpd_query(const struct httpd_req *r, const char *key)
{
	return evhttp_find_header(&r->query, key);
}

const char *
httpd_header(const struct httpd_req *r, const char *name)
{
	return evhttp_find_header(&r->in_headers, name);
}

const char *
httpd_body(const struct httpd_req *r, size_t *len)
{
	if (len != NULL)
		*len = r->body_len;
	return r->body;
}

const char *
httpd_peer(const struct httpd_req *r)
{
	return r->conn != NULL ? r->conn->peer : "-";
}

double
httpd_age(const struct httpd_req *r)
{
	return httpd_since(&r->arrived);
}

void
httpd_add_header(struct httpd_req *r, const char *name, const char *value)
{
	evhttp_add_header(&r->out_headers, name, value);
}

void
httpd_reply_take(struct httpd_req *r, int status, const char *content_type, char *body,
    size_t len)
{
	if (r->replied) {
		log_warnx("handler replied twice to %s %s; second reply dropped", r->method, r->path);
		if (body != NULL) {
			secret_wipe(body, len);
			free(body);
		}
		return;
	}
	r->replied = 1;
	r->status = status;
	if (content_type != NULL)
		httpd_add_header(r, "Content-Type", content_type);
	if (len > 0) {
		r->out_body = body;
		r->out_len = len;
	} else
		free(body);
}

void
httpd_reply(struct httpd_req *r, int status, const char *content_type, const char *body,
    size_t len)
{
	char *copy = NULL;

	if (len > 0 && (copy = malloc(len)) == NULL) {
		/* Never a 200 with a missing body. */
		httpd_reply_take(r, 500, content_type, NULL, 0);
		return;
	}
	if (len > 0)
		memcpy(copy, body, len);
	httpd_reply_take(r, status, content_type, copy, len);
}

void
httpd_reply_json(struct httpd_req *r, int status, json_t *v)
{
	char *s = v != NULL ? jsonx_dump(v) : NULL;

	json_decref(v);
	if (s == NULL) {
		httpd_reply(r, 500, "application/json",
		    "{\"error\":{\"code\":\"internal\",\"message\":\"cannot encode reply\"}}", 63);
		return;
	}
	httpd_reply(r, status, "application/json", s, strlen(s));
	secret_free_str(s);
}

void
httpd_reply_error(struct httpd_req *r, int status, const char *code, const char *fmt, ...)
{
	char	msg[ERR_MSG_MAX];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (status >= 500)
		log_warnx("%s %s -> %d %s: %s", r->method, r->path, status, code, msg);
	httpd_reply_json(r, status, jsonx_error(code, msg));
}

void
httpd_reply_err(struct httpd_req *r, const struct err *e)
{
	if (e->retry_after > 0) {
		char v[16];

		snprintf(v, sizeof v, "%d", e->retry_after);
		httpd_add_header(r, "Retry-After", v);
	}
	httpd_reply_error(r, e->status != 0 ? e->status : 500,
	    e->code[0] != '\0' ? e->code : "internal", "%s", e->msg);
}
