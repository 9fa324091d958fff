/*
 * httpc: one blocking HTTP request over libcurl's easy interface, safe to
 * call from any thread (a fresh easy handle per call). It bounds everything
 * an upstream controls: time, response size, redirects (never followed, so a
 * credential header cannot be replayed to another host) and protocols
 * (http/https only). The one credential-carrying header travels as a
 * secret_t and is wiped from our copies after the transfer.
 */
#ifndef TG_HTTPC_H
#define TG_HTTPC_H

#include <stddef.h>

#include "secret.h"

struct err;

#define HTTPC_TIMEOUT_MS_DEFAULT	10000
#define HTTPC_CONNECT_TIMEOUT_MS_DEFAULT 3000
#define HTTPC_MAX_RESPONSE_DEFAULT	(1024 * 1024)
#define HTTPC_RETRIES_MAX		10

struct httpc_req {
	const char	*method;		/* "GET" when NULL */
	const char	*url;
	const char	*body;
	size_t		 body_len;
	const char	*content_type;		/* "application/json" when a body is sent */
	const char *const *headers;		/* NULL-terminated "Name: value" lines, not secret */
	const secret_t	*secret_header;		/* one "Name: value" line holding a secret */
	long		 timeout_ms;		/* whole request, retries included; 10000 when 0 */
	long		 connect_timeout_ms;	/* per attempt; 3000 when 0 */
	size_t		 max_response;		/* 1 MiB when 0; a larger body is an error */
	int		 retries;		/* extra attempts, idempotent methods only */
	int		 insecure;		/* TLS verification is on unless set */
	const char	*ca_file;
};

struct httpc_resp {
	long	 status;
	char	*body;				/* always NUL-terminated once filled */
	size_t	 len;
	long	 retry_after;			/* seconds from Retry-After, -1 if none */
	char	 content_type[128];
	/* RateLimit-Reason (Atlassian: "jira-burst-based", ...), "" if none;
	 * only [A-Za-z0-9._-] kept, so it is safe in logs and labels. */
	char	 ratelimit_reason[48];
};

/*
 * 0 when an HTTP response arrived, whatever its status; -1 on a transport
 * failure with e set to one of:
 *   504 upstream_timeout, 502 upstream_too_large, 502 upstream_unreachable,
 *   502 upstream_tls, 502 upstream_error, 400 bad_request, 500 nomem.
 * Retries (req->retries > 0) apply only to GET/HEAD/PUT/DELETE/OPTIONS, on
 * connection failures and on 502/503/504, with exponential backoff and
 * jitter from 100 ms, all within timeout_ms. resp is always initialised and
 * must be released with httpc_resp_free(), on success or failure.
 */
int	 httpc_do(const struct httpc_req *, struct httpc_resp *, struct err *);
/* Wipes the body (it may hold a credential), frees it, resets the fields. */
void	 httpc_resp_free(struct httpc_resp *);

/* RFC 3986 percent-encoding of everything but unreserved characters.
 * Caller frees; NULL on ENOMEM. */
char	*httpc_urlencode(const char *);
/* "scheme://host:port" of url for messages (never userinfo, path or query),
 * written into buf; "?" when the URL does not parse. */
const char *httpc_url_origin(const char *url, char *buf, size_t len);

#endif
