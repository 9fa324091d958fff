/* group add: members of an IdP group get a role in a tenant. */
#include "admin.h"
#include "cmd.h"
#include "ops.h"
#include "out.h"

static const struct cmd_opt cmd_group_add_opts[] = {
	{ "role", "ROLE", "viewer, editor or admin (default viewer)" },
	{ NULL, NULL, NULL },
};

static int
cmd_group_add_exec(struct admin *a, struct cmd_args *args, struct err *e)
{
	const char	*role = cmd_get(args, "role");
	char		 old[OPS_ROLE_MAX];
	int		 changed;

	if (role == NULL)
		role = "viewer";
	if (ops_group_add(a, args->argv[0], args->argv[1], role, old, &changed, e) == -1)
		return CMD_FAIL;
	if (!changed)
		out_printf(a->out, "group %s already gives %s in %s\n", args->argv[0], role,
		    args->argv[1]);
	else
		out_printf(a->out, "group %s now gives %s in %s%s%s%s\n", args->argv[0], role,
		    args->argv[1], old[0] != '\0' ? " (was " : "", old,
		    old[0] != '\0' ? ")" : "");
	return CMD_OK;
}

const struct cmd_entry cmd_group_add_entry = {
	"group add", NULL, "GROUP TENANT",
	"Map an IdP group to a tenant with a role",
	"Users whose verified token lists GROUP in its groups claim may act in "
	"TENANT without a membership row; a membership with a higher role wins.",
	cmd_group_add_opts, 2, 2, 0, cmd_group_add_exec,
};
