/* The change feed's forwarder side: which cache entries each event kind
 * drops (feed_plan + grants_drop), credentials reused across fresh user
 * tokens that carry the same grant, per-call mode while the feed is not
 * current, the LRU bound, the race guard, and the audit queue. A loopback
 * test server plays the broker's /v1/grants and /v1/redeem. */
#define _GNU_SOURCE	/* strcasestr */
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "b64url.h"
#include "clock.h"
#include "err.h"
#include "secret.h"
#include "testsrv.h"
#include "../../forwarder/audit.h"
#include "../../forwarder/broker_client.h"
#include "../../forwarder/creds.h"
#include "../../forwarder/dropset.h"
#include "../../forwarder/feed.h"
#include "../../forwarder/fwdconf.h"
#include "../../forwarder/grants.h"

static struct {
	struct testsrv	 ts;
	pthread_mutex_t	 mu;
	int		 grants_calls;	/* under mu */
	int		 redeems;
	int		 mint;		/* bumped: the broker mints new grants */
	long long	 exp;		/* grants' expires_at; 0: 2000000000 */
	char		 secret_path[64];
} srv = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void
reply(int fd, const char *body)
{
	char head[256];

	snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nConnection: close\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n", strlen(body));
	testsrv_send_all(fd, head, strlen(head));
	testsrv_send_all(fd, body, strlen(body));
}

/* A JWT-shaped grant whose payload names jti (unsigned: only read). */
static char *
grant_token(const char *jti)
{
	char	 payload[128], *p, *out;
	size_t	 n;

	snprintf(payload, sizeof payload, "{\"jti\":\"%s\"}", jti);
	p = b64url_encode((const unsigned char *)payload, strlen(payload));
	n = strlen(p) + 32;
	out = malloc(n);
	snprintf(out, n, "eyJhbGciOiJFUzI1NiJ9.%s.c2ln", p);
	free(p);
	return out;
}

/* Tokens are "<name>-<n>": user <name>@example.com, tenants google and
 * microsoft, one grant each with jti "<name>-<tenant>-<mint>". */
static void
handle(int fd)
{
	char	 req[8192], path[256] = "", user[32] = "", jti[2][96], body[4096];
	char	*body_at, *t0, *t1;
	int	 mint;
	long long exp;
	json_t	*in;

	testsrv_read_request(fd, req, sizeof req);
	sscanf(req, "%*s %255s", path);
	body_at = strstr(req, "\r\n\r\n");
	in = body_at != NULL ? json_loads(body_at + 4, 0, NULL) : NULL;
	pthread_mutex_lock(&srv.mu);
	mint = srv.mint;
	exp = srv.exp != 0 ? srv.exp : 2000000000;
	if (strcmp(path, "/v1/grants") == 0)
		srv.grants_calls++;
	else
		srv.redeems++;
	pthread_mutex_unlock(&srv.mu);
	if (strcmp(path, "/v1/grants") == 0) {
		sscanf(json_string_value(json_object_get(in, "assertion")), "%31[a-z]", user);
		snprintf(jti[0], sizeof jti[0], "%s-google-%d", user, mint);
		snprintf(jti[1], sizeof jti[1], "%s-microsoft-%d", user, mint);
		t0 = grant_token(jti[0]);
		t1 = grant_token(jti[1]);
		snprintf(body, sizeof body, "{\"user\":\"%s@example.com\",\"grants\":["
		    "{\"tenant\":\"google\",\"role\":\"editor\",\"token\":\"%s\","
		    "\"expires_at\":%lld,\"integrations\":[{\"name\":\"jira\",\"kind\":"
		    "\"jira\",\"base_url\":\"https://google.example\",\"cred_version\":1}],"
		    "\"tools\":[\"jira_search\"]},"
		    "{\"tenant\":\"microsoft\",\"role\":\"viewer\",\"token\":\"%s\","
		    "\"expires_at\":%lld,\"integrations\":[{\"name\":\"jira\",\"kind\":"
		    "\"jira\",\"base_url\":\"https://ms.example\",\"cred_version\":1}],"
		    "\"tools\":[\"jira_search\"]}]}", user, t0, exp, t1, exp);
		free(t0);
		free(t1);
		reply(fd, body);
	} else {
		const char *g = json_string_value(json_object_get(in, "grant"));
		int ms = 0;

		/* Which tenant: read the grant's payload back. */
		if (g != NULL) {
			const char	*d1 = strchr(g, '.'), *d2 = d1 != NULL ? strchr(d1 + 1, '.') : NULL;
			size_t		 len = 0;
			unsigned char	*raw = d2 != NULL ? b64url_decode(d1 + 1,
			    (size_t)(d2 - d1 - 1), &len) : NULL;

			ms = raw != NULL && memmem(raw, len, "microsoft", 9) != NULL;
			free(raw);
		}
		snprintf(body, sizeof body, "{\"tenant\":\"%s\",\"integration\":\"jira\","
		    "\"base_url\":\"%s\",\"cred_version\":1,\"expires_at\":2000000000,"
		    "\"credential\":{\"email\":\"bot@example.com\",\"api_token\":\"tok-%s\"}}",
		    ms ? "microsoft" : "google", ms ? "https://ms.example" : "https://google.example",
		    ms ? "microsoft" : "google");
		reply(fd, body);
	}
	json_decref(in);
}

static int
counts(int *redeems)
{
	int g;

	pthread_mutex_lock(&srv.mu);
	g = srv.grants_calls;
	*redeems = srv.redeems;
	pthread_mutex_unlock(&srv.mu);
	return g;
}

struct fx {
	struct fwdconf_snap	*snap;
	const struct fwdconf	*conf;
	struct broker_client	*broker;
	struct grants_cache	*gc;
};

static int
setup(void **state)
{
	struct fx	*fx = calloc(1, sizeof *fx);
	char		 url[64], o1[96], o2[96];
	const char	*ov[4] = { url, o1, o2, NULL };
	FILE		*f;
	int		 fd;
	char		*causes = NULL;

	snprintf(srv.secret_path, sizeof srv.secret_path, "/tmp/tg-feed-test-XXXXXX");
	if ((fd = mkstemp(srv.secret_path)) == -1 || (f = fdopen(fd, "w")) == NULL)
		return -1;
	fputs("caller-secret\n", f);
	fclose(f);
	snprintf(url, sizeof url, "broker_url=http://127.0.0.1:%d", srv.ts.port);
	snprintf(o1, sizeof o1, "broker_secret_file=%s", srv.secret_path);
	snprintf(o2, sizeof o2, "credential_cache_max=100");
	if ((fx->snap = fwdconf_load(NULL, ov, &causes)) == NULL) {
		fprintf(stderr, "%s\n", causes);
		free(causes);
		return -1;
	}
	fx->conf = fwdconf_get(fx->snap);
	fx->broker = broker_client_new();
	fx->gc = grants_cache_new(fx->broker);
	grants_feed_ok(fx->gc, clock_now_ms() + 3600 * 1000L);
	pthread_mutex_lock(&srv.mu);
	srv.grants_calls = srv.redeems = 0;
	srv.mint++;
	srv.exp = 0;
	pthread_mutex_unlock(&srv.mu);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	grants_cache_free(fx->gc);
	broker_client_free(fx->broker);
	fwdconf_unref(fx->snap);
	unlink(srv.secret_path);
	free(fx);
	return 0;
}

/* grants_get + one credential per tenant; the set is released. */
static void
warm(struct fx *fx, const char *token)
{
	struct grantset	*gs;
	struct err	 e;
	secret_t	*s;

	err_clear(&e);
	assert_int_equal(grants_get(fx->gc, fx->conf, token, &gs, NULL, &e), 0);
	for (size_t i = 0; i < gs->n; i++) {
		s = grants_credential(fx->gc, fx->conf, gs, &gs->g[i], &gs->g[i].integ[0], &e);
		assert_non_null(s);
		secret_free(s);
	}
	grants_put(fx->gc, gs);
}

/* Does a warm call for token need the broker? Returns the extra calls. */
static void
probe(struct fx *fx, const char *token, int *grants_calls, int *redeems)
{
	int g0, r0, r1;

	g0 = counts(&r0);
	warm(fx, token);
	*grants_calls = counts(&r1) - g0;
	*redeems = r1 - r0;
}

static void
drop_events(struct fx *fx, const char *events_json)
{
	json_t		*ev = json_loads(events_json, 0, NULL);
	struct dropset	 d;

	assert_non_null(ev);
	dropset_init(&d);
	feed_plan(ev, &d);
	grants_drop(fx->gc, &d);
	dropset_clear(&d);
	json_decref(ev);
}

static void
test_plan(void **state)
{
	struct dropset	 d;
	json_t		*ev;

	(void)state;
	ev = json_loads("[{\"seq\":1,\"kind\":\"membership\",\"user\":\"a@x\",\"tenant\":\"t1\"},"
	    "{\"seq\":2,\"kind\":\"grant_revoked\",\"jti\":\"J\"},"
	    "{\"seq\":3,\"kind\":\"integration\",\"tenant\":\"t2\",\"integration\":\"jira\"},"
	    "{\"seq\":4,\"kind\":\"user_revoked\",\"user\":\"b@x\"}]", 0, NULL);
	dropset_init(&d);
	assert_int_equal(feed_plan(ev, &d), 4);
	assert_false(d.all);
	assert_false(d.all_sets);
	assert_true(dropset_has(&d, 'U', "a@x", NULL));		/* a's sets */
	assert_true(dropset_has(&d, 'M', "t1", "a@x"));		/* a's creds in t1 */
	assert_false(dropset_has(&d, 'V', "a@x", NULL));	/* not all of a's creds */
	assert_true(dropset_has(&d, 'J', "J", NULL));
	assert_true(dropset_has(&d, 'S', "t2", NULL));
	assert_true(dropset_has(&d, 'I', "t2", "jira"));
	assert_false(dropset_has(&d, 'T', "t2", NULL));		/* not the whole tenant */
	assert_true(dropset_has(&d, 'U', "b@x", NULL));
	assert_true(dropset_has(&d, 'V', "b@x", NULL));
	dropset_clear(&d);
	json_decref(ev);

	/* Tenant and group mapping: every set (someone may gain the tenant). */
	ev = json_loads("[{\"seq\":5,\"kind\":\"tenant\",\"tenant\":\"t3\"}]", 0, NULL);
	dropset_init(&d);
	feed_plan(ev, &d);
	assert_true(d.all_sets);
	assert_false(d.all);
	assert_true(dropset_has(&d, 'T', "t3", NULL));
	dropset_clear(&d);
	json_decref(ev);

	/* Not understood: everything goes. */
	ev = json_loads("[{\"seq\":6,\"kind\":\"weather\"}]", 0, NULL);
	dropset_init(&d);
	feed_plan(ev, &d);
	assert_true(d.all);
	dropset_clear(&d);
	json_decref(ev);
	ev = json_loads("[{\"seq\":7,\"kind\":\"membership\",\"user\":\"a@x\"}]", 0, NULL);
	dropset_init(&d);
	feed_plan(ev, &d);
	assert_true(d.all);
	dropset_clear(&d);
	json_decref(ev);
}

static void
test_reuse_across_fresh_tokens(void **state)
{
	struct fx	*fx = *state;
	int		 g, r;

	probe(fx, "alice-1", &g, &r);
	assert_int_equal(g, 1);
	assert_int_equal(r, 2);
	/* The same token: nothing asked. */
	probe(fx, "alice-1", &g, &r);
	assert_int_equal(g, 0);
	assert_int_equal(r, 0);
	/* A fresh token (Open WebUI): grants asked, same grants back, the
	 * credentials reused without a redeem. */
	probe(fx, "alice-2", &g, &r);
	assert_int_equal(g, 1);
	assert_int_equal(r, 0);
	assert_int_equal(grants_count(fx->gc), 2);
	assert_int_equal(grants_cred_count(fx->gc), 2);
	/* The broker mints new grants: new jti, new redeem. */
	pthread_mutex_lock(&srv.mu);
	srv.mint++;
	pthread_mutex_unlock(&srv.mu);
	probe(fx, "alice-3", &g, &r);
	assert_int_equal(g, 1);
	assert_int_equal(r, 2);
}

/* Grants live 11 s and are renewed 10 s early (the default margin): the
 * set is fetched, then due for renewal a second later. */
static struct grantset *
renew_fetch(struct fx *fx, const char *token)
{
	struct grantset	*gs;
	struct err	 e;

	pthread_mutex_lock(&srv.mu);
	srv.exp = (long long)time(NULL) + 11;
	pthread_mutex_unlock(&srv.mu);
	err_clear(&e);
	assert_int_equal(grants_get(fx->gc, fx->conf, token, &gs, NULL, &e), 0);
	assert_int_equal(gs->renew_at, gs->expires - 9);	/* exp - 10 s; exp - 1 s */
	grants_put(fx->gc, gs);
	return gs;
}

/* A cached grants_get(); *t is its renewal ticket (or NULL). */
static struct grantset *
renew_get(struct fx *fx, const char *token, struct grants_renewal **t)
{
	struct grantset	*gs;
	struct err	 e;

	err_clear(&e);
	assert_int_equal(grants_get(fx->gc, fx->conf, token, &gs, t, &e), 0);
	grants_put(fx->gc, gs);
	return gs;
}

static void
sleep_until(time_t t)
{
	while (time(NULL) < t)
		usleep(50 * 1000);
}

/* Stale-while-revalidate: inside the margin the cached set is served and
 * one ticket is out per key; an abandoned (failed) one is re-issued only a
 * second later; a drop during a renewal declines its answer; a renewal
 * that lands replaces the set. */
static void
test_renew_in_background(void **state)
{
	struct fx		*fx = *state;
	struct grantset		*gs, *gs2;
	struct grants_renewal	*t, *t2;
	int			 g0, r;

	gs = renew_fetch(fx, "alice-1");
	assert_ptr_equal(renew_get(fx, "alice-1", &t), gs);
	assert_null(t);				/* not due yet */
	sleep_until(gs->renew_at);
	g0 = counts(&r);
	assert_ptr_equal(renew_get(fx, "alice-1", &t), gs);
	assert_non_null(t);			/* due: served, one ticket */
	assert_ptr_equal(renew_get(fx, "alice-1", &t2), gs);
	assert_null(t2);			/* single-flight */
	grants_renew_abandon(fx->gc, t);	/* as a failure would */
	renew_get(fx, "alice-1", &t2);
	assert_null(t2);			/* retried after a second */
	assert_int_equal(counts(&r), g0);	/* nobody waited for the broker */
	usleep(1050 * 1000);
	assert_ptr_equal(renew_get(fx, "alice-1", &t), gs);
	assert_non_null(t);

	/* The user is revoked while the renewal is at the broker: its answer
	 * is declined, and the set stays dropped. */
	drop_events(fx, "[{\"seq\":9,\"kind\":\"user_revoked\",\"user\":\"alice@example.com\"}]");
	assert_int_equal(grants_renew(fx->gc, fx->conf, t), 0);
	assert_int_equal(counts(&r), g0 + 1);
	assert_int_equal(grants_count(fx->gc), 0);

	/* A renewal that lands replaces the set with the broker's new one. */
	gs = renew_fetch(fx, "bob-1");
	sleep_until(gs->renew_at);
	assert_ptr_equal(renew_get(fx, "bob-1", &t), gs);
	assert_non_null(t);
	pthread_mutex_lock(&srv.mu);
	srv.mint++;
	pthread_mutex_unlock(&srv.mu);
	assert_int_equal(grants_renew(fx->gc, fx->conf, t), 1);
	gs2 = renew_get(fx, "bob-1", &t2);
	assert_null(t2);
	assert_ptr_not_equal(gs2, gs);
	assert_int_equal(grants_count(fx->gc), 1);
	assert_true(gs2->renew_at > time(NULL));
}

static void
test_per_call_when_feed_not_current(void **state)
{
	struct fx	*fx = *state;
	int		 g, r;

	probe(fx, "carol-1", &g, &r);
	assert_int_equal(grants_count(fx->gc), 1);
	grants_feed_ok(fx->gc, 0);
	assert_false(grants_trusted(fx->gc));
	/* Nothing cached is used, nothing new is kept. */
	probe(fx, "carol-1", &g, &r);
	assert_int_equal(g, 1);
	assert_int_equal(r, 2);
	probe(fx, "carol-2", &g, &r);
	assert_int_equal(g, 1);
	assert_int_equal(r, 2);
	assert_int_equal(grants_count(fx->gc), 0);	/* the stale set was replaced by none */
	assert_int_equal(grants_cred_count(fx->gc), 2);	/* only the first probe's */
	grants_feed_ok(fx->gc, clock_now_ms() + 60000);
	probe(fx, "carol-1", &g, &r);
	assert_int_equal(g, 1);
	assert_int_equal(r, 0);
	probe(fx, "carol-1", &g, &r);
	assert_int_equal(g + r, 0);
}

static void
test_drop_by_kind(void **state)
{
	struct fx	*fx = *state;
	int		 g, r;
	char		 ev[256];

	warm(fx, "alice-1");
	warm(fx, "bob-1");
	assert_int_equal(grants_cred_count(fx->gc), 4);

	/* membership: alice's sets and her google credential only. */
	drop_events(fx, "[{\"seq\":1,\"kind\":\"membership\",\"user\":\"alice@example.com\","
	    "\"tenant\":\"google\"}]");
	assert_int_equal(grants_count(fx->gc), 1);
	assert_int_equal(grants_cred_count(fx->gc), 3);
	probe(fx, "alice-1", &g, &r);
	assert_int_equal(g, 1);
	assert_int_equal(r, 1);		/* google again; microsoft still cached */
	probe(fx, "bob-1", &g, &r);
	assert_int_equal(g + r, 0);

	/* grant_revoked: the sets holding that grant, its credential. */
	pthread_mutex_lock(&srv.mu);
	snprintf(ev, sizeof ev, "[{\"seq\":2,\"kind\":\"grant_revoked\",\"jti\":"
	    "\"bob-microsoft-%d\"}]", srv.mint);
	pthread_mutex_unlock(&srv.mu);
	drop_events(fx, ev);
	assert_int_equal(grants_count(fx->gc), 1);	/* alice's */
	assert_int_equal(grants_cred_count(fx->gc), 3);
	probe(fx, "bob-1", &g, &r);
	assert_int_equal(g, 1);
	assert_int_equal(r, 1);
	probe(fx, "alice-1", &g, &r);
	assert_int_equal(g + r, 0);

	/* integration: every set with the tenant, that integration's creds. */
	drop_events(fx, "[{\"seq\":3,\"kind\":\"integration\",\"tenant\":\"microsoft\","
	    "\"integration\":\"jira\"}]");
	assert_int_equal(grants_count(fx->gc), 0);
	assert_int_equal(grants_cred_count(fx->gc), 2);
	warm(fx, "alice-1");
	warm(fx, "bob-1");

	/* user: all of that user's. */
	drop_events(fx, "[{\"seq\":4,\"kind\":\"user\",\"user\":\"bob@example.com\"}]");
	assert_int_equal(grants_count(fx->gc), 1);
	assert_int_equal(grants_cred_count(fx->gc), 2);
	warm(fx, "bob-1");

	/* tenant: every set; that tenant's credentials. */
	drop_events(fx, "[{\"seq\":5,\"kind\":\"tenant\",\"tenant\":\"google\"}]");
	assert_int_equal(grants_count(fx->gc), 0);
	assert_int_equal(grants_cred_count(fx->gc), 2);	/* microsoft's stay */
	warm(fx, "alice-1");
	warm(fx, "bob-1");

	/* group_mapping: every set; that tenant's credentials. */
	drop_events(fx, "[{\"seq\":6,\"kind\":\"group_mapping\",\"tenant\":\"microsoft\"}]");
	assert_int_equal(grants_count(fx->gc), 0);
	assert_int_equal(grants_cred_count(fx->gc), 2);
	warm(fx, "alice-1");

	/* An event for someone else touches nothing. */
	drop_events(fx, "[{\"seq\":7,\"kind\":\"user_revoked\",\"user\":\"zed@example.com\"}]");
	assert_int_equal(grants_count(fx->gc), 1);
	assert_int_equal(grants_cred_count(fx->gc), 3);

	/* Not understood: everything. */
	drop_events(fx, "[{\"seq\":8,\"kind\":\"new_kind\"}]");
	assert_int_equal(grants_count(fx->gc), 0);
	assert_int_equal(grants_cred_count(fx->gc), 0);

	/* That drop was an O(1) flush: what it left behind is dead, never
	 * served, replaced by the next answer and reclaimed by the janitor
	 * (which counts only expired entries). */
	warm(fx, "alice-1");
	assert_int_equal(grants_count(fx->gc), 1);
	assert_int_equal(grants_sweep(fx->gc, time(NULL)), 0);
	assert_int_equal(grants_count(fx->gc), 1);
	probe(fx, "alice-1", &g, &r);
	assert_int_equal(g + r, 0);
}

static void
test_creds_lru_and_race(void **state)
{
	struct creds	*c = creds_new();
	secret_t	*cred = secret_new("Authorization: Basic eA==", 25), *got;
	struct creds_key k[4] = {
		{ "j1", "jira", "h1" }, { "j2", "jira", "h2" }, { "j3", "jira", "h3" },
		{ "j4", "jira", "h4" },
	};
	struct dropset	 d;
	uint64_t	 gen;
	long long	 v = 0;

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(creds_put(c, 3, creds_gen(c), &k[i], "u", "t", cred, 2000000000,
		    i + 1), 1);
	/* Touch j1: j2 is now the least recently used and goes first. */
	got = creds_get(c, &k[0], 1000, &v);
	assert_non_null(got);
	assert_int_equal(v, 1);
	secret_free(got);
	assert_int_equal(creds_put(c, 3, creds_gen(c), &k[3], "u", "t", cred, 2000000000, 4), 1);
	assert_int_equal(creds_count(c), 3);
	assert_null(creds_get(c, &k[1], 1000, NULL));
	got = creds_get(c, &k[0], 1000, NULL);
	assert_non_null(got);
	secret_free(got);
	/* Same jti, another grant token: never reused. */
	{
		struct creds_key other = { "j1", "jira", "hX" };

		assert_null(creds_get(c, &other, 1000, NULL));
	}
	/* Expired: not served. */
	assert_null(creds_get(c, &k[0], 2000000000, NULL));

	/* A drop between reading the generation and storing: declined. */
	gen = creds_gen(c);
	dropset_init(&d);
	dropset_add(&d, 'J', "unrelated", NULL);
	dropset_seal(&d);
	creds_drop(c, &d);
	dropset_clear(&d);
	assert_int_equal(creds_put(c, 3, gen, &k[1], "u", "t", cred, 2000000000, 2), 0);
	assert_null(creds_get(c, &k[1], 1000, NULL));
	assert_int_equal(creds_put(c, 0, creds_gen(c), &k[1], "u", "t", cred, 2000000000, 2), 0);
	secret_free(cred);
	creds_free(c);
}

static void
test_audit_queue(void **state)
{
	struct audit	*a = audit_new(3);
	json_t		*body, *ev;
	size_t		 n;

	(void)state;
	for (int i = 0; i < 5; i++)
		audit_record(a, "alice@example.com", "google", "jira_search", i ? "ok" : "refused",
		    i ? 200 : 403, 12);
	assert_int_equal(audit_queued(a), 3);	/* two dropped, never blocked */
	body = audit_batch(a, 2, &n);
	assert_int_equal(n, 2);
	ev = json_array_get(json_object_get(body, "events"), 0);
	assert_string_equal(json_string_value(json_object_get(ev, "user")), "alice@example.com");
	assert_string_equal(json_string_value(json_object_get(ev, "tool")), "jira_search");
	assert_string_equal(json_string_value(json_object_get(ev, "outcome")), "refused");
	assert_int_equal(json_integer_value(json_object_get(ev, "status")), 403);
	assert_int_equal(json_integer_value(json_object_get(ev, "latency_ms")), 12);
	assert_true(json_integer_value(json_object_get(ev, "at")) > 1700000000000LL);
	json_decref(body);
	/* Not yet acknowledged: still queued, sent again next time. */
	assert_int_equal(audit_queued(a), 3);
	audit_done(a, 2);
	assert_int_equal(audit_queued(a), 1);
	audit_record(a, "bob@example.com", "microsoft", "jira_get_issue", "error", 502, 7);
	body = audit_batch(a, 10, &n);
	assert_int_equal(n, 2);
	json_decref(body);
	audit_done(a, 2);
	assert_null(audit_batch(a, 10, &n));
	assert_int_equal(n, 0);
	audit_free(a);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan),
		cmocka_unit_test_setup_teardown(test_reuse_across_fresh_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_per_call_when_feed_not_current, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_drop_by_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_renew_in_background, setup, teardown),
		cmocka_unit_test(test_creds_lru_and_race),
		cmocka_unit_test(test_audit_queue),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
