/*
 * dialog: the console's modal widgets. Each runs its own key loop and,
 * on a resize, redraws the console underneath before drawing itself, so
 * a SIGWINCH in the middle of a question leaves a whole screen.
 */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "console.h"
#include "dialog.h"
#include "secret.h"
#include "text.h"
#include "ui.h"

#define DIALOG_SECRET_MAX	8192
#define DIALOG_TYPEAHEAD	64

static int
dialog_is_enter(int key)
{
	return key == '\r' || key == '\n' || key == UI_FN(KEY_ENTER);
}

static int
dialog_is_backspace(int key)
{
	return key == UI_FN(KEY_BACKSPACE) || key == 0x7f || key == UI_CTRL('h');
}

int
dialog_confirm(struct console *c, const char *question)
{
	char	q[600];
	int	key, x;

	for (;;) {
		console_draw(c);
		/* The question may be cut, the answer hint never. */
		text_fit(q, sizeof q, question, COLS > 8 ? COLS - 7 : 1, 1);
		ui_clear_line(LINES - 2, 0, UI_NORMAL);
		x = ui_put(LINES - 2, 0, COLS, UI_WARN, q, 0);
		ui_put(LINES - 2, x, COLS - x, UI_WARN, " [y/N] ", 0);
		refresh();
		key = ui_key();
		if (key == UI_FN(KEY_RESIZE))
			continue;
		return key == 'y' || key == 'Y';	/* EOF is a no */
	}
}

/* The message line as an input field: prompt, then text (or a note). */
static void
dialog_field(struct console *c, const char *prompt, const char *text, int hidden)
{
	int x, w;

	console_draw(c);
	ui_clear_line(LINES - 2, 0, UI_NORMAL);
	x = ui_put(LINES - 2, 0, COLS, UI_WARN, prompt, 0);
	if (x < COLS && prompt[strlen(prompt) - 1] != ' ' && prompt[0] != ':')
		x += ui_put(LINES - 2, x, COLS - x, UI_NORMAL, " ", 0);
	if (hidden) {
		ui_put(LINES - 2, x, COLS - x, UI_DIM, "(typing is hidden; Enter ends, "
		    "Esc cancels)", 0);
		curs_set(0);
	} else {
		w = text_width(text);
		/* Keep the end of a long text in view. */
		while (w > COLS - x - 1 && *text != '\0') {
			text++;
			while (((unsigned char)*text & 0xc0) == 0x80)
				text++;
			w = text_width(text);
		}
		x += ui_put(LINES - 2, x, COLS - x, UI_INPUT, text, 0);
		move(LINES - 2, x < COLS ? x : COLS - 1);
		curs_set(1);
	}
	refresh();
}

int
dialog_input(struct console *c, const char *prompt, char *buf, size_t len)
{
	int key;

	for (;;) {
		dialog_field(c, prompt, buf, 0);
		key = ui_key();
		if (key == UI_FN(KEY_RESIZE))
			continue;
		if (dialog_is_enter(key)) {
			curs_set(0);
			return 0;
		}
		if (key == UI_ESC || key == UI_CTRL('c') || key == UI_CTRL('g') ||
		    key == UI_KEY_EOF) {
			curs_set(0);
			return -1;
		}
		if (dialog_is_backspace(key))
			ui_backspace(buf);
		else if (key == UI_CTRL('u'))
			buf[0] = '\0';
		else
			(void)ui_key_append(buf, len, key);
	}
}

secret_t *
dialog_secret(struct console *c, const char *prompt)
{
	char		*buf;
	secret_t	*s = NULL;
	int		 key, done = 0;

	if ((buf = calloc(1, DIALOG_SECRET_MAX + 1)) == NULL)
		return NULL;
	while (!done) {
		dialog_field(c, prompt, "", 1);
		key = ui_key();
		if (key == UI_FN(KEY_RESIZE))
			continue;
		if (dialog_is_enter(key))
			done = 1;
		else if (key == UI_ESC || key == UI_CTRL('c') || key == UI_CTRL('g') ||
		    key == UI_KEY_EOF)
			done = -1;
		else if (dialog_is_backspace(key))
			ui_backspace(buf);
		else if (key == UI_CTRL('u'))
			secret_wipe(buf, DIALOG_SECRET_MAX);
		else
			(void)ui_key_append(buf, DIALOG_SECRET_MAX + 1, key);
	}
	if (done == 1 && buf[0] != '\0')
		s = secret_new(buf, strlen(buf));
	secret_wipe(buf, DIALOG_SECRET_MAX + 1);
	free(buf);
	return s;
}

const char **
dialog_items(const json_t *a, const char *field, int *n)
{
	const char	**items;
	size_t		  i;
	json_t		 *x;

	*n = 0;
	if ((items = calloc(json_array_size(a) + 1, sizeof *items)) == NULL)
		return NULL;
	json_array_foreach(a, i, x)
		if (json_string_value(json_object_get(x, field)) != NULL)
			items[(*n)++] = json_string_value(json_object_get(x, field));
	return items;
}

int
dialog_choose(struct console *c, const char *title, const char *const *items, int n,
    int initial)
{
	struct list	 l = { n, initial >= 0 && initial < n ? initial : 0, 0 };
	char		 typed[DIALOG_TYPEAHEAD] = "";
	int		 key, w, h, y0, x0, i;
	enum action	 act;

	if (n <= 0)
		return -1;
	for (;;) {
		console_draw(c);
		w = text_width(title) + 4;
		for (i = 0; i < n; i++)
			if (text_width(items[i]) + 4 > w)
				w = text_width(items[i]) + 4;
		if (w > COLS - 2)
			w = COLS - 2;
		h = n + 2 < LINES - 4 ? n + 2 : LINES - 4;
		y0 = (LINES - h) / 2;
		x0 = (COLS - w) / 2;
		list_fit(&l, h - 2);
		ui_put(y0, x0, w, UI_TITLE, "", 1);
		ui_putf(y0, x0, w, UI_TITLE, 1, " %s", title);
		for (i = 0; i < h - 2; i++) {
			int r = l.top + i;

			ui_put(y0 + 1 + i, x0, w, r == l.sel ? UI_SELECTED : UI_NORMAL, "", 1);
			if (r < n)
				ui_putf(y0 + 1 + i, x0, w, r == l.sel ? UI_SELECTED : UI_NORMAL, 1,
				    "%s %s", r == l.sel ? ">" : " ", items[r]);
		}
		ui_putf(y0 + h - 1, x0, w, UI_TITLE, 1, " %s", typed[0] != '\0' ? typed :
		    "type to jump, Enter picks, Esc");
		refresh();
		key = ui_key();
		if (key == UI_FN(KEY_RESIZE))
			continue;
		if (dialog_is_enter(key))
			return l.sel;
		if (key == UI_ESC || key == UI_CTRL('c') || key == UI_CTRL('g') ||
		    key == UI_KEY_EOF)
			return -1;
		if (dialog_is_backspace(key)) {
			ui_backspace(typed);
			continue;
		}
		act = key == UI_FN(KEY_UP) ? ACT_UP : key == UI_FN(KEY_DOWN) ? ACT_DOWN :
		    key == UI_FN(KEY_PPAGE) ? ACT_PGUP : key == UI_FN(KEY_NPAGE) ? ACT_PGDN :
		    key == UI_FN(KEY_HOME) ? ACT_HOME : key == UI_FN(KEY_END) ? ACT_END :
		    ACT_NONE;
		if (act != ACT_NONE) {
			list_act(&l, act, h - 2);
			typed[0] = '\0';
			continue;
		}
		/* Type-ahead: the first item starting with what was typed. */
		if (ui_key_append(typed, sizeof typed, key) == 0)
			for (i = 0; i < n; i++)
				if (strncmp(items[i], typed, strlen(typed)) == 0) {
					l.sel = i;
					break;
				}
	}
}

/* The part of s from column `from` on. */
static const char *
dialog_from(const char *s, int from)
{
	char	one[8];
	size_t	n;

	while (from > 0 && *s != '\0') {
		n = 1;
		while (((unsigned char)s[n] & 0xc0) == 0x80)
			n++;
		snprintf(one, sizeof one, "%.*s", (int)n, s);
		from -= text_width(one);
		s += n;
	}
	return s;
}

void
dialog_pager(struct console *c, const char *title, const char *text, int wrap)
{
	char		**lines = NULL;
	int		  n = 0, top = 0, left = 0, h, key, w = -1, i, was = wrap;

	for (;;) {
		if (COLS - 2 != w || was != wrap) {
			text_lines_free(lines, n);
			w = COLS - 2;
			was = wrap;
			lines = text_lines(text, w > 10 ? w : 10, wrap, &n);
		}
		h = LINES - 3;
		if (top > n - (h - 1))
			top = n - (h - 1);
		if (top < 0)
			top = 0;
		if (left < 0 || wrap)
			left = 0;
		console_draw(c);
		for (i = 1; i < LINES - 1; i++)
			ui_clear_line(i, 0, UI_NORMAL);
		ui_putf(1, 0, COLS, UI_HEADER, 1, "%s", title);
		for (i = 0; i < h - 1 && top + i < n; i++)
			ui_put(2 + i, 1, COLS - 1, UI_NORMAL, dialog_from(lines[top + i], left),
			    0);
		ui_clear_line(LINES - 1, 0, UI_NORMAL);
		ui_putf(LINES - 1, 0, COLS, UI_KEY, 0, " Up/Down PgUp/PgDn%s  w %s  q close"
		    "  (%d-%d of %d) ", wrap ? "" : " Left/Right", wrap ? "unwrap" : "wrap",
		    n > 0 ? top + 1 : 0, top + i, n);
		refresh();
		key = ui_key();
		if (key == UI_FN(KEY_RESIZE))
			continue;
		if (key == 'q' || key == UI_ESC || dialog_is_enter(key) || key == UI_KEY_EOF)
			break;
		if (key == 'w')
			wrap = !wrap;
		else if (key == UI_FN(KEY_UP) || key == 'k')
			top--;
		else if (key == UI_FN(KEY_DOWN) || key == 'j')
			top++;
		else if (key == UI_FN(KEY_LEFT) || key == 'h')
			left -= 8;
		else if (key == UI_FN(KEY_RIGHT) || key == 'l')
			left += 8;
		else if (key == UI_FN(KEY_PPAGE))
			top -= h - 2;
		else if (key == UI_FN(KEY_NPAGE) || key == ' ')
			top += h - 2;
		else if (key == UI_FN(KEY_HOME))
			top = 0;
		else if (key == UI_FN(KEY_END))
			top = n;
	}
	text_lines_free(lines, n);
}
