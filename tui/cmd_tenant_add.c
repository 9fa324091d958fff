/* tenant add: a bare tenant row (onboard sets up one completely). */
#include <jansson.h>

#include "admin.h"
#include "cmd.h"
#include "ops.h"
#include "out.h"

static const struct cmd_opt cmd_tenant_add_opts[] = {
	{ "name", "NAME", "display name (default: the slug)" },
	{ NULL, NULL, NULL },
};

static int
cmd_tenant_add_exec(struct admin *a, struct cmd_args *args, struct err *e)
{
	int changed;

	if (ops_tenant_add(a, args->argv[0], cmd_get(args, "name"), &changed, e) == -1)
		return CMD_FAIL;
	if (changed)
		out_printf(a->out, "tenant %s added\n", args->argv[0]);
	else
		out_note(a->out, "tenant %s already exists: nothing was changed\n",
		    args->argv[0]);
	return CMD_OK;
}

const struct cmd_entry cmd_tenant_add_entry = {
	"tenant add", NULL, "TENANT",
	"Add a tenant row without integrations (`onboard` sets a tenant up completely)",
	"TENANT is a slug: 2 to 31 characters a-z, 0-9 and '-', starting with a letter.",
	cmd_tenant_add_opts, 1, 1, 0, cmd_tenant_add_exec,
};
