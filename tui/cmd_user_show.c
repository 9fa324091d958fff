/* user show: a user and the tenants they belong to, with roles. */
#include <jansson.h>

#include "admin.h"
#include "cmd.h"
#include "db.h"
#include "email.h"
#include "err.h"
#include "ops.h"
#include "out.h"

static const struct out_col cmd_user_show_fields[] = {
	{ "email", "email", 0, 0 },
	{ "name", "name", 0, 0 },
	{ "status", "status", 0, 0 },
	{ "created_at", "created", OUT_TIME, 0 },
	{ NULL, NULL, 0, 0 },
};

static const struct out_col cmd_user_show_cols[] = {
	{ "tenant", "TENANT", 0, 0 },
	{ "role", "ROLE", 0, 0 },
	{ "tenant_status", "TENANT STATUS", 0, 0 },
	{ "granted_by", "GRANTED BY", 0, 0 },
	{ "granted_at", "GRANTED", OUT_TIME, 0 },
	{ NULL, NULL, 0, 0 },
};

static int
cmd_user_show_exec(struct admin *a, struct cmd_args *args, struct err *e)
{
	char		 email[EMAIL_MAX + 1];
	const char	*p[1] = { email };
	PGconn		*c;
	json_t		*u = NULL, *ms;

	if (ops_email_canon(a, args->argv[0], email, e) == -1 || (c = admin_db(a, e)) == NULL)
		return CMD_FAIL;
	switch (db_one(c, DBQ_USER, p, &u, e)) {
	case 0:
		err_set(e, 404, "no_user", "no user '%s'", p[0]);
		/* FALLTHROUGH */
	case -1:
		return CMD_FAIL;
	}
	if ((ms = db_select(c, DBQ_USER_TENANTS, p, e)) == NULL) {
		json_decref(u);
		return CMD_FAIL;
	}
	if (a->json) {
		json_object_set(u, "tenants", ms);
		out_json(a->out, u);
	} else {
		out_fields(a->out, u, cmd_user_show_fields);
		out_printf(a->out, "\nTenants:\n");
		out_rows(a->out, 0, ms, cmd_user_show_cols);
	}
	json_decref(ms);
	json_decref(u);
	return CMD_OK;
}

const struct cmd_entry cmd_user_show_entry = {
	"user show", NULL, "EMAIL",
	"Show a user and their tenants and roles",
	"Roles a user gets through IdP group mappings are not listed here: see "
	"`group list`.",
	NULL, 1, 1, CMD_F_JSON, cmd_user_show_exec,
};
