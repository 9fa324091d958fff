/*
 * scr_onboard: the Onboard screen, a wizard over onboard.h. A form of
 * fields; Enter edits the selected one and moves on to the next, so
 * pressing Enter through it walks the steps in order. `p` shows the dry
 * run, `s` onboards after a confirmation; the log of either stays below
 * the form. The key is typed hidden and only "(set)" is ever drawn.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "console.h"
#include "dialog.h"
#include "err.h"
#include "onboard.h"
#include "policy.h"
#include "secret.h"
#include "text.h"

enum scr_onboard_field {
	OB_TENANT, OB_NAME, OB_SITE, OB_INTS, OB_EMAIL, OB_KEY, OB_K8S, OB_UPDATE,
	OB_VERIFY, OB_FIELDS
};

static const struct {
	const char	*label;
	const char	*hint;
} scr_onboard_labels[OB_FIELDS] = {
	[OB_TENANT] = { "Tenant slug", "a-z, 0-9, '-'; 2-31 characters, e.g. acme" },
	[OB_NAME] = { "Display name", "e.g. Acme Corp" },
	[OB_SITE] = { "Atlassian site", "https://acme.atlassian.net" },
	[OB_INTS] = { "Integrations", "jira,confluence" },
	[OB_EMAIL] = { "Key's account", "the Atlassian account email of the key" },
	[OB_KEY] = { "API key", "typed hidden" },
	[OB_K8S] = { "K8s admins", "optional: namespace/serviceaccount,..." },
	[OB_UPDATE] = { "Update existing", "Enter toggles" },
	[OB_VERIFY] = { "Verify key", "Enter toggles" },
};

struct scr_onboard {
	char		 f[OB_FIELDS][512];
	secret_t	*key;
	int		 update, verify;
	struct list	 l;
	char		*log;		/* the last dry run or run */
};

static struct scr_onboard *
scr_onboard_state(struct console *c)
{
	struct scr_onboard *o;

	if (c->state[SCR_ONBOARD] != NULL)
		return c->state[SCR_ONBOARD];
	if ((o = calloc(1, sizeof *o)) == NULL)
		return NULL;
	snprintf(o->f[OB_INTS], sizeof o->f[OB_INTS], "jira,confluence");
	o->verify = 1;
	list_set(&o->l, OB_FIELDS);
	c->state[SCR_ONBOARD] = o;
	return o;
}

static void
scr_onboard_load(struct console *c)
{
	(void)scr_onboard_state(c);
}

static void
scr_onboard_draw(struct console *c, int y, int h, int w)
{
	struct scr_onboard	*o = c->state[SCR_ONBOARD];
	const char		*v;
	char			**lines;
	int			 i, n, skip;
	enum ui_attr		 a;

	if (o == NULL)
		return;
	ui_put(y++, 0, w, UI_HEADER, "New client tenant: Enter edits a field, p shows "
	    "the plan, s onboards", 1);
	h--;
	for (i = 0; i < OB_FIELDS && i < h; i++) {
		a = i == o->l.sel ? UI_SELECTED : UI_NORMAL;
		switch (i) {
		case OB_KEY:
			v = o->key != NULL ? "(set)" : "(not set)";
			break;
		case OB_UPDATE:
			v = o->update ? "yes" : "no";
			break;
		case OB_VERIFY:
			v = o->verify ? "yes" : "no (recorded in the audit log)";
			break;
		default:
			v = o->f[i][0] != '\0' ? o->f[i] : "";
		}
		ui_put(y + i, 0, w, a, "", 1);
		ui_putf(y + i, 0, 18, a, 1, " %s", scr_onboard_labels[i].label);
		if (v[0] != '\0')
			ui_put(y + i, 18, w - 18, a, v, 0);
		else
			ui_put(y + i, 18, w - 18, i == o->l.sel ? UI_SELECTED : UI_DIM,
			    scr_onboard_labels[i].hint, 0);
	}
	y += OB_FIELDS + 1;
	h -= OB_FIELDS + 1;
	if (o->log == NULL || h <= 0)
		return;
	/* The tail of the log that fits, wrapped. */
	lines = text_lines(o->log, w, 1, &n);
	skip = n > h ? n - h : 0;
	for (i = skip; i < n; i++)
		ui_put(y + i - skip, 0, w, strstr(lines[i], "[failed]") != NULL ||
		    strncmp(lines[i], "State:", 6) == 0 ? UI_ERROR :
		    strstr(lines[i], "[done]") != NULL ? UI_OK : UI_NORMAL, lines[i], 1);
	text_lines_free(lines, n);
}

/* Check one field as soon as it is typed. */
static int
scr_onboard_check(struct console *c, int field, const char *v)
{
	struct err e;

	err_clear(&e);
	if (field == OB_TENANT && policy_slug_check(v, &e) == -1) {
		console_err(c, &e);
		return -1;
	}
	if (field == OB_SITE && strncmp(v, "https://", 8) != 0 &&
	    strncmp(v, "http://", 7) != 0) {
		console_msg(c, UI_ERROR, "the site is an http(s) URL");
		return -1;
	}
	return 0;
}

static void
scr_onboard_edit(struct console *c, struct scr_onboard *o)
{
	int	 i = o->l.sel;
	char	 buf[512], prompt[128];

	switch (i) {
	case OB_UPDATE:
		o->update = !o->update;
		return;
	case OB_VERIFY:
		o->verify = !o->verify;
		return;
	case OB_KEY:
		snprintf(prompt, sizeof prompt, "API key for %s:", o->f[OB_EMAIL][0] != '\0' ?
		    o->f[OB_EMAIL] : "the account");
		secret_free(o->key);
		o->key = dialog_secret(c, prompt);
		break;
	default:
		snprintf(buf, sizeof buf, "%s", o->f[i]);
		snprintf(prompt, sizeof prompt, "%s:", scr_onboard_labels[i].label);
		if (dialog_input(c, prompt, buf, sizeof buf) == -1)
			return;
		if (buf[0] != '\0' && scr_onboard_check(c, i, buf) == -1)
			return;
		snprintf(o->f[i], sizeof o->f[i], "%s", buf);
		c->msg[0] = '\0';
	}
	if (o->l.sel < OB_FIELDS - 1)
		o->l.sel++;
}

static void
scr_onboard_run(struct console *c, struct scr_onboard *o, int dry)
{
	struct onboard_req	rq = { 0 };
	struct err		e;
	char			q[700];
	int			rc;

	rq.tenant = o->f[OB_TENANT];
	rq.name = o->f[OB_NAME][0] != '\0' ? o->f[OB_NAME] : NULL;
	rq.site = o->f[OB_SITE];
	rq.integrations = o->f[OB_INTS][0] != '\0' ? o->f[OB_INTS] : NULL;
	rq.email = o->f[OB_EMAIL][0] != '\0' ? o->f[OB_EMAIL] : NULL;
	rq.k8s_admins = o->f[OB_K8S][0] != '\0' ? o->f[OB_K8S] : NULL;
	rq.key = dry ? NULL : o->key;
	rq.keep_key = !dry && o->key == NULL;
	rq.dry_run = dry;
	rq.update = o->update;
	rq.no_verify = !o->verify;
	/* The console's --insecure-site: asked each time, never remembered. */
	if (strncmp(rq.site, "http://", 7) == 0) {
		/* Short enough for 80 columns with its [y/N]. */
		snprintf(q, sizeof q, "Plain http site: the key travels unencrypted. Use it "
		    "(test sites only)?");
		if (!dialog_confirm(c, q)) {
			console_msg(c, UI_DIM, "use an https site: nothing was changed");
			return;
		}
		rq.insecure_site = 1;
	}
	err_clear(&e);
	if (onboard_check(&rq, &e) == -1) {
		console_err(c, &e);
		return;
	}
	if (!dry) {
		snprintf(q, sizeof q, "Onboard tenant %s (%s)%s?", rq.tenant, rq.site,
		    o->key == NULL ? " using the keys Vault already holds" : "");
		if (!dialog_confirm(c, q)) {
			console_msg(c, UI_DIM, "not onboarded: nothing was changed");
			return;
		}
	}
	console_msg(c, UI_DIM, "%s ...", dry ? "planning" : "onboarding");
	console_draw(c);
	console_log_clear(c);
	rc = onboard_run(c->a, &rq, &e);
	free(o->log);
	o->log = strdup(console_log(c));
	if (rc == -1)
		console_err(c, &e);
	else if (dry)
		console_msg(c, UI_OK, "dry run of %s done: nothing was changed", rq.tenant);
	else {
		console_msg(c, UI_OK, "tenant %s onboarded", rq.tenant);
		/* The key has done its job: do not keep it around. */
		secret_free(o->key);
		o->key = NULL;
	}
}

static int
scr_onboard_act(struct console *c, enum action a)
{
	struct scr_onboard *o = c->state[SCR_ONBOARD];

	if (o == NULL)
		return 0;
	switch (a) {
	case ACT_EDIT:
		scr_onboard_edit(c, o);
		return 1;
	case ACT_PREVIEW:
		scr_onboard_run(c, o, 1);
		return 1;
	case ACT_START:
		scr_onboard_run(c, o, 0);
		return 1;
	case ACT_CLEAR:
		secret_free(o->key);
		free(o->log);
		free(o);
		c->state[SCR_ONBOARD] = NULL;
		(void)scr_onboard_state(c);
		console_msg(c, UI_DIM, "form cleared");
		return 1;
	default:
		list_act(&o->l, a, OB_FIELDS);
		return a >= ACT_UP && a <= ACT_END;
	}
}

static void
scr_onboard_free(struct console *c)
{
	struct scr_onboard *o = c->state[SCR_ONBOARD];

	secret_free(o->key);
	free(o->log);
	free(o);
	c->state[SCR_ONBOARD] = NULL;
}

const struct screen scr_onboard = {
	scr_onboard_load, scr_onboard_draw, scr_onboard_act, NULL, scr_onboard_free,
};
