/* dropset: a sorted set of cache keys named by change-feed events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dropset.h"

#define DROPSET_KEY_MAX	600

void
dropset_init(struct dropset *d)
{
	memset(d, 0, sizeof *d);
}

void
dropset_clear(struct dropset *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->keys[i]);
	free(d->keys);
	dropset_init(d);
}

static void
dropset_key(char *buf, size_t len, char kind, const char *a, const char *b)
{
	if (b != NULL)
		snprintf(buf, len, "%c:%s\x1f%s", kind, a, b);
	else
		snprintf(buf, len, "%c:%s", kind, a);
}

int
dropset_add(struct dropset *d, char kind, const char *a, const char *b)
{
	char	 buf[DROPSET_KEY_MAX];
	char	*k, **nk;

	if (a == NULL)
		return 0;
	dropset_key(buf, sizeof buf, kind, a, b);
	if (d->n == d->cap) {
		size_t cap = d->cap == 0 ? 16 : d->cap * 2;

		if ((nk = realloc(d->keys, cap * sizeof *nk)) == NULL)
			return -1;
		d->keys = nk;
		d->cap = cap;
	}
	if ((k = strdup(buf)) == NULL)
		return -1;
	d->keys[d->n++] = k;
	d->sorted = 0;
	return 0;
}

static int
dropset_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
dropset_seal(struct dropset *d)
{
	size_t w = 0;

	if (d->n > 1)
		qsort(d->keys, d->n, sizeof *d->keys, dropset_cmp);
	for (size_t i = 0; i < d->n; i++) {
		if (w > 0 && strcmp(d->keys[w - 1], d->keys[i]) == 0) {
			free(d->keys[i]);
			continue;
		}
		d->keys[w++] = d->keys[i];
	}
	d->n = w;
	d->sorted = 1;
}

int
dropset_has(const struct dropset *d, char kind, const char *a, const char *b)
{
	char		 buf[DROPSET_KEY_MAX];
	const char	*k = buf;

	if (d->all)
		return 1;
	if (a == NULL || d->n == 0)
		return 0;
	dropset_key(buf, sizeof buf, kind, a, b);
	if (!d->sorted) {	/* a caller forgot dropset_seal(): still correct */
		for (size_t i = 0; i < d->n; i++)
			if (strcmp(d->keys[i], buf) == 0)
				return 1;
		return 0;
	}
	return bsearch(&k, d->keys, d->n, sizeof *d->keys, dropset_cmp) != NULL;
}

int
dropset_empty(const struct dropset *d)
{
	return !d->all && !d->all_sets && d->n == 0;
}
