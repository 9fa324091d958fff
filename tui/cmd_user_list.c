/* user list: users, searched by email or name, optionally of one tenant. */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "admin.h"
#include "cmd.h"
#include "db.h"
#include "err.h"
#include "ops.h"
#include "out.h"

static const struct cmd_opt cmd_user_list_opts[] = {
	{ "search", "TEXT", "only users whose email or name contains TEXT" },
	{ "tenant", "TENANT", "only members of TENANT" },
	{ "limit", "N", "at most N users (default 100)" },
	{ NULL, NULL, NULL },
};

static const struct out_col cmd_user_list_cols[] = {
	{ "email", "EMAIL", 0, 0 },
	{ "name", "NAME", 0, 30 },
	{ "status", "STATUS", 0, 0 },
	{ "tenants", "TENANTS", OUT_RIGHT, 0 },
	{ NULL, NULL, 0, 0 },
};

static int
cmd_user_list_exec(struct admin *a, struct cmd_args *args, struct err *e)
{
	const char	*lim = cmd_get(args, "limit");
	char		*like = db_like(cmd_get(args, "search"));
	char		 limit[16];
	const char	*p[4] = { like, cmd_get(args, "tenant"), limit, "0" };
	PGconn		*c;
	json_t		*rows;
	long		 n = lim != NULL ? strtol(lim, NULL, 10) : 100;

	if (n < 1 || n > 100000) {
		free(like);
		err_set(e, 400, "usage", "--limit is 1 to 100000");
		return CMD_USAGE;
	}
	snprintf(limit, sizeof limit, "%ld", n);
	if (ops_tenant_known(a, p[1], e) == -1) {
		free(like);
		return CMD_FAIL;
	}
	if ((c = admin_db(a, e)) == NULL || (rows = db_select(c, DBQ_USERS, p, e)) == NULL) {
		free(like);
		return CMD_FAIL;
	}
	free(like);
	out_rows(a->out, a->json, rows, cmd_user_list_cols);
	if (!a->json && json_array_size(rows) > 0 && json_integer_value(json_object_get(
	    json_array_get(rows, 0), "total")) > (json_int_t)json_array_size(rows))
		out_note(a->out, "(%zu of %lld shown; use --limit or --search)\n",
		    json_array_size(rows), (long long)json_integer_value(json_object_get(
		    json_array_get(rows, 0), "total")));
	json_decref(rows);
	return CMD_OK;
}

const struct cmd_entry cmd_user_list_entry = {
	"user list", NULL, "",
	"List users, optionally searched or of one tenant",
	NULL, cmd_user_list_opts, 0, 0, CMD_F_JSON, cmd_user_list_exec,
};
