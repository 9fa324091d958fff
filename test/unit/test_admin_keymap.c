/* test_admin_keymap: the console's key table (tui/keymap.c), from which the
 * help bar, the `?` screen and docs/admin.md are drawn. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../tui/keymap.h"
#include "../../tui/ui.h"

static void
test_key_table(void **state)
{
	char	bar[512], help[8192], name[16];

	(void)state;
	for (const struct key_binding *k = keymap_table; k->key != 0; k++) {
		assert_non_null(k->help);
		assert_int_not_equal(k->action, ACT_NONE);
		assert_true(k->screens != 0);
		/* One action per key on each screen. */
		for (const struct key_binding *p = keymap_table; p < k; p++)
			if (p->key == k->key && (p->screens & k->screens))
				fail_msg("key %d bound twice on a screen", k->key);
	}
	for (int s = 0; s < SCR_COUNT; s++) {
		assert_non_null(keymap_screen_name((enum scr)s));
		assert_int_equal(keymap_screen_key((enum scr)s), '1' + s);
		assert_int_equal(keymap_action((enum scr)s, '1' + s), ACT_SCREEN_0 + s);
		assert_int_equal(keymap_action((enum scr)s, '?'), ACT_HELP);
		assert_int_equal(keymap_action((enum scr)s, 'q'), ACT_QUIT);
		keymap_bar((enum scr)s, bar, sizeof bar);
		/* The bar fits 80 columns: key, space, label, two spaces. */
		assert_true(strlen(bar) < 80);
		assert_non_null(strstr(bar, "?\x01Help"));
		keymap_help((enum scr)s, help, sizeof help);
		assert_non_null(strstr(help, "Everywhere:"));
		assert_non_null(strstr(help, "this help"));
	}
	assert_int_equal(keymap_action(SCR_KEYS, 'r'), ACT_ROTATE);
	assert_int_equal(keymap_action(SCR_USERS, '/'), ACT_SEARCH);
	assert_int_equal(keymap_action(SCR_AUDIT, '\n'), ACT_OPEN);
	assert_int_equal(keymap_action(SCR_KEYS, 'a'), ACT_NONE);
	keymap_help(SCR_USERS, help, sizeof help);
	assert_non_null(strstr(help, "  Up, k        move up\n"));
	ui_key_name(UI_CTRL('r'), name, sizeof name);
	assert_string_equal(name, "^R");
	ui_key_name('\r', name, sizeof name);
	assert_string_equal(name, "Enter");
}

static void
test_markdown(void **state)
{
	FILE	*f = tmpfile();
	char	 buf[16384];
	size_t	 n;

	(void)state;
	assert_non_null(f);
	keymap_markdown(f);
	rewind(f);
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	for (int s = 0; s < SCR_COUNT; s++) {
		char h[64];

		snprintf(h, sizeof h, "### %s (key `%d`)", keymap_screen_name((enum scr)s),
		    s + 1);
		assert_non_null(strstr(buf, h));
	}
	assert_non_null(strstr(buf, "### Everywhere"));
	assert_non_null(strstr(buf, "  r            rotate the selected integration's key"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_table),
		cmocka_unit_test(test_markdown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
