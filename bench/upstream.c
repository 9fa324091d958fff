/*
 * bench/upstream.c - a fast static stand-in for Jira and Confluence Cloud,
 * for benchmarks only (not installed, not part of `make all`).
 *
 * It answers the requests the built-in tools send (docs/tools.md) with fixed
 * bodies read once at start-up from a directory (bench/bodies/, written by
 * bench/mkbodies.py), so that what a benchmark measures is the code in
 * front of it, never this server: no parsing of the query, no auth check,
 * no allocation per request beyond libevent's own.
 *
 *   GET  .../rest/api/3/search/jql          search.json
 *   GET  .../rest/api/3/issue/{key}         issue.json
 *   GET  .../rest/api/3/issue/{key}/transitions  transitions.json
 *   POST .../rest/api/3/issue[/{key}/comment|/transitions]  small JSON, 201/204
 *   GET  .../wiki/rest/api/search           cql.json
 *   GET  .../wiki/api/v2/pages/{id}         page.json
 *   GET  /health                            ok
 *
 * Anything may come before /rest or /wiki (a tenant's base_url path). A
 * path that starts with /delay/<ms>/ is answered after <ms> milliseconds
 * (a timer, never a blocked thread), so one tenant's base_url can make that
 * tenant slow; -D <ms> delays every answer.
 *
 *   upstream -l 127.0.0.1:PORT -b bench/bodies [-t threads] [-D ms]
 *
 * With -t N, N threads each run their own event loop on their own
 * SO_REUSEPORT socket, as nginx workers do. It prints "ready" on stdout
 * once it listens, and exits on SIGTERM or SIGINT.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loopback.h"

#define UPSTREAM_MAX_THREADS 16
#define UPSTREAM_MAX_DELAY_MS 600000

enum upstream_body { B_SEARCH, B_ISSUE, B_TRANSITIONS, B_CQL, B_PAGE, B_COUNT };
static const char *const upstream_body_file[B_COUNT] = {
	"search.json", "issue.json", "transitions.json", "cql.json", "page.json"};

static struct {
	char *body[B_COUNT];
	size_t len[B_COUNT];
	struct sockaddr_in addr;
	int threads;
	long delay_ms;
} upstream;

struct upstream_loop {
	struct event_base *base;
	struct evhttp *http;
	pthread_t tid;
};

static struct upstream_loop upstream_loops[UPSTREAM_MAX_THREADS];

/* A delayed answer: the request and the body to send when the timer fires. */
struct upstream_pending {
	struct evhttp_request *req;
	int code;
	const char *body;
	size_t len;
	struct event *ev;
};

static void upstream_send(struct evhttp_request *req, int code,
			  const char *body, size_t len)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Content-Type", "application/json;charset=UTF-8");
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	/* The bodies live for the whole process: no copy per request. */
	if (len)
		evbuffer_add_reference(out, body, len, NULL, NULL);
	evhttp_send_reply(req, code, code == 200 ? "OK" : code == 201 ?
			  "Created" : code == 204 ? "No Content" : "Not Found",
			  out);
}

static void upstream_delayed(evutil_socket_t fd, short what, void *arg)
{
	struct upstream_pending *p = arg;
	upstream_send(p->req, p->code, p->body, p->len);
	event_free(p->ev);
	free(p);
}

static void upstream_answer(struct evhttp_request *req, long delay_ms,
			    int code, const char *body, size_t len)
{
	if (delay_ms <= 0) {
		upstream_send(req, code, body, len);
		return;
	}
	struct upstream_pending *p = calloc(1, sizeof(*p));
	if (!p) {
		upstream_send(req, code, body, len);
		return;
	}
	p->req = req;
	p->code = code;
	p->body = body;
	p->len = len;
	struct event_base *base =
		evhttp_connection_get_base(evhttp_request_get_connection(req));
	p->ev = evtimer_new(base, upstream_delayed, p);
	struct timeval tv = {delay_ms / 1000, (delay_ms % 1000) * 1000};
	if (!p->ev || evtimer_add(p->ev, &tv) != 0) {
		if (p->ev)
			event_free(p->ev);
		free(p);
		upstream_send(req, code, body, len);
	}
}

/* Does s start with prefix? Returns what follows it, or NULL. */
static const char *upstream_after(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

static int upstream_has_slash(const char *s)
{
	return strchr(s, '/') != NULL;
}

static void upstream_route(struct evhttp_request *req, void *arg)
{
	static const char created[] =
		"{\"id\":\"10099\",\"key\":\"GOOG-99\",\"self\":"
		"\"https://example-bench.atlassian.net/rest/api/3/issue/10099\"}";
	static const char comment[] =
		"{\"id\":\"20001\",\"created\":\"2026-11-20T10:00:00.000+0000\"}";
	static const char health[] = "ok\n";
	const char *uri = evhttp_request_get_uri(req);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	long delay = upstream.delay_ms;
	const char *d = upstream_after(uri, "/delay/");
	if (d) {
		char *end = NULL;
		long ms = strtol(d, &end, 10);
		if (end && *end == '/' && ms >= 0 && ms <= UPSTREAM_MAX_DELAY_MS) {
			delay = ms;
			uri = end;
		}
	}
	char path[1024];
	size_t plen = strcspn(uri, "?");
	if (plen >= sizeof(path))
		plen = sizeof(path) - 1;
	memcpy(path, uri, plen);
	path[plen] = '\0';
	if (strcmp(path, "/health") == 0) {
		upstream_send(req, 200, health, sizeof(health) - 1);
		return;
	}
	const char *rest = strstr(path, "/rest/api/3/");
	const char *wiki = strstr(path, "/wiki/");
	const char *t;
	enum upstream_body b = B_COUNT;
	if (rest && (t = upstream_after(rest, "/rest/api/3/"))) {
		const char *key = upstream_after(t, "issue/");
		if (strcmp(t, "search/jql") == 0) {
			b = B_SEARCH;
		} else if (strcmp(t, "issue") == 0 && cmd == EVHTTP_REQ_POST) {
			upstream_answer(req, delay, 201, created, sizeof(created) - 1);
			return;
		} else if (key && *key) {
			const char *sub = strchr(key, '/');
			if (!sub) {
				b = B_ISSUE;
			} else if (strcmp(sub, "/transitions") == 0) {
				if (cmd == EVHTTP_REQ_POST) {
					upstream_answer(req, delay, 204, "", 0);
					return;
				}
				b = B_TRANSITIONS;
			} else if (strcmp(sub, "/comment") == 0 &&
				   cmd == EVHTTP_REQ_POST) {
				upstream_answer(req, delay, 201, comment,
						sizeof(comment) - 1);
				return;
			}
		}
	} else if (wiki && (t = upstream_after(wiki, "/wiki/"))) {
		const char *id = upstream_after(t, "api/v2/pages/");
		if (strcmp(t, "rest/api/search") == 0)
			b = B_CQL;
		else if (id && *id && !upstream_has_slash(id))
			b = B_PAGE;
	}
	if (b == B_COUNT) {
		static const char nf[] =
			"{\"errorMessages\":[\"No resource here\"],\"errors\":{}}";
		upstream_answer(req, delay, 404, nf, sizeof(nf) - 1);
		return;
	}
	upstream_answer(req, delay, 200, upstream.body[b], upstream.len[b]);
}

static int upstream_load(const char *dir)
{
	for (int i = 0; i < B_COUNT; i++) {
		char p[4096];
		snprintf(p, sizeof(p), "%s/%s", dir, upstream_body_file[i]);
		FILE *f = fopen(p, "rb");
		if (!f) {
			fprintf(stderr, "upstream: %s: %s\n", p, strerror(errno));
			return -1;
		}
		char *buf = malloc(1 << 20);
		size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
		fclose(f);
		if (!buf || n == 0) {
			fprintf(stderr, "upstream: %s: empty or unreadable\n", p);
			free(buf);
			return -1;
		}
		while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
			n--;
		upstream.body[i] = buf;
		upstream.len[i] = n;
	}
	return 0;
}

static int upstream_listen_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* One socket per loop: the kernel spreads connections among them. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&upstream.addr,
		 sizeof(upstream.addr)) != 0 || listen(fd, 1024) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int upstream_loop_init(struct upstream_loop *l)
{
	l->base = event_base_new();
	l->http = l->base ? evhttp_new(l->base) : NULL;
	if (!l->http)
		return -1;
	int fd = upstream_listen_socket();
	if (fd < 0) {
		fprintf(stderr, "upstream: listen: %s\n", strerror(errno));
		return -1;
	}
	if (!evhttp_accept_socket_with_handle(l->http, fd))
		return -1;
	evhttp_set_allowed_methods(l->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
				   EVHTTP_REQ_PUT | EVHTTP_REQ_HEAD);
	evhttp_set_max_body_size(l->http, 4 << 20);
	evhttp_set_gencb(l->http, upstream_route, NULL);
	return 0;
}

static void *upstream_thread(void *arg)
{
	struct upstream_loop *l = arg;
	event_base_dispatch(l->base);
	return NULL;
}

static void upstream_stop(evutil_socket_t sig, short what, void *arg)
{
	for (int i = 0; i < upstream.threads; i++)
		event_base_loopbreak(upstream_loops[i].base);
}

static int upstream_parse_listen(const char *s)
{
	return loopback_parse(s, &upstream.addr);
}

int main(int argc, char **argv)
{
	const char *listen_at = "127.0.0.1:8199", *dir = "bench/bodies";
	upstream.threads = 1;
	int c;
	while ((c = getopt(argc, argv, "l:b:t:D:h")) != -1) {
		switch (c) {
		case 'l': listen_at = optarg; break;
		case 'b': dir = optarg; break;
		case 't': upstream.threads = atoi(optarg); break;
		case 'D': upstream.delay_ms = atol(optarg); break;
		default:
			fprintf(stderr, "usage: %s [-l 127.0.0.1:port] [-b bodies-dir]"
				" [-t threads] [-D delay-ms]\n", argv[0]);
			return 2;
		}
	}
	if (upstream_parse_listen(listen_at) != 0) {
		fprintf(stderr, "upstream: -l wants a loopback ipv4:port\n");
		return 2;
	}
	if (upstream.threads < 1 || upstream.threads > UPSTREAM_MAX_THREADS ||
	    upstream.delay_ms < 0 || upstream.delay_ms > UPSTREAM_MAX_DELAY_MS) {
		fprintf(stderr, "upstream: -t 1..%d, -D 0..%d\n",
			UPSTREAM_MAX_THREADS, UPSTREAM_MAX_DELAY_MS);
		return 2;
	}
	if (upstream_load(dir) != 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	/* loopbreak reaches the other loops from the signal handler's loop. */
	if (upstream.threads > 1 && evthread_use_pthreads() != 0)
		return 1;
	for (int i = 0; i < upstream.threads; i++)
		if (upstream_loop_init(&upstream_loops[i]) != 0)
			return 1;
	struct event *sigs[2] = {
		evsignal_new(upstream_loops[0].base, SIGTERM, upstream_stop, NULL),
		evsignal_new(upstream_loops[0].base, SIGINT, upstream_stop, NULL)};
	for (int i = 0; i < 2; i++)
		if (!sigs[i] || evsignal_add(sigs[i], NULL) != 0)
			return 1;
	printf("ready\n");
	fflush(stdout);
	for (int i = 1; i < upstream.threads; i++)
		pthread_create(&upstream_loops[i].tid, NULL, upstream_thread,
			       &upstream_loops[i]);
	event_base_dispatch(upstream_loops[0].base);
	for (int i = 1; i < upstream.threads; i++) {
		event_base_loopbreak(upstream_loops[i].base);
		pthread_join(upstream_loops[i].tid, NULL);
	}
	for (int i = 0; i < 2; i++)
		event_free(sigs[i]);
	for (int i = 0; i < upstream.threads; i++) {
		evhttp_free(upstream_loops[i].http);
		event_base_free(upstream_loops[i].base);
	}
	for (int i = 0; i < B_COUNT; i++)
		free(upstream.body[i]);
	return 0;
}
