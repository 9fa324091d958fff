/*
 * broker_client: HTTP calls to the broker, and the forwarder's own caller
 * credential. A service-account token is re-read once a minute because the
 * kubelet rotates projected tokens; a client secret is read when its path
 * first appears (or changes on reload).
 *
 * The reading is a janitor job (common/janitor.h), never a request's work:
 * a loop timer only kicks it, and a worker thread reads the file. A stat()
 * on the loop would have been cheap too, but it could only say "changed";
 * the read would still land somewhere, and a projected token on a slow or
 * hung volume must not hold the loop or a request. Requests copy the
 * current header; one that sees a new path (a reload) asks for a read and
 * goes on with the header it has. Without broker_client_start() (unit
 * tests, tools without a loop) the request reads the file itself.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker_client.h"
#include "err.h"
#include "feed.h"
#include "fwdconf.h"
#include "httpc.h"
#include "janitor.h"
#include "jsonx.h"
#include "log.h"
#include "secret.h"

#define BROKER_CRED_MAX		16384
#define BROKER_SA_REREAD_S	60
#define BROKER_CRED_TICK_MS	5000	/* the job checks; it reads only when due */
#define BROKER_MAX_RESPONSE	(1024 * 1024)

struct broker_client {
	pthread_mutex_t	 lock;
	char		*path;		/* file the header was built from */
	time_t		 loaded;
	secret_t	*hdr;		/* "Authorization: Bearer <secret>" */
	char		*want;		/* the path the config names now */
	int		 want_sa;	/* ... a service-account token */
	char		 error[ERR_MSG_MAX];	/* the last failed read's */
	struct janitor	*janitor;	/* NULL: not started */
	struct janitor_job *reread;
};

struct broker_client *
broker_client_new(void)
{
	struct broker_client *b;

	if ((b = calloc(1, sizeof *b)) == NULL)
		return NULL;
	pthread_mutex_init(&b->lock, NULL);
	return b;
}

void
broker_client_free(struct broker_client *b)
{
	if (b == NULL)
		return;
	janitor_free(b->janitor);
	secret_free(b->hdr);
	free(b->path);
	free(b->want);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

/* The file as an "Authorization: Bearer ..." header; NULL with e (503). */
static secret_t *
broker_client_load(const char *path, struct err *e)
{
	secret_t	*raw, *hdr;

	if ((raw = secret_from_file(path, BROKER_CRED_MAX, e)) == NULL) {
		err_prefix(e, "reading the broker credential");
		e->status = 503;
		return NULL;
	}
	hdr = secret_header("Authorization", "Bearer", raw);
	secret_free(raw);
	if (hdr == NULL)
		err_set(e, 503, "broker_credential", "the broker credential file %s is empty",
		    path);
	return hdr;
}

/* Under b->lock: is a read of b->want due? */
static int
broker_client_due(const struct broker_client *b, time_t now)
{
	return b->want != NULL && (b->hdr == NULL || b->path == NULL ||
	    strcmp(b->path, b->want) != 0 || (b->want_sa && now - b->loaded >= BROKER_SA_REREAD_S));
}

/* Read b->want if due; the file is read outside the lock. 0, or -1 with e. */
static int
broker_client_refresh(struct broker_client *b, struct err *e)
{
	time_t		 now = time(NULL);
	secret_t	*hdr;
	char		*path;
	int		 was_ok;

	pthread_mutex_lock(&b->lock);
	path = broker_client_due(b, now) ? strdup(b->want) : NULL;
	pthread_mutex_unlock(&b->lock);
	if (path == NULL)
		return 0;
	hdr = broker_client_load(path, e);
	pthread_mutex_lock(&b->lock);
	was_ok = b->error[0] == '\0';
	if (hdr != NULL) {
		secret_free(b->hdr);
		b->hdr = hdr;
		free(b->path);
		b->path = path;
		b->loaded = now;
		b->error[0] = '\0';
	} else {
		snprintf(b->error, sizeof b->error, "%s", e->msg);
		free(path);
	}
	pthread_mutex_unlock(&b->lock);
	/* One line per outage; the header in hand (if any) is still used. */
	if (hdr == NULL && was_ok && b->janitor != NULL)
		log_warnx("%s", e->msg);
	return hdr != NULL ? 0 : -1;
}

static long
broker_client_reread(void *arg)
{
	struct err e;

	err_clear(&e);
	(void)broker_client_refresh(arg, &e);
	return 0;
}

/* Under b->lock: note the path the config names; 1 when it changed. */
static int
broker_client_want(struct broker_client *b, const struct fwdconf *c)
{
	const char	*path = c->broker_secret_file != NULL ? c->broker_secret_file :
			    c->broker_sa_token_file;
	char		*p;

	if (b->want != NULL && strcmp(b->want, path) == 0)
		return 0;
	if ((p = strdup(path)) == NULL)
		return 0;	/* asks again next time */
	free(b->want);
	b->want = p;
	b->want_sa = c->broker_secret_file == NULL;
	return 1;
}

int
broker_client_start(struct broker_client *b, struct event_base *base, const struct fwdconf *c,
    struct err *e)
{
	struct err fe;

	pthread_mutex_lock(&b->lock);
	broker_client_want(b, c);
	pthread_mutex_unlock(&b->lock);
	/* Before the loop serves: the first read may as well happen here. */
	err_clear(&fe);
	if (broker_client_refresh(b, &fe) == -1)
		log_warnx("%s (retried in the background)", fe.msg);
	if ((b->janitor = janitor_new(base, 1, e)) == NULL)
		return -1;
	if ((b->reread = janitor_add(b->janitor, "broker-credential", 0, broker_client_reread,
	    b, BROKER_CRED_TICK_MS)) == NULL)
		return err_set(e, 500, "nomem", "out of memory");
	return 0;
}

/* A private copy of our caller header. Never reads the file once started. */
static secret_t *
broker_client_cred(struct broker_client *b, const struct fwdconf *c, struct err *e)
{
	secret_t	*out;
	int		 changed;

	pthread_mutex_lock(&b->lock);
	changed = broker_client_want(b, c);
	pthread_mutex_unlock(&b->lock);
	if (b->janitor == NULL) {
		if (broker_client_refresh(b, e) == -1)
			return NULL;
	} else if (changed)
		janitor_kick(b->reread);
	pthread_mutex_lock(&b->lock);
	if (b->hdr == NULL) {
		err_set(e, 503, "broker_credential", "the broker credential is not loaded: %s",
		    b->error[0] != '\0' ? b->error : "not read yet");
		pthread_mutex_unlock(&b->lock);
		return NULL;
	}
	out = secret_dup(b->hdr);
	pthread_mutex_unlock(&b->lock);
	if (out == NULL)
		err_set(e, 500, "nomem", "out of memory");
	return out;
}

/* Turn a non-200 broker answer into an err with its code and message. */
static int
broker_client_fail(const char *what, const struct httpc_resp *resp, struct err *e)
{
	json_t		*v = NULL, *er;
	const char	*code = NULL, *msg = NULL;

	if (resp->body != NULL && resp->len > 0)
		v = json_loadb(resp->body, resp->len, 0, NULL);
	er = json_object_get(v, "error");
	code = jsonx_str(er, "code");
	msg = jsonx_str(er, "message");
	if (resp->status == 401 && code != NULL && strcmp(code, "caller_unauthenticated") == 0)
		err_set(e, 502, "broker_refused", "the broker refused this forwarder's own "
		    "credential (check broker_secret_file or broker_sa_token_file)");
	else if (resp->status >= 500)
		err_set(e, 503, code != NULL ? code : "broker_unavailable",
		    "the tenantgate broker cannot serve %s right now (%ld%s%.160s)", what,
		    resp->status, msg != NULL ? ": " : "", msg != NULL ? msg : "");
	else if (resp->status >= 400)
		err_set(e, (int)resp->status, code != NULL ? code : "broker_refused", "%.200s",
		    msg != NULL ? msg : "the broker refused the request");
	else
		err_set(e, 502, "broker_error", "unexpected answer %ld from the broker for %s",
		    resp->status, what);
	json_decref(v);
	return -1;
}

/* One call to the broker with our caller credential: POST body as JSON
 * when body is set, else GET. ok is the status that counts as success. */
static int
broker_client_call(struct broker_client *b, const struct fwdconf *c, const char *path,
    json_t *body, long ok, long timeout_ms, const char *what, json_t **out, struct err *e)
{
	struct httpc_req	 req;
	struct httpc_resp	 resp;
	secret_t		*hdr;
	char			*url, *text;
	size_t			 n;
	int			 rc = -1;

	*out = NULL;
	if ((hdr = broker_client_cred(b, c, e)) == NULL)
		return -1;
	n = strlen(c->broker_url) + strlen(path) + 1;
	text = body != NULL ? jsonx_dump(body) : strdup("");
	if ((url = malloc(n)) == NULL || text == NULL) {
		free(url);
		secret_free_str(text);
		secret_free(hdr);
		return err_set(e, 500, "nomem", "out of memory");
	}
	/* broker_url may end with '/'; the paths start with one. */
	snprintf(url, n, "%.*s%s", (int)(strlen(c->broker_url) -
	    (c->broker_url[strlen(c->broker_url) - 1] == '/')), c->broker_url, path);
	memset(&req, 0, sizeof req);
	req.method = body != NULL ? "POST" : "GET";
	req.url = url;
	if (body != NULL) {
		req.body = text;
		req.body_len = strlen(text);
	}
	req.secret_header = hdr;
	req.timeout_ms = timeout_ms;
	req.max_response = BROKER_MAX_RESPONSE;
	req.ca_file = c->broker_ca_file;
	if (httpc_do(&req, &resp, e) == -1) {
		char why[ERR_MSG_MAX];

		snprintf(why, sizeof why, "%s", e->msg);
		err_set(e, 503, "broker_unavailable", "the tenantgate broker is unavailable: %.160s",
		    why);
	} else if (resp.status != ok) {
		broker_client_fail(what, &resp, e);
		if (resp.status == 403 && strcmp(e->code, "no_tenants") == 0)
			rc = 0;	/* the caller tells this apart by *out == NULL */
	} else if ((*out = jsonx_parse_object(resp.body, resp.len, e)) == NULL) {
		err_set(e, 502, "broker_error", "the broker's answer to %s is not JSON", what);
	} else
		rc = 0;
	httpc_resp_free(&resp);
	secret_free_str(text);
	secret_free(hdr);
	free(url);
	return rc;
}

static int
broker_client_post(struct broker_client *b, const struct fwdconf *c, const char *path,
    json_t *body, const char *what, json_t **out, struct err *e)
{
	return broker_client_call(b, c, path, body, 200, (long)c->broker_timeout * 1000, what,
	    out, e);
}

int
broker_client_changes(struct broker_client *b, const struct fwdconf *c, long long since,
    int wait_s, json_t **out, struct err *e)
{
	char path[96];

	snprintf(path, sizeof path, "/v1/changes?since=%lld&wait=%d", since, wait_s);
	/* The broker holds the answer up to wait_s: allow for that. */
	if (broker_client_call(b, c, path, NULL, 200, ((long)wait_s + c->broker_timeout) * 1000,
	    "the change feed", out, e) == -1)
		return -1;
	if (*out == NULL)
		return err_set(e, 502, "broker_error", "the broker refused the change feed");
	return 0;
}

int
broker_client_audit(struct broker_client *b, const struct fwdconf *c, json_t *body,
    struct err *e)
{
	json_t	*out = NULL;
	int	 rc;

	rc = broker_client_call(b, c, "/v1/audit", body, 202, (long)c->broker_timeout * 1000,
	    "audit", &out, e);
	json_decref(out);
	if (rc == 0 && out == NULL)
		return err_set(e, 502, "broker_error", "the broker refused the audit batch");
	return rc;
}

int
broker_client_grants(struct broker_client *b, const struct fwdconf *c, const char *assertion,
    json_t **out, struct err *e)
{
	json_t	*body = json_pack("{s:s}", "assertion", assertion);
	int	 rc;

	if (body == NULL)
		return err_set(e, 401, "bad_token", "the user token is not valid UTF-8 text");
	/* RFC 8707: which protected resource we are, so the broker accepts
	 * tokens minted for us (and not those for another resource). */
	if (c->resource_url != NULL)
		json_object_set_new(body, "resource", json_string(c->resource_url));
	if (feed_seen_seq() > 0)
		json_object_set_new(body, "seen_seq", json_integer(feed_seen_seq()));
	rc = broker_client_post(b, c, "/v1/grants", body, "grants", out, e);
	json_decref(body);
	if (rc == 0 && *out == NULL)
		return 0;
	if (rc == -1 && strcmp(e->code, "unknown_resource") == 0) {
		/* The operator's mistake, not the user's: not a 401. */
		log_warnx("the broker does not list resource_url %s in oidc_resources",
		    c->resource_url);
		return err_set(e, 502, "broker_refused", "the broker does not accept this "
		    "forwarder's resource_url (add it to the broker's oidc_resources)");
	}
	if (rc == -1 && (e->status == 400 || e->status == 403)) {
		/* The assertion itself was refused (oversize, unparsable). */
		e->status = 401;
	}
	return rc;
}

int
broker_client_redeem(struct broker_client *b, const struct fwdconf *c, const secret_t *grant,
    const char *integration, json_t **out, struct err *e)
{
	json_t	*body = json_pack("{s:s,s:s}", "grant", secret_bytes(grant), "integration",
		    integration);
	int	 rc;

	if (body == NULL)
		return err_set(e, 500, "nomem", "out of memory");
	rc = broker_client_post(b, c, "/v1/redeem", body, "redeem", out, e);
	json_decref(body);
	if (rc == 0 && *out == NULL)	/* a 403 no_tenants here is a refusal too */
		return err_set(e, 403, "not_member", "the broker refused the grant");
	return rc;
}

int
broker_client_ready(struct broker_client *b, const struct fwdconf *c, struct err *e)
{
	struct httpc_req	 req;
	struct httpc_resp	 resp;
	char			 url[1024];
	int			 rc;

	(void)b;
	snprintf(url, sizeof url, "%.*s/readyz", (int)(strlen(c->broker_url) -
	    (c->broker_url[strlen(c->broker_url) - 1] == '/')), c->broker_url);
	memset(&req, 0, sizeof req);
	req.url = url;
	req.timeout_ms = (long)c->broker_timeout * 1000;
	req.max_response = 65536;
	req.ca_file = c->broker_ca_file;
	if (httpc_do(&req, &resp, e) == -1) {
		char why[ERR_MSG_MAX];

		snprintf(why, sizeof why, "%s", e->msg);
		httpc_resp_free(&resp);
		return err_set(e, 503, "broker_unavailable", "the broker is unreachable: %.160s",
		    why);
	}
	rc = resp.status == 200 ? 0 : err_set(e, 503, "broker_not_ready",
	    "the broker answers /readyz with %ld", resp.status);
	httpc_resp_free(&resp);
	return rc;
}
