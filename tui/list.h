/*
 * list: a selection (sel) over n rows, the first shown being top.
 */
#ifndef TG_TUI_LIST_H
#define TG_TUI_LIST_H

#include "keymap.h"

struct list {
	int	n, sel, top;
};

/* Move for a moving action (ACT_UP ... ACT_END, page rows a page);
 * 1 if it was one. */
int	list_act(struct list *, enum action, int page);
/* The row count changed: keep sel and top inside it. */
void	list_set(struct list *, int n);
/* Scroll so the selection is visible in h rows. */
void	list_fit(struct list *, int h);

#endif
