/*
 * ops: operator changes, each with its audit row in one transaction.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "admin.h"
#include "db.h"
#include "email.h"
#include "err.h"
#include "ops.h"
#include "policy.h"

int
ops_role_valid(const char *r)
{
	return r != NULL && (strcmp(r, "viewer") == 0 || strcmp(r, "editor") == 0 ||
	    strcmp(r, "admin") == 0);
}

int
ops_email_valid(const char *s)
{
	const char	*at;
	size_t		 n;

	if (s == NULL || (n = strlen(s)) < 3 || n > 254)
		return 0;
	if ((at = strchr(s, '@')) == NULL || at == s || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

int
ops_email_canon(struct admin *a, const char *in, char *out, struct err *e)
{
	enum email_mode m = EMAIL_ASCII;

	(void)email_mode_parse(a->cfg.email_non_ascii, &m);	/* an enum row */
	if (email_canon(in, m, out, e) == -1)
		return strcmp(e->code, "bad_email") == 0 ?
		    err_prefix(e, "'%.64s' is not an email address", in) :
		    err_prefix(e, "user email");
	return 0;
}

/* BEGIN on the operator's connection. */
static PGconn *
ops_begin(struct admin *a, struct err *e)
{
	PGconn *c;

	if ((c = admin_db(a, e)) == NULL || db_begin(c, e) == -1)
		return NULL;
	return c;
}

/* Audit, then COMMIT; the detail is consumed. */
static int
ops_finish(struct admin *a, PGconn *c, const char *action, const char *tenant,
    const char *subject, json_t *detail, struct err *e)
{
	int rc;

	if (detail != NULL)
		json_object_set_new(detail, "via", json_string(a->via));
	rc = db_audit(c, a->actor, action, tenant, subject, detail, e);
	json_decref(detail);
	if (rc == -1 || db_commit(c, e) == -1) {
		db_rollback(c);
		return -1;
	}
	return 0;
}

static int
ops_fail(PGconn *c)
{
	db_rollback(c);
	return -1;
}

/* Run insert q in c's transaction and finish as ops_finish() does; a row
 * already there is no change (0, *changed left 0). detail is consumed. */
static int
ops_insert(struct admin *a, PGconn *c, enum db_q q, const char *const *p, int *changed,
    const char *action, const char *tenant, const char *subject, json_t *detail,
    struct err *e)
{
	if (db_exec(c, q, p, NULL, e) == -1) {
		json_decref(detail);
		if (strcmp(e->code, "exists") == 0) {
			err_clear(e);
			db_rollback(c);
			return 0;
		}
		return ops_fail(c);
	}
	if (changed != NULL)
		*changed = 1;
	return ops_finish(a, c, action, tenant, subject, detail, e);
}

static int
ops_need_tenant(PGconn *c, const char *tenant, json_t **row, struct err *e)
{
	const char	*p[1] = { tenant };
	int		 rc;

	if ((rc = db_one(c, DBQ_TENANT_LOCK, p, row, e)) == 0)
		err_set(e, 404, "no_tenant", "no tenant '%s'", tenant);
	return rc == 1 ? 0 : -1;
}

static int
ops_need_user(PGconn *c, const char *email, struct err *e)
{
	const char	*p[1] = { email };
	json_t		*row;
	int		 rc;

	if ((rc = db_one(c, DBQ_USER, p, &row, e)) == 0)
		err_set(e, 404, "no_user", "no user '%s' (add it with `user add`)", email);
	json_decref(row);
	return rc == 1 ? 0 : -1;
}

int
ops_tenant_known(struct admin *a, const char *tenant, struct err *e)
{
	const char	*p[1] = { tenant };
	PGconn		*c;
	json_t		*row = NULL;
	int		 rc;

	if (tenant == NULL)
		return 0;
	if ((c = admin_db(a, e)) == NULL || (rc = db_one(c, DBQ_TENANT, p, &row, e)) == -1)
		return -1;
	json_decref(row);
	if (rc == 0)
		return err_set(e, 404, "no_tenant", "no tenant '%s'", tenant);
	return 0;
}

int
ops_tenant_add(struct admin *a, const char *tenant, const char *name, int *changed,
    struct err *e)
{
	const char	*p[2] = { tenant, name != NULL ? name : tenant };
	PGconn		*c;

	if (changed != NULL)
		*changed = 0;
	if (policy_slug_check(tenant, e) == -1)
		return -1;
	if ((c = ops_begin(a, e)) == NULL)
		return -1;
	return ops_insert(a, c, DBQ_TENANT_INSERT, p, changed, "tenant.add", tenant, tenant,
	    json_pack("{s:s}", "name", p[1]), e);
}

int
ops_tenant_set_status(struct admin *a, const char *tenant, int enable, int *changed,
    struct err *e)
{
	const char	*want = enable ? "active" : "disabled";
	const char	*p[2] = { tenant, want };
	PGconn		*c;
	json_t		*row = NULL;

	if (changed != NULL)
		*changed = 0;
	if ((c = ops_begin(a, e)) == NULL)
		return -1;
	if (ops_need_tenant(c, tenant, &row, e) == -1)
		return ops_fail(c);
	if (strcmp(json_string_value(json_object_get(row, "status")), want) == 0) {
		json_decref(row);
		db_rollback(c);
		return 0;
	}
	json_decref(row);
	if (db_exec(c, DBQ_TENANT_STATUS, p, NULL, e) == -1)
		return ops_fail(c);
	if (changed != NULL)
		*changed = 1;
	return ops_finish(a, c, enable ? "tenant.enable" : "tenant.disable", tenant,
	    tenant, json_object(), e);
}

int
ops_user_add(struct admin *a, const char *given, const char *name, int *changed,
    struct err *e)
{
	char		 email[EMAIL_MAX + 1];
	const char	*p[2] = { email, name != NULL ? name : "" };
	PGconn		*c;

	if (changed != NULL)
		*changed = 0;
	if (ops_email_canon(a, given, email, e) == -1)
		return -1;
	if ((c = ops_begin(a, e)) == NULL)
		return -1;
	return ops_insert(a, c, DBQ_USER_INSERT, p, changed, "user.add", NULL, email,
	    json_pack("{s:s}", "name", p[1]), e);
}

/* Set a role (a membership or a group mapping) in the open transaction c:
 * when the role is already the one asked for, nothing is written or
 * audited. get/put read (FOR UPDATE) and upsert the row for params p. */
static int
ops_upsert_role(struct admin *a, PGconn *c, enum db_q get, enum db_q put,
    const char *const *p, const char *role, const char *action_new,
    const char *action_change, const char *tenant, const char *subject,
    char *old_role, int *changed, struct err *e)
{
	json_t	*row = NULL, *d;
	char	 old[OPS_ROLE_MAX] = "";
	int	 rc;

	if ((rc = db_one(c, get, p, &row, e)) == -1)
		return ops_fail(c);
	if (rc == 1)
		snprintf(old, sizeof old, "%s", json_string_value(json_object_get(row, "role")));
	json_decref(row);
	if (old_role != NULL)
		snprintf(old_role, OPS_ROLE_MAX, "%s", old);
	if (strcmp(old, role) == 0) {
		db_rollback(c);
		return 0;
	}
	if (db_exec(c, put, p, NULL, e) == -1)
		return ops_fail(c);
	if (changed != NULL)
		*changed = 1;
	d = json_pack("{s:s}", "role", role);
	if (old[0] != '\0')
		json_object_set_new(d, "old_role", json_string(old));
	return ops_finish(a, c, old[0] != '\0' ? action_change : action_new, tenant, subject,
	    d, e);
}

int
ops_member_add(struct admin *a, const char *given, const char *tenant, const char *role,
    char *old_role, int *changed, struct err *e)
{
	char		 email[EMAIL_MAX + 1];
	const char	*p[4] = { email, tenant, role, a->actor };
	PGconn		*c;
	json_t		*row = NULL;

	if (changed != NULL)
		*changed = 0;
	if (ops_email_canon(a, given, email, e) == -1)
		return -1;
	if (!ops_role_valid(role))
		return err_set(e, 400, "bad_role", "role must be viewer, editor or admin, "
		    "not '%s'", role);
	if ((c = ops_begin(a, e)) == NULL)
		return -1;
	if (ops_need_user(c, email, e) == -1 || ops_need_tenant(c, tenant, &row, e) == -1)
		return ops_fail(c);
	json_decref(row);
	return ops_upsert_role(a, c, DBQ_MEMBER_ROLE, DBQ_MEMBER_UPSERT, p, role, "member.add",
	    "member.role", tenant, email, old_role, changed, e);
}

/* Delete a membership or a group mapping (query del, params p) and audit
 * the role it had. The tenant (and the user, when email is not NULL) must
 * exist (404); a row that is already gone is nothing to do: *changed 0,
 * no audit row. */
static int
ops_remove_role(struct admin *a, enum db_q del, const char *const *p, const char *action,
    const char *tenant, const char *email, const char *subject, int *changed,
    struct err *e)
{
	PGconn	*c;
	json_t	*row = NULL;
	int	 rc;

	if (changed != NULL)
		*changed = 0;
	if ((c = ops_begin(a, e)) == NULL)
		return -1;
	if (ops_need_tenant(c, tenant, &row, e) == -1 ||
	    (email != NULL && ops_need_user(c, email, e) == -1)) {
		json_decref(row);
		return ops_fail(c);
	}
	json_decref(row);
	if ((rc = db_one(c, del, p, &row, e)) != 1) {
		if (rc == 0) {
			db_rollback(c);
			return 0;
		}
		return ops_fail(c);
	}
	if (changed != NULL)
		*changed = 1;
	rc = ops_finish(a, c, action, tenant, subject,
	    json_pack("{s:O}", "old_role", json_object_get(row, "role")), e);
	json_decref(row);
	return rc;
}

int
ops_member_remove(struct admin *a, const char *given, const char *tenant, int *changed,
    struct err *e)
{
	char		 email[EMAIL_MAX + 1];
	const char	*p[2] = { email, tenant };

	if (ops_email_canon(a, given, email, e) == -1)
		return -1;
	return ops_remove_role(a, DBQ_MEMBER_DELETE, p, "member.remove", tenant, email,
	    email, changed, e);
}

int
ops_group_add(struct admin *a, const char *group, const char *tenant, const char *role,
    char *old_role, int *changed, struct err *e)
{
	const char	*p[3] = { group, tenant, role };
	PGconn		*c;
	json_t		*row = NULL;

	if (changed != NULL)
		*changed = 0;
	if (!ops_role_valid(role))
		return err_set(e, 400, "bad_role", "role must be viewer, editor or admin, "
		    "not '%s'", role);
	if (group == NULL || *group == '\0' || strlen(group) > 256)
		return err_set(e, 400, "bad_group", "an IdP group name is 1 to 256 characters");
	if ((c = ops_begin(a, e)) == NULL)
		return -1;
	if (ops_need_tenant(c, tenant, &row, e) == -1)
		return ops_fail(c);
	json_decref(row);
	return ops_upsert_role(a, c, DBQ_GROUP_ROLE, DBQ_GROUP_UPSERT, p, role, "group.add",
	    "group.add", tenant, group, old_role, changed, e);
}

int
ops_group_remove(struct admin *a, const char *group, const char *tenant, int *changed,
    struct err *e)
{
	const char	*p[2] = { group, tenant };

	return ops_remove_role(a, DBQ_GROUP_DELETE, p, "group.remove", tenant, NULL, group,
	    changed, e);
}

int
ops_revoke_grant(struct admin *a, const char *jti, int *known, struct err *e)
{
	char		 ttl[16];
	const char	*p[3] = { jti, ttl, a->actor };
	PGconn		*c;
	json_t		*row = NULL, *d;
	int		 rc;

	if (jti == NULL || *jti == '\0' || strlen(jti) > 128)
		return err_set(e, 400, "bad_jti", "a grant id (jti) is 1 to 128 characters");
	snprintf(ttl, sizeof ttl, "%d", a->cfg.grant_ttl);
	if ((c = ops_begin(a, e)) == NULL)
		return -1;
	if ((rc = db_one(c, DBQ_GRANT, p, &row, e)) == -1)
		return ops_fail(c);
	if (known != NULL)
		*known = rc;
	if (db_exec(c, DBQ_REVOKE_JTI, p, NULL, e) == -1) {
		json_decref(row);
		return ops_fail(c);
	}
	d = json_pack("{s:s}", "by", "jti");
	if (row != NULL)
		json_object_set(d, "user", json_object_get(row, "user"));
	rc = ops_finish(a, c, "grant.revoke", row != NULL ?
	    json_string_value(json_object_get(row, "tenant")) : NULL, jti, d, e);
	json_decref(row);
	return rc;
}

int
ops_revoke_user(struct admin *a, const char *given, struct err *e)
{
	char		 email[EMAIL_MAX + 1];
	const char	*p[2] = { email, a->actor };
	PGconn		*c;

	if (ops_email_canon(a, given, email, e) == -1)
		return -1;
	if ((c = ops_begin(a, e)) == NULL)
		return -1;
	if (db_exec(c, DBQ_REVOKE_USER, p, NULL, e) == -1)
		return ops_fail(c);
	return ops_finish(a, c, "grant.revoke", NULL, email, json_pack("{s:s}", "by", "user"),
	    e);
}
