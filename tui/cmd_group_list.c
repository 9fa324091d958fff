/* group list: IdP group -> tenant role mappings. */
#include <jansson.h>

#include "admin.h"
#include "cmd.h"
#include "db.h"
#include "ops.h"
#include "out.h"

static const struct cmd_opt cmd_group_list_opts[] = {
	{ "tenant", "TENANT", "only mappings to TENANT" },
	{ NULL, NULL, NULL },
};

static const struct out_col cmd_group_list_cols[] = {
	{ "group", "IDP GROUP", 0, 0 },
	{ "tenant", "TENANT", 0, 0 },
	{ "role", "ROLE", 0, 0 },
	{ NULL, NULL, 0, 0 },
};

static int
cmd_group_list_exec(struct admin *a, struct cmd_args *args, struct err *e)
{
	const char	*p[1] = { cmd_get(args, "tenant") };
	PGconn		*c;
	json_t		*rows;

	if (ops_tenant_known(a, p[0], e) == -1)
		return CMD_FAIL;
	if ((c = admin_db(a, e)) == NULL || (rows = db_select(c, DBQ_GROUPS, p, e)) == NULL)
		return CMD_FAIL;
	out_rows(a->out, a->json, rows, cmd_group_list_cols);
	json_decref(rows);
	return CMD_OK;
}

const struct cmd_entry cmd_group_list_entry = {
	"group list", NULL, "",
	"List IdP group mappings (group -> tenant, role)",
	NULL, cmd_group_list_opts, 0, 0, CMD_F_JSON, cmd_group_list_exec,
};
