/*
 * scr_audit: the Audit screen. The log newest first, read a page at a
 * time as the selection nears the end; `/` filters: words match anywhere,
 * tenant:T, actor:A and action:P narrow by field. Enter shows a row whole;
 * `g` hides the brokers' grant.* rows, which outnumber people's changes.
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
#include "out.h"

#define SCR_AUDIT_PAGE	200

struct scr_audit {
	char		 filter[256];
	int		 hide_grants;	/* leave out grant.* rows */
	json_t		*rows;
	int		 more;		/* the last page was full */
	struct list	 l;
};

static struct scr_audit *
scr_audit_state(struct console *c)
{
	if (c->state[SCR_AUDIT] == NULL)
		c->state[SCR_AUDIT] = calloc(1, sizeof(struct scr_audit));
	return c->state[SCR_AUDIT];
}

/* Read the page after what is loaded (all of it when offset is 0). */
static void
scr_audit_fetch(struct console *c, struct scr_audit *au, int offset)
{
	char		 f[256], text[256] = "", limit[16], off[16], *w, *save = NULL;
	char		 tenant[64] = "", actor[256] = "", action[64] = "";
	const char	*p[8];
	struct err	 e;
	PGconn		*db;
	json_t		*page;

	snprintf(f, sizeof f, "%s", au->filter);
	for (w = strtok_r(f, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
		if (strncmp(w, "tenant:", 7) == 0)
			snprintf(tenant, sizeof tenant, "%s", w + 7);
		else if (strncmp(w, "actor:", 6) == 0)
			snprintf(actor, sizeof actor, "%s", w + 6);
		else if (strncmp(w, "action:", 7) == 0)
			snprintf(action, sizeof action, "%s", w + 7);
		else
			snprintf(text + strlen(text), sizeof text - strlen(text), "%s%s",
			    text[0] != '\0' ? " " : "", w);
	}
	snprintf(limit, sizeof limit, "%d", SCR_AUDIT_PAGE);
	snprintf(off, sizeof off, "%d", offset);
	p[0] = tenant[0] != '\0' ? tenant : NULL;
	p[1] = actor[0] != '\0' ? actor : NULL;
	p[2] = action[0] != '\0' ? action : NULL;
	p[3] = NULL;
	p[4] = text[0] != '\0' ? text : NULL;
	p[5] = limit;
	p[6] = off;
	p[7] = au->hide_grants ? "grant." : NULL;
	err_clear(&e);
	if ((db = admin_db(c->a, &e)) == NULL ||
	    (page = db_select(db, DBQ_AUDIT, p, &e)) == NULL) {
		console_load_failed(c, SCR_AUDIT, &e);
		au->more = 0;
		return;
	}
	au->more = json_array_size(page) == SCR_AUDIT_PAGE;
	json_array_extend(au->rows, page);
	json_decref(page);
	list_set(&au->l, (int)json_array_size(au->rows));
}

static void
scr_audit_load(struct console *c)
{
	struct scr_audit *au = scr_audit_state(c);

	if (au == NULL)
		return;
	c->load_err[SCR_AUDIT][0] = '\0';	/* a new filter reloads here */
	json_decref(au->rows);
	au->rows = json_array();
	au->l.sel = au->l.top = 0;
	scr_audit_fetch(c, au, 0);
}

static void
scr_audit_draw(struct console *c, int y, int h, int w)
{
	struct scr_audit	*au = c->state[SCR_AUDIT];
	int			 wide[5] = { 16, 22, 16, 10, 0 };
	const char		*hdr[5] = { "TIME (UTC)", "ACTOR", "ACTION", "TENANT",
				    "SUBJECT" };
	const char		*cells[5];
	char			 when[32];
	json_t			*r;
	int			 i, row;

	if (au == NULL)
		return;
	if (w < 100)
		wide[1] = 18;
	ui_putf(y, 0, w, au->filter[0] != '\0' || au->hide_grants ? UI_WARN : UI_NORMAL, 1,
	    "%zu row(s)%s, newest first%s%s%s", json_array_size(au->rows),
	    au->more ? "+" : "", au->hide_grants ? " (grant.* hidden)" : "",
	    au->filter[0] != '\0' ? "   filter: " : "   (/ filters)", au->filter);
	ui_row(y + 1, 0, w, UI_HEADER, 5, wide, hdr);
	list_fit(&au->l, h - 2);
	for (i = 0; i < h - 2; i++) {
		row = au->l.top + i;
		if ((r = json_array_get(au->rows, (size_t)row)) == NULL)
			break;
		out_cell(json_object_get(r, "at"), OUT_TIME, when, sizeof when);
		cells[0] = when;
		cells[1] = json_string_value(json_object_get(r, "actor"));
		cells[2] = json_string_value(json_object_get(r, "action"));
		cells[3] = json_string_value(json_object_get(r, "tenant"));
		cells[4] = json_string_value(json_object_get(r, "subject"));
		ui_row(y + 2 + i, 0, w, row == au->l.sel ? UI_SELECTED : UI_NORMAL, 5, wide,
		    cells);
	}
	if (au->l.n == 0)
		console_empty(c, SCR_AUDIT, y + 2, 1, w - 1, "no audit rows match");
}

static void
scr_audit_open(struct console *c, struct scr_audit *au)
{
	json_t	*r = json_array_get(au->rows, (size_t)au->l.sel);
	char	*text, title[128];

	if (r == NULL)
		return;
	if ((text = json_dumps(r, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL)
		return;
	snprintf(title, sizeof title, "Audit row %lld",
	    (long long)json_integer_value(json_object_get(r, "id")));
	dialog_pager(c, title, text, 1);
	free(text);
}

static int
scr_audit_act(struct console *c, enum action a)
{
	struct scr_audit *au = c->state[SCR_AUDIT];

	if (au == NULL)
		return 0;
	switch (a) {
	case ACT_SEARCH: {
		/* Edit a copy: the screen behind the prompt keeps the old one. */
		char f[sizeof au->filter];

		snprintf(f, sizeof f, "%s", au->filter);
		if (dialog_input(c, "Filter (words, tenant:T actor:A action:P):", f,
		    sizeof f) == 0) {
			snprintf(au->filter, sizeof au->filter, "%s", f);
			scr_audit_load(c);
		}
		return 1;
	}
	case ACT_OPEN:
		scr_audit_open(c, au);
		return 1;
	case ACT_HIDE_GRANTS:
		au->hide_grants = !au->hide_grants;
		console_load(c);
		console_msg(c, UI_DIM, "grant.* rows %s", au->hide_grants ? "hidden" :
		    "shown again");
		return 1;
	default:
		list_act(&au->l, a, ui_lines() - 6);
		/* Near the end of what is loaded: read the next page. */
		if (au->more && au->l.sel >= au->l.n - (ui_lines() - 6))
			scr_audit_fetch(c, au, au->l.n);
		return a >= ACT_UP && a <= ACT_END;
	}
}

static void
scr_audit_free(struct console *c)
{
	struct scr_audit *au = c->state[SCR_AUDIT];

	json_decref(au->rows);
	free(au);
	c->state[SCR_AUDIT] = NULL;
}

const struct screen scr_audit = {
	scr_audit_load, scr_audit_draw, scr_audit_act, NULL, scr_audit_free,
};
