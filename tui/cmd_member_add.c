/* member add: give a user a role in a tenant (or change it). */
#include "admin.h"
#include "cmd.h"
#include "ops.h"
#include "out.h"

static const struct cmd_opt cmd_member_add_opts[] = {
	{ "role", "ROLE", "viewer, editor or admin (default viewer)" },
	{ NULL, NULL, NULL },
};

static int
cmd_member_add_exec(struct admin *a, struct cmd_args *args, struct err *e)
{
	const char	*role = cmd_get(args, "role");
	char		 old[OPS_ROLE_MAX];
	int		 changed;

	if (role == NULL)
		role = "viewer";
	if (ops_member_add(a, args->argv[0], args->argv[1], role, old, &changed, e) == -1)
		return CMD_FAIL;
	if (!changed)
		out_printf(a->out, "%s already is %s in %s\n", args->argv[0], role,
		    args->argv[1]);
	else if (old[0] != '\0')
		out_printf(a->out, "%s is now %s in %s (was %s)\n", args->argv[0], role,
		    args->argv[1], old);
	else
		out_printf(a->out, "%s added to %s as %s\n", args->argv[0], args->argv[1], role);
	return CMD_OK;
}

const struct cmd_entry cmd_member_add_entry = {
	"member add", NULL, "USER TENANT",
	"Give a user a role in a tenant, or change their role",
	"Every broker and forwarder learns of the change within a second (the change "
	"feed): the user's next call uses the new role.",
	cmd_member_add_opts, 2, 2, 0, cmd_member_add_exec,
};
