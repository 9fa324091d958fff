/* key status: per integration, the key version the database records next
 * to the one Vault holds, and who rotated it when. */
#include <jansson.h>

#include "admin.h"
#include "cmd.h"
#include "db.h"
#include "ops.h"
#include "out.h"
#include "rotate.h"

static const struct cmd_opt cmd_key_status_opts[] = {
	{ "no-vault", NULL, "do not ask Vault (database versions only)" },
	{ NULL, NULL, NULL },
};

static const struct out_col cmd_key_status_cols[] = {
	{ "tenant", "TENANT", 0, 0 },
	{ "integration", "INTEGRATION", 0, 0 },
	{ "kind", "KIND", 0, 0 },
	{ "cred_version", "DB VERSION", OUT_RIGHT, 0 },
	{ "vault_version", "VAULT VERSION", OUT_RIGHT, 0 },
	{ "rotated_at", "ROTATED", OUT_TIME, 0 },
	{ "rotated_by", "BY", 0, 20 },
	{ "days_left", "DAYS LEFT", OUT_RIGHT, 0 },
	{ "state", "STATE", OUT_WIDE, 0 },
	{ NULL, NULL, 0, 0 },
};

static int
cmd_key_status_exec(struct admin *a, struct cmd_args *args, struct err *e)
{
	const char	*p[1] = { args->argc > 0 ? args->argv[0] : NULL };
	PGconn		*c;
	json_t		*rows;

	if (ops_tenant_known(a, p[0], e) == -1)
		return CMD_FAIL;
	if ((c = admin_db(a, e)) == NULL ||
	    (rows = db_select(c, DBQ_INTEGRATIONS, p, e)) == NULL)
		return CMD_FAIL;
	if (cmd_get(args, "no-vault") == NULL)
		rotate_status(a, rows);
	out_rows(a->out, a->json, rows, cmd_key_status_cols);
	json_decref(rows);
	return CMD_OK;
}

const struct cmd_entry cmd_key_status_entry = {
	"key status", NULL, "[TENANT]",
	"Show key versions per integration: recorded, in Vault, rotated when and by whom",
	"A tenant whose keys your Vault token may not read shows \"vault denied\". "
	"DAYS LEFT counts down to the expiry stored with the current key (`key "
	"rotate --expires`); STATE warns from 30 days on and says EXPIRED after.",
	cmd_key_status_opts, 0, 1, CMD_F_JSON, cmd_key_status_exec,
};
