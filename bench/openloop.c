/*
 * bench/openloop.c - open-loop, fixed-rate HTTP/1.1 load generator (in the
 * manner of wrk2), for benchmarks only (not installed).
 *
 * Request i is due at start + i / rate, whatever happened to the ones
 * before it. Its latency is measured from that intended time, not from
 * when a connection was free to send it: a stalled server therefore shows
 * up as the latency every request due during the stall really saw, instead
 * of as one slow request and a quiet gap (coordinated omission).
 *
 *   tg-openloop -a 127.0.0.1:PORT -f request.raw -r RATE -d SECONDS
 *               [-n MAX] [-c CONNS] [-T TIMEOUT_S] [-s STATUS] [-e TEXT]
 *   tg-openloop --selftest
 *
 * request.raw holds the whole request as sent (request line, headers,
 * Content-Length, body); several requests separated by NUL bytes are sent
 * in turn (one per user, say). Every loop is bounded: at most MAX (default
 * RATE * SECONDS) requests, no new request after SECONDS, and the run ends
 * at SECONDS + TIMEOUT_S + 2 whatever is outstanding (counted as timeouts).
 * The result is one JSON object on stdout: counts, errors by kind,
 * percentiles (p50, p90, p99, p99.9, max) in microseconds, and one row per
 * second of schedule (count, p99, max) so a latency cliff shows where it
 * happened.
 */
/* memmem and epoll_pwait2 (nanosecond waits) are GNU extensions. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <sys/stat.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "loopback.h"

/* ---- histogram: log-linear buckets, about 0.8 % wide, in microseconds ---- */

#define OL_EXACT 256          /* values below this are counted exactly */
#define OL_SUB 128            /* buckets per power of two above it */
#define OL_MAXPOW 40          /* 2^40 us: far beyond any run */
#define OL_NBUCKETS (OL_EXACT + (OL_MAXPOW - 8) * OL_SUB)

struct ol_hist {
	uint64_t count, sum, max;
	uint32_t b[OL_NBUCKETS];
};

static int ol_hist_index(uint64_t v)
{
	if (v < OL_EXACT)
		return (int)v;
	int m = 63 - __builtin_clzll(v);          /* >= 8 */
	if (m >= OL_MAXPOW)
		return OL_NBUCKETS - 1;
	int sub = (int)((v >> (m - 7)) & (OL_SUB - 1));
	return OL_EXACT + (m - 8) * OL_SUB + sub;
}

/* A bucket's representative value: the middle of its range. */
static uint64_t ol_hist_value(int i)
{
	if (i < OL_EXACT)
		return (uint64_t)i;
	int m = (i - OL_EXACT) / OL_SUB + 8;
	uint64_t sub = (uint64_t)((i - OL_EXACT) % OL_SUB);
	uint64_t lo = (OL_SUB + sub) << (m - 7);
	uint64_t width = (uint64_t)1 << (m - 7);
	return lo + width / 2;
}

static void ol_hist_add(struct ol_hist *h, uint64_t v)
{
	h->b[ol_hist_index(v)]++;
	h->count++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

/* Nearest rank: the smallest value with at least ceil(p% of count) at or
 * below it. The top percentile never exceeds the true maximum. */
static uint64_t ol_hist_pct(const struct ol_hist *h, double p)
{
	if (h->count == 0)
		return 0;
	/* The small slack keeps 99.9 % of 1000 at rank 999, not 1000. */
	uint64_t rank = (uint64_t)ceil(p * (double)h->count / 100.0 - 1e-9);
	if (rank < 1)
		rank = 1;
	uint64_t seen = 0;
	for (int i = 0; i < OL_NBUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			uint64_t v = ol_hist_value(i);
			return v > h->max ? h->max : v;
		}
	}
	return h->max;
}

/* ---- connections ---------------------------------------------------------- */

enum ol_state { OL_DOWN, OL_CONNECTING, OL_IDLE, OL_BUSY };

struct ol_conn {
	int fd;
	enum ol_state state;
	size_t woff;              /* bytes of the request written */
	size_t which;             /* index into ol.req */
	char *rbuf;
	size_t rlen, rcap;
	int64_t due_ns;           /* intended send time of its request */
	int64_t sent_ns;          /* when it really went out */
};

struct ol_window {
	struct ol_hist *h;
	uint64_t errors;
};

static struct {
	struct sockaddr_in addr;
	char *file;               /* the request file, NUL-separated requests */
	char **req;               /* request i is req[i % nreq] */
	size_t *reqlen;
	size_t nreq;
	double rate;
	double duration;
	uint64_t max_req;
	int nconns;
	double timeout;
	int expect_status;
	const char *expect_body;
	struct ol_conn *conns;
	int ep;
	struct ol_hist all;
	struct ol_window *win;
	int nwin;
	uint64_t sent, done, ok;
	uint64_t e_connect, e_read, e_timeout, e_status, e_body;
	int64_t start_ns;
	int64_t max_lag_ns;       /* largest (actual send - due) */
} ol;

static int64_t ol_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t ol_due(uint64_t i)
{
	return ol.start_ns + (int64_t)((double)i * 1e9 / ol.rate);
}

static void ol_close(struct ol_conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(ol.ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->state = OL_DOWN;
	c->rlen = 0;
}

static int ol_connect(struct ol_conn *c)
{
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	int r = connect(c->fd, (struct sockaddr *)&ol.addr, sizeof(ol.addr));
	if (r != 0 && errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
	epoll_ctl(ol.ep, EPOLL_CTL_ADD, c->fd, &ev);
	c->state = OL_CONNECTING;
	c->rlen = 0;
	return 0;
}

static void ol_want(struct ol_conn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};
	epoll_ctl(ol.ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static struct ol_window *ol_window_of(int64_t due_ns)
{
	int64_t s = (due_ns - ol.start_ns) / 1000000000LL;
	if (s < 0)
		s = 0;
	if (s >= ol.nwin)
		s = ol.nwin - 1;
	return &ol.win[s];
}

/* One request finished (well or not): count it and free the connection. */
static void ol_finish(struct ol_conn *c, int ok_status, int body_ok,
		      uint64_t *err, int keep)
{
	int64_t now = ol_now();
	ol.done++;
	struct ol_window *w = ol_window_of(c->due_ns);
	if (err) {
		(*err)++;
		w->errors++;
	} else if (!ok_status) {
		ol.e_status++;
		w->errors++;
	} else if (!body_ok) {
		ol.e_body++;
		w->errors++;
	} else {
		ol.ok++;
	}
	/* Every answered request counts in the latencies, errors too: an
	 * error that came fast must not hide how long the others waited. */
	if (!err) {
		uint64_t us = (uint64_t)((now - c->due_ns) / 1000);
		ol_hist_add(&ol.all, us);
		ol_hist_add(w->h, us);
	}
	c->rlen = 0;
	if (keep) {
		c->state = OL_IDLE;
		ol_want(c, EPOLLIN);
	} else {
		ol_close(c);
	}
}

static const char *ol_find_header(const char *hdr, size_t hlen,
				  const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i + n + 2 < hlen; i++) {
		if (hdr[i] == '\n' && strncasecmp(hdr + i + 1, name, n) == 0 &&
		    hdr[i + 1 + n] == ':')
			return hdr + i + 2 + n;
	}
	return NULL;
}

/* Is a whole chunked body in p[0..n)? Returns its end offset or 0. */
static size_t ol_chunked_end(const char *p, size_t n)
{
	size_t off = 0;
	for (int guard = 0; guard < 100000; guard++) {
		const char *eol = memmem(p + off, n - off, "\r\n", 2);
		if (!eol)
			return 0;
		unsigned long sz = strtoul(p + off, NULL, 16);
		off = (size_t)(eol - p) + 2;
		if (sz == 0) {
			const char *end = memmem(p + off - 2, n - off + 2,
						 "\r\n\r\n", 4);
			return end ? (size_t)(end - p) + 4 : 0;
		}
		if (off + sz + 2 > n)
			return 0;
		off += sz + 2;
	}
	return 0;
}

/* Parse what has arrived; finish the request when the answer is whole. */
static void ol_parse(struct ol_conn *c, int eof)
{
	char *he = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
	if (!he) {
		if (eof)
			ol_finish(c, 0, 0, &ol.e_read, 0);
		return;
	}
	size_t hlen = (size_t)(he - c->rbuf) + 4;
	int status = 0;
	if (c->rlen > 12)
		status = atoi(c->rbuf + 9);
	const char *v = ol_find_header(c->rbuf, hlen, "connection");
	int keep = !(v && strncasecmp(v + strspn(v, " "), "close", 5) == 0);
	const char *te = ol_find_header(c->rbuf, hlen, "transfer-encoding");
	const char *cl = ol_find_header(c->rbuf, hlen, "content-length");
	size_t end;
	if (te && strncasecmp(te + strspn(te, " "), "chunked", 7) == 0) {
		size_t e = ol_chunked_end(c->rbuf + hlen, c->rlen - hlen);
		if (!e) {
			if (eof)
				ol_finish(c, 0, 0, &ol.e_read, 0);
			return;
		}
		end = hlen + e;
	} else if (cl) {
		end = hlen + strtoul(cl, NULL, 10);
		if (c->rlen < end) {
			if (eof)
				ol_finish(c, 0, 0, &ol.e_read, 0);
			return;
		}
	} else if (status == 204 || status == 304) {
		end = hlen;
	} else {
		if (!eof)
			return;       /* body runs to the close */
		end = c->rlen;
		keep = 0;
	}
	int body_ok = 1;
	if (ol.expect_body)
		body_ok = memmem(c->rbuf + hlen, end - hlen, ol.expect_body,
				 strlen(ol.expect_body)) != NULL;
	ol_finish(c, status == ol.expect_status, body_ok, NULL, keep && !eof);
}

static void ol_on_read(struct ol_conn *c)
{
	for (int guard = 0; guard < 64; guard++) {
		if (c->rcap - c->rlen < 16384) {
			size_t cap = c->rcap ? c->rcap * 2 : 65536;
			if (cap > (64u << 20)) {
				ol_finish(c, 0, 0, &ol.e_read, 0);
				return;
			}
			char *nb = realloc(c->rbuf, cap + 1);
			if (!nb) {
				ol_finish(c, 0, 0, &ol.e_read, 0);
				return;
			}
			c->rbuf = nb;
			c->rcap = cap;
		}
		ssize_t n = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
		if (n > 0) {
			c->rlen += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		/* EOF or error */
		if (c->state == OL_BUSY)
			ol_parse(c, 1);
		else
			ol_close(c);
		return;
	}
	if (c->state == OL_BUSY)
		ol_parse(c, 0);
	else if (c->rlen)
		c->rlen = 0;      /* bytes nobody asked for: drop them */
}

static void ol_on_write(struct ol_conn *c)
{
	const char *req = ol.req[c->which];
	size_t len = ol.reqlen[c->which];
	while (c->woff < len) {
		ssize_t n = write(c->fd, req + c->woff, len - c->woff);
		if (n > 0) {
			c->woff += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			ol_want(c, EPOLLIN | EPOLLOUT);
			return;
		}
		ol_finish(c, 0, 0, &ol.e_read, 0);
		return;
	}
	ol_want(c, EPOLLIN);
}

static void ol_send(struct ol_conn *c, int64_t due, int64_t now)
{
	c->state = OL_BUSY;
	c->due_ns = due;
	c->sent_ns = now;
	c->woff = 0;
	c->which = ol.sent % ol.nreq;
	c->rlen = 0;
	if (now - due > ol.max_lag_ns)
		ol.max_lag_ns = now - due;
	ol.sent++;
	ol_on_write(c);
}

static void ol_event(struct ol_conn *c, uint32_t ev)
{
	if (c->state == OL_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err || (ev & (EPOLLERR | EPOLLHUP))) {
			ol.e_connect++;
			ol_close(c);
			return;
		}
		c->state = OL_IDLE;
		ol_want(c, EPOLLIN);
		return;
	}
	if (ev & EPOLLIN || ev & (EPOLLERR | EPOLLHUP))
		ol_on_read(c);
	if (c->state == OL_BUSY && c->fd >= 0 && (ev & EPOLLOUT))
		ol_on_write(c);
}

static void ol_check_timeouts(int64_t now)
{
	for (int i = 0; i < ol.nconns; i++) {
		struct ol_conn *c = &ol.conns[i];
		if (c->state == OL_BUSY &&
		    now - c->sent_ns > (int64_t)(ol.timeout * 1e9))
			ol_finish(c, 0, 0, &ol.e_timeout, 0);
	}
}

static struct ol_conn *ol_idle_conn(void)
{
	for (int i = 0; i < ol.nconns; i++)
		if (ol.conns[i].state == OL_IDLE)
			return &ol.conns[i];
	return NULL;
}

static void ol_reconnect_down(int64_t now)
{
	static int64_t last;
	if (now - last < 1000000)      /* at most once a millisecond */
		return;
	last = now;
	for (int i = 0; i < ol.nconns; i++)
		if (ol.conns[i].state == OL_DOWN && ol_connect(&ol.conns[i]) != 0)
			ol.e_connect++;
}

static void ol_run(void)
{
	ol.ep = epoll_create1(EPOLL_CLOEXEC);
	ol.conns = calloc((size_t)ol.nconns, sizeof(*ol.conns));
	for (int i = 0; i < ol.nconns; i++) {
		ol.conns[i].fd = -1;
		if (ol_connect(&ol.conns[i]) != 0)
			ol.e_connect++;
	}
	/* Give the connections a moment so the first requests do not pay for
	 * the handshakes. */
	ol.start_ns = ol_now() + 50000000LL;
	int64_t stop_sched = ol.start_ns + (int64_t)(ol.duration * 1e9);
	int64_t hard_end = stop_sched + (int64_t)((ol.timeout + 2) * 1e9);
	struct epoll_event evs[256];
	for (;;) {
		int64_t now = ol_now();
		if (now > hard_end)
			break;
		int sched_open = ol.sent < ol.max_req && ol_due(ol.sent) < stop_sched;
		if (!sched_open && ol.done >= ol.sent)
			break;
		/* Send every request that is due, while a connection is free. */
		while (sched_open && ol_due(ol.sent) <= now) {
			struct ol_conn *c = ol_idle_conn();
			if (!c)
				break;
			ol_send(c, ol_due(ol.sent), now);
			sched_open = ol.sent < ol.max_req &&
				     ol_due(ol.sent) < stop_sched;
		}
		ol_reconnect_down(now);
		ol_check_timeouts(now);
		struct timespec ts = {0, 10000000};     /* 10 ms at most */
		if (sched_open) {
			int64_t wait = ol_due(ol.sent) - ol_now();
			if (wait < 0)
				wait = 0;
			if (wait < 10000000 && ol_idle_conn())
				ts.tv_nsec = (long)wait;
		}
		int n = epoll_pwait2(ol.ep, evs, 256, &ts, NULL);
		for (int i = 0; i < n; i++)
			ol_event(evs[i].data.ptr, evs[i].events);
	}
	/* Whatever is still out at the hard end timed out. */
	for (int i = 0; i < ol.nconns; i++) {
		if (ol.conns[i].state == OL_BUSY)
			ol_finish(&ol.conns[i], 0, 0, &ol.e_timeout, 0);
		ol_close(&ol.conns[i]);
		free(ol.conns[i].rbuf);
	}
	/* Requests never sent (no connection) also count as timeouts: the
	 * schedule promised them. */
	uint64_t due_total = 0;
	while (due_total < ol.max_req && ol_due(due_total) < stop_sched)
		due_total++;
	if (due_total > ol.sent)
		ol.e_timeout += due_total - ol.sent;
	close(ol.ep);
	free(ol.conns);
}

static void ol_report(double wall)
{
	uint64_t errors = ol.e_connect + ol.e_read + ol.e_timeout + ol.e_status +
			  ol.e_body;
	printf("{\"rate\":%.1f,\"duration_s\":%.3f,\"conns\":%d,"
	       "\"sent\":%llu,\"completed\":%llu,\"ok\":%llu,\"errors\":%llu,"
	       "\"error_kinds\":{\"connect\":%llu,\"read\":%llu,\"timeout\":%llu,"
	       "\"status\":%llu,\"body\":%llu},\"wall_s\":%.3f,"
	       "\"achieved_rps\":%.1f,\"max_send_lag_us\":%lld,",
	       ol.rate, ol.duration, ol.nconns, (unsigned long long)ol.sent,
	       (unsigned long long)ol.done, (unsigned long long)ol.ok,
	       (unsigned long long)errors, (unsigned long long)ol.e_connect,
	       (unsigned long long)ol.e_read, (unsigned long long)ol.e_timeout,
	       (unsigned long long)ol.e_status, (unsigned long long)ol.e_body,
	       wall, wall > 0 ? (double)ol.done / wall : 0.0,
	       (long long)(ol.max_lag_ns / 1000));
	printf("\"p50_us\":%llu,\"p90_us\":%llu,\"p99_us\":%llu,"
	       "\"p999_us\":%llu,\"max_us\":%llu,\"mean_us\":%.1f,\"windows\":[",
	       (unsigned long long)ol_hist_pct(&ol.all, 50),
	       (unsigned long long)ol_hist_pct(&ol.all, 90),
	       (unsigned long long)ol_hist_pct(&ol.all, 99),
	       (unsigned long long)ol_hist_pct(&ol.all, 99.9),
	       (unsigned long long)ol.all.max,
	       ol.all.count ? (double)ol.all.sum / (double)ol.all.count : 0.0);
	for (int i = 0; i < ol.nwin; i++) {
		struct ol_hist *h = ol.win[i].h;
		printf("%s{\"t\":%d,\"n\":%llu,\"errors\":%llu,\"p50_us\":%llu,"
		       "\"p99_us\":%llu,\"max_us\":%llu}", i ? "," : "", i,
		       (unsigned long long)h->count,
		       (unsigned long long)ol.win[i].errors,
		       (unsigned long long)ol_hist_pct(h, 50),
		       (unsigned long long)ol_hist_pct(h, 99),
		       (unsigned long long)h->max);
	}
	printf("]}\n");
}

/* ---- self-test: the percentile math on synthetic data ---------------------- */

static int ol_check(const char *what, uint64_t got, uint64_t want, double tol)
{
	double err = want ? fabs((double)got - (double)want) / (double)want :
			    (double)got;
	int ok = err <= tol;
	printf("%s %s: got %llu, want %llu\n", ok ? "ok  " : "FAIL", what,
	       (unsigned long long)got, (unsigned long long)want);
	return ok;
}

static int ol_selftest(void)
{
	static struct ol_hist h;
	int pass = 0, fail = 0;
#define OL_T(what, got, want, tol) \
	(ol_check(what, got, want, tol) ? pass++ : fail++)
	OL_T("empty histogram p50", ol_hist_pct(&h, 50), 0, 0);
	for (uint64_t v = 1; v <= 200; v++)
		ol_hist_add(&h, v);
	OL_T("exact range p50 of 1..200", ol_hist_pct(&h, 50), 100, 0);
	OL_T("exact range p99 of 1..200", ol_hist_pct(&h, 99), 198, 0);
	OL_T("exact range max", ol_hist_pct(&h, 100), 200, 0);
	memset(&h, 0, sizeof(h));
	for (uint64_t v = 1; v <= 100000; v++)
		ol_hist_add(&h, v);
	OL_T("p50 of 1..100000", ol_hist_pct(&h, 50), 50000, 0.01);
	OL_T("p90 of 1..100000", ol_hist_pct(&h, 90), 90000, 0.01);
	OL_T("p99 of 1..100000", ol_hist_pct(&h, 99), 99000, 0.01);
	OL_T("p99.9 of 1..100000", ol_hist_pct(&h, 99.9), 99900, 0.01);
	OL_T("p100 is the max", ol_hist_pct(&h, 100), 100000, 0);
	/* 999 fast answers and one slow one: p99.9 must see the slow one, and
	 * the percentile never overshoots the true maximum. */
	memset(&h, 0, sizeof(h));
	for (int i = 0; i < 999; i++)
		ol_hist_add(&h, 100);
	ol_hist_add(&h, 5000000);
	OL_T("p99 of 999 x 100us + 1 x 5s", ol_hist_pct(&h, 99), 100, 0);
	OL_T("p99.9 of 999 x 100us + 1 x 5s", ol_hist_pct(&h, 99.9), 100, 0);
	OL_T("p99.95 sees the 5 s one", ol_hist_pct(&h, 99.95), 5000000, 0.01);
	/* Coordinated omission: a server that stalls 1 s while requests are
	 * due every 1 ms. Measured from the intended time, the 1000 requests
	 * due in the stall waited 1000 ms down to 1 ms; a closed-loop tool
	 * would have recorded one slow request only. */
	memset(&h, 0, sizeof(h));
	for (int i = 0; i < 9000; i++)
		ol_hist_add(&h, 200);
	for (int i = 0; i < 1000; i++)
		ol_hist_add(&h, (uint64_t)(1000 - i) * 1000 + 200);
	OL_T("stall: p90 stays at the base", ol_hist_pct(&h, 90), 200, 0);
	OL_T("stall: p95 is half the stall", ol_hist_pct(&h, 95), 500200, 0.01);
	OL_T("stall: p99 is most of the stall", ol_hist_pct(&h, 99), 900200,
	     0.01);
	/* Schedule: request i is due at start + i / rate. */
	ol.start_ns = 1000;
	ol.rate = 4000;
	OL_T("due(4000) at 4000/s is start + 1 s", (uint64_t)ol_due(4000),
	     1000001000ULL, 0);
	printf("openloop selftest: %d passed, %d failed\n", pass, fail);
	return fail ? 1 : 0;
}

/* ---- main ------------------------------------------------------------------- */

#define OL_FILE_MAX	(256u << 20)

/* The whole file or nothing: a request cut short at a buffer's end would
 * be sent as a half request, which the server rightly times out (a fixed
 * 1 MiB buffer here once cut one fresh-JWT request in 1,492 at 403 bytes:
 * 408 after 10 s, counted as the forwarder's errors). */
static char *ol_read_file(const char *path, size_t *len)
{
	struct stat st;
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	if (fstat(fileno(f), &st) != 0 || st.st_size <= 0 ||
	    (uint64_t)st.st_size > OL_FILE_MAX) {
		fclose(f);
		return NULL;
	}
	char *buf = malloc((size_t)st.st_size);
	size_t n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
	fclose(f);
	if (n != (size_t)st.st_size) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

/* Split the file at NUL bytes: several requests (say, one per user) are
 * sent in turn. */
static int ol_split(size_t flen)
{
	size_t n = 1;
	for (size_t i = 0; i < flen; i++)
		n += ol.file[i] == '\0';
	ol.req = calloc(n, sizeof(*ol.req));
	ol.reqlen = calloc(n, sizeof(*ol.reqlen));
	if (!ol.req || !ol.reqlen)
		return -1;
	size_t start = 0;
	for (size_t i = 0; i <= flen; i++) {
		if (i < flen && ol.file[i] != '\0')
			continue;
		if (i > start) {
			ol.req[ol.nreq] = ol.file + start;
			ol.reqlen[ol.nreq] = i - start;
			ol.nreq++;
		}
		start = i + 1;
	}
	return ol.nreq ? 0 : -1;
}

static int ol_parse_addr(const char *s)
{
	return loopback_parse(s, &ol.addr);
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--selftest") == 0)
		return ol_selftest();
	const char *addr = NULL, *file = NULL;
	ol.nconns = 64;
	ol.timeout = 10;
	ol.expect_status = 200;
	int c;
	while ((c = getopt(argc, argv, "a:f:r:d:n:c:T:s:e:")) != -1) {
		switch (c) {
		case 'a': addr = optarg; break;
		case 'f': file = optarg; break;
		case 'r': ol.rate = atof(optarg); break;
		case 'd': ol.duration = atof(optarg); break;
		case 'n': ol.max_req = strtoull(optarg, NULL, 10); break;
		case 'c': ol.nconns = atoi(optarg); break;
		case 'T': ol.timeout = atof(optarg); break;
		case 's': ol.expect_status = atoi(optarg); break;
		case 'e': ol.expect_body = optarg; break;
		default:
			fprintf(stderr, "usage: tg-openloop -a 127.0.0.1:port -f"
				" request.raw -r rate -d seconds [-n max] [-c conns]"
				" [-T timeout_s] [-s status] [-e text] | --selftest\n");
			return 2;
		}
	}
	if (!addr || ol_parse_addr(addr) != 0 || !file) {
		fprintf(stderr, "tg-openloop: -a wants a loopback ipv4:port and"
			" -f a request file\n");
		return 2;
	}
	if (!(ol.rate > 0 && ol.rate <= 1e6) ||
	    !(ol.duration > 0 && ol.duration <= 3600) || ol.nconns < 1 ||
	    ol.nconns > 10000 || !(ol.timeout > 0 && ol.timeout <= 600)) {
		fprintf(stderr, "tg-openloop: -r 0..1e6, -d 0..3600 s, -c"
			" 1..10000, -T 0..600 s\n");
		return 2;
	}
	uint64_t cap = (uint64_t)ceil(ol.rate * ol.duration);
	if (ol.max_req == 0 || ol.max_req > cap)
		ol.max_req = cap;
	size_t flen = 0;
	ol.file = ol_read_file(file, &flen);
	if (!ol.file || flen == 0 || ol_split(flen) != 0) {
		fprintf(stderr, "tg-openloop: %s: cannot read it whole (at most"
			" %u MiB)\n", file, OL_FILE_MAX >> 20);
		return 2;
	}
	ol.nwin = (int)ceil(ol.duration) + 1;
	ol.win = calloc((size_t)ol.nwin, sizeof(*ol.win));
	for (int i = 0; i < ol.nwin; i++)
		ol.win[i].h = calloc(1, sizeof(struct ol_hist));
	signal(SIGPIPE, SIG_IGN);
	int64_t t0 = ol_now();
	ol_run();
	double wall = (double)(ol_now() - t0 - 50000000LL) / 1e9;
	ol_report(wall);
	for (int i = 0; i < ol.nwin; i++)
		free(ol.win[i].h);
	free(ol.win);
	free(ol.req);
	free(ol.reqlen);
	free(ol.file);
	return 0;
}
