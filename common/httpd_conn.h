/*
 * httpd_conn: the connection half of httpd (internal to common/httpd*.c).
 *
 * It owns every accepted connection from accept to close: the count against
 * max_connections, absolute header and body deadlines (evhttp's own timer
 * restarts on every read, so a trickle would never time out), the global
 * cap on buffered request bytes, shedding the oldest unfinished connections
 * near the connection or file limit, pausing accept on EMFILE, and the JSON
 * answers for 408, 413, 431 and 503 that evhttp would send as HTML.
 *
 * evhttp still parses requests. We get hold of each connection through
 * evhttp_set_bevcb() (called once per accept: we create the bufferevent and
 * watch its input buffer) and through the listeners' error callbacks.
 */
#ifndef TG_HTTPD_CONN_H
#define TG_HTTPD_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/util.h>

struct bufferevent;
struct event;
struct event_base;
struct evhttp;
struct evhttp_bound_socket;
struct evhttp_connection;
struct evhttp_request;
struct httpd_conns;
struct httpd_req;
struct metric;
typedef struct ssl_ctx_st SSL_CTX;

/* Why a connection ended. Every teardown names one and logs one info line
 * with it: conn id, peer, age, requests, bytes in and out (relayd
 * relay_close(), pgbouncer disconnect_client()). */
enum httpd_close {
	HTTPD_CLOSE_DONE,		/* answered; the request or the answer said close */
	HTTPD_CLOSE_CLIENT,		/* the client hung up or reset */
	HTTPD_CLOSE_IDLE,		/* no byte of a request within the header deadline */
	HTTPD_CLOSE_HEADER_TIMEOUT,
	HTTPD_CLOSE_BODY_TIMEOUT,
	HTTPD_CLOSE_IO_TIMEOUT,		/* no read or write progress for timeout_s */
	HTTPD_CLOSE_HEADERS_TOO_LARGE,
	HTTPD_CLOSE_TOO_LARGE,		/* body far over max_body_bytes */
	HTTPD_CLOSE_SHED_CONNECTIONS,	/* unfinished, shed at the connection limit */
	HTTPD_CLOSE_SHED_FILES,		/* ... at the file limit */
	HTTPD_CLOSE_SHED_BUFFER,	/* ... at the buffered-bytes limit */
	HTTPD_CLOSE_REFUSED,		/* new, and nothing could be shed */
	HTTPD_CLOSE_ERROR,		/* malformed request, socket error, out of memory */
	HTTPD_CLOSE_SHUTDOWN,
	HTTPD_CLOSE__COUNT
};
const char	*httpd_conn_close_name(enum httpd_close);

struct evbuffer_cb_entry;

struct httpd_conn {
	/* httpd.c's part: what a request needs from its connection. */
	uint64_t		 id;
	char			 peer[64];
	struct timespec		 born;
	unsigned long		 requests;
	struct httpd_req	*pending;	/* in a worker right now */

	/* httpd_conn.c's part. */
	struct httpd_conns	*cs;
	struct bufferevent	*bev;
	struct evhttp_connection *evcon;
	struct event		*timer;		/* set-up, deadline, verdict, hard stop */
	evutil_socket_t		 fd;
	int			 state;
	int			 verdict;	/* status to answer with, 0 = none */
	enum httpd_close	 why;		/* set by httpd_conn_condemn() */
	int			 close_after_reply;	/* evhttp closes once it is written */
	uint64_t		 bytes_in, bytes_out;	/* HTTP bytes, TLS removed */
	struct timespec		 last_io;
	struct evbuffer_cb_entry *in_cb, *out_cb;
	int			 scan;		/* header-end scanner state */
	size_t			 hdr_bytes, body_bytes;
	size_t			 counted;	/* this request's share of buffered */
	struct timespec		 req_start;
	TAILQ_ENTRY(httpd_conn)	 all;
	TAILQ_ENTRY(httpd_conn)	 waitq;		/* headers or body queue, oldest first */
};

struct httpd_conn_limits {
	size_t	max_header_bytes;
	size_t	max_body_bytes;		/* the 413 line is max_body_bytes + HTTPD_BODY_SLACK */
	size_t	max_buffered_bytes;
	int	max_connections;
	int	header_timeout_s;
	int	body_timeout_s;
	int	io_timeout_s;		/* evhttp's idle timer, to name its closes */
};

/* Bodies up to this much over the limit are read whole so the handler side
 * can answer a precise 413; beyond it the connection is cut while reading. */
#define HTTPD_BODY_SLACK	65536

struct httpd_conn_stats {
	uint64_t	accepted, shed, deadline_closed, rejected, accept_paused;
	int		open;
	size_t		buffered;
};

/* on_close runs first in the one teardown path (httpd.c orphans the
 * pending request there). */
struct httpd_conns *httpd_conn_table_new(struct event_base *, struct evhttp *,
		    const struct httpd_conn_limits *,
		    void (*on_close)(struct httpd_conn *, void *), void *arg);
void		 httpd_conn_use_tls(struct httpd_conns *, SSL_CTX *);
/* Take over accept errors of a listener evhttp created. */
void		 httpd_conn_watch(struct httpd_conns *, struct evhttp_bound_socket *);
/* The listeners are about to go (drain): stop touching them. */
void		 httpd_conn_unwatch(struct httpd_conns *);
/* A complete request arrived (evhttp_set_gencb): the connection's deadline
 * stops until the reply is written. NULL if the connection is unknown. */
struct httpd_conn *httpd_conn_of_request(struct httpd_conns *, struct evhttp_request *);
/* Before evhttp_free(): requests are gone, do not orphan them at close;
 * the connections evhttp_free() closes end with reason shutdown. */
void		 httpd_conn_forget_pending(struct httpd_conns *);
/* After evhttp_free(). */
void		 httpd_conn_free_all(struct httpd_conns *);
void		 httpd_conn_stats_get(struct httpd_conns *, struct httpd_conn_stats *);
size_t		 httpd_conn_metrics(struct httpd_conns *, struct metric **rows, size_t max);

/* Header-end scanner, exposed for unit tests: feed bytes, get the offset
 * just past the blank line that ends the header block, or -1 for more.
 * *st starts at 0 for each request. */
long		 httpd_conn_scan(int *st, const char *p, size_t n);

#endif
