/* grant list: grants brokers issued that have not expired or been revoked. */
#include <stdio.h>

#include <jansson.h>

#include "admin.h"
#include "cmd.h"
#include "db.h"
#include "email.h"
#include "err.h"
#include "ops.h"
#include "out.h"

static const struct cmd_opt cmd_grant_list_opts[] = {
	{ "user", "EMAIL", "only this user's grants" },
	{ "tenant", "TENANT", "only grants for TENANT" },
	{ NULL, NULL, NULL },
};

static const struct out_col cmd_grant_list_cols[] = {
	{ "issued_at", "ISSUED", OUT_TIME, 0 },
	{ "user", "USER", 0, 0 },
	{ "tenant", "TENANT", 0, 0 },
	{ "role", "ROLE", 0, 0 },
	{ "expires_in", "EXPIRES IN (S)", OUT_RIGHT, 0 },
	{ "jti", "GRANT ID (JTI)", OUT_WIDE, 0 },
	{ NULL, NULL, 0, 0 },
};

static int
cmd_grant_list_exec(struct admin *a, struct cmd_args *args, struct err *e)
{
	char		 ttl[16], email[EMAIL_MAX + 1];
	const char	*user = cmd_get(args, "user");
	const char	*p[4] = { user != NULL ? email : NULL, cmd_get(args, "tenant"), ttl,
	    "1000" };
	PGconn		*c;
	json_t		*rows;

	/* Grants are audited under the canonical email: look that up. */
	if (user != NULL && ops_email_canon(a, user, email, e) == -1)
		return CMD_FAIL;
	snprintf(ttl, sizeof ttl, "%d", a->cfg.grant_ttl);
	if (ops_tenant_known(a, p[1], e) == -1)
		return CMD_FAIL;
	if ((c = admin_db(a, e)) == NULL || (rows = db_select(c, DBQ_GRANTS, p, e)) == NULL)
		return CMD_FAIL;
	out_rows(a->out, a->json, rows, cmd_grant_list_cols);
	json_decref(rows);
	return CMD_OK;
}

const struct cmd_entry cmd_grant_list_entry = {
	"grant list", NULL, "",
	"List active grants (issued within the grant TTL, not revoked), newest first",
	"Grants are read from the brokers' grant.issue audit rows; no token is stored.",
	cmd_grant_list_opts, 0, 0, CMD_F_JSON, cmd_grant_list_exec,
};
