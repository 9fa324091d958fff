/* tenant disable: stop every grant for a tenant (every forwarder within a second). */
#include "admin.h"
#include "cmd.h"
#include "err.h"
#include "ops.h"
#include "out.h"

static int
cmd_tenant_disable_exec(struct admin *a, struct cmd_args *args, struct err *e)
{
	const char	*t = args->argv[0];
	int		 changed, rc;

	if ((rc = cmd_confirm(a, "disabled", "disabling", e, "Disable tenant %s? Nobody gets "
	    "grants for it until it is enabled again.", t)) != CMD_OK)
		return rc;
	if (ops_tenant_set_status(a, t, 0, &changed, e) == -1)
		return CMD_FAIL;
	out_printf(a->out, changed ? "tenant %s disabled\n" : "tenant %s was already "
	    "disabled\n", t);
	return CMD_OK;
}

const struct cmd_entry cmd_tenant_disable_entry = {
	"tenant disable", NULL, "TENANT",
	"Disable a tenant: brokers stop granting it (asks first)",
	"Memberships, integrations and keys stay as they are; `tenant enable` undoes it.",
	NULL, 1, 1, CMD_F_CONFIRM, cmd_tenant_disable_exec,
};
