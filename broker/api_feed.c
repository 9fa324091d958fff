/*
 * api_feed: the endpoints forwarders use besides grants and redeem:
 * GET /v1/changes (the change feed, a long-poll) and POST /v1/audit
 * (their batched tool-call audit rows). Both authenticate the caller
 * exactly as /v1/redeem does. Protocol: docs/broker.md "Change feed".
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "broker.h"
#include "err.h"
#include "feed.h"
#include "httpd.h"
#include "jsonx.h"
#include "log.h"
#include "store.h"

#define AUDIT_MAX_EVENTS	500
#define AUDIT_MAX_AT_MS		32503680000000LL	/* year 3000 */

/* A whole non-negative decimal number within max; -1 otherwise. */
static int
api_feed_number(const char *v, long long max, long long *out)
{
	char		*end;
	long long	 n;

	if (v == NULL || *v < '0' || *v > '9')
		return -1;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < 0 || n > max)
		return -1;
	*out = n;
	return 0;
}

/* GET /v1/changes?since=SEQ&wait=SECONDS */
/* No latency sample (api.c): r may already be answered by the feed
 * thread, and a long-poll's latency is its wait. */
void
api_feed_changes(struct httpd_req *r, struct broker *b, const struct broker_state *s)
{
	struct err	 e;
	long long	 since = 0, wait = FEED_DEFAULT_WAIT_S;
	const char	*sv = httpd_query(r, "since"), *wv = httpd_query(r, "wait");
	json_t		*reply;
	unsigned long	 gen;
	int		 news;
	char		 caller[API_CALLER_MAX];

	err_clear(&e);
	if (api_caller(s, r, caller, &e) == -1) {
		api_reply_err(r, &e);
		return;
	}
	if (sv != NULL && api_feed_number(sv, LLONG_MAX, &since) == -1) {
		httpd_reply_error(r, 400, "bad_since",
		    "'since' must be a sequence number (a whole number, 0 or more)");
		return;
	}
	if (wv != NULL && api_feed_number(wv, FEED_MAX_WAIT_S, &wait) == -1) {
		httpd_reply_error(r, 400, "bad_wait",
		    "'wait' must be a whole number of seconds from 0 to %d", FEED_MAX_WAIT_S);
		return;
	}
	gen = feed_gen(b->feed);
	if (feed_answer(b->store, since, &reply, &news, &e) == -1) {
		metrics_inc(&broker_metrics[BM_DB_ERRORS]);
		httpd_reply_err(r, &e);
		return;
	}
	if (news || wait == 0) {
		httpd_reply_json(r, 200, reply);
		return;
	}
	if (feed_park(b->feed, r, since, (int)wait, gen) == 0) {
		/* r belongs to the feed thread now: do not touch it. */
		json_decref(reply);
		return;
	}
	/* Full or shutting down: nothing new yet is a valid answer. */
	httpd_reply_json(r, 200, reply);
}

static int
api_feed_str(const json_t *ev, const char *key, size_t max, size_t i, struct err *e)
{
	const char *v = json_string_value(json_object_get(ev, key));

	if (v == NULL || v[0] == '\0' || strlen(v) > max)
		return err_set(e, 400, "bad_event",
		    "event %zu: '%s' must be a non-empty string of at most %zu bytes", i, key,
		    max);
	return 0;
}

static int
api_feed_int(const json_t *ev, const char *key, json_int_t min, json_int_t max, size_t i,
    struct err *e)
{
	const json_t *v = json_object_get(ev, key);

	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return err_set(e, 400, "bad_event",
		    "event %zu: '%s' must be a whole number from %lld to %lld", i, key,
		    (long long)min, (long long)max);
	return 0;
}

/* Check every event and copy the known fields only: the rows hold exactly
 * what the protocol names, nothing a forwarder adds. NULL with e set. */
static json_t *
api_feed_audit_check(const json_t *events, struct err *e)
{
	static const char *const outcomes[] = { "ok", "error", "refused", NULL };
	json_t		*clean, *ev;
	size_t		 i;

	if (!json_is_array(events)) {
		err_set(e, 400, "bad_field", "field 'events' must be an array");
		return NULL;
	}
	if (json_array_size(events) > AUDIT_MAX_EVENTS) {
		err_set(e, 400, "too_many_events", "at most %d events per batch (got %zu)",
		    AUDIT_MAX_EVENTS, json_array_size(events));
		return NULL;
	}
	clean = json_array();
	json_array_foreach(events, i, ev) {
		const char	*outcome;
		int		 known = 0;

		if (!json_is_object(ev)) {
			err_set(e, 400, "bad_event", "event %zu is not an object", i);
			goto fail;
		}
		if (api_feed_int(ev, "at", 1, AUDIT_MAX_AT_MS, i, e) == -1 ||
		    api_feed_str(ev, "user", 320, i, e) == -1 ||
		    api_feed_str(ev, "tenant", 63, i, e) == -1 ||
		    api_feed_str(ev, "tool", 200, i, e) == -1 ||
		    api_feed_int(ev, "status", 0, 999, i, e) == -1 ||
		    api_feed_int(ev, "latency_ms", 0, 86400000, i, e) == -1)
			goto fail;
		outcome = json_string_value(json_object_get(ev, "outcome"));
		for (size_t k = 0; outcome != NULL && outcomes[k] != NULL; k++)
			known |= strcmp(outcome, outcomes[k]) == 0;
		if (!known) {
			err_set(e, 400, "bad_event",
			    "event %zu: 'outcome' must be \"ok\", \"error\" or \"refused\"", i);
			goto fail;
		}
		json_array_append_new(clean, json_pack("{s:O,s:O,s:O,s:O,s:O,s:O,s:O}",
		    "at", json_object_get(ev, "at"), "user", json_object_get(ev, "user"),
		    "tenant", json_object_get(ev, "tenant"), "tool", json_object_get(ev, "tool"),
		    "outcome", json_object_get(ev, "outcome"),
		    "status", json_object_get(ev, "status"),
		    "latency_ms", json_object_get(ev, "latency_ms")));
	}
	return clean;
fail:
	json_decref(clean);
	return NULL;
}

/* POST /v1/audit {"events":[...]} */
void
api_feed_audit(struct httpd_req *r, struct broker *b, const struct broker_state *s)
{
	struct err	 e;
	size_t		 len;
	const char	*body = httpd_body(r, &len);
	json_t		*req = NULL, *clean = NULL;
	char		 caller[API_CALLER_MAX], *rows = NULL;
	int		 n = 0;

	err_clear(&e);
	if (api_caller(s, r, caller, &e) == -1) {
		api_reply_err(r, &e);
		return;
	}
	if (len > API_AUDIT_MAX_BODY) {
		httpd_reply_error(r, 413, "body_too_large", "an audit batch is at most 1 MiB");
		return;
	}
	if ((req = jsonx_parse_object(body, len, &e)) == NULL ||
	    (clean = api_feed_audit_check(json_object_get(req, "events"), &e)) == NULL) {
		httpd_reply_err(r, &e);
		goto out;
	}
	if (json_array_size(clean) > 0) {
		if ((rows = jsonx_dump(clean)) == NULL) {
			httpd_reply_error(r, 500, "nomem", "out of memory");
			goto out;
		}
		if ((n = store_audit_tool_calls(b->store, caller, rows, &e)) == -1) {
			metrics_inc(&broker_metrics[BM_DB_ERRORS]);
			httpd_reply_err(r, &e);
			goto out;
		}
	}
	httpd_reply_json(r, 202, json_pack("{s:i}", "accepted", n));
out:
	free(rows);
	json_decref(clean);
	json_decref(req);
}
