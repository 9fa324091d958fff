/*
 * db: the console's and CLI's PostgreSQL access with the operator's own
 * role. Every statement is a row of one table (db.c), run with
 * PQexecParams: parameters travel separately from the SQL text, which is
 * never built from strings. Rows come back as JSON objects typed by
 * column (integers, booleans, json/jsonb parsed, times as ISO 8601 UTC
 * text), so `--json`, the tables and the console all read one shape.
 * Writes that change who may do what go through ops.h, which puts the
 * change and its audit row in one transaction.
 */
#ifndef TG_TUI_DB_H
#define TG_TUI_DB_H

#include <libpq-fe.h>
#include <jansson.h>

struct err;

enum db_q {
	DBQ_TENANTS,		/* () */
	DBQ_TENANT,		/* (tenant) */
	DBQ_TENANT_LOCK,	/* (tenant) -> status, FOR UPDATE */
	DBQ_TENANT_INSERT,	/* (tenant, display_name) */
	DBQ_TENANT_RENAME,	/* (tenant, display_name) */
	DBQ_TENANT_STATUS,	/* (tenant, status) */
	DBQ_TENANT_MEMBERS,	/* (tenant) */
	DBQ_USERS,		/* (like-pattern|NULL, tenant|NULL, limit, offset) */
	DBQ_USER,		/* (email) */
	DBQ_USER_INSERT,	/* (email, display_name) */
	DBQ_USER_TENANTS,	/* (email) */
	DBQ_MEMBER_ROLE,	/* (email, tenant) -> role, FOR UPDATE */
	DBQ_MEMBER_UPSERT,	/* (email, tenant, role, granted_by) */
	DBQ_MEMBER_DELETE,	/* (email, tenant) -> role */
	DBQ_GROUPS,		/* (tenant|NULL) */
	DBQ_GROUP_ROLE,		/* (group, tenant) -> role, FOR UPDATE */
	DBQ_GROUP_UPSERT,	/* (group, tenant, role) */
	DBQ_GROUP_DELETE,	/* (group, tenant) -> role */
	DBQ_INTEGRATIONS,	/* (tenant|NULL) */
	DBQ_INTEGRATION,	/* (tenant, name) */
	DBQ_INTEGRATION_ROTATED,/* (tenant, name, version, actor, key_expires_at|NULL)
				 * -> cred_version */
	DBQ_INTEGRATION_UPSERT,	/* (tenant, name, kind, base_url, vault_path, version, actor,
				 *  cred_kind|NULL, cloud_id|NULL, api_url|NULL,
				 *  key_expires_at|NULL) */
	DBQ_NOTIFY,		/* (payload) */
	DBQ_AUDIT_INSERT,	/* common/auditsql.h */
	DBQ_AUDIT,		/* (tenant, actor, action prefix, since, text, limit, offset,
				 * action prefix to leave out) */
	DBQ_GRANTS,		/* (user|NULL, tenant|NULL, ttl seconds, limit) */
	DBQ_GRANT,		/* (jti, ttl seconds) */
	DBQ_REVOKE_JTI,		/* (jti, ttl seconds, by) */
	DBQ_REVOKE_USER,	/* (email, by) */
	DBQ_COUNT_
};

/* Rows as a JSON array of objects (caller json_decref()s); NULL with e
 * set. params[i] == NULL is SQL NULL. */
json_t	*db_select(PGconn *, enum db_q, const char *const *params, struct err *);
/* The first row: 1 and *row (new reference), 0 when there is none, -1. */
int	 db_one(PGconn *, enum db_q, const char *const *params, json_t **row,
	    struct err *);
/* A statement for its effect; *rows (may be NULL) gets the row count. */
int	 db_exec(PGconn *, enum db_q, const char *const *params, long *rows,
	    struct err *);

int	 db_begin(PGconn *, struct err *);
int	 db_commit(PGconn *, struct err *);
void	 db_rollback(PGconn *);

/* One audit_log row; detail (borrowed, may be NULL) must be an object and
 * hold no secret. The database role (current_user) is added to it. */
int	 db_audit(PGconn *, const char *actor, const char *action,
	    const char *tenant, const char *subject, const json_t *detail,
	    struct err *);

/* "%text%" for ILIKE with the pattern characters of text escaped;
 * NULL when text is empty. Caller frees. */
char	*db_like(const char *text);

/* For tests: the SQL of a statement and its parameter count. */
const char *db_sql(enum db_q, int *nparams);

#endif
