/*
 * scr_tenants: the Tenants screen. The list (status, integrations with
 * key versions, last rotation) above, the selected tenant's integrations
 * and IdP group mappings below; disable, enable, map and unmap groups.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "admin.h"
#include "console.h"
#include "db.h"
#include "dialog.h"
#include "err.h"
#include "ops.h"
#include "out.h"

struct scr_tenants {
	json_t		*rows;
	json_t		*ints;		/* of the selected tenant */
	json_t		*groups;
	struct list	 l;
};

static const char *const scr_tenants_roles[] = { "viewer", "editor", "admin" };

static struct scr_tenants *
scr_tenants_state(struct console *c)
{
	if (c->state[SCR_TENANTS] == NULL)
		c->state[SCR_TENANTS] = calloc(1, sizeof(struct scr_tenants));
	return c->state[SCR_TENANTS];
}

static const char *
scr_tenants_selected(struct scr_tenants *t)
{
	return json_string_value(json_object_get(json_array_get(t->rows, (size_t)t->l.sel),
	    "tenant"));
}

static void
scr_tenants_detail(struct console *c, struct scr_tenants *t)
{
	const char	*p[1] = { scr_tenants_selected(t) };
	struct err	 e;
	PGconn		*db;

	json_decref(t->ints);
	json_decref(t->groups);
	t->ints = t->groups = NULL;
	if (p[0] == NULL)
		return;
	err_clear(&e);
	if ((db = admin_db(c->a, &e)) == NULL ||
	    (t->ints = db_select(db, DBQ_INTEGRATIONS, p, &e)) == NULL ||
	    (t->groups = db_select(db, DBQ_GROUPS, p, &e)) == NULL)
		console_load_failed(c, SCR_TENANTS, &e);
}

static void
scr_tenants_load(struct console *c)
{
	struct scr_tenants	*t = scr_tenants_state(c);
	struct err		 e;
	PGconn			*db;

	if (t == NULL)
		return;
	err_clear(&e);
	json_decref(t->rows);
	if ((db = admin_db(c->a, &e)) == NULL ||
	    (t->rows = db_select(db, DBQ_TENANTS, NULL, &e)) == NULL) {
		console_load_failed(c, SCR_TENANTS, &e);
		t->rows = json_array();
	}
	list_set(&t->l, (int)json_array_size(t->rows));
	scr_tenants_detail(c, t);
}

static void
scr_tenants_draw(struct console *c, int y, int h, int w)
{
	struct scr_tenants	*t = c->state[SCR_TENANTS];
	int			 wide[5] = { 12, 8, 0, 24, 16 };
	const char		*hdr[5] = { "TENANT", "STATUS", "NAME", "INTEGRATIONS",
				    "LAST ROTATION" };
	char			 ints[256], rot[32];
	const char		*cells[5];
	int			 lh, i, row;
	json_t			*r, *x;
	size_t			 k;

	if (t == NULL)
		return;
	if (w < 72)
		wide[3] = 18;
	lh = t->l.n + 1 < h / 2 ? t->l.n + 1 : h / 2;
	if (lh < 2)
		lh = 2;
	ui_row(y, 0, w, UI_HEADER, 5, wide, hdr);
	list_fit(&t->l, lh - 1);
	for (i = 0; i < lh - 1; i++) {
		row = t->l.top + i;
		if ((r = json_array_get(t->rows, (size_t)row)) == NULL)
			break;
		out_cell(json_object_get(r, "integrations"), 0, ints, sizeof ints);
		out_cell(json_object_get(r, "last_rotated_at"), OUT_TIME, rot, sizeof rot);
		cells[0] = json_string_value(json_object_get(r, "tenant"));
		cells[1] = json_string_value(json_object_get(r, "status"));
		cells[2] = json_string_value(json_object_get(r, "name"));
		cells[3] = ints;
		cells[4] = rot;
		ui_row(y + 1 + i, 0, w, row == t->l.sel ? UI_SELECTED :
		    strcmp(cells[1], "active") != 0 ? UI_DIM : UI_NORMAL, 5, wide, cells);
	}
	if (t->l.n == 0)
		console_empty(c, SCR_TENANTS, y + 1, 1, w - 1, "no tenants yet: onboard one (4)");

	/* The selected tenant, below. */
	y += lh + 1;
	h -= lh + 1;
	if ((r = json_array_get(t->rows, (size_t)t->l.sel)) == NULL || h < 2)
		return;
	ui_putf(y++, 0, w, UI_HEADER, 1, "%s: %s, %lld member(s), %lld group mapping(s)",
	    json_string_value(json_object_get(r, "tenant")),
	    json_string_value(json_object_get(r, "status")),
	    (long long)json_integer_value(json_object_get(r, "members")),
	    (long long)json_integer_value(json_object_get(r, "groups")));
	h--;
	json_array_foreach(t->ints, k, x) {
		if (h <= 0)
			break;
		out_cell(json_object_get(x, "rotated_at"), OUT_TIME, rot, sizeof rot);
		ui_putf(y++, 1, w - 1, UI_NORMAL, 0, "%-11s key v%-3lld rotated %s by %s  %s",
		    json_string_value(json_object_get(x, "integration")),
		    (long long)json_integer_value(json_object_get(x, "cred_version")), rot,
		    json_string_value(json_object_get(x, "rotated_by")) != NULL ?
		    json_string_value(json_object_get(x, "rotated_by")) : "-",
		    json_string_value(json_object_get(x, "base_url")));
		h--;
	}
	json_array_foreach(t->groups, k, x) {
		if (h <= 0)
			break;
		ui_putf(y++, 1, w - 1, UI_NORMAL, 0, "group %s -> %s",
		    json_string_value(json_object_get(x, "group")),
		    json_string_value(json_object_get(x, "role")));
		h--;
	}
}

static void
scr_tenants_status(struct console *c, struct scr_tenants *t, int enable)
{
	const char	*tenant = scr_tenants_selected(t);
	char		 q[200];
	struct err	 e;
	int		 changed;

	if (tenant == NULL)
		return;
	if (!enable) {
		snprintf(q, sizeof q, "Disable tenant %s? Nobody gets grants for it until "
		    "it is enabled again.", tenant);
		if (!dialog_confirm(c, q)) {
			console_msg(c, UI_DIM, "not disabled");
			return;
		}
	}
	err_clear(&e);
	if (ops_tenant_set_status(c->a, tenant, enable, &changed, &e) == -1) {
		console_err(c, &e);
		return;
	}
	console_msg(c, UI_OK, "tenant %s %s%s", tenant, changed ? "" : "was already ",
	    enable ? "enabled" : "disabled");
	/* the console reloads the screen (keymap_changes()) */
}

static void
scr_tenants_group_add(struct console *c, struct scr_tenants *t)
{
	const char	*tenant = scr_tenants_selected(t);
	char		 group[257] = "", old[OPS_ROLE_MAX], prompt[128];
	struct err	 e;
	int		 r, changed;

	if (tenant == NULL)
		return;
	snprintf(prompt, sizeof prompt, "IdP group to map to %s:", tenant);
	if (dialog_input(c, prompt, group, sizeof group) == -1 || group[0] == '\0')
		return;
	if ((r = dialog_choose(c, "Role for the group", scr_tenants_roles, 3, 0)) == -1)
		return;
	err_clear(&e);
	if (ops_group_add(c->a, group, tenant, scr_tenants_roles[r], old, &changed,
	    &e) == -1) {
		console_err(c, &e);
		return;
	}
	console_msg(c, UI_OK, "group %s %s %s in %s", group, changed ? "now gives" :
	    "already gives", scr_tenants_roles[r], tenant);
	/* the console reloads the screen (keymap_changes()) */
}

static void
scr_tenants_group_remove(struct console *c, struct scr_tenants *t)
{
	const char	*tenant = scr_tenants_selected(t), **items;
	char		 q[400], group[257];
	struct err	 e;
	int		 n, r;

	if (tenant == NULL || (items = dialog_items(t->groups, "group", &n)) == NULL)
		return;
	if (n == 0) {
		free(items);
		console_msg(c, UI_DIM, "%s has no group mappings", tenant);
		return;
	}
	r = dialog_choose(c, "Unmap which group?", items, n, 0);
	if (r >= 0)
		snprintf(group, sizeof group, "%s", items[r]);
	free(items);
	if (r == -1)
		return;
	snprintf(q, sizeof q, "Remove the mapping of group %s to tenant %s?", group,
	    tenant);
	if (!dialog_confirm(c, q)) {
		console_msg(c, UI_DIM, "not removed");
		return;
	}
	err_clear(&e);
	if (ops_group_remove(c->a, group, tenant, NULL, &e) == -1) {
		console_err(c, &e);
		return;
	}
	console_msg(c, UI_OK, "group %s no longer maps to %s", group, tenant);
	/* the console reloads the screen (keymap_changes()) */
}

static int
scr_tenants_act(struct console *c, enum action a)
{
	struct scr_tenants *t = c->state[SCR_TENANTS];

	if (t == NULL)
		return 0;
	switch (a) {
	case ACT_DISABLE:
		scr_tenants_status(c, t, 0);
		return 1;
	case ACT_ENABLE:
		scr_tenants_status(c, t, 1);
		return 1;
	case ACT_GROUP_ADD:
		scr_tenants_group_add(c, t);
		return 1;
	case ACT_GROUP_REMOVE:
		scr_tenants_group_remove(c, t);
		return 1;
	default:
		if (list_act(&t->l, a, ui_lines() / 2)) {
			scr_tenants_detail(c, t);
			return 1;
		}
		return a >= ACT_UP && a <= ACT_END;
	}
}

static void
scr_tenants_free(struct console *c)
{
	struct scr_tenants *t = c->state[SCR_TENANTS];

	json_decref(t->rows);
	json_decref(t->ints);
	json_decref(t->groups);
	free(t);
	c->state[SCR_TENANTS] = NULL;
}

const struct screen scr_tenants = {
	scr_tenants_load, scr_tenants_draw, scr_tenants_act, NULL, scr_tenants_free,
};
