/*
 * dropset: which cached entries one batch of change-feed events touches,
 * as a value the caches match their entries against. The feed builds it
 * (feed_plan()); grants, creds and backend_mcp each drop what matches, so
 * the mapping "event kind -> what goes" lives in one place (feed.c) and
 * each cache only answers "is this entry named?".
 *
 * Keys are "<letter>:<a>[\x1f<b>]", sorted, looked up by bsearch:
 *   U:user           the user's grant sets
 *   V:user           the user's credentials
 *   M:tenant,user    the user's credentials in that tenant
 *   S:tenant         grant sets that hold a grant for the tenant
 *   C:tenant         the tenant's credentials
 *   T:tenant         the tenant's credentials and backend tool lists
 *   I:tenant,integ   that integration's credentials and tool lists
 *   J:jti            grant sets holding that grant, its credentials
 */
#ifndef TG_DROPSET_H
#define TG_DROPSET_H

#include <stddef.h>

struct dropset {
	int	  all;		/* reset: every entry of every cache */
	int	  all_sets;	/* every grant set (who is in a tenant changed) */
	char	**keys;
	size_t	  n, cap;
	int	  sorted;
};

void	dropset_init(struct dropset *);
void	dropset_clear(struct dropset *);
/* Add one key; b may be NULL. -1 on ENOMEM (the caller then sets all). */
int	dropset_add(struct dropset *, char kind, const char *a, const char *b);
/* Sort and dedupe; call once after the last add. */
void	dropset_seal(struct dropset *);
/* Is (kind, a, b) named? */
int	dropset_has(const struct dropset *, char kind, const char *a, const char *b);
int	dropset_empty(const struct dropset *);

#endif
