/*
 * db: the statement table, PGresult -> JSON, transactions, the audit row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <jansson.h>

#include "auditsql.h"
#include "db.h"
#include "err.h"
#include "log.h"

/* Every time leaves as ISO 8601 UTC text, whatever the session zone. */
#define TS(x)	"to_char((" x ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

#define TENANT_COLS \
	"t.id AS tenant, t.display_name AS name, t.status, " \
	"coalesce((SELECT json_agg(json_build_object('name', i.name, 'kind', i.kind," \
	" 'cred_version', i.cred_version, 'enabled', i.enabled) ORDER BY i.name)" \
	" FROM tenant_integrations i WHERE i.tenant_id = t.id), '[]'::json) AS integrations, " \
	"(SELECT count(*) FROM memberships m WHERE m.tenant_id = t.id)::int AS members, " \
	"(SELECT count(*) FROM group_mappings g WHERE g.tenant_id = t.id)::int AS groups, " \
	"(SELECT " TS("max(i.rotated_at)") " FROM tenant_integrations i" \
	" WHERE i.tenant_id = t.id) AS last_rotated_at, " \
	TS("t.created_at") " AS created_at "

#define INTEGRATION_COLS \
	"i.tenant_id AS tenant, i.name AS integration, i.kind, i.base_url, i.vault_path, " \
	"i.cred_version, " TS("i.rotated_at") " AS rotated_at, i.rotated_by, i.enabled, " \
	"to_json(i.enabled_tools) AS enabled_tools, i.cred_kind, i.cloud_id, i.api_url "

static const struct {
	const char	*sql;
	int		 nparams;
} db_queries[DBQ_COUNT_] = {
	[DBQ_TENANTS] = { "SELECT " TENANT_COLS "FROM tenants t ORDER BY t.id", 0 },
	[DBQ_TENANT] = { "SELECT " TENANT_COLS "FROM tenants t WHERE t.id = $1", 1 },
	[DBQ_TENANT_LOCK] = {
	    "SELECT id AS tenant, status, display_name AS name FROM tenants"
	    " WHERE id = $1 FOR UPDATE", 1 },
	[DBQ_TENANT_INSERT] = {
	    "INSERT INTO tenants (id, display_name) VALUES ($1, $2)", 2 },
	[DBQ_TENANT_RENAME] = {
	    "UPDATE tenants SET display_name = $2 WHERE id = $1"
	    " AND display_name IS DISTINCT FROM $2", 2 },
	[DBQ_TENANT_STATUS] = { "UPDATE tenants SET status = $2 WHERE id = $1", 2 },
	[DBQ_TENANT_MEMBERS] = {
	    "SELECT u.email, u.display_name AS name, m.role, m.granted_by, "
	    TS("m.granted_at") " AS granted_at FROM memberships m"
	    " JOIN users u ON u.id = m.user_id WHERE m.tenant_id = $1 ORDER BY u.email", 1 },

	[DBQ_USERS] = {
	    "SELECT u.email, u.display_name AS name, u.status,"
	    " (SELECT count(*) FROM memberships m WHERE m.user_id = u.id)::int AS tenants,"
	    " CAST(count(*) OVER () AS int) AS total"
	    " FROM users u"
	    " WHERE ($1::text IS NULL OR u.email::text ILIKE $1 OR u.display_name ILIKE $1)"
	    " AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM memberships m"
	    "  WHERE m.user_id = u.id AND m.tenant_id = $2))"
	    " ORDER BY u.email LIMIT $3::int OFFSET $4::int", 4 },
	[DBQ_USER] = {
	    "SELECT u.email, u.display_name AS name, u.status, "
	    TS("u.created_at") " AS created_at FROM users u WHERE u.email = $1", 1 },
	[DBQ_USER_INSERT] = {
	    "INSERT INTO users (email, display_name) VALUES ($1, $2)", 2 },
	[DBQ_USER_TENANTS] = {
	    "SELECT m.tenant_id AS tenant, t.display_name AS tenant_name,"
	    " t.status AS tenant_status, m.role, m.granted_by, "
	    TS("m.granted_at") " AS granted_at FROM memberships m"
	    " JOIN users u ON u.id = m.user_id JOIN tenants t ON t.id = m.tenant_id"
	    " WHERE u.email = $1 ORDER BY m.tenant_id", 1 },
	[DBQ_MEMBER_ROLE] = {
	    "SELECT m.role FROM memberships m JOIN users u ON u.id = m.user_id"
	    " WHERE u.email = $1 AND m.tenant_id = $2 FOR UPDATE OF m", 2 },
	[DBQ_MEMBER_UPSERT] = {
	    "INSERT INTO memberships (user_id, tenant_id, role, granted_by)"
	    " SELECT u.id, $2, $3, $4 FROM users u WHERE u.email = $1"
	    " ON CONFLICT (user_id, tenant_id) DO UPDATE SET role = excluded.role,"
	    " granted_by = excluded.granted_by, granted_at = now()", 4 },
	[DBQ_MEMBER_DELETE] = {
	    "DELETE FROM memberships m USING users u WHERE m.user_id = u.id"
	    " AND u.email = $1 AND m.tenant_id = $2 RETURNING m.role", 2 },

	[DBQ_GROUPS] = {
	    "SELECT g.idp_group AS \"group\", g.tenant_id AS tenant, g.role"
	    " FROM group_mappings g WHERE ($1::text IS NULL OR g.tenant_id = $1)"
	    " ORDER BY g.tenant_id, g.idp_group", 1 },
	[DBQ_GROUP_ROLE] = {
	    "SELECT role FROM group_mappings WHERE idp_group = $1 AND tenant_id = $2"
	    " FOR UPDATE", 2 },
	[DBQ_GROUP_UPSERT] = {
	    "INSERT INTO group_mappings (idp_group, tenant_id, role) VALUES ($1, $2, $3)"
	    " ON CONFLICT (idp_group, tenant_id) DO UPDATE SET role = excluded.role", 3 },
	[DBQ_GROUP_DELETE] = {
	    "DELETE FROM group_mappings WHERE idp_group = $1 AND tenant_id = $2"
	    " RETURNING role", 2 },

	[DBQ_INTEGRATIONS] = {
	    "SELECT " INTEGRATION_COLS "FROM tenant_integrations i"
	    " WHERE ($1::text IS NULL OR i.tenant_id = $1) ORDER BY i.tenant_id, i.name", 1 },
	[DBQ_INTEGRATION] = {
	    "SELECT " INTEGRATION_COLS "FROM tenant_integrations i"
	    " WHERE i.tenant_id = $1 AND i.name = $2", 2 },
	/* Never move a version backwards: a slower concurrent rotation
	 * that lost the race must not overwrite the winner's number. */
	[DBQ_INTEGRATION_ROTATED] = {
	    "UPDATE tenant_integrations SET cred_version = $3::int, rotated_at = now(),"
	    " rotated_by = $4, key_expires_at = $5::timestamptz"
	    " WHERE tenant_id = $1 AND name = $2"
	    " AND cred_version <= $3::int RETURNING cred_version", 5 },
	[DBQ_INTEGRATION_UPSERT] = {
	    "INSERT INTO tenant_integrations (tenant_id, name, kind, base_url, vault_path,"
	    " cred_version, rotated_at, rotated_by, cred_kind, cloud_id, api_url,"
	    " key_expires_at)"
	    " VALUES ($1, $2, $3, $4, $5, $6::int, now(), $7, coalesce($8, 'classic'), $9, $10,"
	    " $11::timestamptz)"
	    " ON CONFLICT (tenant_id, name) DO UPDATE SET kind = excluded.kind,"
	    " base_url = excluded.base_url, vault_path = excluded.vault_path,"
	    " cred_kind = excluded.cred_kind, cloud_id = excluded.cloud_id,"
	    " api_url = excluded.api_url,"
	    " cred_version = greatest(tenant_integrations.cred_version, excluded.cred_version),"
	    " rotated_at = CASE WHEN excluded.cred_version > tenant_integrations.cred_version"
	    "  THEN now() ELSE tenant_integrations.rotated_at END,"
	    " rotated_by = CASE WHEN excluded.cred_version > tenant_integrations.cred_version"
	    "  THEN excluded.rotated_by ELSE tenant_integrations.rotated_by END,"
	    /* The expiry belongs to the key version: a newer one recorded
	     * by someone else keeps its own. */
	    " key_expires_at = CASE WHEN excluded.cred_version >= tenant_integrations.cred_version"
	    "  THEN excluded.key_expires_at ELSE tenant_integrations.key_expires_at END", 11 },
	[DBQ_NOTIFY] = { "SELECT pg_notify('tenantgate_changes', $1)", 1 },

	[DBQ_AUDIT_INSERT] = { auditsql_insert, AUDITSQL_NPARAMS },
	[DBQ_AUDIT] = {
	    "SELECT a.id, " TS("a.at") " AS at, a.actor, a.action, a.tenant_id AS tenant,"
	    " a.subject, a.detail FROM audit_log a"
	    " WHERE ($1::text IS NULL OR a.tenant_id = $1)"
	    " AND ($2::text IS NULL OR a.actor = $2)"
	    " AND ($3::text IS NULL OR starts_with(a.action, $3))"
	    " AND ($4::timestamptz IS NULL OR a.at >= $4::timestamptz)"
	    " AND ($5::text IS NULL OR strpos(lower(concat_ws(' ', a.actor, a.action,"
	    "  a.tenant_id, a.subject, a.detail::text)), lower($5)) > 0)"
	    " AND ($8::text IS NULL OR NOT starts_with(a.action, $8))"
	    " ORDER BY a.at DESC, a.id DESC LIMIT $6::int OFFSET $7::int", 8 },

	/* A grant is the broker's grant.issue audit row (subject = jti)
	 * younger than the grant TTL and not revoked, by jti or by a user
	 * revocation after its issue (whole seconds, as the broker does). */
	[DBQ_GRANTS] = {
	    "SELECT a.subject AS jti, a.actor AS \"user\", a.tenant_id AS tenant,"
	    " a.detail->>'role' AS role, a.detail->'tools' AS tools, "
	    TS("a.at") " AS issued_at, "
	    TS("a.at + make_interval(secs => $3::int)") " AS expires_at,"
	    " greatest(0, ceil(extract(epoch FROM a.at + make_interval(secs => $3::int)"
	    "  - now())))::int AS expires_in"
	    " FROM audit_log a"
	    " WHERE a.action = 'grant.issue' AND a.subject IS NOT NULL"
	    " AND a.at > now() - make_interval(secs => $3::int)"
	    " AND NOT EXISTS (SELECT 1 FROM revoked_grants r WHERE r.jti = a.subject)"
	    " AND NOT EXISTS (SELECT 1 FROM user_revocations u"
	    "  WHERE u.email = a.actor AND u.revoked_before > date_trunc('second', a.at))"
	    " AND ($1::text IS NULL OR a.actor = $1)"
	    " AND ($2::text IS NULL OR a.tenant_id = $2)"
	    " ORDER BY a.at DESC LIMIT $4::int", 4 },
	[DBQ_GRANT] = {
	    "SELECT a.subject AS jti, a.actor AS \"user\", a.tenant_id AS tenant, "
	    TS("a.at") " AS issued_at,"
	    " (a.at > now() - make_interval(secs => $2::int)) AS active"
	    " FROM audit_log a WHERE a.action = 'grant.issue' AND a.subject = $1"
	    " ORDER BY a.at DESC LIMIT 1", 2 },
	[DBQ_REVOKE_JTI] = {
	    "INSERT INTO revoked_grants (jti, expires_at, revoked_by)"
	    " VALUES ($1, now() + make_interval(secs => $2::int), $3)"
	    " ON CONFLICT (jti) DO NOTHING", 3 },
	/* The broker's own statement (broker/store_query.c). */
	[DBQ_REVOKE_USER] = {
	    "INSERT INTO user_revocations (email, revoked_before, revoked_by)"
	    " VALUES ($1, clock_timestamp(), $2) ON CONFLICT (email) DO UPDATE SET"
	    " revoked_before = greatest(user_revocations.revoked_before,"
	    "  excluded.revoked_before), revoked_by = excluded.revoked_by", 2 },
};

const char *
db_sql(enum db_q q, int *nparams)
{
	if ((int)q < 0 || q >= DBQ_COUNT_)
		return NULL;
	if (nparams != NULL)
		*nparams = db_queries[q].nparams;
	return db_queries[q].sql;
}

/* Map a failed result to an err: the SQLSTATE class decides the status. */
static int
db_fail(PGconn *c, PGresult *r, struct err *e)
{
	const char	*state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char	*msg = r != NULL ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char		 m[200];

	if (msg == NULL) {
		msg = PQerrorMessage(c);
		snprintf(m, sizeof m, "%.*s", (int)strcspn(msg, "\n"), msg);
		msg = m;
	}
	if (PQstatus(c) != CONNECTION_OK || state == NULL ||
	    strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)
		return err_set(e, 503, "db_unavailable", "lost the connection to "
		    "PostgreSQL: %s", msg);
	if (strcmp(state, "23505") == 0)
		return err_set(e, 409, "exists", "%s", msg);
	if (strcmp(state, "23503") == 0)
		return err_set(e, 404, "not_found", "%s", msg);
	if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0)
		return err_set(e, 400, "invalid", "%s", msg);
	if (strcmp(state, "42501") == 0)
		return err_set(e, 403, "db_forbidden", "PostgreSQL refused: %s", msg);
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
		return err_set(e, 409, "db_conflict", "%s (try again)", msg);
	return err_set(e, 500, "db_error", "PostgreSQL: %s", msg);
}

static PGresult *
db_run(PGconn *c, enum db_q q, const char *const *params, struct err *e)
{
	PGresult	*r;
	ExecStatusType	 st;

	if (c == NULL) {
		err_set(e, 503, "db_unavailable", "no database connection");
		return NULL;
	}
	r = PQexecParams(c, db_queries[q].sql, db_queries[q].nparams, NULL, params,
	    NULL, NULL, 0);
	st = r != NULL ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		db_fail(c, r, e);
		PQclear(r);
		return NULL;
	}
	return r;
}

static json_t *
db_value(PGresult *r, int row, int col)
{
	const char	*v;

	if (PQgetisnull(r, row, col))
		return json_null();
	v = PQgetvalue(r, row, col);
	switch (PQftype(r, col)) {
	case 16:				/* bool */
		return json_boolean(v[0] == 't');
	case 20: case 21: case 23: case 26:	/* int8, int2, int4, oid */
		return json_integer(strtoll(v, NULL, 10));
	case 700: case 701: case 1700:		/* float4, float8, numeric */
		return json_real(strtod(v, NULL));
	case 114: case 3802: {			/* json, jsonb */
		json_t *j = json_loads(v, JSON_DECODE_ANY, NULL);

		return j != NULL ? j : json_string(v);
	}
	default:
		return json_string(v);
	}
}

static json_t *
db_rows(PGresult *r)
{
	json_t	*rows = json_array(), *o;
	int	 n = PQntuples(r), nf = PQnfields(r);

	for (int i = 0; i < n && rows != NULL; i++) {
		o = json_object();
		for (int f = 0; f < nf && o != NULL; f++)
			json_object_set_new(o, PQfname(r, f), db_value(r, i, f));
		json_array_append_new(rows, o);
	}
	return rows;
}

json_t *
db_select(PGconn *c, enum db_q q, const char *const *params, struct err *e)
{
	PGresult	*r;
	json_t		*rows;

	if ((r = db_run(c, q, params, e)) == NULL)
		return NULL;
	rows = db_rows(r);
	PQclear(r);
	if (rows == NULL)
		err_set(e, 500, "nomem", "out of memory");
	return rows;
}

int
db_one(PGconn *c, enum db_q q, const char *const *params, json_t **row, struct err *e)
{
	json_t *rows;

	*row = NULL;
	if ((rows = db_select(c, q, params, e)) == NULL)
		return -1;
	if (json_array_size(rows) > 0)
		*row = json_incref(json_array_get(rows, 0));
	json_decref(rows);
	return *row != NULL;
}

int
db_exec(PGconn *c, enum db_q q, const char *const *params, long *rows, struct err *e)
{
	PGresult *r;

	if ((r = db_run(c, q, params, e)) == NULL)
		return -1;
	if (rows != NULL)
		*rows = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) :
		    strtol(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return 0;
}

static int
db_simple(PGconn *c, const char *sql, struct err *e)
{
	PGresult *r;

	if (c == NULL)
		return err_set(e, 503, "db_unavailable", "no database connection");
	r = PQexec(c, sql);
	if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
		db_fail(c, r, e);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	return 0;
}

int
db_begin(PGconn *c, struct err *e)
{
	return db_simple(c, "BEGIN", e);
}

int
db_commit(PGconn *c, struct err *e)
{
	return db_simple(c, "COMMIT", e);
}

void
db_rollback(PGconn *c)
{
	struct err e;

	if (c != NULL && PQtransactionStatus(c) != PQTRANS_IDLE &&
	    PQstatus(c) == CONNECTION_OK)
		(void)db_simple(c, "ROLLBACK", &e);
}

int
db_audit(PGconn *c, const char *actor, const char *action, const char *tenant,
    const char *subject, const json_t *detail, struct err *e)
{
	char		*d = detail != NULL ? json_dumps(detail, JSON_COMPACT |
			    JSON_PRESERVE_ORDER) : NULL;
	const char	*p[AUDITSQL_NPARAMS];
	int		 rc;

	auditsql_params(p, actor, action, tenant, subject, d, 1);
	rc = db_exec(c, DBQ_AUDIT_INSERT, p, NULL, e);
	free(d);
	if (rc == -1)
		err_prefix(e, "writing the audit row");
	return rc;
}

char *
db_like(const char *text)
{
	size_t	 n;
	char	*out, *p;

	if (text == NULL || *text == '\0')
		return NULL;
	n = strlen(text);
	if ((out = malloc(n * 2 + 3)) == NULL)
		return NULL;
	p = out;
	*p++ = '%';
	for (const char *s = text; *s != '\0'; s++) {
		if (*s == '%' || *s == '_' || *s == '\\')
			*p++ = '\\';
		*p++ = *s;
	}
	*p++ = '%';
	*p = '\0';
	return out;
}
