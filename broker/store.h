/*
 * store: the broker's PostgreSQL access (libpq). Prepared statements only;
 * no SQL is ever built from strings. Thread-safe: a small pool of
 * connections, each behind its own mutex, one borrowed per call.
 *
 * Connections are made lazily, so a broker can start while the database is
 * down: store_open() only checks the conninfo, store_ping() tells whether
 * the database answers. A broken connection is reopened at once on the
 * next use, then no more often than a backoff of 100 ms doubling to 5 s;
 * within the backoff a call fails at once with 503 "db_unavailable" rather
 * than waiting. A read that fails because the connection dropped is
 * retried once on a fresh connection; a write is retried only when the
 * server said it never ran it (it terminated the session first). Errors
 * never contain the conninfo's password.
 */
#ifndef TG_STORE_H
#define TG_STORE_H

#include <stddef.h>
#include <time.h>

struct err;
struct store;

/* pool_size is clamped to 1..64. NULL with a 400 err on a bad conninfo. */
struct store	*store_open(const char *conninfo, int pool_size, struct err *);
/* Stops the listener too. NULL is fine. */
void		 store_close(struct store *);
int		 store_ping(struct store *, struct err *);
/* How many threads may wait for a busy pool connection (each at most 2 s)
 * before further callers get 503 db_busy at once; default the pool size. */
void		 store_set_wait_max(struct store *, int);

/* The newest migrations/ file this code was written for (a test keeps it in
 * step with the directory). */
#define STORE_SCHEMA_VERSION	5
/*
 * The database's schema version against STORE_SCHEMA_VERSION, on a
 * connection of its own (the pool's prepared statements would not even
 * prepare on another schema). 0 when they match; -1 with 409
 * schema_too_new / schema_too_old, or 503 db_unavailable when it cannot ask.
 */
int		 store_check_schema(struct store *, struct err *);

struct membership {
	char	tenant[64];
	char	role[16];	/* viewer|editor|admin */
	/* `grant revoke --user`: user tokens issued before this (unix
	 * seconds, with fractions) are refused; 0 = never revoked. The same
	 * on every row of one user. */
	double	revoked_before;
};
/*
 * The tenants the user may act in: direct memberships of email plus
 * group_mappings for any of groups (may be NULL when ngroups is 0); when
 * both give a tenant, the higher role wins. Only ACTIVE tenants; nothing
 * for a disabled user; a user without a users row still gets group
 * mappings. Sorted by tenant. *out is malloc'ed (free()), NULL when *n is 0.
 * Each row also carries the user's revoked_before (user_revocations).
 */
int	store_memberships(struct store *, const char *email,
	    const char *const *groups, size_t ngroups,
	    struct membership **out, size_t *n, struct err *);

struct integration {
	char	  tenant[64];
	char	  name[64];
	char	  kind[16];		/* jira|confluence|mcp */
	char	  base_url[512];
	char	  vault_path[512];
	char	**enabled_tools;	/* NULL-terminated; NULL = all of the kind */
	int	  cred_version;
	int	  enabled;
	/* migrations/0004: classic|scoped|service_account; api_url is where
	 * requests go ("" = base_url, the site); cloud_id is informative. */
	char	  cred_kind[24];
	char	  api_url[512];
	char	  cloud_id[72];
	/* migrations/0005: when the key of cred_version stops working (unix
	 * seconds); 0 = unknown. */
	long long key_expires_at;
};
/* A tenant's integrations, disabled ones included (see .enabled), sorted
 * by name; none for an unknown or disabled tenant. */
int	store_integrations(struct store *, const char *tenant,
	    struct integration **out, size_t *n, struct err *);
void	store_integrations_free(struct integration *, size_t n);

/* One key with a known expiry (migrations/0005), for the expiry job. */
struct key_expiry {
	char		tenant[64];
	char		name[64];
	int		cred_version;
	long long	expires_at;	/* unix seconds */
};
/* Every enabled integration of an active tenant whose key has a known
 * expiry, sorted by tenant and name. *out is malloc'ed (free()), NULL when
 * *n is 0. */
int	store_key_expiries(struct store *, struct key_expiry **out, size_t *n,
	    struct err *);

/* detail_json must be a JSON object or NULL ({}); tenant may be NULL. */
int	store_audit(struct store *, const char *actor, const char *action,
	    const char *tenant, const char *subject, const char *detail_json,
	    struct err *);

/* Idempotent: revoking twice is fine. */
int	store_revoke_jti(struct store *, const char *jti, time_t expires_at,
	    const char *by, struct err *);
/* Revokes every grant of email issued before now. Grants carry iat in
 * whole seconds, so one issued in the same second as the revocation
 * counts as revoked (the safe side). */
int	store_revoke_user(struct store *, const char *email, const char *by,
	    struct err *);
/* 1 if revoked (by jti, or the user was revoked after issued_at), 0 if
 * not, -1 on error. jti or email may be NULL. */
int	store_grant_revoked(struct store *, const char *jti, const char *email,
	    time_t issued_at, struct err *);
/* Deletes revoked_grants past expires_at; returns how many, or -1. */
int	store_purge_expired(struct store *, struct err *);

/*
 * The change feed (migrations/0002_access_changes.sql). Events with
 * seq > since, oldest first, at most limit (1..1000), as a JSON array of
 * {seq, kind, user, tenant, integration, jti} (absent values are null);
 * *head is the highest seq in the table and *floor the lowest still kept
 * (both 0 when the table is empty), read in the same snapshot as the
 * events.
 */
struct json_t;
int	store_changes(struct store *, long long since, int limit,
	    long long *head, long long *floor, struct json_t **events,
	    struct err *);
/* Deletes events older than keep_s seconds, always keeping the newest
 * (so the head seq survives a quiet hour); returns how many, or -1. */
int	store_changes_prune(struct store *, int keep_s, struct err *);
/* Inserts tool-call audit rows in one statement (all or nothing).
 * events_json: a JSON array already checked by the caller, of objects
 * {at (unix ms), user, tenant, tool, outcome, status, latency_ms}; caller
 * goes into each row's detail. Returns the number of rows, or -1. */
int	store_audit_tool_calls(struct store *, const char *caller,
	    const char *events_json, struct err *);

/*
 * LISTEN tenantgate_changes on its own connection in a background thread:
 * cb(payload, arg) for every notification (a JSON object, see
 * migrations/0001_init.sql), and cb(NULL, arg) after every (re)connect, so
 * the caller flushes what it could not keep in sync. Reconnects with
 * backoff 100 ms .. 5 s. cb runs on the listener thread. conninfo NULL =
 * the store's. One listener per store; stop joins it within ~100 ms.
 */
int	store_listen_start(struct store *, const char *conninfo,
	    void (*cb)(const char *payload, void *arg), void *arg, struct err *);
void	store_listen_stop(struct store *);

#endif
