/*
 * conf_impl: what conf.c (parsing) and conf_render.c (show, docs, reload
 * check) share. Not for use outside common/conf*.c.
 */
#ifndef TG_CONF_IMPL_H
#define TG_CONF_IMPL_H

#include <stddef.h>

struct conf_entry;

/* Typedefs so that `const T *` in CFIELD means what it says. */
typedef char	*conf_str_t;
typedef char	**conf_list_t;

#define FIELD(dst, e, T)	((T *)(void *)((char *)(dst) + (e)->offset))
#define CFIELD(src, e, T)	((const T *)(const void *)((const char *)(src) + (e)->offset))

/* Effective bounds of a numeric row (min == max == 0 -> the C type's). */
void	conf_bounds(const struct conf_entry *, long long *lo, long long *hi);
/* "a|b|c" -> "a, b, c" */
void	conf_choices_text(const char *choices, char *buf, size_t sz);

#endif
