/* console: the full-screen console (also what no command at all starts). */
#include "admin.h"
#include "cmd.h"
#include "console.h"
#include "err.h"

static int
cmd_console_exec(struct admin *a, struct cmd_args *args, struct err *e)
{
	(void)args;
	return console_run(a, e) == -1 ? CMD_FAIL : CMD_OK;
}

const struct cmd_entry cmd_console_entry = {
	"console", NULL, "",
	"Start the full-screen console (the default on a terminal)",
	"Screens: 1 Tenants, 2 Users, 3 Keys, 4 Onboard, 5 Grants, 6 Audit; `?` lists "
	"the keys, `:` runs any command here.",
	NULL, 0, 0, CMD_F_NOCONSOLE, cmd_console_exec,
};
