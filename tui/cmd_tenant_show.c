/* tenant show: one tenant with its integrations, members and group mappings. */
#include <jansson.h>

#include "admin.h"
#include "cmd.h"
#include "db.h"
#include "err.h"
#include "out.h"

static const struct out_col cmd_tenant_show_fields[] = {
	{ "tenant", "tenant", 0, 0 },
	{ "name", "name", 0, 0 },
	{ "status", "status", 0, 0 },
	{ "created_at", "created", OUT_TIME, 0 },
	{ "members", "members", 0, 0 },
	{ NULL, NULL, 0, 0 },
};

static const struct out_col cmd_tenant_show_ints[] = {
	{ "integration", "INTEGRATION", 0, 0 },
	{ "kind", "KIND", 0, 0 },
	{ "cred_version", "KEY VERSION", OUT_RIGHT, 0 },
	{ "rotated_at", "ROTATED", OUT_TIME, 0 },
	{ "rotated_by", "BY", 0, 20 },
	{ "enabled", "ENABLED", 0, 0 },
	{ "base_url", "BASE URL", OUT_WIDE, 0 },
	{ NULL, NULL, 0, 0 },
};

static const struct out_col cmd_tenant_show_members[] = {
	{ "email", "USER", 0, 0 },
	{ "role", "ROLE", 0, 0 },
	{ "granted_by", "GRANTED BY", 0, 0 },
	{ "granted_at", "GRANTED", OUT_TIME, 0 },
	{ NULL, NULL, 0, 0 },
};

static const struct out_col cmd_tenant_show_groups[] = {
	{ "group", "IDP GROUP", 0, 0 },
	{ "role", "ROLE", 0, 0 },
	{ NULL, NULL, 0, 0 },
};

static int
cmd_tenant_show_exec(struct admin *a, struct cmd_args *args, struct err *e)
{
	const char	*p[1] = { args->argv[0] };
	PGconn		*c;
	json_t		*t = NULL, *ints = NULL, *members = NULL, *groups = NULL;
	int		 rc = CMD_FAIL;

	if ((c = admin_db(a, e)) == NULL)
		return CMD_FAIL;
	switch (db_one(c, DBQ_TENANT, p, &t, e)) {
	case 0:
		err_set(e, 404, "no_tenant", "no tenant '%s'", p[0]);
		/* FALLTHROUGH */
	case -1:
		return CMD_FAIL;
	}
	if ((ints = db_select(c, DBQ_INTEGRATIONS, p, e)) == NULL ||
	    (members = db_select(c, DBQ_TENANT_MEMBERS, p, e)) == NULL ||
	    (groups = db_select(c, DBQ_GROUPS, p, e)) == NULL)
		goto out;
	if (a->json) {
		json_object_set(t, "integrations", ints);
		json_object_set(t, "member_list", members);
		json_object_set(t, "group_mappings", groups);
		out_json(a->out, t);
	} else {
		out_fields(a->out, t, cmd_tenant_show_fields);
		out_printf(a->out, "\nIntegrations:\n");
		out_rows(a->out, 0, ints, cmd_tenant_show_ints);
		out_printf(a->out, "\nMembers:\n");
		out_rows(a->out, 0, members, cmd_tenant_show_members);
		out_printf(a->out, "\nIdP group mappings:\n");
		out_rows(a->out, 0, groups, cmd_tenant_show_groups);
	}
	rc = CMD_OK;
out:
	json_decref(t);
	json_decref(ints);
	json_decref(members);
	json_decref(groups);
	return rc;
}

const struct cmd_entry cmd_tenant_show_entry = {
	"tenant show", NULL, "TENANT",
	"Show a tenant with its integrations, members and IdP group mappings",
	NULL, NULL, 1, 1, CMD_F_JSON, cmd_tenant_show_exec,
};
