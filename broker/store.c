/*
 * store: the connection pool behind the store_* queries. Owns opening
 * connections (with our timeouts and keepalives), preparing every
 * statement on each, noticing a dead connection before and after a
 * query, the reconnect backoff, the retry-once rule, and the promise that
 * no error carries the conninfo's password. The queries are in
 * store_query.c, the LISTEN thread in store_listen.c.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "log.h"
#include "clock.h"
#include "store.h"
#include "store_impl.h"

#define STORE_POOL_MAX		64
#define STORE_BACKOFF_FIRST_MS	100
#define STORE_BACKOFF_MAX_MS	5000

int
store_backoff_next(int ms)
{
	if (ms <= 0)
		return STORE_BACKOFF_FIRST_MS;
	return ms >= STORE_BACKOFF_MAX_MS / 2 ? STORE_BACKOFF_MAX_MS : ms * 2;
}

void
store_errmsg(const char *msg, const secret_t *password, char *buf, size_t sz)
{
	const char	*pw = password != NULL ? secret_bytes(password) : NULL;
	size_t		 pwlen = pw != NULL ? strlen(pw) : 0, o = 0;
	int		 space = 0;

	if (sz == 0)
		return;
	if (msg == NULL)
		msg = "unknown error";
	/* libpq messages are multi-line ("...\n\tIs the server running"). */
	while (*msg != '\0' && o + 4 < sz) {
		if (pwlen > 0 && strncmp(msg, pw, pwlen) == 0) {
			memcpy(buf + o, "***", 3);
			o += 3;
			msg += pwlen;
			space = 0;
			continue;
		}
		if (*msg == '\n' || *msg == '\t' || *msg == '\r' || *msg == ' ') {
			space = o > 0;
			msg++;
			continue;
		}
		if (space) {
			buf[o++] = ' ';
			space = 0;
		}
		buf[o++] = *msg++;
	}
	buf[o] = '\0';
}

void
store_conn_params(const char *conninfo, const char *kw[STORE_CONN_NPARAMS],
    const char *val[STORE_CONN_NPARAMS])
{
	/* Our defaults come first: the caller's conninfo, expanded from
	 * "dbname", overrides any of them. */
	static const char *const dkw[STORE_CONN_NPARAMS] = {
		"connect_timeout", "application_name", "client_encoding",
		"keepalives", "keepalives_idle", "keepalives_interval",
		"keepalives_count", "tcp_user_timeout", "dbname", NULL
	};
	static const char *const dval[STORE_CONN_NPARAMS] = {
		"5", "tenantgate", "UTF8",
		"1", "30", "10",
		"3", "10000", NULL, NULL
	};

	for (int i = 0; i < STORE_CONN_NPARAMS; i++) {
		kw[i] = dkw[i];
		val[i] = dval[i];
	}
	val[STORE_CONN_NPARAMS - 2] = conninfo;
}

/* Server notices (e.g. the FATAL of a terminated idle session) go to our
 * log, not to libpq's default of raw stderr. */
static void
store_notice(void *arg, const char *msg)
{
	char buf[200];

	store_errmsg(msg, arg, buf, sizeof buf);
	log_info("store: postgres says: %s", buf);
}

void
store_conn_setup(PGconn *pg, const secret_t *password)
{
	PQsetNoticeProcessor(pg, store_notice, (void *)(uintptr_t)password);
}

PGconn *
store_connect(const char *conninfo, const secret_t *password, struct err *e)
{
	const char	*kw[STORE_CONN_NPARAMS], *val[STORE_CONN_NPARAMS];
	PGconn		*pg;
	char		 msg[200];

	store_conn_params(conninfo, kw, val);
	pg = PQconnectdbParams(kw, val, 1);
	if (pg != NULL && PQstatus(pg) == CONNECTION_OK) {
		store_conn_setup(pg, password);
		return pg;
	}
	store_errmsg(pg != NULL ? PQerrorMessage(pg) : "out of memory",
	    password, msg, sizeof msg);
	PQfinish(pg);
	err_set(e, 503, "db_unavailable", "database unavailable: %s", msg);
	return NULL;
}

static int
store_prepare(PGconn *pg, const secret_t *password, struct err *e)
{
	char msg[200];

	for (int i = 0; i < STORE_Q__COUNT; i++) {
		const struct store_stmt_def	*d = &store_stmts[i];
		PGresult			*r;

		r = PQprepare(pg, d->name, d->sql, d->nparams, NULL);
		if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
			store_errmsg(r != NULL ? PQresultErrorField(r,
			    PG_DIAG_MESSAGE_PRIMARY) : PQerrorMessage(pg),
			    password, msg, sizeof msg);
			PQclear(r);
			return err_set(e, 503, "db_unavailable", "database not "
			    "ready: preparing %s: %s (are the migrations "
			    "applied?)", d->name, msg);
		}
		PQclear(r);
	}
	return 0;
}

/*
 * A restarted server or pg_terminate_backend() leaves a FATAL message and
 * EOF waiting on an idle socket. Read them now, before a write is sent
 * down a dead connection. Usually the socket is quiet: one poll().
 */
static int
store_conn_alive(PGconn *pg)
{
	struct pollfd pfd;

	if (PQstatus(pg) != CONNECTION_OK ||
	    PQtransactionStatus(pg) != PQTRANS_IDLE)
		return 0;
	for (int i = 0; i < 4; i++) {
		pfd.fd = PQsocket(pg);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, 0) <= 0)
			return 1;
		/* consume reads, isbusy parses (the FATAL becomes a notice),
		 * the next round sees the EOF */
		if (PQconsumeInput(pg) == 0)
			return 0;
		(void)PQisBusy(pg);
		if (PQstatus(pg) != CONNECTION_OK)
			return 0;
	}
	return PQstatus(pg) == CONNECTION_OK;
}

/* A hung query must give its pool connection back: every statement the
 * daemon runs is short, so one that runs for STORE_STATEMENT_TIMEOUT is
 * cancelled by the server. (Migrations use their own connection.) */
static int
store_limit_statements(PGconn *pg, struct err *e)
{
	PGresult	*r = PQexec(pg, "SET statement_timeout = " STORE_STATEMENT_TIMEOUT);
	int		 ok = r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK;

	PQclear(r);
	return ok ? 0 : err_set(e, 503, "db_unavailable", "cannot set the statement timeout");
}

/* Make c usable: check it is alive, or reopen it within the backoff. */
static int
store_conn_ensure(struct store *s, struct store_conn *c, struct err *e)
{
	struct err	 ce;
	PGconn		*pg;
	int64_t		 now;
	int		 was_down;

	if (c->pg != NULL) {
		if (store_conn_alive(c->pg))
			return 0;
		store_errmsg(PQerrorMessage(c->pg), s->password, c->last_err,
		    sizeof c->last_err);
		log_warnx("store: connection %d lost: %s", c->id, c->last_err);
		PQfinish(c->pg);
		c->pg = NULL;
	}
	now = clock_now_ms();
	if (now < c->next_try_ms)
		return err_set(e, 503, "db_unavailable", "database unavailable: "
		    "%s (next attempt in %lld ms)", c->last_err,
		    (long long)(c->next_try_ms - now));

	err_clear(&ce);
	was_down = c->backoff_ms > 0;
	pg = store_connect(secret_bytes(s->conninfo), s->password, &ce);
	if (pg != NULL && store_limit_statements(pg, &ce) == -1) {
		PQfinish(pg);
		pg = NULL;
	}
	if (pg != NULL && store_prepare(pg, s->password, &ce) == -1) {
		PQfinish(pg);
		pg = NULL;
	}
	if (pg == NULL) {
		c->backoff_ms = store_backoff_next(c->backoff_ms);
		c->next_try_ms = now + c->backoff_ms;
		snprintf(c->last_err, sizeof c->last_err, "%s", ce.msg);
		if (!was_down)
			log_warnx("store: connection %d: %s", c->id, ce.msg);
		*e = ce;
		return -1;
	}
	if (was_down)
		log_info("store: connection %d re-established", c->id);
	c->pg = pg;
	c->backoff_ms = 0;
	c->next_try_ms = 0;
	c->last_err[0] = '\0';
	return 0;
}

/* A free connected connection if there is one, then any free one (it
 * reconnects), else wait for the next in turn. Preferring connected ones
 * keeps a connection still in its reconnect backoff after a server restart
 * from failing calls that a healthy sibling can serve. */
/* One pass over the pool: a free connected connection first, then any
 * free one (it reconnects). NULL when all are in use. */
static struct store_conn *
store_try_borrow(struct store *s)
{
	unsigned		 start = atomic_fetch_add(&s->rr, 1);
	struct store_conn	*c;

	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < s->n; i++) {
			c = &s->conns[(start + (unsigned)i) % (unsigned)s->n];
			if (pthread_mutex_trylock(&c->mu) != 0)
				continue;
			if (pass == 1 || c->pg != NULL)
				return c;
			pthread_mutex_unlock(&c->mu);
		}
	}
	return NULL;
}

static struct store_conn *
store_borrow(struct store *s, struct err *e)
{
	struct store_conn	*c;
	struct timespec		 until;

	if ((c = store_try_borrow(s)) != NULL)
		return c;
	/*
	 * All busy. A slow database must not take every request thread with
	 * it (those answered from caches would queue behind): only as many
	 * threads as connections may wait, and not for long. Every return
	 * wakes the waiters, so each gets a fair try at the freed one.
	 */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += STORE_BORROW_WAIT_S;
	pthread_mutex_lock(&s->pool_mu);
	if (s->waiting >= (s->wait_max > 0 ? s->wait_max : s->n)) {
		pthread_mutex_unlock(&s->pool_mu);
		err_set(e, 503, "db_busy", "the database is busy; retry shortly");
		e->retry_after = 1;
		return NULL;
	}
	s->waiting++;
	while ((c = store_try_borrow(s)) == NULL &&
	    pthread_cond_timedwait(&s->pool_cv, &s->pool_mu, &until) == 0)
		;
	if (c == NULL)
		c = store_try_borrow(s);	/* timed out: a last look */
	s->waiting--;
	pthread_mutex_unlock(&s->pool_mu);
	if (c == NULL) {
		err_set(e, 503, "db_busy", "the database is busy; retry shortly");
		e->retry_after = 1;
	}
	return c;
}

static void
store_return(struct store *s, struct store_conn *c)
{
	pthread_mutex_unlock(&c->mu);
	pthread_mutex_lock(&s->pool_mu);
	if (s->waiting > 0)
		pthread_cond_broadcast(&s->pool_cv);
	pthread_mutex_unlock(&s->pool_mu);
}

int
store_exec(struct store *s, enum store_stmt q, const char *const *params,
    PGresult **res, struct err *e)
{
	const struct store_stmt_def	*d = &store_stmts[q];
	struct store_conn		*c;
	char				 msg[200];
	int				 rc = -1;

	*res = NULL;
	if ((c = store_borrow(s, e)) == NULL)
		return -1;
	for (int attempt = 0; attempt < 2; attempt++) {
		PGresult	*r;
		const char	*state;
		int		 retry;

		if (store_conn_ensure(s, c, e) == -1)
			break;
		r = PQexecPrepared(c->pg, d->name, d->nparams, params, NULL,
		    NULL, 0);
		if (r != NULL && (PQresultStatus(r) == PGRES_TUPLES_OK ||
		    PQresultStatus(r) == PGRES_COMMAND_OK)) {
			*res = r;
			rc = 0;
			break;
		}
		state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
		if (state != NULL && strcmp(state, "57014") == 0) {
			/* statement_timeout: the database is too slow right now. */
			err_set(e, 503, "db_timeout", "%s: the database did not answer within "
			    "%s", d->name, STORE_STATEMENT_TIMEOUT);
			e->retry_after = 1;
			PQclear(r);
			break;
		}
		if (PQstatus(c->pg) == CONNECTION_OK &&
		    (state == NULL || strcmp(state, "26000") != 0)) {
			/* The query failed; the connection is fine. */
			store_errmsg(r != NULL ? PQresultErrorField(r,
			    PG_DIAG_MESSAGE_PRIMARY) : PQerrorMessage(c->pg),
			    s->password, msg, sizeof msg);
			err_set(e, 500, "db_error", "%s: %s", d->name, msg);
			PQclear(r);
			break;
		}
		/*
		 * The connection is gone (or lost its prepared statements).
		 * A read can simply run again; a write only when the server
		 * ended the session itself (57P0x) before running it.
		 */
		retry = d->read || (state != NULL && (strncmp(state, "57P", 3) == 0 ||
		    strcmp(state, "26000") == 0));
		store_errmsg(r != NULL && PQresultErrorField(r,
		    PG_DIAG_MESSAGE_PRIMARY) != NULL ? PQresultErrorField(r,
		    PG_DIAG_MESSAGE_PRIMARY) : PQerrorMessage(c->pg),
		    s->password, msg, sizeof msg);
		PQclear(r);
		PQfinish(c->pg);
		c->pg = NULL;
		snprintf(c->last_err, sizeof c->last_err, "%s", msg);
		log_warnx("store: connection %d lost during %s: %s%s", c->id,
		    d->name, msg, retry && attempt == 0 ? "; retrying" : "");
		if (!retry || attempt == 1) {
			err_set(e, 503, "db_unavailable", "database connection "
			    "lost: %s", msg);
			break;
		}
	}
	store_return(s, c);
	return rc;
}

struct store *
store_open(const char *conninfo, int pool_size, struct err *e)
{
	struct store		*s;
	PQconninfoOption	*opts;
	char			*perr = NULL;

	if (conninfo == NULL)
		conninfo = "";
	if ((opts = PQconninfoParse(conninfo, &perr)) == NULL) {
		/* libpq's message may quote a piece of the string. */
		PQfreemem(perr);
		err_set(e, 400, "bad_conninfo", "invalid database connection "
		    "string (expected key=value pairs or a postgresql:// URI)");
		return NULL;
	}
	if ((s = calloc(1, sizeof *s)) == NULL) {
		PQconninfoFree(opts);
		err_set(e, 500, "nomem", "out of memory");
		return NULL;
	}
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL &&
		    *o->val != '\0')
			s->password = secret_new(o->val, strlen(o->val));
		if (o->val != NULL)
			secret_wipe(o->val, strlen(o->val));
	}
	PQconninfoFree(opts);

	s->n = pool_size < 1 ? 1 : pool_size > STORE_POOL_MAX ?
	    STORE_POOL_MAX : pool_size;
	s->conninfo = secret_new(conninfo, strlen(conninfo));
	s->conns = calloc((size_t)s->n, sizeof *s->conns);
	if (s->conninfo == NULL || s->conns == NULL) {
		secret_free(s->conninfo);
		secret_free(s->password);
		free(s->conns);
		free(s);
		err_set(e, 500, "nomem", "out of memory");
		return NULL;
	}
	for (int i = 0; i < s->n; i++) {
		pthread_mutex_init(&s->conns[i].mu, NULL);
		s->conns[i].id = i;
	}
	pthread_mutex_init(&s->listen_mu, NULL);
	pthread_mutex_init(&s->pool_mu, NULL);
	pthread_cond_init(&s->pool_cv, NULL);
	atomic_init(&s->rr, 0);
	return s;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	store_listen_stop(s);
	for (int i = 0; i < s->n; i++) {
		pthread_mutex_lock(&s->conns[i].mu);
		PQfinish(s->conns[i].pg);
		s->conns[i].pg = NULL;
		pthread_mutex_unlock(&s->conns[i].mu);
		pthread_mutex_destroy(&s->conns[i].mu);
	}
	pthread_mutex_destroy(&s->listen_mu);
	pthread_mutex_destroy(&s->pool_mu);
	pthread_cond_destroy(&s->pool_cv);
	free(s->conns);
	secret_free(s->conninfo);
	secret_free(s->password);
	free(s);
}

int
store_check_schema(struct store *s, struct err *e)
{
	PGconn		*pg;
	PGresult	*r;
	int		 v = -1;

	if ((pg = store_connect(secret_bytes(s->conninfo), s->password, e)) == NULL)
		return -1;
	r = PQexec(pg, "SELECT coalesce(max(version), 0) FROM schema_migrations");
	if (r != NULL && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		v = atoi(PQgetvalue(r, 0, 0));
	else if (r != NULL && PQresultErrorField(r, PG_DIAG_SQLSTATE) != NULL &&
	    strcmp(PQresultErrorField(r, PG_DIAG_SQLSTATE), "42P01") == 0)
		v = 0;		/* no schema_migrations: nothing applied */
	PQclear(r);
	PQfinish(pg);
	if (v < 0)
		return err_set(e, 503, "db_unavailable", "cannot read the schema version");
	if (v > STORE_SCHEMA_VERSION)
		return err_set(e, 409, "schema_too_new", "the database schema is at version %d, "
		    "newer than this program knows (%d): upgrade tenantgate to a release that "
		    "ships migration %04d", v, STORE_SCHEMA_VERSION, v);
	if (v < STORE_SCHEMA_VERSION)
		return err_set(e, 409, "schema_too_old", "the database schema is at version %d; "
		    "this program needs %d: run `tenantgate-admin migrate` first", v,
		    STORE_SCHEMA_VERSION);
	return 0;
}

void
store_set_wait_max(struct store *s, int n)
{
	pthread_mutex_lock(&s->pool_mu);
	s->wait_max = n;
	pthread_mutex_unlock(&s->pool_mu);
}

int
store_ping(struct store *s, struct err *e)
{
	PGresult *r;

	if (store_exec(s, STORE_Q_PING, NULL, &r, e) == -1)
		return -1;
	PQclear(r);
	return 0;
}
