/*
 * auditsql: the audit_log insert shared by the broker and the admin, and
 * its parameters. Each program runs it through its own connection code.
 */
#include <stddef.h>

#include "auditsql.h"

/* The two branches differ only in db_user; a detail that is not an
 * object is stored as given, as both programs always did. */
const char auditsql_insert[] =
    "INSERT INTO audit_log (actor, action, tenant_id, subject, detail) "
    "VALUES ($1, $2, $3, $4, CASE WHEN $6::boolean"
    " THEN coalesce($5::jsonb, '{}'::jsonb)"
    "  || jsonb_build_object('db_user', current_user::text)"
    " ELSE coalesce($5::jsonb, '{}'::jsonb) END)";

void
auditsql_params(const char *p[AUDITSQL_NPARAMS], const char *actor,
    const char *action, const char *tenant, const char *subject,
    const char *detail_json, int db_user)
{
	p[0] = actor;
	p[1] = action;
	p[2] = tenant;
	p[3] = subject;
	p[4] = detail_json;
	p[5] = db_user ? "true" : "false";
}
