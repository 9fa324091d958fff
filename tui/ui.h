/*
 * ui: the console's drawing primitives over ncursesw: start and stop the
 * terminal, one attribute per role (colours only when the terminal has
 * them, the color setting allows it and NO_COLOR is unset; otherwise
 * bold/reverse/underline carry the same meaning), text put into a number
 * of columns (wide characters, cleaned by text.h), and keys read as one
 * int: a character, or UI_FN(KEY_xxx) for function keys.
 */
#ifndef TG_TUI_UI_H
#define TG_TUI_UI_H

#include <stddef.h>

#define UI_FN(k)	(0x40000000 | (k))
#define UI_ESC		27
#define UI_CTRL(c)	((c) & 0x1f)
#define UI_KEY_EOF	(-1)		/* the terminal is gone */

enum ui_attr {
	UI_NORMAL,
	UI_TITLE,	/* the tab bar */
	UI_TAB,		/* the current screen's tab */
	UI_SELECTED,	/* the selected row */
	UI_HEADER,	/* column titles */
	UI_OK,
	UI_ERROR,
	UI_WARN,
	UI_DIM,
	UI_KEY,		/* a key in the help bar */
	UI_INPUT,	/* a text field being edited */
	UI_ATTR_COUNT_
};

/* 0, or -1 when there is no terminal. color: the setting. */
int	 ui_start(int color);
void	 ui_stop(void);
int	 ui_attr(enum ui_attr);		/* the curses attribute of a role */

int	 ui_lines(void);

/* Put s at (y, x) within w columns, cut with '~' when longer, padded with
 * spaces to w when pad is set. Returns the columns written. */
int	 ui_put(int y, int x, int w, enum ui_attr, const char *s, int pad);
/* printf-style ui_put. */
int	 ui_putf(int y, int x, int w, enum ui_attr, int pad, const char *fmt, ...)
	    __attribute__((format(printf, 6, 7)));
/* One table row: n cells in widths columns, one space apart; a width of
 * 0 takes what the others leave. The whole width w is painted in a. */
void	 ui_row(int y, int x, int w, enum ui_attr, int n, const int *widths,
	    const char *const *cells);
/* Clear a line from x to the right edge. */
void	 ui_clear_line(int y, int x, enum ui_attr);

/* Block for one key; KEY_RESIZE arrives as UI_FN(KEY_RESIZE); UI_KEY_EOF
 * when input is gone for good. */
int	 ui_key(void);
/* Append key (a character) to a UTF-8 buffer of size len; 0 if it fits. */
int	 ui_key_append(char *buf, size_t len, int key);
/* Remove the last UTF-8 character of buf. */
void	 ui_backspace(char *buf);
/* A character key (printable) rather than a control or function key? */
int	 ui_key_printable(int key);
/* "Enter", "Up", "x", "^R", "F5": for help texts. */
void	 ui_key_name(int key, char *buf, size_t len);

#endif
