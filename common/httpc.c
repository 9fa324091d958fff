/*
 * httpc: bounded, credential-careful HTTP requests over libcurl easy handles.
 * Owns the process-wide curl_global_init() (once), the retry policy, the
 * mapping of curl failures to err codes, and the small encoders callers need
 * to build requests (Basic auth header, percent-encoding).
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/rand.h>

#include "err.h"
#include "clock.h"
#include "coro.h"
#include "evcurl.h"
#include "httpc.h"
#include "buf.h"
#include "log.h"
#include "secret.h"

#define HTTPC_BACKOFF_FIRST_MS	100
#define HTTPC_BACKOFF_MAX_MS	5000

/* What one transfer collects; the body may hold a credential. */
struct httpc_sink {
	struct buf body;	/* body.max: the caller's limit */
	int	 too_large;
	long	 retry_after;
	char	 reason[48];
};

static pthread_once_t	httpc_once = PTHREAD_ONCE_INIT;
static CURLcode		httpc_init_rc = CURLE_FAILED_INIT;

/* Each thread keeps one curl handle, so connections (and TLS sessions) to
 * a host are reused across requests instead of a handshake per call. */
static pthread_key_t	httpc_handle_key;

static void
httpc_handle_free(void *c)
{
	curl_easy_cleanup(c);
}

static void
httpc_global_init(void)
{
	httpc_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (httpc_init_rc == CURLE_OK &&
	    pthread_key_create(&httpc_handle_key, httpc_handle_free) != 0)
		httpc_init_rc = CURLE_FAILED_INIT;
}

/* The calling thread's handle, with every option back to its default;
 * curl_easy_reset() keeps the connection and TLS session caches. */
static CURL *
httpc_handle(void)
{
	CURL *c = pthread_getspecific(httpc_handle_key);

	if (c != NULL) {
		curl_easy_reset(c);
		return c;
	}
	if ((c = curl_easy_init()) != NULL && pthread_setspecific(httpc_handle_key, c) != 0) {
		curl_easy_cleanup(c);
		c = NULL;
	}
	return c;
}

const char *
httpc_url_origin(const char *url, char *buf, size_t len)
{
	CURLU	*u;
	char	*scheme = NULL, *host = NULL, *port = NULL;

	snprintf(buf, len, "?");
	if (url == NULL || (u = curl_url()) == NULL)
		return buf;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
			snprintf(buf, len, "%s://%s:%s", scheme, host, port);
		else
			snprintf(buf, len, "%s://%s", scheme, host);
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return buf;
}

static int
httpc_idempotent(const char *m)
{
	static const char *const idem[] = { "GET", "HEAD", "PUT", "DELETE", "OPTIONS" };

	for (size_t i = 0; i < sizeof idem / sizeof idem[0]; i++)
		if (strcmp(m, idem[i]) == 0)
			return 1;
	return 0;
}

/* A header line we pass to curl: "Name: value", no line breaks (no header
 * injection through a value that came from a user or an upstream). */
static int
httpc_header_ok(const char *h, size_t len)
{
	const char *colon;

	if (len == 0 || memchr(h, '\r', len) != NULL || memchr(h, '\n', len) != NULL)
		return 0;
	colon = memchr(h, ':', len);
	return colon != NULL && colon != h;
}

static int
httpc_method_ok(const char *m)
{
	size_t n = strlen(m);

	if (n == 0 || n > 16)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (m[i] < 'A' || m[i] > 'Z')
			return 0;
	return 1;
}

static size_t
httpc_write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct httpc_sink	*s = arg;
	size_t			 n = size * nmemb;

	/* Returning short aborts the transfer now, not after the upstream
	 * has sent everything. */
	if (n > s->body.max - s->body.len) {
		s->too_large = 1;
		return 0;
	}
	buf_put(&s->body, p, n);
	return s->body.failed ? 0 : n;
}

static long
httpc_parse_retry_after(const char *v, size_t len)
{
	char	buf[64];
	char	*end;
	long	 n;
	time_t	 t;

	while (len > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)v[len - 1]))
		len--;
	if (len == 0 || len >= sizeof buf)
		return -1;
	memcpy(buf, v, len);
	buf[len] = '\0';
	if (isdigit((unsigned char)buf[0])) {
		errno = 0;
		n = strtol(buf, &end, 10);
		if (errno != 0 || *end != '\0' || n < 0)
			return -1;
		return n;
	}
	if ((t = curl_getdate(buf, NULL)) == -1)
		return -1;
	t -= time(NULL);
	return t < 0 ? 0 : (long)t;
}

static size_t
httpc_header_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	static const char	 ra[] = "retry-after:", rr[] = "ratelimit-reason:";
	struct httpc_sink	*s = arg;
	size_t			 n = size * nmemb, w = 0;

	/* A new status line starts a new response (100 Continue, 1xx). */
	if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		s->retry_after = -1;
		s->reason[0] = '\0';
	} else if (n > sizeof ra - 1 && strncasecmp(p, ra, sizeof ra - 1) == 0)
		s->retry_after = httpc_parse_retry_after(p + sizeof ra - 1,
		    n - (sizeof ra - 1));
	else if (n > sizeof rr - 1 && strncasecmp(p, rr, sizeof rr - 1) == 0) {
		/* Upstream text: keep a token's safe characters only. */
		for (size_t i = sizeof rr - 1; i < n && w < sizeof s->reason - 1; i++) {
			char c = p[i];

			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')
				s->reason[w++] = c;
			else if (w > 0 && c != ' ' && c != '\t')
				break;
		}
		s->reason[w] = '\0';
	}
	return n;
}

static void
httpc_sink_free(struct httpc_sink *s)
{
	buf_free(&s->body);
	memset(s, 0, sizeof *s);
}

void
httpc_resp_free(struct httpc_resp *r)
{
	if (r == NULL)
		return;
	if (r->body != NULL) {
		secret_wipe(r->body, r->len);
		free(r->body);
	}
	memset(r, 0, sizeof *r);
	r->retry_after = -1;
}

static int
httpc_tls_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_USE_SSL_FAILED:
		return 1;
	default:
		return 0;
	}
}

/* Failures a later attempt may not repeat. */
static int
httpc_transient(CURLcode rc, const struct httpc_sink *s)
{
	if (s->too_large)
		return 0;
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return 1;
	default:
		return 0;
	}
}

static int
httpc_fail(struct err *e, CURLcode rc, const struct httpc_sink *s,
    const char *method, const char *origin, long timeout_ms, size_t max)
{
	if (rc == CURLE_ABORTED_BY_CALLBACK)
		return err_set(e, 499, "client_gone",
		    "%s %s: the caller went away; the call was stopped", method, origin);
	if (s->too_large || rc == CURLE_FILESIZE_EXCEEDED)
		return err_set(e, 502, "upstream_too_large",
		    "%s %s: response larger than %zu bytes", method, origin, max);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return err_set(e, 504, "upstream_timeout",
		    "%s %s: no complete response within %ld ms", method, origin,
		    timeout_ms);
	if (rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_CONNECT ||
	    rc == CURLE_COULDNT_RESOLVE_PROXY)
		return err_set(e, 502, "upstream_unreachable", "%s %s: %s",
		    method, origin, curl_easy_strerror(rc));
	if (httpc_tls_error(rc))
		return err_set(e, 502, "upstream_tls", "%s %s: TLS failure: %s",
		    method, origin, curl_easy_strerror(rc));
	if (rc == CURLE_OUT_OF_MEMORY)
		return err_set(e, 500, "nomem", "out of memory");
	if (rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT)
		return err_set(e, 400, "bad_request", "%s %s: %s", method,
		    origin, curl_easy_strerror(rc));
	return err_set(e, 502, "upstream_error", "%s %s: %s", method, origin,
	    curl_easy_strerror(rc));
}

/* Build the header list. The secret line is the last node, so the caller
 * can find it and wipe curl's copy of it. */
static int
httpc_headers(const struct httpc_req *req, struct curl_slist **out,
    struct err *e)
{
	struct curl_slist	*l = NULL, *nl;
	char			 ct[160];
	int			 have_ct = 0;

	*out = NULL;
	for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
		const char *h = req->headers[i];

		if (!httpc_header_ok(h, strlen(h))) {
			curl_slist_free_all(l);
			return err_set(e, 400, "bad_request", "malformed request header");
		}
		if (strncasecmp(h, "content-type:", 13) == 0)
			have_ct = 1;
		if ((nl = curl_slist_append(l, h)) == NULL)
			goto nomem;
		l = nl;
	}
	if (req->body != NULL && !have_ct) {
		snprintf(ct, sizeof ct, "Content-Type: %s", req->content_type != NULL ?
		    req->content_type : "application/json");
		if (!httpc_header_ok(ct, strlen(ct))) {
			curl_slist_free_all(l);
			return err_set(e, 400, "bad_request", "malformed content type");
		}
		if ((nl = curl_slist_append(l, ct)) == NULL)
			goto nomem;
		l = nl;
	}
	/* No "Expect: 100-continue" round trip for larger bodies. */
	if ((nl = curl_slist_append(l, "Expect:")) == NULL)
		goto nomem;
	l = nl;
	if (req->secret_header != NULL) {
		const char *sh = secret_bytes(req->secret_header);

		if (!httpc_header_ok(sh, secret_len(req->secret_header)) ||
		    strlen(sh) != secret_len(req->secret_header)) {
			curl_slist_free_all(l);
			return err_set(e, 400, "bad_request", "malformed credential header");
		}
		if ((nl = curl_slist_append(l, sh)) == NULL)
			goto nomem;
		l = nl;
	}
	*out = l;
	return 0;
nomem:
	curl_slist_free_all(l);
	return err_set(e, 500, "nomem", "out of memory");
}

static void
httpc_headers_free(struct curl_slist *l, int wipe_last)
{
	struct curl_slist *p;

	if (wipe_last && l != NULL) {
		for (p = l; p->next != NULL; p = p->next)
			;
		secret_wipe(p->data, strlen(p->data));
	}
	curl_slist_free_all(l);
}

/* One attempt. Returns the curl code; fills resp when a response arrived. */
static CURLcode
httpc_attempt(const struct httpc_req *req, const char *method,
    struct curl_slist *hdrs, long timeout_ms, long connect_ms, size_t max,
    struct httpc_sink *s, struct httpc_resp *resp)
{
	CURL		*c;
	CURLcode	 rc;
	char		*ct = NULL;
	/* In a coroutine on a loop thread the transfer parks the coroutine;
	 * elsewhere (the admin tool, helper threads) it blocks as before. */
	int		 async = evcurl_usable();

	memset(s, 0, sizeof *s);
	s->body.max = max;
	s->retry_after = -1;
	if ((c = async ? evcurl_easy_get() : httpc_handle()) == NULL)
		return CURLE_OUT_OF_MEMORY;
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "tenantgate/1");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, httpc_write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, httpc_header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, s);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, req->insecure ? 0L : 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, req->insecure ? 0L : 2L);
	if (req->ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, req->ca_file);

	if (strcmp(method, "GET") == 0 && req->body == NULL)
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	else if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else {
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
		if (req->body != NULL || strcmp(method, "POST") == 0) {
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)(req->body != NULL ? req->body_len : 0));
			curl_easy_setopt(c, CURLOPT_POSTFIELDS,
			    req->body != NULL ? req->body : "");
		}
	}

	rc = async ? evcurl_perform(c) : curl_easy_perform(c);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
		if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK &&
		    ct != NULL)
			snprintf(resp->content_type, sizeof resp->content_type, "%s", ct);
		if ((resp->body = buf_steal(&s->body, &resp->len)) == NULL)
			rc = CURLE_OUT_OF_MEMORY;
		else {
			resp->retry_after = s->retry_after;
			memcpy(resp->ratelimit_reason, s->reason, sizeof s->reason);
		}
	}
	/* Drop our pointers from the reused handle: the headers and body are
	 * freed (and wiped) by the caller. */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
	if (async)
		evcurl_easy_put(c);
	return rc;
}

int
httpc_do(const struct httpc_req *req, struct httpc_resp *resp, struct err *e)
{
	struct httpc_sink	 sink;
	struct curl_slist	*hdrs;
	const char		*method;
	char			 origin[192];
	long			 timeout_ms, connect_ms, deadline, left, delay;
	size_t			 max;
	int			 retries, attempt;
	CURLcode		 rc;

	memset(resp, 0, sizeof *resp);
	resp->retry_after = -1;
	pthread_once(&httpc_once, httpc_global_init);
	if (httpc_init_rc != CURLE_OK)
		return err_set(e, 500, "upstream_error", "libcurl failed to initialise");
	if (req == NULL || req->url == NULL)
		return err_set(e, 400, "bad_request", "no URL");
	method = req->method != NULL ? req->method : "GET";
	if (!httpc_method_ok(method))
		return err_set(e, 400, "bad_request", "bad HTTP method");
	httpc_url_origin(req->url, origin, sizeof origin);

	timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : HTTPC_TIMEOUT_MS_DEFAULT;
	/* A request's deadline covers everything it waits for, queueing
	 * included: never add this call's timeout on top of time spent. */
	if (coro_remaining_ms() < timeout_ms)
		timeout_ms = coro_remaining_ms();
	if (timeout_ms <= 0)
		return err_set(e, 504, "upstream_timeout",
		    "%s %s: the request's deadline passed before the call", method, origin);
	connect_ms = req->connect_timeout_ms > 0 ? req->connect_timeout_ms :
	    HTTPC_CONNECT_TIMEOUT_MS_DEFAULT;
	max = req->max_response > 0 ? req->max_response : HTTPC_MAX_RESPONSE_DEFAULT;
	retries = req->retries < 0 ? 0 : req->retries;
	if (retries > HTTPC_RETRIES_MAX)
		retries = HTTPC_RETRIES_MAX;
	if (!httpc_idempotent(method))
		retries = 0;

	if (httpc_headers(req, &hdrs, e) == -1)
		return -1;

	deadline = clock_now_ms() + timeout_ms;
	for (attempt = 0;; attempt++) {
		left = deadline - clock_now_ms();
		if (left < 1)
			left = 1;
		rc = httpc_attempt(req, method, hdrs, left,
		    connect_ms < left ? connect_ms : left, max, &sink, resp);
		if (attempt >= retries)
			break;
		if (rc == CURLE_OK) {
			if (resp->status != 502 && resp->status != 503 &&
			    resp->status != 504)
				break;
		} else if (!httpc_transient(rc, &sink))
			break;

		delay = HTTPC_BACKOFF_FIRST_MS << (attempt < 6 ? attempt : 6);
		if (delay > HTTPC_BACKOFF_MAX_MS)
			delay = HTTPC_BACKOFF_MAX_MS;
		delay = clock_jitter(delay);
		if (rc == CURLE_OK && resp->retry_after > 0 &&
		    resp->retry_after * 1000 > delay)
			delay = resp->retry_after * 1000;
		/* A request thread tries once more at once (a dropped
		 * keep-alive connection, the usual case, needs no wait). */
		if (!clock_may_sleep())
			delay = 0;
		/* Out of time for another try: report what we have. */
		if (clock_now_ms() + delay >= deadline)
			break;
		log_debug("httpc: %s %s: %s, retry %d in %ld ms", method, origin,
		    rc == CURLE_OK ? "upstream busy" : curl_easy_strerror(rc),
		    attempt + 1, delay);
		httpc_sink_free(&sink);
		httpc_resp_free(resp);
		clock_sleep_ms(delay);
	}
	httpc_headers_free(hdrs, req->secret_header != NULL);
	if (rc != CURLE_OK) {
		httpc_fail(e, rc, &sink, method, origin, timeout_ms, max);
		httpc_sink_free(&sink);
		httpc_resp_free(resp);
		return -1;
	}
	httpc_sink_free(&sink);
	return 0;
}

char *
httpc_urlencode(const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	char			*out, *p;
	size_t			 n;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	if (n > (SIZE_MAX - 1) / 3 || (out = malloc(n * 3 + 1)) == NULL)
		return NULL;
	for (p = out; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		/* ASCII ranges, not isalnum(): the TUI runs under a locale. */
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
		    c == '~')
			*p++ = (char)c;
		else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	*p = '\0';
	return out;
}
