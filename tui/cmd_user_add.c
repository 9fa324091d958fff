/* user add: a user row, so memberships can name it. */
#include "admin.h"
#include "cmd.h"
#include "ops.h"
#include "out.h"

static const struct cmd_opt cmd_user_add_opts[] = {
	{ "name", "NAME", "display name" },
	{ NULL, NULL, NULL },
};

static int
cmd_user_add_exec(struct admin *a, struct cmd_args *args, struct err *e)
{
	int changed;

	if (ops_user_add(a, args->argv[0], cmd_get(args, "name"), &changed, e) == -1)
		return CMD_FAIL;
	if (changed)
		out_printf(a->out, "user %s added\n", args->argv[0]);
	else
		out_note(a->out, "user %s already exists: nothing was changed\n",
		    args->argv[0]);
	return CMD_OK;
}

const struct cmd_entry cmd_user_add_entry = {
	"user add", NULL, "EMAIL",
	"Add a user (the verified email the IdP asserts)",
	NULL, cmd_user_add_opts, 1, 1, 0, cmd_user_add_exec,
};
