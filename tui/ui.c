/*
 * ui: ncursesw set-up, attributes, wide-character output and key input.
 */
#include <curses.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "text.h"
#include "ui.h"
#include "utf8.h"

#define UI_LINE_MAX	1024

#define UI_KEY_ERRORS	100	/* consecutive read errors before giving up */

static SCREEN	*ui_screen;
static int	ui_has_color;
static int	ui_attrs[UI_ATTR_COUNT_];

static void
ui_set_attrs(void)
{
	if (ui_has_color) {
		init_pair(1, COLOR_WHITE, COLOR_BLUE);
		init_pair(2, COLOR_BLACK, COLOR_CYAN);
		init_pair(3, COLOR_GREEN, -1);
		init_pair(4, COLOR_RED, -1);
		init_pair(5, COLOR_YELLOW, -1);
		init_pair(6, COLOR_BLACK, COLOR_WHITE);
		ui_attrs[UI_TITLE] = COLOR_PAIR(1);
		ui_attrs[UI_TAB] = COLOR_PAIR(2) | A_BOLD;
		ui_attrs[UI_SELECTED] = COLOR_PAIR(2);
		ui_attrs[UI_HEADER] = A_BOLD | A_UNDERLINE;
		ui_attrs[UI_OK] = COLOR_PAIR(3) | A_BOLD;
		ui_attrs[UI_ERROR] = COLOR_PAIR(4) | A_BOLD;
		ui_attrs[UI_WARN] = COLOR_PAIR(5) | A_BOLD;
		ui_attrs[UI_DIM] = A_DIM;
		ui_attrs[UI_KEY] = COLOR_PAIR(6);
		ui_attrs[UI_INPUT] = A_UNDERLINE;
	} else {
		/* Meaning without colour: reverse for bars and the selection,
		 * bold for what needs attention. */
		ui_attrs[UI_TITLE] = A_REVERSE;
		ui_attrs[UI_TAB] = A_BOLD;
		ui_attrs[UI_SELECTED] = A_REVERSE;
		ui_attrs[UI_HEADER] = A_BOLD | A_UNDERLINE;
		ui_attrs[UI_OK] = A_BOLD;
		ui_attrs[UI_ERROR] = A_BOLD;
		ui_attrs[UI_WARN] = A_BOLD;
		ui_attrs[UI_DIM] = A_DIM;
		ui_attrs[UI_KEY] = A_REVERSE;
		ui_attrs[UI_INPUT] = A_UNDERLINE;
	}
	ui_attrs[UI_NORMAL] = A_NORMAL;
}

int
ui_start(int color)
{
	const char *nc = getenv("NO_COLOR");

	if ((ui_screen = newterm(NULL, stdout, stdin)) == NULL)
		return -1;
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	ui_has_color = color && (nc == NULL || *nc == '\0') && has_colors();
	if (ui_has_color) {
		start_color();
		use_default_colors();
	}
	ui_set_attrs();
	return 0;
}

void
ui_stop(void)
{
	if (ui_screen == NULL)
		return;
	if (!isendwin())
		endwin();
	delscreen(ui_screen);
	ui_screen = NULL;
}

int
ui_attr(enum ui_attr a)
{
	return ui_attrs[a];
}

int
ui_lines(void)
{
	return LINES;
}

int
ui_put(int y, int x, int w, enum ui_attr a, const char *s, int pad)
{
	wchar_t	buf[UI_LINE_MAX];
	int	used;

	if (w <= 0 || y < 0 || y >= LINES || x >= COLS)
		return 0;
	if (x + w > COLS)
		w = COLS - x;
	used = text_wfit(buf, UI_LINE_MAX, s, w, 1);
	attrset(ui_attrs[a]);
	mvaddnwstr(y, x, buf, -1);
	for (int i = used; pad && i < w; i++)
		addch(' ');
	attrset(A_NORMAL);
	return pad ? w : used;
}

int
ui_putf(int y, int x, int w, enum ui_attr a, int pad, const char *fmt, ...)
{
	char	line[UI_LINE_MAX];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	return ui_put(y, x, w, a, line, pad);
}

void
ui_row(int y, int x, int w, enum ui_attr a, int n, const int *widths,
    const char *const *cells)
{
	int fixed = 0, flex = 0, cw, at = x;

	for (int i = 0; i < n; i++) {
		fixed += widths[i] + (i > 0);
		flex += widths[i] == 0;
	}
	ui_put(y, x, w, a, "", 1);
	for (int i = 0; i < n && at < x + w; i++) {
		cw = widths[i] != 0 ? widths[i] : flex > 0 ? (w - fixed) / flex : 0;
		if (cw <= 0)
			continue;
		if (at + cw > x + w)
			cw = x + w - at;
		ui_put(y, at, cw, a, cells[i] != NULL ? cells[i] : "", 1);
		at += cw + 1;
	}
}

void
ui_clear_line(int y, int x, enum ui_attr a)
{
	if (y < 0 || y >= LINES || x >= COLS)
		return;
	attrset(ui_attrs[a]);
	for (int i = x; i < COLS; i++)
		mvaddch(y, i, ' ');
	attrset(A_NORMAL);
}

int
ui_key(void)
{
	wint_t	ch;
	int	r;

	/* ERR is a signal (read again) or a terminal that went away: bounded,
	 * so a hung-up console ends instead of spinning. */
	for (int errs = 0; errs < UI_KEY_ERRORS; errs++) {
		r = get_wch(&ch);
		if (r == KEY_CODE_YES)
			return UI_FN((int)ch);
		if (r == OK)
			return (int)ch;
	}
	return UI_KEY_EOF;
}

int
ui_key_printable(int key)
{
	return key >= 0x20 && key != 0x7f && !(key & 0x40000000) &&
	    !(key >= 0x80 && key < 0xa0);
}

int
ui_key_append(char *buf, size_t len, int key)
{
	char		 mb[8];
	size_t		 n, have = strlen(buf);
	unsigned long	 cp = (unsigned long)key;

	if (!ui_key_printable(key))
		return -1;
	/* Encoded here: the buffer is UTF-8 whatever the locale. */
	n = utf8_encode(cp, mb);
	if (have + n + 1 > len)
		return -1;
	memcpy(buf + have, mb, n);
	buf[have + n] = '\0';
	return 0;
}

void
ui_backspace(char *buf)
{
	buf[utf8_back(buf, strlen(buf))] = '\0';
}

void
ui_key_name(int key, char *buf, size_t len)
{
	static const struct {
		int		 key;
		const char	*name;
	} names[] = {
		{ '\r', "Enter" }, { '\n', "Enter" }, { UI_FN(KEY_ENTER), "Enter" },
		{ UI_ESC, "Esc" }, { '\t', "Tab" }, { ' ', "Space" },
		{ UI_FN(KEY_UP), "Up" }, { UI_FN(KEY_DOWN), "Down" },
		{ UI_FN(KEY_LEFT), "Left" }, { UI_FN(KEY_RIGHT), "Right" },
		{ UI_FN(KEY_PPAGE), "PgUp" }, { UI_FN(KEY_NPAGE), "PgDn" },
		{ UI_FN(KEY_HOME), "Home" }, { UI_FN(KEY_END), "End" },
		{ UI_FN(KEY_DC), "Del" }, { UI_FN(KEY_BTAB), "S-Tab" },
	};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].key == key) {
			snprintf(buf, len, "%s", names[i].name);
			return;
		}
	if (key & 0x40000000) {
		int k = key & ~0x40000000;

		if (k >= KEY_F(1) && k <= KEY_F(12))
			snprintf(buf, len, "F%d", k - KEY_F0);
		else
			snprintf(buf, len, "key%d", k);
	} else if (key < 0x20)
		snprintf(buf, len, "^%c", key + '@');
	else {
		buf[0] = '\0';
		ui_key_append(buf, len, key);
	}
}
