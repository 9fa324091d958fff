/* member remove: take a user out of a tenant. */
#include "admin.h"
#include "cmd.h"
#include "err.h"
#include "ops.h"
#include "out.h"

static int
cmd_member_remove_exec(struct admin *a, struct cmd_args *args, struct err *e)
{
	int rc, changed;

	if ((rc = cmd_confirm(a, "removed", "removing", e, "Remove %s from tenant %s?",
	    args->argv[0], args->argv[1])) != CMD_OK)
		return rc;
	if (ops_member_remove(a, args->argv[0], args->argv[1], &changed, e) == -1)
		return CMD_FAIL;
	if (changed)
		out_printf(a->out, "%s removed from %s\n", args->argv[0], args->argv[1]);
	else
		out_note(a->out, "%s is not a member of %s: nothing to do\n", args->argv[0],
		    args->argv[1]);
	return CMD_OK;
}

const struct cmd_entry cmd_member_remove_entry = {
	"member remove", NULL, "USER TENANT",
	"Remove a user from a tenant (asks first)",
	"Every forwarder drops the user's cached grants and credentials for that tenant "
	"within a second (the change feed); the next call is refused. `grant revoke "
	"--user` also refuses the user's existing tokens.",
	NULL, 2, 2, CMD_F_CONFIRM, cmd_member_remove_exec,
};
