/*
 * store_query: the broker's questions to PostgreSQL, one prepared
 * statement each (the table below), and the conversion of their rows into
 * the structs of store.h. Parameters travel separately from the SQL;
 * lists (IdP groups) travel as one JSON parameter built with Jansson.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "auditsql.h"
#include "err.h"
#include "store.h"
#include "store_impl.h"

const struct store_stmt_def store_stmts[STORE_Q__COUNT] = {
	[STORE_Q_PING] = { "tg_ping", "SELECT 1", 0, 1 },

	/*
	 * $1 email, $2 JSON array of IdP groups. Direct memberships and
	 * group mappings together; the highest role per tenant wins;
	 * disabled tenants never, a disabled user nothing at all.
	 */
	[STORE_Q_MEMBERSHIPS] = { "tg_memberships",
	    "WITH u AS (SELECT id, status FROM users WHERE email = $1), "
	    "cand AS ("
	    " SELECT m.tenant_id, m.role FROM memberships m"
	    "  JOIN u ON u.id = m.user_id"
	    " UNION ALL"
	    " SELECT g.tenant_id, g.role FROM group_mappings g"
	    "  WHERE g.idp_group IN"
	    "   (SELECT jsonb_array_elements_text($2::jsonb))) "
	    "SELECT DISTINCT ON (c.tenant_id) c.tenant_id, c.role,"
	    " coalesce((SELECT extract(epoch FROM r.revoked_before)"
	    "  FROM user_revocations r WHERE r.email = $1), 0) "
	    "FROM cand c JOIN tenants t ON t.id = c.tenant_id "
	    "WHERE t.status = 'active'"
	    " AND NOT EXISTS (SELECT 1 FROM u WHERE u.status <> 'active') "
	    "ORDER BY c.tenant_id, CASE c.role WHEN 'admin' THEN 3"
	    " WHEN 'editor' THEN 2 ELSE 1 END DESC", 2, 1 },

	[STORE_Q_INTEGRATIONS] = { "tg_integrations",
	    "SELECT i.tenant_id, i.name, i.kind, i.base_url, i.vault_path,"
	    " array_to_json(i.enabled_tools)::text, i.cred_version,"
	    " i.enabled::int, i.cred_kind, coalesce(i.api_url, ''), coalesce(i.cloud_id, ''),"
	    " coalesce(floor(extract(epoch FROM i.key_expires_at))::bigint, 0) "
	    "FROM tenant_integrations i JOIN tenants t ON t.id = i.tenant_id "
	    "WHERE i.tenant_id = $1 AND t.status = 'active' "
	    "ORDER BY i.name", 1, 1 },

	[STORE_Q_AUDIT] = { "tg_audit", auditsql_insert, AUDITSQL_NPARAMS, 0 },

	[STORE_Q_REVOKE_JTI] = { "tg_revoke_jti",
	    "INSERT INTO revoked_grants (jti, expires_at, revoked_by) "
	    "VALUES ($1, to_timestamp($2::bigint), $3) "
	    "ON CONFLICT (jti) DO NOTHING", 3, 0 },

	[STORE_Q_REVOKE_USER] = { "tg_revoke_user",
	    "INSERT INTO user_revocations (email, revoked_before, revoked_by) "
	    "VALUES ($1, to_timestamp($3::double precision), $2) "
	    "ON CONFLICT (email) DO UPDATE SET"
	    " revoked_before = greatest(user_revocations.revoked_before,"
	    "  excluded.revoked_before),"
	    " revoked_by = excluded.revoked_by", 3, 0 },

	/* iat has whole seconds: a grant from the revocation's own second
	 * counts as revoked. */
	[STORE_Q_GRANT_REVOKED] = { "tg_grant_revoked",
	    "SELECT (EXISTS (SELECT 1 FROM revoked_grants WHERE jti = $1)"
	    " OR EXISTS (SELECT 1 FROM user_revocations WHERE email = $2"
	    "  AND revoked_before > to_timestamp($3::bigint)))::int", 3, 1 },

	[STORE_Q_PURGE] = { "tg_purge_expired",
	    "DELETE FROM revoked_grants WHERE expires_at < now()", 0, 0 },

	/* $1 since, $2 limit. head and floor come from the same snapshot as
	 * the rows (one statement), so "no rows" and "head" agree; the
	 * LEFT JOIN gives one row with NULL events when there are none. */
	[STORE_Q_CHANGES] = { "tg_changes",
	    "WITH h AS (SELECT coalesce(max(seq), 0) AS head,"
	    " coalesce(min(seq), 0) AS floor FROM access_changes) "
	    "SELECT h.head, h.floor, c.seq, c.kind, c.user_email, c.tenant,"
	    " c.integration, c.jti "
	    "FROM h LEFT JOIN LATERAL (SELECT * FROM access_changes"
	    " WHERE seq > $1::bigint ORDER BY seq LIMIT $2::int) c ON true "
	    "ORDER BY c.seq", 2, 1 },

	[STORE_Q_CHANGES_PRUNE] = { "tg_changes_prune",
	    "DELETE FROM access_changes"
	    " WHERE at < now() - make_interval(secs => $1::int)"
	    " AND seq < (SELECT max(seq) FROM access_changes)", 1, 0 },

	/* $1 caller, $2 JSON array checked by the broker (api_audit_check). */
	[STORE_Q_AUDIT_BATCH] = { "tg_audit_tool_calls",
	    "INSERT INTO audit_log (at, actor, action, tenant_id, subject, detail) "
	    "SELECT to_timestamp((e->>'at')::bigint / 1000.0), e->>'user',"
	    " 'tool.call', e->>'tenant', e->>'tool',"
	    " jsonb_build_object('outcome', e->'outcome', 'status', e->'status',"
	    "  'latency_ms', e->'latency_ms', 'caller', $1::text) "
	    "FROM jsonb_array_elements($2::jsonb) e", 2, 0 },

	/* The expiry job's view: keys that can be used and whose end is
	 * known. A disabled integration or tenant cannot be redeemed, so
	 * its key expiring is nobody's alert. */
	[STORE_Q_KEY_EXPIRIES] = { "tg_key_expiries",
	    "SELECT i.tenant_id, i.name, i.cred_version,"
	    " floor(extract(epoch FROM i.key_expires_at))::bigint "
	    "FROM tenant_integrations i JOIN tenants t ON t.id = i.tenant_id "
	    "WHERE t.status = 'active' AND i.enabled AND i.key_expires_at IS NOT NULL "
	    "ORDER BY i.tenant_id, i.name", 0, 1 },
};

/* Copy a column into a fixed field; -1 if it does not fit. */
static int
store_copy(char *dst, size_t sz, const PGresult *r, int row, int col,
    const char *what, struct err *e)
{
	const char *v = PQgetvalue(r, row, col);

	if (strlen(v) >= sz)
		return err_set(e, 500, "db_error", "%s too long (%zu bytes, "
		    "at most %zu)", what, strlen(v), sz - 1);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int
store_need(const char *v, const char *what, struct err *e)
{
	if (v == NULL || *v == '\0')
		return err_set(e, 400, "bad_request", "%s is required", what);
	return 0;
}

/*
 * Run a statement and turn each row into one element of a new array, all
 * or nothing: a row that does not fit frees what was built. fill() copies
 * row i into elem; drop() (or free() when NULL) releases a partial array.
 */
typedef int	(*store_row_fill)(void *elem, const PGresult *, int row,
		    struct err *);

static int
store_rows(struct store *s, enum store_stmt q, const char *const *params,
    size_t size, store_row_fill fill, void (*drop)(void *, size_t),
    void **out, size_t *n, struct err *e)
{
	PGresult	*r;
	char		*v = NULL;
	int		 rows;

	*out = NULL;
	*n = 0;
	if (store_exec(s, q, params, &r, e) == -1)
		return -1;
	rows = PQntuples(r);
	if (rows > 0 && (v = calloc((size_t)rows, size)) == NULL) {
		PQclear(r);
		return err_set(e, 500, "nomem", "out of memory");
	}
	for (int i = 0; i < rows; i++) {
		if (fill(v + (size_t)i * size, r, i, e) == -1) {
			if (drop != NULL)
				drop(v, (size_t)rows);
			else
				free(v);
			PQclear(r);
			return -1;
		}
	}
	PQclear(r);
	*out = v;
	*n = (size_t)rows;
	return 0;
}

static int
store_membership_row(void *elem, const PGresult *r, int i, struct err *e)
{
	struct membership *m = elem;

	if (store_copy(m->tenant, sizeof m->tenant, r, i, 0, "tenant id",
	    e) == -1 ||
	    store_copy(m->role, sizeof m->role, r, i, 1, "role", e) == -1)
		return -1;
	m->revoked_before = strtod(PQgetvalue(r, i, 2), NULL);
	return 0;
}

int
store_memberships(struct store *s, const char *email,
    const char *const *groups, size_t ngroups, struct membership **out,
    size_t *n, struct err *e)
{
	json_t			*arr;
	char			*gjson;
	const char		*params[2];
	void			*rows;
	int			 rc;

	*out = NULL;
	*n = 0;
	if (store_need(email, "email", e) == -1)
		return -1;
	if ((arr = json_array()) == NULL)
		return err_set(e, 500, "nomem", "out of memory");
	for (size_t i = 0; i < ngroups; i++) {
		if (groups[i] != NULL &&
		    json_array_append_new(arr, json_string(groups[i])) == -1) {
			json_decref(arr);
			return err_set(e, 400, "bad_request", "IdP group %zu is "
			    "not valid UTF-8", i);
		}
	}
	gjson = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	if (gjson == NULL)
		return err_set(e, 500, "nomem", "out of memory");
	params[0] = email;
	params[1] = gjson;
	rc = store_rows(s, STORE_Q_MEMBERSHIPS, params, sizeof **out,
	    store_membership_row, NULL, &rows, n, e);
	free(gjson);
	*out = rows;
	return rc;
}

/* '["a","b"]' -> NULL-terminated array; "" (SQL NULL) -> NULL list. */
static int
store_tools(const char *text, char ***out, struct err *e)
{
	json_t		*a, *v;
	json_error_t	 je;
	char		**l;
	size_t		 i, w = 0;

	*out = NULL;
	if (*text == '\0')
		return 0;
	if ((a = json_loads(text, 0, &je)) == NULL || !json_is_array(a)) {
		json_decref(a);
		return err_set(e, 500, "db_error", "enabled_tools: not an array");
	}
	if ((l = calloc(json_array_size(a) + 1, sizeof *l)) == NULL) {
		json_decref(a);
		return err_set(e, 500, "nomem", "out of memory");
	}
	json_array_foreach(a, i, v) {
		/* A SQL NULL element names no tool: skip it. */
		if (!json_is_string(v))
			continue;
		if ((l[w] = strdup(json_string_value(v))) == NULL) {
			for (size_t k = 0; k < w; k++)
				free(l[k]);
			free(l);
			json_decref(a);
			return err_set(e, 500, "nomem", "out of memory");
		}
		w++;
	}
	l[w] = NULL;
	json_decref(a);
	*out = l;
	return 0;
}

void
store_integrations_free(struct integration *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		for (char **t = v[i].enabled_tools; t != NULL && *t != NULL; t++)
			free(*t);
		free(v[i].enabled_tools);
	}
	free(v);
}

static void
store_integrations_drop(void *v, size_t n)
{
	store_integrations_free(v, n);
}

static int
store_integration_row(void *elem, const PGresult *r, int i, struct err *e)
{
	struct integration *v = elem;

	if (store_copy(v->tenant, sizeof v->tenant, r, i, 0, "tenant id",
	    e) == -1 ||
	    store_copy(v->name, sizeof v->name, r, i, 1, "integration name",
	    e) == -1 ||
	    store_copy(v->kind, sizeof v->kind, r, i, 2, "kind", e) == -1 ||
	    store_copy(v->base_url, sizeof v->base_url, r, i, 3, "base_url",
	    e) == -1 ||
	    store_copy(v->vault_path, sizeof v->vault_path, r, i, 4,
	    "vault_path", e) == -1 ||
	    store_tools(PQgetvalue(r, i, 5), &v->enabled_tools, e) == -1 ||
	    store_copy(v->cred_kind, sizeof v->cred_kind, r, i, 8, "cred_kind",
	    e) == -1 ||
	    store_copy(v->api_url, sizeof v->api_url, r, i, 9, "api_url",
	    e) == -1 ||
	    store_copy(v->cloud_id, sizeof v->cloud_id, r, i, 10, "cloud_id",
	    e) == -1)
		return -1;
	v->cred_version = atoi(PQgetvalue(r, i, 6));
	v->enabled = atoi(PQgetvalue(r, i, 7));
	v->key_expires_at = strtoll(PQgetvalue(r, i, 11), NULL, 10);
	return 0;
}

int
store_integrations(struct store *s, const char *tenant,
    struct integration **out, size_t *n, struct err *e)
{
	const char	*params[1] = { tenant };
	void		*rows;

	*out = NULL;
	*n = 0;
	if (store_need(tenant, "tenant", e) == -1)
		return -1;
	if (store_rows(s, STORE_Q_INTEGRATIONS, params, sizeof **out,
	    store_integration_row, store_integrations_drop, &rows, n, e) == -1)
		return -1;
	*out = rows;
	return 0;
}

static int
store_key_expiry_row(void *elem, const PGresult *r, int i, struct err *e)
{
	struct key_expiry *v = elem;

	if (store_copy(v->tenant, sizeof v->tenant, r, i, 0, "tenant id",
	    e) == -1 ||
	    store_copy(v->name, sizeof v->name, r, i, 1, "integration name",
	    e) == -1)
		return -1;
	v->cred_version = atoi(PQgetvalue(r, i, 2));
	v->expires_at = strtoll(PQgetvalue(r, i, 3), NULL, 10);
	return 0;
}

int
store_key_expiries(struct store *s, struct key_expiry **out, size_t *n,
    struct err *e)
{
	void	*rows;

	*out = NULL;
	if (store_rows(s, STORE_Q_KEY_EXPIRIES, NULL, sizeof **out,
	    store_key_expiry_row, NULL, &rows, n, e) == -1)
		return -1;
	*out = rows;
	return 0;
}

int
store_audit(struct store *s, const char *actor, const char *action,
    const char *tenant, const char *subject, const char *detail_json,
    struct err *e)
{
	const char	*params[AUDITSQL_NPARAMS];
	PGresult	*r;

	auditsql_params(params, actor, action, tenant, subject, detail_json, 0);
	if (store_need(actor, "actor", e) == -1 ||
	    store_need(action, "action", e) == -1)
		return -1;
	if (store_exec(s, STORE_Q_AUDIT, params, &r, e) == -1)
		return -1;
	PQclear(r);
	return 0;
}

int
store_revoke_jti(struct store *s, const char *jti, time_t expires_at,
    const char *by, struct err *e)
{
	char		 exp[24];
	const char	*params[3] = { jti, exp, by };
	PGresult	*r;

	if (store_need(jti, "jti", e) == -1)
		return -1;
	snprintf(exp, sizeof exp, "%" PRId64, (int64_t)expires_at);
	if (store_exec(s, STORE_Q_REVOKE_JTI, params, &r, e) == -1)
		return -1;
	PQclear(r);
	return 0;
}

int
store_revoke_user(struct store *s, const char *email, const char *by,
    struct err *e)
{
	struct timespec	 now;
	char		 at[32];
	const char	*params[3] = { email, by, at };
	PGresult	*r;

	if (store_need(email, "email", e) == -1)
		return -1;
	/* The revocation is compared with grants' iat, which comes from this
	 * process's clock: take the time from the same clock, not the
	 * database's, so skew between the two cannot let a grant through. */
	clock_gettime(CLOCK_REALTIME, &now);
	snprintf(at, sizeof at, "%lld.%03ld", (long long)now.tv_sec, now.tv_nsec / 1000000);
	if (store_exec(s, STORE_Q_REVOKE_USER, params, &r, e) == -1)
		return -1;
	PQclear(r);
	return 0;
}

int
store_grant_revoked(struct store *s, const char *jti, const char *email,
    time_t issued_at, struct err *e)
{
	char		 iat[24];
	const char	*params[3] = { jti, email, iat };
	PGresult	*r;
	int		 v;

	snprintf(iat, sizeof iat, "%" PRId64, (int64_t)issued_at);
	if (store_exec(s, STORE_Q_GRANT_REVOKED, params, &r, e) == -1)
		return -1;
	v = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "1") == 0;
	PQclear(r);
	return v;
}

int
store_purge_expired(struct store *s, struct err *e)
{
	PGresult	*r;
	int		 n;

	if (store_exec(s, STORE_Q_PURGE, NULL, &r, e) == -1)
		return -1;
	n = atoi(PQcmdTuples(r));
	PQclear(r);
	return n;
}

static json_t *
store_col(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? json_null() :
	    json_string(PQgetvalue(r, row, col));
}

int
store_changes(struct store *s, long long since, int limit, long long *head,
    long long *floor, json_t **events, struct err *e)
{
	char		 sb[24], lb[12];
	const char	*params[2] = { sb, lb };
	PGresult	*r;
	json_t		*a;

	*events = NULL;
	snprintf(sb, sizeof sb, "%lld", since);
	snprintf(lb, sizeof lb, "%d", limit);
	if (store_exec(s, STORE_Q_CHANGES, params, &r, e) == -1)
		return -1;
	if (PQntuples(r) < 1 || (a = json_array()) == NULL) {
		PQclear(r);
		return err_set(e, 500, "db_error", "change feed: no answer");
	}
	*head = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	*floor = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	for (int i = 0; i < PQntuples(r); i++) {
		if (PQgetisnull(r, i, 2))
			continue;
		json_array_append_new(a, json_pack("{s:I,s:o,s:o,s:o,s:o,s:o}",
		    "seq", (json_int_t)strtoll(PQgetvalue(r, i, 2), NULL, 10),
		    "kind", store_col(r, i, 3), "user", store_col(r, i, 4),
		    "tenant", store_col(r, i, 5), "integration", store_col(r, i, 6),
		    "jti", store_col(r, i, 7)));
	}
	PQclear(r);
	*events = a;
	return 0;
}

int
store_changes_prune(struct store *s, int keep_s, struct err *e)
{
	char		 kb[12];
	const char	*params[1] = { kb };
	PGresult	*r;
	int		 n;

	snprintf(kb, sizeof kb, "%d", keep_s);
	if (store_exec(s, STORE_Q_CHANGES_PRUNE, params, &r, e) == -1)
		return -1;
	n = atoi(PQcmdTuples(r));
	PQclear(r);
	return n;
}

int
store_audit_tool_calls(struct store *s, const char *caller,
    const char *events_json, struct err *e)
{
	const char	*params[2] = { caller, events_json };
	PGresult	*r;
	int		 n;

	if (store_need(caller, "caller", e) == -1 ||
	    store_need(events_json, "events", e) == -1)
		return -1;
	if (store_exec(s, STORE_Q_AUDIT_BATCH, params, &r, e) == -1)
		return -1;
	n = atoi(PQcmdTuples(r));
	PQclear(r);
	return n;
}
