/* group remove: drop an IdP group mapping. */
#include "admin.h"
#include "cmd.h"
#include "err.h"
#include "ops.h"
#include "out.h"

static int
cmd_group_remove_exec(struct admin *a, struct cmd_args *args, struct err *e)
{
	int rc, changed;

	if ((rc = cmd_confirm(a, "removed", "removing", e,
	    "Remove the mapping of group %s to tenant %s?", args->argv[0],
	    args->argv[1])) != CMD_OK)
		return rc;
	if (ops_group_remove(a, args->argv[0], args->argv[1], &changed, e) == -1)
		return CMD_FAIL;
	if (changed)
		out_printf(a->out, "group %s no longer maps to %s\n", args->argv[0],
		    args->argv[1]);
	else
		out_note(a->out, "group %s is not mapped to %s: nothing to do\n",
		    args->argv[0], args->argv[1]);
	return CMD_OK;
}

const struct cmd_entry cmd_group_remove_entry = {
	"group remove", NULL, "GROUP TENANT",
	"Remove an IdP group mapping (asks first)",
	NULL, NULL, 2, 2, CMD_F_CONFIRM, cmd_group_remove_exec,
};
