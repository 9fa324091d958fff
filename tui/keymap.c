/*
 * keymap: the binding table and what is drawn from it.
 */
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "keymap.h"
#include "ui.h"

#define S(x)	SCR_BIT(SCR_##x)

static const char *const keys_screens[SCR_COUNT] = {
	[SCR_TENANTS] = "Tenants", [SCR_USERS] = "Users", [SCR_KEYS] = "Keys",
	[SCR_ONBOARD] = "Onboard", [SCR_GRANTS] = "Grants", [SCR_AUDIT] = "Audit",
};

/* Screen keys first, then moving, then the global ones: the help bar
 * shows labelled rows of the current screen in this order. */
const struct key_binding keymap_table[] = {
	{ '/', S(USERS), ACT_SEARCH, "Search", "search users as you type (email or name); Enter or Down ends it, Esc clears it" },
	{ 'a', S(USERS), ACT_ADD, "Add", "give the selected user a role in a tenant" },
	{ 'x', S(USERS), ACT_REMOVE, "Remove", "remove the selected user from one of their tenants" },
	{ 'n', S(USERS), ACT_NEW, "New", "add a user" },

	{ 'd', S(TENANTS), ACT_DISABLE, "Disable", "disable the selected tenant (asks first)" },
	{ 'e', S(TENANTS), ACT_ENABLE, "Enable", "enable the selected tenant" },
	{ 'g', S(TENANTS), ACT_GROUP_ADD, "Map group", "map an IdP group to the selected tenant with a role" },
	{ 'x', S(TENANTS), ACT_GROUP_REMOVE, "Unmap", "remove one of the selected tenant's group mappings (asks first)" },

	{ 'r', S(KEYS), ACT_ROTATE, "Rotate", "rotate the selected integration's key: typed hidden, verified, check-and-set" },

	{ '\r', S(ONBOARD), ACT_EDIT, "Edit", "edit the selected field (then the next one follows)" },
	{ 'p', S(ONBOARD), ACT_PREVIEW, "Dry run", "show what onboarding would do, changing nothing" },
	{ 's', S(ONBOARD), ACT_START, "Onboard", "onboard the tenant (asks first)" },
	{ 'c', S(ONBOARD), ACT_CLEAR, "Clear", "clear the form" },

	{ '/', S(GRANTS), ACT_SEARCH, "Filter", "show only grants whose user or tenant contains the text" },
	{ 'x', S(GRANTS), ACT_REVOKE, "Revoke", "revoke the selected grant (asks first)" },
	{ 'X', S(GRANTS), ACT_REVOKE_USER, "Revoke user", "revoke every grant of the selected grant's user (asks first)" },

	{ '/', S(AUDIT), ACT_SEARCH, "Filter", "filter: words match anywhere; tenant:T actor:A action:P narrow by field" },
	{ '\r', S(AUDIT), ACT_OPEN, "Details", "show the selected row in full" },
	{ 'g', S(AUDIT), ACT_HIDE_GRANTS, "Hide grants", "hide (or show again) the brokers' grant.* rows, so changes by people stand out" },

	{ UI_FN(KEY_UP), SCR_ALL, ACT_UP, NULL, "move up" },
	{ 'k', SCR_LISTS, ACT_UP, NULL, "move up" },
	{ UI_FN(KEY_DOWN), SCR_ALL, ACT_DOWN, NULL, "move down" },
	{ 'j', SCR_LISTS, ACT_DOWN, NULL, "move down" },
	{ UI_FN(KEY_PPAGE), SCR_ALL, ACT_PGUP, NULL, "page up" },
	{ UI_FN(KEY_NPAGE), SCR_ALL, ACT_PGDN, NULL, "page down" },
	{ UI_FN(KEY_HOME), SCR_ALL, ACT_HOME, NULL, "first row" },
	{ UI_FN(KEY_END), SCR_ALL, ACT_END, NULL, "last row" },

	{ '1', SCR_ALL, ACT_SCREEN_0 + SCR_TENANTS, NULL, "Tenants: status, integrations, key versions; disable, enable, group mappings" },
	{ '2', SCR_ALL, ACT_SCREEN_0 + SCR_USERS, NULL, "Users: search, a user's tenants and roles, add and remove memberships" },
	{ '3', SCR_ALL, ACT_SCREEN_0 + SCR_KEYS, NULL, "Keys: versions per integration, rotated when and by whom; rotate" },
	{ '4', SCR_ALL, ACT_SCREEN_0 + SCR_ONBOARD, NULL, "Onboard: the new-tenant wizard" },
	{ '5', SCR_ALL, ACT_SCREEN_0 + SCR_GRANTS, NULL, "Grants: active grants; revoke" },
	{ '6', SCR_ALL, ACT_SCREEN_0 + SCR_AUDIT, NULL, "Audit: the log, newest first, filterable" },
	{ '\t', SCR_ALL, ACT_NEXT_SCREEN, NULL, "next screen" },
	{ UI_FN(KEY_BTAB), SCR_ALL, ACT_PREV_SCREEN, NULL, "previous screen" },
	{ UI_FN(KEY_F(5)), SCR_ALL, ACT_REFRESH, NULL, "reload from the database (and Vault)" },
	{ UI_CTRL('r'), SCR_ALL, ACT_REFRESH, NULL, "reload from the database (and Vault)" },
	{ UI_CTRL('l'), SCR_ALL, ACT_REDRAW, NULL, "redraw the screen" },
	{ '?', SCR_ALL, ACT_HELP, "Help", "this help" },
	{ ':', SCR_ALL, ACT_COMMAND, "Cmd", "run a command as on the command line, e.g. :tenant list" },
	{ 'q', SCR_ALL, ACT_QUIT, "Quit", "quit" },
	{ 0, 0, ACT_NONE, NULL, NULL },
};

int
keymap_changes(enum action a)
{
	switch (a) {
	case ACT_ADD: case ACT_REMOVE: case ACT_NEW: case ACT_DISABLE: case ACT_ENABLE:
	case ACT_GROUP_ADD: case ACT_GROUP_REMOVE: case ACT_ROTATE: case ACT_REVOKE:
	case ACT_REVOKE_USER: case ACT_START:
		return 1;
	default:
		return 0;
	}
}

enum action
keymap_action(enum scr s, int key)
{
	/* Enter arrives as \r (nonl) or KEY_ENTER (keypad): one binding. */
	if (key == '\n' || key == UI_FN(KEY_ENTER))
		key = '\r';
	for (const struct key_binding *k = keymap_table; k->key != 0; k++)
		if (k->key == key && (k->screens & SCR_BIT(s)))
			return k->action;
	return ACT_NONE;
}

const char *
keymap_screen_name(enum scr s)
{
	return keys_screens[s];
}

int
keymap_screen_key(enum scr s)
{
	for (const struct key_binding *k = keymap_table; k->key != 0; k++)
		if ((int)k->action == ACT_SCREEN_0 + (int)s)
			return k->key;
	return 0;
}

void
keymap_bar(enum scr s, char *buf, size_t len)
{
	char	name[16];
	size_t	at = 0;

	buf[0] = '\0';
	for (const struct key_binding *k = keymap_table; k->key != 0 && at < len; k++) {
		if (k->label == NULL || !(k->screens & SCR_BIT(s)))
			continue;
		ui_key_name(k->key, name, sizeof name);
		at += (size_t)snprintf(buf + at, len - at, "%s%s\x01%s", at > 0 ? "  " : "",
		    name, k->label);
	}
}

static int
keymap_global(const struct key_binding *k)
{
	return k->screens == SCR_ALL || k->screens == SCR_LISTS;
}

static int
keymap_same(const struct key_binding *a, const struct key_binding *b)
{
	return a->action == b->action && strcmp(a->help, b->help) == 0;
}

/* The rows for mask, screen-specific or global ones; bindings sharing an
 * action and help text are listed once: "Up, k". */
static void
keymap_lines(unsigned mask, int global, char *buf, size_t len, size_t *at)
{
	const struct key_binding	*k, *p;
	char				 names[64], one[16];
	int				 dup;

	for (k = keymap_table; k->key != 0; k++) {
		if (!(k->screens & mask) || keymap_global(k) != global)
			continue;
		for (dup = 0, p = keymap_table; p < k; p++)
			if ((p->screens & mask) && keymap_global(p) == global && keymap_same(p, k))
				dup = 1;
		if (dup)
			continue;
		names[0] = '\0';
		for (p = k; p->key != 0; p++) {
			if (!(p->screens & mask) || keymap_global(p) != global || !keymap_same(p, k))
				continue;
			ui_key_name(p->key, one, sizeof one);
			snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
			    names[0] != '\0' ? ", " : "", one);
		}
		if (*at < len)
			*at += (size_t)snprintf(buf + *at, len - *at, "  %-12s %s\n", names,
			    k->help);
	}
}

void
keymap_help(enum scr s, char *buf, size_t len)
{
	size_t at = 0;

	at += (size_t)snprintf(buf, len, "%s screen:\n", keys_screens[s]);
	keymap_lines(SCR_BIT(s), 0, buf, len, &at);
	if (at < len)
		at += (size_t)snprintf(buf + at, len - at, "\nEverywhere:\n");
	keymap_lines(SCR_BIT(s), 1, buf, len, &at);
	if (at < len)
		snprintf(buf + at, len - at, "\nSecrets are typed with echo off and never "
		    "drawn. Everything that changes access asks first.\n");
}

void
keymap_markdown(FILE *f)
{
	char buf[8192];

	for (int s = 0; s < SCR_COUNT; s++) {
		size_t at = 0;

		fprintf(f, "### %s (key `%c`)\n\n```\n", keys_screens[s],
		    keymap_screen_key((enum scr)s));
		buf[0] = '\0';
		keymap_lines(SCR_BIT(s), 0, buf, sizeof buf, &at);
		fprintf(f, "%s```\n\n", buf[0] != '\0' ? buf : "  (moving only)\n");
	}
	{
		size_t at = 0;

		fprintf(f, "### Everywhere\n\n```\n");
		buf[0] = '\0';
		keymap_lines(SCR_ALL, 1, buf, sizeof buf, &at);
		fprintf(f, "%s```\n\n", buf);
	}
}
