/* tenant enable: undo tenant disable. */
#include "admin.h"
#include "cmd.h"
#include "ops.h"
#include "out.h"

static int
cmd_tenant_enable_exec(struct admin *a, struct cmd_args *args, struct err *e)
{
	int changed;

	if (ops_tenant_set_status(a, args->argv[0], 1, &changed, e) == -1)
		return CMD_FAIL;
	out_printf(a->out, changed ? "tenant %s enabled\n" : "tenant %s was already "
	    "enabled\n", args->argv[0]);
	return CMD_OK;
}

const struct cmd_entry cmd_tenant_enable_entry = {
	"tenant enable", NULL, "TENANT",
	"Enable a disabled tenant again",
	NULL, NULL, 1, 1, 0, cmd_tenant_enable_exec,
};
