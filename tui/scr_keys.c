/*
 * scr_keys: the Keys screen. Every integration with the key version the
 * database records and the one Vault holds (as far as the operator's own
 * token may see), when and by whom it was rotated; `r` rotates the
 * selected one with the key typed hidden (rotate.h does the work).
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
#include "expiry.h"
#include "out.h"
#include "rotate.h"
#include "secret.h"

struct scr_keys {
	json_t		*rows;
	struct list	 l;
};

static struct scr_keys *
scr_keys_state(struct console *c)
{
	if (c->state[SCR_KEYS] == NULL)
		c->state[SCR_KEYS] = calloc(1, sizeof(struct scr_keys));
	return c->state[SCR_KEYS];
}

/* The most urgent expiry on the message line: within 30, 7 or 1 days, or
 * expired. */
static void
scr_keys_warn(struct console *c, struct scr_keys *k)
{
	json_t		*r, *worst = NULL;
	size_t		 i;
	long		 days, wd = 0;
	int		 n = 0;
	char		 text[64];

	/* Not over a load error, nor over what an action just reported. */
	if (c->load_err[SCR_KEYS][0] != '\0' || c->msg[0] != '\0')
		return;
	json_array_foreach(k->rows, i, r) {
		if (!json_is_integer(json_object_get(r, "days_left")))
			continue;
		days = (long)json_integer_value(json_object_get(r, "days_left"));
		if (expiry_level(days) == 0)
			continue;
		n++;
		if (worst == NULL || days < wd) {
			worst = r;
			wd = days;
		}
	}
	if (worst == NULL)
		return;
	expiry_text(wd, text, sizeof text);
	console_msg(c, wd <= 7 ? UI_ERROR : UI_WARN, "key %s/%s %s: r rotates it%s",
	    json_string_value(json_object_get(worst, "tenant")),
	    json_string_value(json_object_get(worst, "integration")), text,
	    n > 1 ? " (and see STATE)" : "");
}

static void
scr_keys_load(struct console *c)
{
	struct scr_keys	*k = scr_keys_state(c);
	const char	*p[1] = { NULL };
	struct err	 e;
	PGconn		*db;

	if (k == NULL)
		return;
	err_clear(&e);
	json_decref(k->rows);
	if ((db = admin_db(c->a, &e)) == NULL ||
	    (k->rows = db_select(db, DBQ_INTEGRATIONS, p, &e)) == NULL) {
		console_load_failed(c, SCR_KEYS, &e);
		k->rows = json_array();
	}
	rotate_status(c->a, k->rows);
	list_set(&k->l, (int)json_array_size(k->rows));
	scr_keys_warn(c, k);
}

static void
scr_keys_draw(struct console *c, int y, int h, int w)
{
	struct scr_keys	*k = c->state[SCR_KEYS];
	int		 wide[6] = { 18, 5, 5, 16, 12, 0 };
	const char	*hdr[6] = { "INTEGRATION", "DB", "VAULT", "ROTATED (UTC)", "BY",
			    "STATE" };
	const char	*cells[6];
	char		 name[160], dbv[16], vv[16], when[32];
	json_t		*r;
	int		 i, row;
	enum ui_attr	 a;

	if (k == NULL)
		return;
	ui_row(y, 0, w, UI_HEADER, 6, wide, hdr);
	list_fit(&k->l, h - 3);
	for (i = 0; i < h - 3; i++) {
		row = k->l.top + i;
		if ((r = json_array_get(k->rows, (size_t)row)) == NULL)
			break;
		snprintf(name, sizeof name, "%s/%s",
		    json_string_value(json_object_get(r, "tenant")),
		    json_string_value(json_object_get(r, "integration")));
		out_cell(json_object_get(r, "cred_version"), 0, dbv, sizeof dbv);
		out_cell(json_object_get(r, "vault_version"), 0, vv, sizeof vv);
		out_cell(json_object_get(r, "rotated_at"), OUT_TIME, when, sizeof when);
		cells[0] = name;
		cells[1] = dbv;
		cells[2] = vv;
		cells[3] = when;
		cells[4] = json_string_value(json_object_get(r, "rotated_by"));
		cells[5] = json_string_value(json_object_get(r, "state"));
		a = row == k->l.sel ? UI_SELECTED : cells[5] != NULL &&
		    strcmp(cells[5], "ok") != 0 ? UI_WARN : UI_NORMAL;
		ui_row(y + 1 + i, 0, w, a, 6, wide, cells);
	}
	if (k->l.n == 0)
		console_empty(c, SCR_KEYS, y + 1, 1, w - 1,
		    "no integrations yet: onboard a tenant (4)");
	if ((r = json_array_get(k->rows, (size_t)k->l.sel)) != NULL)
		ui_putf(y + h - 1, 0, w, UI_DIM, 1, "%s  %s  at %s",
		    json_string_value(json_object_get(r, "kind")),
		    json_string_value(json_object_get(r, "base_url")),
		    json_string_value(json_object_get(r, "vault_path")));
}

static void
scr_keys_rotate(struct console *c, struct scr_keys *k)
{
	json_t			*r = json_array_get(k->rows, (size_t)k->l.sel);
	struct rotate_req	 rq = { 0 };
	struct rotate_res	 res;
	struct err		 e;
	char			 tenant[64], integ[64], kind[16], email[256] = "";
	char			 prompt[300], q[300];
	secret_t		*key;
	int			 mcp, rc;

	if (r == NULL)
		return;
	snprintf(tenant, sizeof tenant, "%s", json_string_value(json_object_get(r, "tenant")));
	snprintf(integ, sizeof integ, "%s", json_string_value(json_object_get(r,
	    "integration")));
	snprintf(kind, sizeof kind, "%s", json_string_value(json_object_get(r, "kind")));
	mcp = strcmp(kind, "mcp") == 0;
	if (!mcp && dialog_input(c, "Account email (empty: keep the current one):",
	    email, sizeof email) == -1)
		return;
	snprintf(prompt, sizeof prompt, "New key for %s/%s:", tenant, integ);
	if ((key = dialog_secret(c, prompt)) == NULL) {
		console_msg(c, UI_DIM, "no key entered: nothing was changed");
		return;
	}
	snprintf(q, sizeof q, "Rotate the key of %s/%s%s? Brokers switch to the new key.",
	    tenant, integ, mcp ? "" : " (verified at the site first)");
	if (!dialog_confirm(c, q)) {
		secret_free(key);
		console_msg(c, UI_DIM, "not rotated: nothing was changed");
		return;
	}
	rq.tenant = tenant;
	rq.integration = integ;
	rq.email = email[0] != '\0' ? email : NULL;
	rq.key = key;
	console_msg(c, UI_DIM, "rotating %s/%s ...", tenant, integ);
	console_draw(c);
	console_log_clear(c);
	err_clear(&e);
	rc = rotate_run(c->a, &rq, &res, &e);
	secret_free(key);
	if (rc == -1) {
		if (res.state[0] != '\0') {
			char *text = NULL;
			size_t n = strlen(console_log(c)) + strlen(res.state) + strlen(e.msg) + 8;

			if ((text = malloc(n)) != NULL) {
				snprintf(text, n, "%s\n%s\n%s", console_log(c), res.state, e.msg);
				dialog_pager(c, "Rotation incomplete", text, 1);
				free(text);
			}
		}
		console_err(c, &e);
	} else if (res.unchanged)
		console_msg(c, UI_DIM, "%s/%s already uses this key (version %d)", tenant,
		    integ, res.new_version);
	else if (res.finished)
		console_msg(c, UI_OK, "%s/%s: finished the earlier rotation to version %d",
		    tenant, integ, res.new_version);
	else
		console_msg(c, UI_OK, "%s/%s rotated: version %d -> %d%s", tenant, integ,
		    res.vault_version, res.new_version, res.verified ? " (verified)" : "");
	/* the console reloads the screen (keymap_changes()) */
}

static int
scr_keys_act(struct console *c, enum action a)
{
	struct scr_keys *k = c->state[SCR_KEYS];

	if (k == NULL)
		return 0;
	if (a == ACT_ROTATE) {
		scr_keys_rotate(c, k);
		return 1;
	}
	list_act(&k->l, a, ui_lines() - 6);
	return a >= ACT_UP && a <= ACT_END;
}

static void
scr_keys_free(struct console *c)
{
	struct scr_keys *k = c->state[SCR_KEYS];

	json_decref(k->rows);
	free(k);
	c->state[SCR_KEYS] = NULL;
}

const struct screen scr_keys = {
	scr_keys_load, scr_keys_draw, scr_keys_act, NULL, scr_keys_free,
};
