/*
 * verify: before a new Atlassian key is stored, prove it works. Classic
 * tokens (verify_atlassian): GET
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

/*
 * The same proof for any credential kind (migrations/0004):
 *   classic          verify_atlassian() at the site (url = the site);
 *   scoped           Basic email:key at url = <gateway>/ex/<product>/<cloudId>;
 *   service_account  Bearer key at that url (email unused, may be NULL).
 * At the gateway each product checks its own API (a scoped token may
 * hold Confluence scopes only): jira GET /rest/api/3/myself, confluence
 * GET /wiki/rest/api/user/current. Errors as verify_atlassian(), and a
 * classic key the site refuses gets a hint that it may be a scoped one.
 */
int	verify_kind(const char *cred_kind, const char *product, const char *url,
	    const char *email, const secret_t *key, long timeout_ms, char *who,
	    size_t wholen, struct err *);

/* The site's cloud id from <site>/_edge/tenant_info (public, no auth) into
 * out[len]. -1 with 502 cloud_id_unknown when it cannot be read. */
int	verify_cloud_id(const char *site, long timeout_ms, char *out, size_t len,
	    struct err *);

/* Is s a cloud id as Atlassian writes them (letters, digits, '-', 1..64)? */
int	verify_cloud_id_ok(const char *s);

/* "https://x.atlassian.net/wiki/" -> "https://x.atlassian.net" into buf. */
void	verify_site_root(const char *base_url, char *buf, size_t len);

#endif
