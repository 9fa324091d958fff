/*
 * store_impl: what store.c (pool, connections, statement execution),
 * store_query.c (the queries) and store_listen.c (LISTEN thread) share.
 * Not for use outside broker/store*.c.
 */
#ifndef TG_STORE_IMPL_H
#define TG_STORE_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "secret.h"

struct err;
struct store_listener;

enum store_stmt {
	STORE_Q_PING,
	STORE_Q_MEMBERSHIPS,
	STORE_Q_INTEGRATIONS,
	STORE_Q_AUDIT,
	STORE_Q_REVOKE_JTI,
	STORE_Q_REVOKE_USER,
	STORE_Q_GRANT_REVOKED,
	STORE_Q_PURGE,
	STORE_Q_CHANGES,
	STORE_Q_CHANGES_PRUNE,
	STORE_Q_AUDIT_BATCH,
	STORE_Q_KEY_EXPIRIES,
	STORE_Q__COUNT
};

struct store_stmt_def {
	const char	*name;		/* prepared statement name */
	const char	*sql;
	int		 nparams;
	int		 read;		/* safe to retry after a dropped connection */
};

/* The statements, indexed by enum store_stmt (store_query.c). */
extern const struct store_stmt_def store_stmts[STORE_Q__COUNT];

struct store_conn {
	pthread_mutex_t	 mu;
	PGconn		*pg;		/* NULL until connected */
	int		 id;
	int		 backoff_ms;	/* 0: next attempt may be immediate */
	int64_t		 next_try_ms;	/* monotonic; no attempt before it */
	char		 last_err[160];	/* why the last attempt failed, scrubbed */
};

struct store {
	secret_t		*conninfo;	/* may hold a password */
	secret_t		*password;	/* scrubbed from messages; may be NULL */
	int			 n;
	struct store_conn	*conns;
	atomic_uint		 rr;		/* round-robin start for borrowing */
	pthread_mutex_t		 pool_mu;	/* guards waiting; pool_cv */
	pthread_cond_t		 pool_cv;	/* a connection was returned */
	int			 waiting;	/* threads waiting for a connection */
	int			 wait_max;	/* beyond it: 503 db_busy at once (0: n) */
	pthread_mutex_t		 listen_mu;
	struct store_listener	*listener;
};

/* Server-side cap on one statement, and on a wait for a busy connection. */
#define STORE_STATEMENT_TIMEOUT	"'5s'"
#define STORE_BORROW_WAIT_S	2

/* Run a prepared statement on a borrowed connection: 0 and *res (PQclear
 * it) on success; -1 with 503 db_unavailable or 500 db_error. */
int	store_exec(struct store *, enum store_stmt, const char *const *params,
	    PGresult **res, struct err *);
/* libpq keyword/value arrays: our defaults, then conninfo as "dbname"
 * (expanded, so its settings win). For PQconnect*Params(..., 1). */
#define STORE_CONN_NPARAMS	10
void	store_conn_params(const char *conninfo, const char *kw[STORE_CONN_NPARAMS],
	    const char *val[STORE_CONN_NPARAMS]);
/* Route the connection's notices to our log. */
void	store_conn_setup(PGconn *, const secret_t *password);
/* Open one connection with our defaults (timeouts, keepalives,
 * application_name); NULL with 503 db_unavailable. */
PGconn	*store_connect(const char *conninfo, const secret_t *password,
	    struct err *);
/* One line of libpq's message, with the password (if any) masked. */
void	store_errmsg(const char *msg, const secret_t *password, char *buf,
	    size_t sz);
/* Next backoff: 0 -> 100 ms, doubling, at most 5 s. */
int	store_backoff_next(int ms);

#endif
