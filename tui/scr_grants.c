/*
 * scr_grants: the Grants screen. Grants the brokers issued within the
 * grant TTL and not revoked (from their grant.issue audit rows), filtered
 * by user or tenant; revoke one, or every grant of its user.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "admin.h"
#include "console.h"
#include "db.h"
#include "dialog.h"
#include "err.h"
#include "ops.h"
#include "out.h"

struct scr_grants {
	char		 filter[128];
	json_t		*all;
	json_t		*rows;		/* those matching the filter (borrowed) */
	struct list	 l;
};

static struct scr_grants *
scr_grants_state(struct console *c)
{
	if (c->state[SCR_GRANTS] == NULL)
		c->state[SCR_GRANTS] = calloc(1, sizeof(struct scr_grants));
	return c->state[SCR_GRANTS];
}

/* Case-insensitive substring (strcasestr() is a GNU extension). */
static int
scr_grants_has(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; hay != NULL && *hay != '\0'; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return 1;
	return 0;
}

static void
scr_grants_filter(struct scr_grants *g)
{
	size_t	 i;
	json_t	*r;
	const char *u, *t;

	json_decref(g->rows);
	g->rows = json_array();
	json_array_foreach(g->all, i, r) {
		u = json_string_value(json_object_get(r, "user"));
		t = json_string_value(json_object_get(r, "tenant"));
		if (g->filter[0] == '\0' || scr_grants_has(u, g->filter) ||
		    scr_grants_has(t, g->filter))
			json_array_append(g->rows, r);
	}
	list_set(&g->l, (int)json_array_size(g->rows));
}

static void
scr_grants_load(struct console *c)
{
	struct scr_grants	*g = scr_grants_state(c);
	char			 ttl[16];
	const char		*p[4] = { NULL, NULL, ttl, "2000" };
	struct err		 e;
	PGconn			*db;

	if (g == NULL)
		return;
	snprintf(ttl, sizeof ttl, "%d", c->a->cfg.grant_ttl);
	err_clear(&e);
	json_decref(g->all);
	if ((db = admin_db(c->a, &e)) == NULL ||
	    (g->all = db_select(db, DBQ_GRANTS, p, &e)) == NULL) {
		console_load_failed(c, SCR_GRANTS, &e);
		g->all = json_array();
	}
	scr_grants_filter(g);
}

static void
scr_grants_draw(struct console *c, int y, int h, int w)
{
	struct scr_grants	*g = c->state[SCR_GRANTS];
	int			 wide[6] = { 16, 0, 10, 6, 7, 14 };
	const char		*hdr[6] = { "ISSUED (UTC)", "USER", "TENANT", "ROLE",
				    "EXPIRES", "GRANT ID" };
	const char		*cells[6];
	char			 when[32], exp[16];
	json_t			*r;
	int			 i, row;

	if (g == NULL)
		return;
	ui_putf(y, 0, w, UI_NORMAL, 1, "%zu active grant(s)%s%s%s", json_array_size(g->rows),
	    g->filter[0] != '\0' ? " matching \"" : "", g->filter,
	    g->filter[0] != '\0' ? "\"" : "   (/ filters by user or tenant)");
	ui_row(y + 1, 0, w, UI_HEADER, 6, wide, hdr);
	list_fit(&g->l, h - 2);
	for (i = 0; i < h - 2; i++) {
		row = g->l.top + i;
		if ((r = json_array_get(g->rows, (size_t)row)) == NULL)
			break;
		out_cell(json_object_get(r, "issued_at"), OUT_TIME, when, sizeof when);
		snprintf(exp, sizeof exp, "%llds", (long long)json_integer_value(
		    json_object_get(r, "expires_in")));
		cells[0] = when;
		cells[1] = json_string_value(json_object_get(r, "user"));
		cells[2] = json_string_value(json_object_get(r, "tenant"));
		cells[3] = json_string_value(json_object_get(r, "role"));
		cells[4] = exp;
		cells[5] = json_string_value(json_object_get(r, "jti"));
		ui_row(y + 2 + i, 0, w, row == g->l.sel ? UI_SELECTED : UI_NORMAL, 6, wide,
		    cells);
	}
	if (g->l.n == 0)
		console_empty(c, SCR_GRANTS, y + 2, 1, w - 1, "no active grants");
}

static void
scr_grants_revoke(struct console *c, struct scr_grants *g, int user)
{
	json_t		*r = json_array_get(g->rows, (size_t)g->l.sel);
	char		 who[256], jti[160], q[500];
	struct err	 e;
	int		 known;

	if (r == NULL) {
		console_msg(c, UI_DIM, "no grant selected");
		return;
	}
	snprintf(who, sizeof who, "%s", json_string_value(json_object_get(r, "user")));
	snprintf(jti, sizeof jti, "%s", json_string_value(json_object_get(r, "jti")));
	if (user)
		snprintf(q, sizeof q, "Revoke every grant of %s?", who);
	else
		snprintf(q, sizeof q, "Revoke grant %.12s of %s in tenant %s?", jti, who,
		    json_string_value(json_object_get(r, "tenant")));
	if (!dialog_confirm(c, q)) {
		console_msg(c, UI_DIM, "not revoked");
		return;
	}
	err_clear(&e);
	if ((user ? ops_revoke_user(c->a, who, &e) :
	    ops_revoke_grant(c->a, jti, &known, &e)) == -1) {
		console_err(c, &e);
		return;
	}
	if (user)
		console_msg(c, UI_OK, "every grant of %s is revoked", who);
	else
		console_msg(c, UI_OK, "grant %s of %s revoked", jti, who);
	/* the console reloads the screen (keymap_changes()) */
}

static int
scr_grants_act(struct console *c, enum action a)
{
	struct scr_grants *g = c->state[SCR_GRANTS];

	if (g == NULL)
		return 0;
	switch (a) {
	case ACT_SEARCH: {
		char f[sizeof g->filter];

		snprintf(f, sizeof f, "%s", g->filter);
		if (dialog_input(c, "Filter (user or tenant):", f, sizeof f) == 0) {
			snprintf(g->filter, sizeof g->filter, "%s", f);
			scr_grants_filter(g);
		}
		return 1;
	}
	case ACT_REVOKE:
		scr_grants_revoke(c, g, 0);
		return 1;
	case ACT_REVOKE_USER:
		scr_grants_revoke(c, g, 1);
		return 1;
	default:
		list_act(&g->l, a, ui_lines() - 6);
		return a >= ACT_UP && a <= ACT_END;
	}
}

static void
scr_grants_free(struct console *c)
{
	struct scr_grants *g = c->state[SCR_GRANTS];

	json_decref(g->all);
	json_decref(g->rows);
	free(g);
	c->state[SCR_GRANTS] = NULL;
}

const struct screen scr_grants = {
	scr_grants_load, scr_grants_draw, scr_grants_act, NULL, scr_grants_free,
};
