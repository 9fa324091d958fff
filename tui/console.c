/*
 * console: the main loop, the frame (tabs, message line, help bar), the
 * `:` prompt, `?` help, and the console's versions of the admin hooks.
 */
#include <curses.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "cmd.h"
#include "console.h"
#include "dialog.h"
#include "err.h"
#include "keymap.h"
#include "log.h"
#include "out.h"
#include "text.h"
#include "ui.h"

#define CONSOLE_MIN_COLS	40
#define CONSOLE_MIN_LINES	10

static const struct screen *const console_screens[SCR_COUNT] = {
	[SCR_TENANTS] = &scr_tenants, [SCR_USERS] = &scr_users, [SCR_KEYS] = &scr_keys,
	[SCR_ONBOARD] = &scr_onboard, [SCR_GRANTS] = &scr_grants, [SCR_AUDIT] = &scr_audit,
};

void
console_msg(struct console *c, enum ui_attr a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof c->msg, fmt, ap);
	va_end(ap);
	/* One line: the message line is one row. */
	for (char *p = c->msg; *p != '\0'; p++)
		if (*p == '\n')
			*p = ' ';
	c->msg_attr = a;
}

void
console_err(struct console *c, const struct err *e)
{
	console_msg(c, UI_ERROR, "%s", e->msg);
}

void
console_load_failed(struct console *c, enum scr s, const struct err *e)
{
	snprintf(c->load_err[s], sizeof c->load_err[s], "%s", e->msg);
	console_err(c, e);
}

void
console_empty(struct console *c, enum scr s, int y, int x, int w, const char *hint)
{
	if (c->load_err[s][0] != '\0')
		ui_putf(y, x, w, UI_ERROR, 0, "cannot load: %s (F5 retries)", c->load_err[s]);
	else
		ui_put(y, x, w, UI_DIM, hint, 0);
}

void
console_load(struct console *c)
{
	c->load_err[c->scr][0] = '\0';
	console_screens[c->scr]->load(c);
}

const char *
console_log(struct console *c)
{
	return out_text(c->a->out);
}

void
console_log_clear(struct console *c)
{
	out_clear(c->a->out);
}

static void
console_tabs(struct console *c)
{
	char	tab[32];
	int	x = 0, w;

	ui_clear_line(0, 0, UI_TITLE);
	/* The product name only when everything fits with it. */
	if (COLS >= 78)
		x += ui_put(0, x, COLS - x, UI_TITLE, " tenantgate-admin ", 0) + 1;
	else
		x += ui_put(0, x, COLS - x, UI_TITLE, " ", 0);
	for (int s = 0; s < SCR_COUNT && x < COLS; s++) {
		snprintf(tab, sizeof tab, " %c %s ", keymap_screen_key((enum scr)s),
		    keymap_screen_name((enum scr)s));
		w = ui_put(0, x, COLS - x, s == (int)c->scr ? UI_TAB : UI_TITLE, tab, 0);
		x += w;
	}
}

static void
console_helpbar(struct console *c)
{
	char	bar[512], *p, *sep, *next;
	int	x = 0, y = LINES - 1;

	keymap_bar(c->scr, bar, sizeof bar);
	ui_clear_line(y, 0, UI_NORMAL);
	for (p = bar; p != NULL && *p != '\0' && x < COLS; p = next) {
		next = strstr(p, "  ");
		if (next != NULL) {
			*next = '\0';
			next += 2;
		}
		if ((sep = strchr(p, '\x01')) == NULL)
			break;
		*sep = '\0';
		x += ui_put(y, x, COLS - x, UI_KEY, p, 0);
		x += ui_put(y, x, COLS - x, UI_NORMAL, " ", 0);
		x += ui_put(y, x, COLS - x, UI_NORMAL, sep + 1, 0);
		x += 2;
	}
}

void
console_draw(struct console *c)
{
	erase();
	if (COLS < CONSOLE_MIN_COLS || LINES < CONSOLE_MIN_LINES) {
		ui_putf(0, 0, COLS, UI_WARN, 0, "terminal too small: %dx%d (at least %dx%d)",
		    COLS, LINES, CONSOLE_MIN_COLS, CONSOLE_MIN_LINES);
		refresh();
		return;
	}
	console_tabs(c);
	/* A message longer than a row takes two, from the body. */
	if (text_width(c->msg) > COLS) {
		char first[1024];

		text_fit(first, sizeof first, c->msg, COLS, 0);
		console_screens[c->scr]->draw(c, 1, LINES - 4, COLS);
		ui_put(LINES - 3, 0, COLS, c->msg_attr, first, 1);
		ui_put(LINES - 2, 0, COLS, c->msg_attr, c->msg + strlen(first), 1);
	} else {
		console_screens[c->scr]->draw(c, 1, LINES - 3, COLS);
		ui_put(LINES - 2, 0, COLS, c->msg_attr, c->msg, 1);
	}
	console_helpbar(c);
	refresh();
}

static void
console_switch(struct console *c, enum scr s)
{
	c->scr = s;
	c->msg[0] = '\0';
	console_load(c);
}

static void
console_help(struct console *c)
{
	char	buf[8192], title[64];

	keymap_help(c->scr, buf, sizeof buf);
	snprintf(title, sizeof title, "Help: %s", keymap_screen_name(c->scr));
	dialog_pager(c, title, buf, 1);
}

/* `:` - any command of the table, output in the pager. */
static void
console_command(struct console *c)
{
	char	 line[1024] = "", cause[256], title[1100];
	char	**argv = NULL;
	int	 argc, rc;

	if (dialog_input(c, ":", line, sizeof line) == -1 || line[0] == '\0')
		return;
	if (cmd_split(line, &argc, &argv, cause, sizeof cause) == -1) {
		console_msg(c, UI_ERROR, "%s", cause);
		return;
	}
	if (argc == 0) {
		free(argv);
		return;
	}
	console_log_clear(c);
	rc = cmd_run(c->a, argc, argv);
	free(argv);
	snprintf(title, sizeof title, ":%s", line);
	if (console_log(c)[0] != '\0')
		dialog_pager(c, title, console_log(c), 0);
	if (rc == CMD_OK)
		console_msg(c, UI_OK, ":%s: done", line);
	else
		console_msg(c, UI_ERROR, ":%s: failed (exit %d)", line, rc);
	console_load(c);
}

static int
console_confirm(struct admin *a, const char *question)
{
	return dialog_confirm(a->ui, question);
}

static secret_t *
console_ask_secret(struct admin *a, const char *prompt, struct err *e)
{
	secret_t *s = dialog_secret(a->ui, prompt);

	if (s == NULL)
		err_set(e, 400, "cancelled", "no key entered: nothing was changed");
	return s;
}

/* Warnings from common/ (Vault, PostgreSQL) land on the message line;
 * writing them to stderr would scribble over the screen. */
static void
console_log_sink(enum log_level lvl, const char *line, void *arg)
{
	struct console	*c = arg;
	const char	*msg = strstr(line, "] ");

	if (lvl >= LOG_LVL_WARN)
		console_msg(c, UI_WARN, "%s", msg != NULL ? msg + 2 : line);
}

static void
console_loop(struct console *c)
{
	enum action	act;
	int		key;
	char		name[16];

	while (!c->quit) {
		console_draw(c);
		key = ui_key();
		if (key == UI_KEY_EOF)
			break;
		if (key == UI_FN(KEY_RESIZE))
			continue;
		if (COLS < CONSOLE_MIN_COLS || LINES < CONSOLE_MIN_LINES) {
			if (key == 'q')
				c->quit = 1;
			continue;
		}
		if (console_screens[c->scr]->type != NULL &&
		    console_screens[c->scr]->type(c, key))
			continue;
		act = keymap_action(c->scr, key);
		if (act >= ACT_SCREEN_0 && act <= ACT_SCREEN_LAST) {
			console_switch(c, (enum scr)(act - ACT_SCREEN_0));
			continue;
		}
		switch (act) {
		case ACT_NEXT_SCREEN:
			console_switch(c, (enum scr)((c->scr + 1) % SCR_COUNT));
			break;
		case ACT_PREV_SCREEN:
			console_switch(c, (enum scr)((c->scr + SCR_COUNT - 1) % SCR_COUNT));
			break;
		case ACT_HELP:
			console_help(c);
			break;
		case ACT_COMMAND:
			console_command(c);
			break;
		case ACT_QUIT:
			c->quit = 1;
			break;
		case ACT_REFRESH:
			c->msg[0] = '\0';
			console_load(c);
			if (c->msg[0] == '\0')
				console_msg(c, UI_DIM, "reloaded");
			break;
		case ACT_REDRAW:
			clearok(curscr, TRUE);
			break;
		case ACT_NONE:
			ui_key_name(key, name, sizeof name);
			console_msg(c, UI_DIM, "%s does nothing here; ? lists the keys", name);
			break;
		default:
			if (!console_screens[c->scr]->act(c, act))
				console_msg(c, UI_DIM, "nothing to do here");
			else if (keymap_changes(act))
				console_load(c);
			break;
		}
	}
}

int
console_run(struct admin *a, struct err *e)
{
	struct console	 c;
	struct out	*saved_out = a->out, *buf;
	const char	*saved_via = a->via;
	int		(*saved_confirm)(struct admin *, const char *) = a->confirm;
	secret_t	*(*saved_ask)(struct admin *, const char *, struct err *) =
			    a->ask_secret;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return err_set(e, 400, "no_terminal", "the console needs a terminal; use the "
		    "commands for scripts (`tenantgate-admin help`)");
	if ((buf = out_buffer()) == NULL)
		return err_set(e, 500, "nomem", "out of memory");
	memset(&c, 0, sizeof c);
	c.a = a;
	a->out = buf;
	a->ui = &c;
	a->via = "console";
	a->confirm = console_confirm;
	a->ask_secret = console_ask_secret;
	if (ui_start(a->cfg.color) == -1) {
		a->out = saved_out;
		a->ui = NULL;
		out_free(buf);
		return err_set(e, 400, "no_terminal", "cannot start the console on this "
		    "terminal (TERM=%s)", getenv("TERM") != NULL ? getenv("TERM") : "");
	}
	log_set_sink(console_log_sink, &c);
	console_switch(&c, SCR_TENANTS);
	console_loop(&c);
	ui_stop();
	log_set_sink(NULL, NULL);
	for (int s = 0; s < SCR_COUNT; s++)
		if (c.state[s] != NULL)
			console_screens[s]->free(&c);
	a->out = saved_out;
	a->ui = NULL;
	a->via = saved_via;
	a->confirm = saved_confirm;
	a->ask_secret = saved_ask;
	out_free(buf);
	return 0;
}
