/*
 * httpd: the HTTP front shared by the broker and the forwarder.
 *
 * One libevent loop accepts connections and parses requests (evhttp, with
 * limits on headers, body, connections and idle time); handlers run on a
 * small pool of worker threads because they block (libcurl, libpq). A
 * handler answers with httpd_reply*(); the reply is handed back to the loop
 * thread, which writes it. Each connection is torn down in one place that
 * logs a summary line (pgbouncer disconnect_client(), relayd relay_close()).
 */
#ifndef TG_HTTPD_H
#define TG_HTTPD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct err;
struct event_base;
struct httpd;
struct httpd_req;
struct metric;

struct httpd_limits {
	size_t	max_header_bytes;	/* default 16 KiB */
	size_t	max_body_bytes;		/* default 1 MiB */
	int	max_connections;	/* default 1024 */
	int	timeout_s;		/* idle read/write timeout, default 30 */
	int	workers;		/* handler threads, default 4 */
	int	max_queue;		/* queued requests before 503, default 1024 */
	/* Run handlers as coroutines on the loop thread (no workers): a
	 * handler that waits on the network parks, so nothing waits behind
	 * it. Handlers must only block through httpc/clock (see coro.h). */
	int	coroutines;
	/* Absolute deadlines from the start of a request (accept, or the end
	 * of the previous reply on keep-alive); reads do not extend them. */
	int	header_timeout_s;	/* whole header block, default 10 */
	int	body_timeout_s;		/* whole request, body included, default 30 */
	/* Bytes of unfinished requests held across all connections; past it
	 * the oldest unfinished ones are shed (503). Default 32 MiB, raised to
	 * fit at least one request. */
	size_t	max_buffered_bytes;
};

typedef void (*httpd_fn)(struct httpd_req *, void *arg);

/* Routes are matched in order: exact path, or prefix when the path ends
 * with '*'. A method of NULL matches any method. `inline_ok` handlers run
 * on the loop thread (only for cheap, non-blocking ones like /healthz). */
struct httpd_route {
	const char	*method;
	const char	*path;
	httpd_fn	 fn;
	int		 inline_ok;
};

struct httpd	*httpd_new(struct event_base *, const struct httpd_limits *,
		    const struct httpd_route *routes, void *arg, struct err *);
/* Serve TLS (1.2+) on every listener with this certificate chain and key. */
int		 httpd_use_tls(struct httpd *, const char *cert_file, const char *key_file,
		    struct err *);
/* "127.0.0.1:8080", "[::1]:8080" or "unix:/run/tenantgate/broker.sock". */
int		 httpd_listen(struct httpd *, const char *where, struct err *);
/* Stop accepting; call done() once every in-flight request is answered. */
void		 httpd_drain(struct httpd *, void (*done)(void *), void *arg);
void		 httpd_free(struct httpd *);
/* Counters for /metrics. */
struct httpd_stats {
	uint64_t	requests, connections, rejected_busy;
	int		open_connections, in_flight;
	/* connections: accepted; the rest are connection pressure */
	uint64_t	shed, deadline_closed, rejected_connections, accept_paused;
	size_t		buffered_bytes;
};
void		 httpd_stats(struct httpd *, struct httpd_stats *);
/* The connection metric rows (open, accepted, shed, deadline, refused,
 * accept paused, buffered bytes), for a daemon's /metrics. */
size_t		 httpd_metrics(struct httpd *, struct metric **rows, size_t max);
/* The server a request arrived on (for handlers that render metrics). */
struct httpd	*httpd_req_server(const struct httpd_req *);

/* Inside a handler. */
const char	*httpd_method(const struct httpd_req *);
const char	*httpd_path(const struct httpd_req *);	/* decoded, no query */
const char	*httpd_query(const struct httpd_req *, const char *key); /* NULL if absent */
const char	*httpd_header(const struct httpd_req *, const char *name);
const char	*httpd_body(const struct httpd_req *, size_t *len);
const char	*httpd_peer(const struct httpd_req *);
/* Seconds since the request arrived, for latency metrics. */
double		 httpd_age(const struct httpd_req *);

void		 httpd_add_header(struct httpd_req *, const char *name, const char *value);
/* Exactly one reply per request. Bodies are copied. */
void		 httpd_reply(struct httpd_req *, int status, const char *content_type,
		    const char *body, size_t len);
/* The same without the copy: takes body (malloc'ed, len bytes), which is
 * wiped and freed once written. */
void		 httpd_reply_take(struct httpd_req *, int status, const char *content_type,
		    char *body, size_t len);
/* Steals the reference to v. */
void		 httpd_reply_json(struct httpd_req *, int status, json_t *v);
void		 httpd_reply_error(struct httpd_req *, int status, const char *code,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void		 httpd_reply_err(struct httpd_req *, const struct err *);

/*
 * Long-polls: a handler that must wait (GET /v1/changes) calls
 * httpd_park(r) as its last act on r and returns, which frees its worker
 * thread at once. Whoever holds r later answers it from any thread with
 * httpd_reply*() followed by httpd_resume(r), exactly once; the loop
 * writes the reply. A parked request still counts as in flight (drain
 * waits for it), so its holder must answer it promptly on shutdown. Not
 * for inline_ok routes.
 */
void		 httpd_park(struct httpd_req *);
void		 httpd_resume(struct httpd_req *);

/* Status line text for a code ("Not Found"). */
const char	*httpd_reason(int status);

#endif
