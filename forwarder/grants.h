/*
 * grants: what the broker granted one user token, cached per token, and the
 * tenant credentials redeemed with those grants.
 *
 * The cache is keyed by SHA-256 of the token (the token itself is never
 * kept) and an entry lives until shortly before its earliest grant expires;
 * from grant_renew_margin before that it is renewed in the background
 * while requests keep using it (stale-while-revalidate, one renewal per
 * entry at a time; only a renewal ticket holds a copy of the token).
 * A redeemed credential is bound to its grant (jti + integration, see
 * creds.h), so a fresh user token whose grants the broker reuses also
 * reuses the credential. Entries are refcounted, so a janitor sweep or a
 * change-feed drop never frees one that a running request still uses.
 *
 * Both caches are trusted only while the change feed is current
 * (grants_feed_ok()); otherwise every call asks the broker (grants and
 * redeem per call) and nothing is stored. No lock is held across a broker
 * call: two racing calls may both redeem, which is harmless.
 */
#ifndef TG_GRANTS_H
#define TG_GRANTS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "secret.h"

struct err;
struct fwdconf;
struct broker_client;
struct grants_cache;

struct grant_integ {
	char		*name;		/* "jira" */
	char		*kind;		/* jira | confluence | mcp */
	char		*base_url;	/* the site: links in results point here */
	char		*cred_kind;	/* classic | scoped | service_account */
	char		*api_url;	/* NULL, or where requests go instead of base_url */
	long long	 cred_version;
};

/* Where a built-in tool's requests go: api_url (Atlassian's API gateway,
 * https://api.atlassian.com/ex/jira/<cloudId>) when set, else base_url. */
const char	*grants_request_url(const struct grant_integ *);

struct grant {
	char		*tenant;
	char		*role;		/* viewer | editor | admin */
	secret_t	*token;		/* the grant JWT: a bearer credential */
	char		*jti;		/* the grant's id (its JWT claim) */
	char		 hash[65];	/* hex SHA-256 of token */
	time_t		 expires_at;
	struct grant_integ *integ;
	size_t		 ninteg;
	char		**tools;	/* built-in names and mcp:<name>:* | :readonly */
	size_t		 ntools;
};

struct grantset {
	char		 key[65];	/* hex SHA-256 of the user token */
	char		*user;		/* NULL for a user in no tenant */
	struct grant	*g;
	size_t		 n;
	time_t		 expires;	/* leaves the cache */
	time_t		 renew_at;	/* renewed in the background from here */
	/* private */
	struct grants_cache *cache;
	int		 refs;		/* under the cache's lock */
	int		 renewing;	/* under the lock: a ticket is out */
	long		 renew_tried_ms; /* under the lock: clock_now_ms() at issue */
};

struct grants_renewal;

struct dropset;

struct grants_cache	*grants_cache_new(struct broker_client *);
void			 grants_cache_free(struct grants_cache *);

/*
 * The grants of the user behind `assertion`: cached, or asked of the broker.
 * A user in no tenant gets a set with n == 0. Release with grants_put().
 * Errors: 401 (identity refused), 502/503 (broker).
 *
 * With renew != NULL: when the cached set is inside its renew margin and no
 * renewal of it is running (nor failed within the last second), *renew is
 * a ticket the caller must pass to grants_renew() (in the background) or
 * grants_renew_abandon(); else NULL.
 */
int		 grants_get(struct grants_cache *, const struct fwdconf *,
		    const char *assertion, struct grantset **,
		    struct grants_renewal **renew, struct err *);
/* Run a renewal ticket (asks the broker: parks in a coroutine) and free
 * it. The answer replaces the cached set only if no change-feed drop ran
 * since the ticket was issued and the feed is current; a failure leaves the
 * old set, to be renewed by a later request. 1 when stored, else 0. */
int		 grants_renew(struct grants_cache *, const struct fwdconf *,
		    struct grants_renewal *);
/* Free a ticket without running it. */
void		 grants_renew_abandon(struct grants_cache *, struct grants_renewal *);
void		 grants_put(struct grants_cache *, struct grantset *);
/* Forget a set now (a grant turned out expired or revoked); its
 * credentials are wiped once the last user lets go. */
void		 grants_invalidate(struct grants_cache *, struct grantset *);
/* Janitor: drop expired entries. Returns how many were dropped. */
size_t		 grants_sweep(struct grants_cache *, time_t now);
size_t		 grants_count(struct grants_cache *);
size_t		 grants_cred_count(struct grants_cache *);

/* Change feed: drop the grant sets and credentials the set names; returns
 * how many entries went. */
size_t		 grants_drop(struct grants_cache *, const struct dropset *);
/* The feed is current until monotonic time until_ms (clock_now_ms());
 * 0 = not current. */
void		 grants_feed_ok(struct grants_cache *, long until_ms);
int		 grants_trusted(struct grants_cache *);

/* Hex SHA-256 of s into out[65]. */
void		 grants_key(const char *s, char out[65]);

const struct grant	*grants_find(const struct grantset *, const char *tenant);
/* First integration of that kind, or NULL. */
struct grant_integ	*grants_integration(const struct grant *, const char *kind);
struct grant_integ	*grants_integration_named(const struct grant *, const char *name);
int			 grants_has_tool(const struct grant *, const char *tool);

/*
 * The header that carries the tenant credential for one integration of a
 * grant, redeemed on first use and reused until the grant expires (or a
 * change-feed event drops it). Returns a private copy: secret_free() it
 * after the request. Errors carry the broker's status: 401 grant_invalid
 * means "renew the grants and retry".
 */
secret_t	*grants_credential(struct grants_cache *, const struct fwdconf *,
		    struct grantset *, const struct grant *, struct grant_integ *,
		    struct err *);
/* The credential version last redeemed for gi (0 if none). */
long long	 grants_cred_version(struct grantset *, const struct grant_integ *);
/* Drop a credential that the upstream refused (rotated key). */
void		 grants_drop_credential(struct grantset *, struct grant_integ *);

/* Parse a broker /v1/grants answer (exposed for unit tests). Each grant's
 * jti is the answer's "jti" field if any, else the token's unverified
 * payload claim (the broker verifies it; here it only names the grant). */
struct grantset	*grants_parse(const json_t *answer, const char *key, struct err *);
void		 grants_free(struct grantset *);

#endif
