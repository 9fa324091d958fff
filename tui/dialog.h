/*
 * dialog: the console's modal widgets (confirm, text, hidden secret,
 * choose, the pager). Each runs its own key loop over the console and
 * redraws it underneath when the terminal is resized.
 */
#ifndef TG_TUI_DIALOG_H
#define TG_TUI_DIALOG_H

#include <stddef.h>

#include "secret.h"

struct console;
struct json_t;

int	 dialog_confirm(struct console *, const char *question);
/* Edit buf (its content is the initial text); 0 accepted, -1 cancelled. */
int	 dialog_input(struct console *, const char *prompt, char *buf, size_t len);
/* A secret typed with nothing drawn; NULL if cancelled or empty. */
secret_t *dialog_secret(struct console *, const char *prompt);
/* Pick one of n items (typing jumps to a prefix); its index or -1. */
int	 dialog_choose(struct console *, const char *title, const char *const *items,
	    int n, int initial);
/* The string values of field in each row of a JSON array, for
 * dialog_choose(); *n gets the count. free() the array (not the strings). */
const char **dialog_items(const struct json_t *rows, const char *field, int *n);
/* A scrollable text; wrap: long lines wrap (else Left/Right scroll); `w`
 * toggles. */
void	 dialog_pager(struct console *, const char *title, const char *text, int wrap);

#endif
