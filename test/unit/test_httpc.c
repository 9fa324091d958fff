/*
 * httpc against a tiny HTTP/1.1 server running in a thread of this test on
 * 127.0.0.1:<ephemeral>: timeouts, size limits, retries, Retry-After, the
 * secret header, redirects not followed, encoders.
 */
#define _GNU_SOURCE		/* strcasestr */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "err.h"
#include "httpc.h"
#include "secret.h"
#include "testsrv.h"

static struct {
	struct testsrv	 ts;
	pthread_mutex_t	 mu;
	int		 requests;	/* under mu */
	int		 flaky_left;	/* 503s still to send on /flaky */
	size_t		 big_sent;
	char		 last[8192];	/* last request head + body */
} srv = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void
reply(int fd, const char *status, const char *extra, const char *body)
{
	char head[512];

	snprintf(head, sizeof head, "HTTP/1.1 %s\r\nConnection: close\r\n"
	    "Content-Type: text/plain\r\n%sContent-Length: %zu\r\n\r\n",
	    status, extra, strlen(body));
	testsrv_send_all(fd, head, strlen(head));
	testsrv_send_all(fd, body, strlen(body));
}

static void
handle(int fd)
{
	char	 req[8192], path[256] = "", hdr[128], date[64];
	time_t	 t;
	int	 flaky503 = 0;

	testsrv_read_request(fd, req, sizeof req);
	sscanf(req, "%*s %255s", path);
	pthread_mutex_lock(&srv.mu);
	srv.requests++;
	snprintf(srv.last, sizeof srv.last, "%s", req);
	if (strncmp(path, "/flaky", 6) == 0 && srv.flaky_left > 0) {
		srv.flaky_left--;
		flaky503 = 1;
	}
	pthread_mutex_unlock(&srv.mu);

	if (strcmp(path, "/ok") == 0)
		reply(fd, "200 OK", "", "hello");
	else if (strcmp(path, "/empty") == 0)
		reply(fd, "204 No Content", "", "");
	else if (strcmp(path, "/echo") == 0)
		reply(fd, "200 OK", "", req);
	else if (strcmp(path, "/slow") == 0) {
		/* Hold the answer until the client gives up and closes. */
		struct pollfd pfd = { fd, POLLIN, 0 };

		poll(&pfd, 1, 5000);
		reply(fd, "200 OK", "", "late");
	} else if (strcmp(path, "/big") == 0 || strcmp(path, "/biglen") == 0) {
		static char	chunk[65536];
		const char	*h = strcmp(path, "/big") == 0 ?
		    "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" :
		    "HTTP/1.1 200 OK\r\nContent-Length: 67108864\r\n\r\n";
		size_t		sent = 0;
		ssize_t		w;

		memset(chunk, 'x', sizeof chunk);
		testsrv_send_all(fd, h, strlen(h));
		while (sent < 64u * 1024 * 1024 &&
		    (w = send(fd, chunk, sizeof chunk, MSG_NOSIGNAL)) > 0)
			sent += (size_t)w;
		pthread_mutex_lock(&srv.mu);
		srv.big_sent = sent;
		pthread_mutex_unlock(&srv.mu);
	} else if (strcmp(path, "/flaky") == 0)
		reply(fd, flaky503 ? "503 Service Unavailable" : "200 OK", "",
		    flaky503 ? "busy" : "fine");
	else if (strcmp(path, "/flaky-wait") == 0)	/* asks for a 2 s back-off */
		reply(fd, flaky503 ? "503 Service Unavailable" : "200 OK",
		    flaky503 ? "Retry-After: 2\r\n" : "", flaky503 ? "busy" : "fine");
	else if (strcmp(path, "/retry-after") == 0)
		reply(fd, "429 Too Many Requests", "Retry-After: 7\r\n", "slow down");
	else if (strcmp(path, "/retry-date") == 0) {
		t = time(NULL) + 30;
		strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime(&t));
		snprintf(hdr, sizeof hdr, "Retry-After: %s\r\n", date);
		reply(fd, "429 Too Many Requests", hdr, "slow down");
	} else if (strcmp(path, "/redirect") == 0)
		reply(fd, "302 Found", "Location: /ok\r\n", "");
	else
		reply(fd, "404 Not Found", "", "no");
}

static int
group_setup(void **state)
{
	(void)state;
	return testsrv_start(&srv.ts, handle);
}

static int
group_teardown(void **state)
{
	(void)state;
	testsrv_stop(&srv.ts);
	return 0;
}

static int
reset(void **state)
{
	(void)state;
	pthread_mutex_lock(&srv.mu);
	srv.requests = 0;
	srv.flaky_left = 0;
	srv.last[0] = '\0';
	pthread_mutex_unlock(&srv.mu);
	return 0;
}

static int
requests(void)
{
	int n;

	pthread_mutex_lock(&srv.mu);
	n = srv.requests;
	pthread_mutex_unlock(&srv.mu);
	return n;
}

static void
set_flaky(int n)
{
	pthread_mutex_lock(&srv.mu);
	srv.flaky_left = n;
	pthread_mutex_unlock(&srv.mu);
}

static const char *
url(const char *path)
{
	static char buf[128];

	snprintf(buf, sizeof buf, "http://127.0.0.1:%d%s", srv.ts.port, path);
	return buf;
}

static void
test_ok(void **state)
{
	struct httpc_req	req = { .url = url("/ok") };
	struct httpc_resp	resp;
	struct err		e = { 0 };

	(void)state;
	assert_int_equal(httpc_do(&req, &resp, &e), 0);
	assert_int_equal(resp.status, 200);
	assert_int_equal(resp.len, 5);
	assert_string_equal(resp.body, "hello");
	assert_string_equal(resp.content_type, "text/plain");
	assert_int_equal(resp.retry_after, -1);
	httpc_resp_free(&resp);
	assert_null(resp.body);
}

static void
test_empty_body_terminated(void **state)
{
	struct httpc_req	req = { .url = url("/empty") };
	struct httpc_resp	resp;
	struct err		e = { 0 };

	(void)state;
	assert_int_equal(httpc_do(&req, &resp, &e), 0);
	assert_int_equal(resp.status, 204);
	assert_non_null(resp.body);
	assert_int_equal(resp.len, 0);
	assert_string_equal(resp.body, "");
	httpc_resp_free(&resp);
}

static void
test_timeout(void **state)
{
	struct httpc_req	req = { .url = url("/slow"), .timeout_ms = 300 };
	struct httpc_resp	resp;
	struct err		e = { 0 };
	long			t0 = clock_now_ms();

	(void)state;
	assert_int_equal(httpc_do(&req, &resp, &e), -1);
	assert_true(clock_now_ms() - t0 < 2000);
	assert_int_equal(e.status, 504);
	assert_string_equal(e.code, "upstream_timeout");
	assert_non_null(strstr(e.msg, "127.0.0.1"));
	assert_null(strstr(e.msg, "/slow"));
	assert_null(resp.body);
}

static void
test_too_large_streamed(void **state)
{
	struct httpc_req	req = { .url = url("/big"), .max_response = 65536 };
	struct httpc_resp	resp;
	struct err		e = { 0 };
	long			t0 = clock_now_ms();

	(void)state;
	assert_int_equal(httpc_do(&req, &resp, &e), -1);
	assert_true(clock_now_ms() - t0 < 2000);
	assert_int_equal(e.status, 502);
	assert_string_equal(e.code, "upstream_too_large");
	assert_null(resp.body);
	/* The transfer was cut, not drained: the server could not push all
	 * 64 MiB (only what the socket buffers absorbed). The server handles
	 * one connection at a time, so once /ok is answered /big is done. */
	reset(NULL);
	req.url = url("/ok");
	assert_int_equal(httpc_do(&req, &resp, &e), 0);
	httpc_resp_free(&resp);
	pthread_mutex_lock(&srv.mu);
	assert_true(srv.big_sent < 32u * 1024 * 1024);
	pthread_mutex_unlock(&srv.mu);
}

static void
test_too_large_declared(void **state)
{
	struct httpc_req	req = { .url = url("/biglen"), .max_response = 1024 };
	struct httpc_resp	resp;
	struct err		e = { 0 };
	long			t0 = clock_now_ms();

	(void)state;
	assert_int_equal(httpc_do(&req, &resp, &e), -1);
	assert_true(clock_now_ms() - t0 < 2000);
	assert_int_equal(e.status, 502);
	assert_string_equal(e.code, "upstream_too_large");
}

static void
test_retry_get(void **state)
{
	struct httpc_req	req = { .url = url("/flaky"), .retries = 3 };
	struct httpc_resp	resp;
	struct err		e = { 0 };

	(void)state;
	set_flaky(2);
	assert_int_equal(httpc_do(&req, &resp, &e), 0);
	assert_int_equal(resp.status, 200);
	assert_string_equal(resp.body, "fine");
	assert_int_equal(requests(), 3);
	httpc_resp_free(&resp);
}

/* A request thread never sleeps: its one retry goes out at once. */
static void *
retry_on_request_thread(void *arg)
{
	struct httpc_req	req = { .url = url("/flaky-wait"), .retries = 1 };
	struct httpc_resp	resp;
	struct err		e = { 0 };
	long			*elapsed = arg, t0;

	clock_forbid_sleep();
	t0 = clock_now_ms();
	if (httpc_do(&req, &resp, &e) == 0 && resp.status == 200)
		*elapsed = clock_now_ms() - t0;
	httpc_resp_free(&resp);
	return NULL;
}

static void
test_retry_never_sleeps_a_request_thread(void **state)
{
	pthread_t	t;
	long		elapsed = -1;

	(void)state;
	set_flaky(1);
	assert_int_equal(pthread_create(&t, NULL, retry_on_request_thread, &elapsed), 0);
	pthread_join(t, NULL);
	assert_int_equal(requests(), 2);
	/* Sleeping would take the 2 s the server asked for. */
	assert_in_range(elapsed, 0, 1000);
}

static void
test_retry_exhausted(void **state)
{
	struct httpc_req	req = { .url = url("/flaky"), .retries = 2 };
	struct httpc_resp	resp;
	struct err		e = { 0 };

	(void)state;
	set_flaky(10);
	assert_int_equal(httpc_do(&req, &resp, &e), 0);
	assert_int_equal(resp.status, 503);
	assert_int_equal(requests(), 3);
	httpc_resp_free(&resp);
}

static void
test_no_retry_post(void **state)
{
	struct httpc_req	req = { .method = "POST", .url = url("/flaky"),
	    .body = "{}", .body_len = 2, .retries = 3 };
	struct httpc_resp	resp;
	struct err		e = { 0 };

	(void)state;
	set_flaky(2);
	assert_int_equal(httpc_do(&req, &resp, &e), 0);
	assert_int_equal(resp.status, 503);
	assert_int_equal(requests(), 1);
	httpc_resp_free(&resp);
}

static void
test_retry_bounded_by_timeout(void **state)
{
	struct httpc_req	req = { .url = url("/flaky"), .retries = 10,
	    .timeout_ms = 250 };
	struct httpc_resp	resp;
	struct err		e = { 0 };
	long			t0 = clock_now_ms();

	(void)state;
	set_flaky(100);
	assert_int_equal(httpc_do(&req, &resp, &e), 0);
	assert_int_equal(resp.status, 503);
	assert_true(clock_now_ms() - t0 < 1000);
	assert_true(requests() < 11);
	httpc_resp_free(&resp);
}

static void
test_retry_after(void **state)
{
	struct httpc_req	req = { .url = url("/retry-after") };
	struct httpc_resp	resp;
	struct err		e = { 0 };

	(void)state;
	assert_int_equal(httpc_do(&req, &resp, &e), 0);
	assert_int_equal(resp.status, 429);
	assert_int_equal(resp.retry_after, 7);
	httpc_resp_free(&resp);

	req.url = url("/retry-date");
	assert_int_equal(httpc_do(&req, &resp, &e), 0);
	assert_int_equal(resp.status, 429);
	assert_in_range(resp.retry_after, 27, 31);
	httpc_resp_free(&resp);
}

static void
test_secret_header(void **state)
{
	static const char	 line[] = "X-Vault-Token: s3cr3t-t0ken-value";
	const char *const	 hdrs[] = { "X-Request-Id: r1", NULL };
	secret_t		*sh = secret_new(line, strlen(line));
	struct httpc_req	 req = { .url = url("/echo"), .headers = hdrs,
	    .secret_header = sh };
	struct httpc_resp	 resp;
	struct err		 e = { 0 };
	int			 port, fd;

	(void)state;
	assert_int_equal(httpc_do(&req, &resp, &e), 0);
	assert_non_null(strstr(srv.last, "\r\nX-Vault-Token: s3cr3t-t0ken-value\r\n"));
	assert_non_null(strstr(srv.last, "\r\nX-Request-Id: r1\r\n"));
	httpc_resp_free(&resp);

	/* Failures name the host but carry no header value. */
	req.url = url("/slow");
	req.timeout_ms = 200;
	assert_int_equal(httpc_do(&req, &resp, &e), -1);
	assert_null(strstr(e.msg, "s3cr3t"));
	assert_null(strstr(e.code, "s3cr3t"));

	fd = testsrv_listen(&port, 1);
	close(fd);	/* nothing listens there now */
	{
		char u[64];

		snprintf(u, sizeof u, "http://127.0.0.1:%d/x", port);
		req.url = u;
		assert_int_equal(httpc_do(&req, &resp, &e), -1);
		assert_int_equal(e.status, 502);
		assert_string_equal(e.code, "upstream_unreachable");
		assert_non_null(strstr(e.msg, "127.0.0.1"));
		assert_null(strstr(e.msg, "s3cr3t"));
	}
	secret_free(sh);
}

static void
test_put_body(void **state)
{
	struct httpc_req	req = { .method = "PUT", .url = url("/echo"),
	    .body = "{\"a\":1}", .body_len = 7 };
	struct httpc_resp	resp;
	struct err		e = { 0 };

	(void)state;
	assert_int_equal(httpc_do(&req, &resp, &e), 0);
	assert_int_equal(resp.status, 200);
	assert_true(strncmp(resp.body, "PUT /echo HTTP/1.1\r\n", 20) == 0);
	assert_non_null(strstr(resp.body, "\r\nContent-Type: application/json\r\n"));
	assert_non_null(strstr(resp.body, "\r\n\r\n{\"a\":1}"));
	assert_null(strstr(resp.body, "Expect:"));
	httpc_resp_free(&resp);
}

static void
test_no_redirect(void **state)
{
	struct httpc_req	req = { .url = url("/redirect") };
	struct httpc_resp	resp;
	struct err		e = { 0 };

	(void)state;
	assert_int_equal(httpc_do(&req, &resp, &e), 0);
	assert_int_equal(resp.status, 302);
	assert_int_equal(requests(), 1);
	httpc_resp_free(&resp);
}

static void
test_bad_requests(void **state)
{
	const char *const	bad[] = { "X-A: b\r\nX-Evil: 1", NULL };
	struct httpc_req	req = { .url = "file:///etc/passwd" };
	struct httpc_resp	resp;
	struct err		e = { 0 };
	secret_t		*sh;

	(void)state;
	assert_int_equal(httpc_do(&req, &resp, &e), -1);
	assert_int_equal(e.status, 400);
	req.url = "ftp://127.0.0.1/x";
	assert_int_equal(httpc_do(&req, &resp, &e), -1);
	assert_int_equal(e.status, 400);

	req.url = url("/ok");
	req.headers = bad;
	assert_int_equal(httpc_do(&req, &resp, &e), -1);
	assert_int_equal(e.status, 400);
	req.headers = NULL;
	sh = secret_new("Authorization: x\nEvil: y", 24);
	req.secret_header = sh;
	assert_int_equal(httpc_do(&req, &resp, &e), -1);
	assert_int_equal(e.status, 400);
	secret_free(sh);
	req.secret_header = NULL;
	req.method = "get me";
	assert_int_equal(httpc_do(&req, &resp, &e), -1);
	assert_int_equal(requests(), 0);
}

static void
test_urlencode(void **state)
{
	char *s;

	(void)state;
	s = httpc_urlencode("a b/c?d=\xc3\xa9~-._");
	assert_string_equal(s, "a%20b%2Fc%3Fd%3D%C3%A9~-._");
	free(s);
	s = httpc_urlencode("");
	assert_string_equal(s, "");
	free(s);
}

static void
test_url_origin(void **state)
{
	char buf[128];

	(void)state;
	assert_string_equal(httpc_url_origin("https://u:pw@example.com/p?q=1",
	    buf, sizeof buf), "https://example.com:443");
	assert_string_equal(httpc_url_origin("http://127.0.0.1:8200/v1/x",
	    buf, sizeof buf), "http://127.0.0.1:8200");
	assert_string_equal(httpc_url_origin("not a url", buf, sizeof buf), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_ok, reset),
		cmocka_unit_test_setup(test_empty_body_terminated, reset),
		cmocka_unit_test_setup(test_timeout, reset),
		cmocka_unit_test_setup(test_too_large_streamed, reset),
		cmocka_unit_test_setup(test_too_large_declared, reset),
		cmocka_unit_test_setup(test_retry_get, reset),
		cmocka_unit_test_setup(test_retry_never_sleeps_a_request_thread, reset),
		cmocka_unit_test_setup(test_retry_exhausted, reset),
		cmocka_unit_test_setup(test_no_retry_post, reset),
		cmocka_unit_test_setup(test_retry_bounded_by_timeout, reset),
		cmocka_unit_test_setup(test_retry_after, reset),
		cmocka_unit_test_setup(test_secret_header, reset),
		cmocka_unit_test_setup(test_put_body, reset),
		cmocka_unit_test_setup(test_no_redirect, reset),
		cmocka_unit_test_setup(test_bad_requests, reset),
		cmocka_unit_test(test_urlencode),
		cmocka_unit_test(test_url_origin),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
