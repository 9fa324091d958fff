/* audit: the audit log, newest first, filtered. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <jansson.h>

#include "admin.h"
#include "cmd.h"
#include "db.h"
#include "err.h"
#include "out.h"
#include "text.h"

static const struct cmd_opt cmd_audit_opts[] = {
	{ "tenant", "TENANT", "only rows about TENANT" },
	{ "actor", "ACTOR", "only rows by ACTOR (an operator or a user's email)" },
	{ "action", "PREFIX", "only actions starting with PREFIX (key., member., grant.)" },
	{ "since", "WHEN", "only newer rows: 30m, 2h, 7d, or a date/time" },
	{ "grep", "TEXT", "only rows mentioning TEXT anywhere" },
	{ "exclude", "PREFIX", "leave out actions starting with PREFIX (e.g. grant.)" },
	{ "limit", "N", "at most N rows (default 50)" },
	{ NULL, NULL, NULL },
};

static const struct out_col cmd_audit_cols[] = {
	{ "at", "TIME (UTC)", OUT_TIME, 0 },
	{ "actor", "ACTOR", 0, 24 },
	{ "action", "ACTION", 0, 0 },
	{ "tenant", "TENANT", 0, 0 },
	{ "subject", "SUBJECT", 0, 30 },
	{ "detail", "DETAIL", OUT_WIDE, 0 },
	{ NULL, NULL, 0, 0 },
};

static int
cmd_audit_exec(struct admin *a, struct cmd_args *args, struct err *e)
{
	const char	*since = cmd_get(args, "since"), *lim = cmd_get(args, "limit");
	char		 when[64], limit[16];
	const char	*p[8] = { cmd_get(args, "tenant"), cmd_get(args, "actor"),
			    cmd_get(args, "action"), NULL, cmd_get(args, "grep"), limit, "0",
			    cmd_get(args, "exclude") };
	long		 n = lim != NULL ? strtol(lim, NULL, 10) : 50;
	PGconn		*c;
	json_t		*rows;

	if (n < 1 || n > 100000) {
		err_set(e, 400, "usage", "--limit is 1 to 100000");
		return CMD_USAGE;
	}
	snprintf(limit, sizeof limit, "%ld", n);
	if (since != NULL) {
		if (text_since(since, time(NULL), when, sizeof when) == -1) {
			err_set(e, 400, "usage", "--since takes a duration (30m, 2h, 7d) or a "
			    "date (2026-01-31, 2026-01-31T14:00Z)");
			return CMD_USAGE;
		}
		p[3] = when;
	}
	if ((c = admin_db(a, e)) == NULL || (rows = db_select(c, DBQ_AUDIT, p, e)) == NULL)
		return CMD_FAIL;
	out_rows(a->out, a->json, rows, cmd_audit_cols);
	json_decref(rows);
	return CMD_OK;
}

const struct cmd_entry cmd_audit_entry = {
	"audit", "log", "",
	"Show the audit log, newest first, filtered by tenant, actor, action or time",
	"The log is append-only and never holds a secret.",
	cmd_audit_opts, 0, 0, CMD_F_JSON, cmd_audit_exec,
};
