/* tenant list: every tenant with its status, integrations and key versions. */
#include <jansson.h>

#include "admin.h"
#include "cmd.h"
#include "db.h"
#include "out.h"

static const struct out_col cmd_tenant_list_cols[] = {
	{ "tenant", "TENANT", 0, 0 },
	{ "status", "STATUS", 0, 0 },
	{ "name", "NAME", 0, 24 },
	{ "integrations", "INTEGRATIONS (KEY VERSION)", 0, 32 },
	{ "members", "MEMBERS", OUT_RIGHT, 0 },
	{ "last_rotated_at", "LAST ROTATION", OUT_TIME, 0 },
	{ NULL, NULL, 0, 0 },
};

static int
cmd_tenant_list_exec(struct admin *a, struct cmd_args *args, struct err *e)
{
	PGconn	*c;
	json_t	*rows;

	(void)args;
	if ((c = admin_db(a, e)) == NULL || (rows = db_select(c, DBQ_TENANTS, NULL, e)) == NULL)
		return CMD_FAIL;
	out_rows(a->out, a->json, rows, cmd_tenant_list_cols);
	json_decref(rows);
	return CMD_OK;
}

const struct cmd_entry cmd_tenant_list_entry = {
	"tenant list", NULL, "",
	"List tenants with status, integrations, key versions and last rotation",
	NULL, NULL, 0, 0, CMD_F_JSON, cmd_tenant_list_exec,
};
