/*
 * console: the full-screen console. One loop reads a key, lets the
 * current screen's text field take it, else maps it through the key
 * table (keymap.h) to an action for the console or the screen. Layout: tab
 * bar (row 0), the screen's body, a message line, the help bar drawn from
 * the key table. Modal dialogs (confirm, text, hidden secret, choose, the
 * pager) redraw everything underneath when the terminal is resized.
 *
 * While the console runs, the operator's admin context points at it:
 * command output goes into a buffer shown by the pager, yes/no questions
 * and secrets go through dialogs, and log lines into the message line.
 */
#ifndef TG_TUI_CONSOLE_H
#define TG_TUI_CONSOLE_H

#include <stddef.h>

#include "keymap.h"
#include "list.h"
#include "secret.h"
#include "ui.h"

struct admin;
struct err;
struct out;
struct json_t;

struct console {
	struct admin	*a;
	enum scr	 scr;
	void		*state[SCR_COUNT];
	char		 msg[512];
	enum ui_attr	 msg_attr;
	char		 load_err[SCR_COUNT][256];	/* why the last load failed */
	int		 quit;
};

struct screen {
	void	(*load)(struct console *);	/* (re)read what it shows */
	void	(*draw)(struct console *, int y, int h, int w);
	int	(*act)(struct console *, enum action);	/* 1 if handled */
	int	(*type)(struct console *, int key);	/* 1 if a field took it */
	void	(*free)(struct console *);
};

extern const struct screen scr_tenants, scr_users, scr_keys, scr_onboard,
    scr_grants, scr_audit;

int	 console_run(struct admin *, struct err *);
void	 console_draw(struct console *);
void	 console_msg(struct console *, enum ui_attr, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	 console_err(struct console *, const struct err *);
/* (Re)load the current screen: after switching to it, F5, a `:` command,
 * and every action that may change data (keymap_changes()), whether it
 * succeeded or not - so a screen never shows what was before a change
 * made from it. */
void	 console_load(struct console *);
/* A screen's load failed: remembered for the screen (drawn in place of
 * its rows by console_empty()) and put on the message line. */
void	 console_load_failed(struct console *, enum scr, const struct err *);
/* Where a list has no rows: the load error if the load failed (never an
 * empty list that looks like "nothing there"), else the hint. */
void	 console_empty(struct console *, enum scr, int y, int x, int w,
	    const char *hint);
/* The command buffer's text so far, and clearing it before an operation. */
const char *console_log(struct console *);
void	 console_log_clear(struct console *);

#endif
