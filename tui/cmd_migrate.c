/* migrate: bring the database schema up to date (tui/migrate.h). */
#include "admin.h"
#include "cmd.h"
#include "err.h"
#include "migrate.h"
#include "out.h"

static const struct cmd_opt cmd_migrate_opts[] = {
	{ "dir", "DIR", "migrations directory (default: the migrations_dir setting, "
	  "else migrations/ in the data directory)" },
	{ "status", NULL, "only print the database's and the files' versions" },
	{ NULL, NULL, NULL },
};

static int
cmd_migrate_exec(struct admin *a, struct cmd_args *args, struct err *e)
{
	char		 buf[1024];
	const char	*dir = cmd_get(args, "dir");
	PGconn		*c;
	int		 applied = 0, dbv, codev;

	if (dir == NULL && (dir = admin_data_path(a->cfg.migrations_dir, "migrations", buf,
	    sizeof buf)) == NULL) {
		err_set(e, 400, "usage", "no migrations directory found: give --dir");
		return CMD_USAGE;
	}
	if ((c = admin_db(a, e)) == NULL)
		return CMD_FAIL;
	if (cmd_get(args, "status") == NULL && migrate_apply(c, dir, &applied, e) == -1)
		return CMD_FAIL;
	if (migrate_status(c, dir, &dbv, &codev, e) == -1)
		return CMD_FAIL;
	if (cmd_get(args, "status") != NULL)
		out_printf(a->out, "database at version %d, %s at version %d%s\n", dbv, dir,
		    codev, dbv == codev ? "" : " (run migrate)");
	else
		out_printf(a->out, "applied %d migration(s); the database is at version %d\n",
		    applied, dbv);
	return CMD_OK;
}

const struct cmd_entry cmd_migrate_entry = {
	"migrate", NULL, "",
	"Apply the SQL migrations the database lacks",
	"Each file runs in its own transaction under an advisory lock, so running it "
	"from several places at once is safe.",
	cmd_migrate_opts, 0, 0, CMD_F_NOCONSOLE, cmd_migrate_exec,
};
