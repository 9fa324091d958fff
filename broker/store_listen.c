/*
 * store_listen: the LISTEN tenantgate_changes thread. It owns its own
 * connection (a pooled one could not wait on its socket), hands every
 * notification to the caller's callback, and calls it with NULL after each
 * (re)connect because notifications sent while it was away are lost and
 * the caller's caches must start over. A self-pipe wakes it for a prompt
 * stop, from poll() or from the backoff sleep.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "clock.h"
#include "store.h"
#include "store_impl.h"

#define LISTEN_CHANNEL		"tenantgate_changes"
#define LISTEN_POLL_MS		1000	/* re-check the connection this often */
#define LISTEN_CONNECT_MS	10000	/* give up on one connection attempt */

struct store_listener {
	pthread_t	  thread;
	int		  wake[2];	/* self-pipe: stop */
	atomic_int	  stop;
	secret_t	 *conninfo;
	const secret_t	 *password;	/* the store's, for scrubbing */
	void		(*cb)(const char *, void *);
	void		 *arg;
};

/* Sleep ms unless woken; 1 if asked to stop. */
static int
listen_sleep(struct store_listener *l, int ms)
{
	struct pollfd	pfd = { .fd = l->wake[0], .events = POLLIN };
	int64_t		end = clock_now_ms() + ms, left;

	while (!atomic_load(&l->stop) && (left = end - clock_now_ms()) > 0)
		(void)poll(&pfd, 1, (int)left);
	return atomic_load(&l->stop);
}

/*
 * Connect without blocking a stop: PQconnectPoll() driven by poll() on the
 * socket and the self-pipe. NULL with e set (or on stop).
 */
static PGconn *
listen_connect(struct store_listener *l, struct err *e)
{
	const char		*kw[STORE_CONN_NPARAMS], *val[STORE_CONN_NPARAMS];
	PGconn			*pg;
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	int64_t			 end = clock_now_ms() + LISTEN_CONNECT_MS;
	char			 msg[200];

	store_conn_params(secret_bytes(l->conninfo), kw, val);
	if ((pg = PQconnectStartParams(kw, val, 1)) == NULL) {
		err_set(e, 503, "db_unavailable", "out of memory");
		return NULL;
	}
	while (PQstatus(pg) != CONNECTION_BAD && st != PGRES_POLLING_OK &&
	    st != PGRES_POLLING_FAILED && !atomic_load(&l->stop)) {
		struct pollfd	pfd[2];
		int64_t		left = end - clock_now_ms();

		if (left <= 0) {
			PQfinish(pg);
			err_set(e, 503, "db_unavailable", "database unavailable: "
			    "timeout expired");
			return NULL;
		}
		pfd[0].fd = l->wake[0];
		pfd[0].events = POLLIN;
		pfd[1].fd = PQsocket(pg);
		pfd[1].events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		pfd[0].revents = pfd[1].revents = 0;
		if (poll(pfd, 2, (int)(left > 1000 ? 1000 : left)) > 0 &&
		    pfd[1].revents != 0)
			st = PQconnectPoll(pg);
	}
	if (atomic_load(&l->stop) || PQstatus(pg) != CONNECTION_OK) {
		store_errmsg(PQerrorMessage(pg), l->password, msg, sizeof msg);
		err_set(e, 503, "db_unavailable", "database unavailable: %s", msg);
		PQfinish(pg);
		return NULL;
	}
	store_conn_setup(pg, l->password);
	return pg;
}

/* Deliver notifications until the connection fails or we are stopped. */
static void
listen_loop(struct store_listener *l, PGconn *pg)
{
	struct pollfd	pfd[2];
	PGnotify	*n;
	char		 msg[200];

	pfd[0].fd = l->wake[0];
	pfd[0].events = POLLIN;
	pfd[1].fd = PQsocket(pg);
	pfd[1].events = POLLIN;
	while (!atomic_load(&l->stop)) {
		pfd[0].revents = pfd[1].revents = 0;
		if (poll(pfd, 2, LISTEN_POLL_MS) == -1 && errno != EINTR) {
			log_warn("store: listener: poll");
			return;
		}
		if (atomic_load(&l->stop))
			return;
		if (PQconsumeInput(pg) == 0 || PQstatus(pg) != CONNECTION_OK) {
			store_errmsg(PQerrorMessage(pg), l->password, msg,
			    sizeof msg);
			log_warnx("store: listener: connection lost: %s", msg);
			return;
		}
		while ((n = PQnotifies(pg)) != NULL) {
			if (strcmp(n->relname, LISTEN_CHANNEL) == 0)
				l->cb(n->extra, l->arg);
			PQfreemem(n);
		}
	}
}

static void *
listen_main(void *arg)
{
	struct store_listener	*l = arg;
	struct err		 e;
	PGconn			*pg;
	PGresult		*r;
	int			 backoff = 0, logged = 0;

	while (!atomic_load(&l->stop)) {
		err_clear(&e);
		pg = listen_connect(l, &e);
		if (pg != NULL) {
			r = PQexec(pg, "LISTEN " LISTEN_CHANNEL);
			if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
				char msg[200];
				store_errmsg(PQerrorMessage(pg), l->password,
				    msg, sizeof msg);
				err_set(&e, 503, "db_unavailable", "LISTEN: %s",
				    msg);
				PQfinish(pg);
				pg = NULL;
			}
			PQclear(r);
		}
		if (pg != NULL) {
			log_info("store: listener: listening on %s%s",
			    LISTEN_CHANNEL, logged ? " again" : "");
			backoff = 0;
			logged = 0;
			/* Whatever changed while we were away is unknown. */
			l->cb(NULL, l->arg);
			listen_loop(l, pg);
			PQfinish(pg);
			logged = 1;
		} else if (!logged) {
			log_warnx("store: listener: %s", e.msg);
			logged = 1;
		}
		backoff = store_backoff_next(backoff);
		if (listen_sleep(l, backoff))
			break;
	}
	return NULL;
}

int
store_listen_start(struct store *s, const char *conninfo,
    void (*cb)(const char *, void *), void *arg, struct err *e)
{
	struct store_listener	*l;
	int			 rc;

	if (cb == NULL)
		return err_set(e, 500, "bad_request", "store_listen_start: no "
		    "callback");
	pthread_mutex_lock(&s->listen_mu);
	if (s->listener != NULL) {
		pthread_mutex_unlock(&s->listen_mu);
		return err_set(e, 409, "conflict", "the store already listens");
	}
	if ((l = calloc(1, sizeof *l)) == NULL)
		goto nomem;
	if (conninfo != NULL)
		l->conninfo = secret_new(conninfo, strlen(conninfo));
	else
		l->conninfo = secret_dup(s->conninfo);
	if (l->conninfo == NULL) {
		free(l);
		goto nomem;
	}
	/* A different conninfo may carry another password: scrub the
	 * store's; libpq never prints a password itself. */
	l->password = s->password;
	l->cb = cb;
	l->arg = arg;
	atomic_init(&l->stop, 0);
	if (pipe(l->wake) == -1) {
		rc = errno;
		secret_free(l->conninfo);
		free(l);
		pthread_mutex_unlock(&s->listen_mu);
		return err_set(e, 500, "internal", "pipe: %s", strerror(rc));
	}
	(void)fcntl(l->wake[0], F_SETFL, O_NONBLOCK);
	(void)fcntl(l->wake[1], F_SETFL, O_NONBLOCK);
	if ((rc = pthread_create(&l->thread, NULL, listen_main, l)) != 0) {
		close(l->wake[0]);
		close(l->wake[1]);
		secret_free(l->conninfo);
		free(l);
		pthread_mutex_unlock(&s->listen_mu);
		return err_set(e, 500, "internal", "pthread_create: %s",
		    strerror(rc));
	}
	s->listener = l;
	pthread_mutex_unlock(&s->listen_mu);
	return 0;
nomem:
	pthread_mutex_unlock(&s->listen_mu);
	return err_set(e, 500, "nomem", "out of memory");
}

void
store_listen_stop(struct store *s)
{
	struct store_listener	*l;
	ssize_t			 w;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->listen_mu);
	l = s->listener;
	s->listener = NULL;
	pthread_mutex_unlock(&s->listen_mu);
	if (l == NULL)
		return;
	atomic_store(&l->stop, 1);
	do {
		w = write(l->wake[1], "x", 1);
	} while (w == -1 && errno == EINTR);
	pthread_join(l->thread, NULL);
	close(l->wake[0]);
	close(l->wake[1]);
	secret_free(l->conninfo);
	free(l);
}
