/*
 * verify: before a new Atlassian key is stored, prove it works: GET
 * <site>/rest/api/3/myself with Basic base64(email:key). Both Jira and
 * Confluence integrations verify against the site root (a Confluence
 * base URL ending in /wiki is trimmed), since an Atlassian API token
 * belongs to the account, not to the product.
 */
#ifndef TG_TUI_VERIFY_H
#define TG_TUI_VERIFY_H

#include <stddef.h>

#include "secret.h"

struct err;

/*
 * 0 when the site accepted the key; who (may be NULL) gets the account's
 * display name or email as the site reports it. -1 with:
 *   400 key_rejected   the site answered 401/403: the key (or email) is wrong
 *   502 verify_failed  any other answer, or no answer (then the key is unknown)
 */
int	verify_atlassian(const char *base_url, const char *email, const secret_t *key,
	    long timeout_ms, char *who, size_t wholen, struct err *);

/* "https://x.atlassian.net/wiki/" -> "https://x.atlassian.net" into buf. */
void	verify_site_root(const char *base_url, char *buf, size_t len);

#endif
