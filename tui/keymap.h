/*
 * keymap: the console's key bindings as one table (htop Action.c): which
 * key does what on which screen. The help bar, the `?` help screen and
 * the key reference in docs/admin.md are all drawn from it, so a binding
 * cannot exist without its help.
 */
#ifndef TG_TUI_KEYMAP_H
#define TG_TUI_KEYMAP_H

#include <stdio.h>

enum scr {
	SCR_TENANTS,
	SCR_USERS,
	SCR_KEYS,
	SCR_ONBOARD,
	SCR_GRANTS,
	SCR_AUDIT,
	SCR_COUNT
};
#define SCR_BIT(s)	(1u << (s))
#define SCR_ALL		((1u << SCR_COUNT) - 1)
#define SCR_LISTS	(SCR_ALL & ~SCR_BIT(SCR_ONBOARD))

enum action {
	ACT_NONE,
	ACT_SCREEN_0,			/* + enum scr */
	ACT_SCREEN_LAST = ACT_SCREEN_0 + SCR_COUNT - 1,
	ACT_NEXT_SCREEN,
	ACT_PREV_SCREEN,
	ACT_HELP,
	ACT_COMMAND,
	ACT_QUIT,
	ACT_REFRESH,
	ACT_REDRAW,
	ACT_UP,
	ACT_DOWN,
	ACT_PGUP,
	ACT_PGDN,
	ACT_HOME,
	ACT_END,
	ACT_OPEN,
	ACT_SEARCH,
	ACT_ADD,
	ACT_REMOVE,
	ACT_NEW,
	ACT_DISABLE,
	ACT_ENABLE,
	ACT_GROUP_ADD,
	ACT_GROUP_REMOVE,
	ACT_ROTATE,
	ACT_REVOKE,
	ACT_REVOKE_USER,
	ACT_EDIT,
	ACT_PREVIEW,
	ACT_START,
	ACT_CLEAR,
	ACT_HIDE_GRANTS,
	ACT_COUNT_
};

struct key_binding {
	int		 key;		/* a character, or UI_FN(KEY_xxx) */
	unsigned	 screens;	/* SCR_BIT()s */
	enum action	 action;
	const char	*label;		/* short, for the help bar; NULL = not shown */
	const char	*help;		/* one line, for `?` and the docs */
};

extern const struct key_binding keymap_table[];

/* 1 for an action that may change data (add, remove, rotate, revoke,
 * onboard, ...): the console reloads the screen after it. */
int		keymap_changes(enum action);
/* The action of key on screen s, ACT_NONE if unbound. */
enum action	keymap_action(enum scr, int key);
/* The screens' names and the key that opens each. */
const char	*keymap_screen_name(enum scr);
int		 keymap_screen_key(enum scr);
/* The help bar of screen s into buf: "/ Search  a Add ...". */
void		 keymap_bar(enum scr, char *buf, size_t len);
/* The `?` text of screen s: its keys, then the global ones. */
void		 keymap_help(enum scr, char *buf, size_t len);
/* docs/admin.md: one table per screen, and the global keys. */
void		 keymap_markdown(FILE *);

#endif
