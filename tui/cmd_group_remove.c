/* group remove: drop an IdP group mapping. */
#include "admin.h"
#include "cmd.h"
#include "err.h"
#include "ops.h"
#include "out.h"

static int
cmd_group_remove_exec(struct admin *a, struct cmd_args *args, struct err *e)
{
	switch (admin_confirm(a, "Remove the mapping of group %s to tenant %s?",
	    args->argv[0], args->argv[1])) {
	case 0:
		err_set(e, 400, "cancelled", "not removed");
		return CMD_FAIL;
	case -1:
		err_set(e, 400, "usage", "removing needs confirmation: give --yes");
		return CMD_USAGE;
	}
	if (ops_group_remove(a, args->argv[0], args->argv[1], e) == -1)
		return CMD_FAIL;
	out_printf(a->out, "group %s no longer maps to %s\n", args->argv[0], args->argv[1]);
	return CMD_OK;
}

const struct cmd_entry cmd_group_remove_entry = {
	"group remove", NULL, "GROUP TENANT",
	"Remove an IdP group mapping (asks first)",
	NULL, NULL, 2, 2, CMD_F_CONFIRM, cmd_group_remove_exec,
};
