/*
 * scr_users: the Users screen. Search as you type over every user (the
 * database does the matching, at most SCR_USERS_PAGE rows come back, so
 * it stays quick with tens of thousands), the selected user's tenants and
 * roles below, and adding or removing memberships.
 */
#include <curses.h>
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
#include "ui.h"

#define SCR_USERS_PAGE	"500"
#define SCR_USERS_Q	128

struct scr_users {
	char		 q[SCR_USERS_Q];
	int		 searching;
	json_t		*rows;
	json_t		*ms;		/* memberships of the selected user */
	long long	 matches;
	struct list	 l;
};

static const char *const scr_users_roles[] = { "viewer", "editor", "admin" };

static struct scr_users *
scr_users_state(struct console *c)
{
	if (c->state[SCR_USERS] == NULL)
		c->state[SCR_USERS] = calloc(1, sizeof(struct scr_users));
	return c->state[SCR_USERS];
}

static const char *
scr_users_selected(struct scr_users *u)
{
	return json_string_value(json_object_get(json_array_get(u->rows, (size_t)u->l.sel),
	    "email"));
}

static void
scr_users_detail(struct console *c, struct scr_users *u)
{
	const char	*p[1] = { scr_users_selected(u) };
	struct err	 e;
	PGconn		*db;

	json_decref(u->ms);
	u->ms = NULL;
	if (p[0] == NULL)
		return;
	err_clear(&e);
	if ((db = admin_db(c->a, &e)) == NULL ||
	    (u->ms = db_select(db, DBQ_USER_TENANTS, p, &e)) == NULL)
		console_load_failed(c, SCR_USERS, &e);
}

static void
scr_users_load(struct console *c)
{
	struct scr_users	*u = scr_users_state(c);
	char			*like;
	const char		*p[4];
	struct err		 e;
	PGconn			*db;

	if (u == NULL)
		return;
	c->load_err[SCR_USERS][0] = '\0';	/* search as you type reloads here */
	like = db_like(u->q);
	p[0] = like;
	p[1] = NULL;
	p[2] = SCR_USERS_PAGE;
	p[3] = "0";
	err_clear(&e);
	json_decref(u->rows);
	if ((db = admin_db(c->a, &e)) == NULL ||
	    (u->rows = db_select(db, DBQ_USERS, p, &e)) == NULL) {
		console_load_failed(c, SCR_USERS, &e);
		u->rows = json_array();
	}
	free(like);
	u->matches = json_integer_value(json_object_get(json_array_get(u->rows, 0), "total"));
	list_set(&u->l, (int)json_array_size(u->rows));
	scr_users_detail(c, u);
}

static void
scr_users_draw(struct console *c, int y, int h, int w)
{
	struct scr_users	*u = c->state[SCR_USERS];
	int			 wide[4] = { 0, 24, 9, 7 }, dwide[4] = { 14, 7, 0, 16 };
	const char		*hdr[4] = { "EMAIL", "NAME", "STATUS", "TENANTS" };
	const char		*dhdr[4] = { "TENANT", "ROLE", "GRANTED BY", "GRANTED" };
	const char		*cells[4];
	char			 n[16], when[32];
	int			 lh, i, x, row;
	json_t			*r;
	size_t			 k;

	if (u == NULL)
		return;
	if (w < 70)
		wide[1] = 14;
	x = ui_put(y, 0, w, u->searching ? UI_WARN : UI_NORMAL, "Search: ", 0);
	x += ui_put(y, x, w - x - 1, UI_INPUT, u->q[0] != '\0' ? u->q : "", 0);
	if (u->searching)
		x += ui_put(y, x, w - x, UI_INPUT, "_", 0);
	if (c->load_err[SCR_USERS][0] != '\0')
		ui_put(y, x + 2, w - x - 2, UI_ERROR, "search failed", 0);
	else
		ui_putf(y, x + 2, w - x - 2, UI_DIM, 0, "%lld match%s%s", u->matches,
		    u->matches == 1 ? "" : "es", (long long)json_array_size(u->rows) <
		    u->matches ? " (first " SCR_USERS_PAGE " shown)" : u->searching ? "" :
		    "   / to search");
	y++;
	h--;
	lh = (h * 3) / 5;
	if (lh < 3)
		lh = 3;
	ui_row(y, 0, w, UI_HEADER, 4, wide, hdr);
	list_fit(&u->l, lh - 1);
	for (i = 0; i < lh - 1; i++) {
		row = u->l.top + i;
		if ((r = json_array_get(u->rows, (size_t)row)) == NULL)
			break;
		snprintf(n, sizeof n, "%lld", (long long)json_integer_value(json_object_get(r,
		    "tenants")));
		cells[0] = json_string_value(json_object_get(r, "email"));
		cells[1] = json_string_value(json_object_get(r, "name"));
		cells[2] = json_string_value(json_object_get(r, "status"));
		cells[3] = n;
		ui_row(y + 1 + i, 0, w, row == u->l.sel && !u->searching ? UI_SELECTED :
		    UI_NORMAL, 4, wide, cells);
	}
	if (u->l.n == 0)
		console_empty(c, SCR_USERS, y + 1, 1, w - 1, u->q[0] != '\0' ?
		    "no user matches" : "no users yet: n adds one");

	y += lh + 1;
	h -= lh + 1;
	if (scr_users_selected(u) == NULL || h < 2)
		return;
	ui_putf(y++, 0, w, UI_HEADER, 1, "Tenants of %s (a adds, x removes)",
	    scr_users_selected(u));
	h--;
	ui_row(y++, 0, w, UI_DIM, 4, dwide, dhdr);
	h--;
	json_array_foreach(u->ms, k, r) {
		if (h <= 0)
			break;
		out_cell(json_object_get(r, "granted_at"), OUT_TIME, when, sizeof when);
		cells[0] = json_string_value(json_object_get(r, "tenant"));
		cells[1] = json_string_value(json_object_get(r, "role"));
		cells[2] = json_string_value(json_object_get(r, "granted_by"));
		cells[3] = when;
		ui_row(y++, 0, w, UI_NORMAL, 4, dwide, cells);
		h--;
	}
	if (json_array_size(u->ms) == 0 && h > 0)
		ui_put(y, 1, w - 1, UI_DIM, "(member of no tenant)", 0);
}

/* While searching, keys edit the query and the list follows at once. */
static int
scr_users_type(struct console *c, int key)
{
	struct scr_users *u = c->state[SCR_USERS];

	if (u == NULL || !u->searching)
		return 0;
	if (key == '\r' || key == '\n' || key == UI_FN(KEY_ENTER) ||
	    key == UI_FN(KEY_DOWN) || key == '\t') {
		u->searching = 0;
		return 1;
	}
	if (key == UI_ESC) {
		u->searching = 0;
		u->q[0] = '\0';
	} else if (key == UI_FN(KEY_BACKSPACE) || key == 0x7f || key == UI_CTRL('h'))
		ui_backspace(u->q);
	else if (key == UI_CTRL('u'))
		u->q[0] = '\0';
	else if (key == UI_FN(KEY_RESIZE))
		return 0;
	else if (ui_key_append(u->q, sizeof u->q, key) == -1)
		return 1;
	u->l.sel = u->l.top = 0;
	scr_users_load(c);
	return 1;
}

static void
scr_users_add(struct console *c, struct scr_users *u)
{
	const char	*email = scr_users_selected(u), **items = NULL;
	char		 title[300], old[OPS_ROLE_MAX], who[256];
	struct err	 e;
	PGconn		*db;
	json_t		*ts;
	int		 n, t, r, changed;

	if (email == NULL) {
		console_msg(c, UI_DIM, "select a user first (/ searches)");
		return;
	}
	snprintf(who, sizeof who, "%s", email);
	err_clear(&e);
	if ((db = admin_db(c->a, &e)) == NULL ||
	    (ts = db_select(db, DBQ_TENANTS, NULL, &e)) == NULL) {
		console_err(c, &e);
		return;
	}
	snprintf(title, sizeof title, "Add %s to which tenant?", who);
	if ((items = dialog_items(ts, "tenant", &n)) == NULL || n == 0 ||
	    (t = dialog_choose(c, title, items, n, 0)) == -1 ||
	    (r = dialog_choose(c, "Role", scr_users_roles, 3, 0)) == -1)
		goto out;
	if (ops_member_add(c->a, who, items[t], scr_users_roles[r], old, &changed, &e) == -1)
		console_err(c, &e);
	else if (!changed)
		console_msg(c, UI_DIM, "%s already is %s in %s", who, scr_users_roles[r],
		    items[t]);
	else
		console_msg(c, UI_OK, "%s %s %s as %s%s%s%s", who, old[0] != '\0' ?
		    "is now in" : "added to", items[t], scr_users_roles[r],
		    old[0] != '\0' ? " (was " : "", old, old[0] != '\0' ? ")" : "");
	/* the console reloads the screen (keymap_changes()) */
out:
	free(items);
	json_decref(ts);
}

static void
scr_users_remove(struct console *c, struct scr_users *u)
{
	const char	*email = scr_users_selected(u), **items;
	char		 q[400], who[256], tenant[64];
	struct err	 e;
	int		 n, t, changed;

	if (email == NULL)
		return;
	snprintf(who, sizeof who, "%s", email);
	if ((items = dialog_items(u->ms, "tenant", &n)) == NULL)
		return;
	if (n == 0) {
		free(items);
		console_msg(c, UI_DIM, "%s is in no tenant", who);
		return;
	}
	t = dialog_choose(c, "Remove from which tenant?", items, n, 0);
	if (t >= 0)
		snprintf(tenant, sizeof tenant, "%s", items[t]);
	free(items);
	if (t == -1)
		return;
	snprintf(q, sizeof q, "Remove %s from tenant %s?", who, tenant);
	if (!dialog_confirm(c, q)) {
		console_msg(c, UI_DIM, "not removed");
		return;
	}
	err_clear(&e);
	if (ops_member_remove(c->a, who, tenant, &changed, &e) == -1)
		console_err(c, &e);
	else if (!changed)
		console_msg(c, UI_DIM, "%s was no longer a member of %s", who, tenant);
	else
		console_msg(c, UI_OK, "%s removed from %s", who, tenant);
	/* the console reloads the screen (keymap_changes()) */
}

static void
scr_users_new(struct console *c, struct scr_users *u)
{
	char		email[256] = "", name[256] = "";
	struct err	e;
	int		changed;

	if (dialog_input(c, "New user's email:", email, sizeof email) == -1 ||
	    email[0] == '\0' ||
	    dialog_input(c, "Display name (optional):", name, sizeof name) == -1)
		return;
	err_clear(&e);
	if (ops_user_add(c->a, email, name[0] != '\0' ? name : NULL, &changed, &e) == -1) {
		console_err(c, &e);
		return;
	}
	console_msg(c, changed ? UI_OK : UI_DIM, changed ? "user %s added" :
	    "user %s already exists", email);
	snprintf(u->q, sizeof u->q, "%s", email);
	u->l.sel = u->l.top = 0;
	/* the console reloads the screen (keymap_changes()) */
}

static int
scr_users_act(struct console *c, enum action a)
{
	struct scr_users *u = c->state[SCR_USERS];

	if (u == NULL)
		return 0;
	switch (a) {
	case ACT_SEARCH:
		u->searching = 1;
		return 1;
	case ACT_ADD:
		scr_users_add(c, u);
		return 1;
	case ACT_REMOVE:
		scr_users_remove(c, u);
		return 1;
	case ACT_NEW:
		scr_users_new(c, u);
		return 1;
	default:
		if (list_act(&u->l, a, (ui_lines() * 3) / 5 - 2)) {
			scr_users_detail(c, u);
			return 1;
		}
		return a >= ACT_UP && a <= ACT_END;
	}
}

static void
scr_users_free(struct console *c)
{
	struct scr_users *u = c->state[SCR_USERS];

	json_decref(u->rows);
	json_decref(u->ms);
	free(u);
	c->state[SCR_USERS] = NULL;
}

const struct screen scr_users = {
	scr_users_load, scr_users_draw, scr_users_act, scr_users_type, scr_users_free,
};
