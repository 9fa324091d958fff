/*
 * creds: tenant credentials the forwarder redeemed, keyed by the grant
 * they were redeemed with (its jti) and the integration. Open WebUI signs
 * a fresh user JWT per request, so the grant-set cache (keyed by the user
 * token) misses every time; the broker then hands back the same grant, and
 * this cache lets that grant's credential be reused without a redeem.
 *
 * Bounded: least recently used entries go first, found through a list, so
 * making room never scans the table (common/cache). Not locked here: the
 * grants cache calls every function under its one mutex, never held
 * across a broker call, so a drop takes credentials and grant sets
 * together. A generation number, bumped by every drop, lets a redeem that
 * raced a change-feed event decline to store what it got (the answer may
 * predate the change).
 */
#ifndef TG_CREDS_H
#define TG_CREDS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "secret.h"

struct dropset;
struct creds;

struct creds_key {
	const char	*jti;
	const char	*integ;
	const char	*grant_hash;	/* hex SHA-256 of the grant token */
};

struct creds	*creds_new(void);
void		 creds_free(struct creds *);

/* A private copy of the cached credential (secret_free() it), or NULL.
 * *version gets the credential version it was redeemed at. */
secret_t	*creds_get(struct creds *, const struct creds_key *, time_t now,
		    long long *version);
/* The generation to pass to creds_put(): read it before redeeming. */
uint64_t	 creds_gen(struct creds *);
/* Store a redeemed credential (copied) unless a drop happened since gen.
 * max bounds the entries (0: store nothing). 1 stored, 0 declined. */
int		 creds_put(struct creds *, size_t max, uint64_t gen, const struct creds_key *,
		    const char *user, const char *tenant, const secret_t *cred, time_t exp,
		    long long version);
/* The version a credential is cached at, 0 when none. */
long long	 creds_version(struct creds *, const struct creds_key *);
/* Forget one (the upstream refused it). */
void		 creds_remove(struct creds *, const struct creds_key *);
/* Drop every entry the set names; returns how many went. */
size_t		 creds_drop(struct creds *, const struct dropset *);
size_t		 creds_sweep(struct creds *, time_t now);
size_t		 creds_count(struct creds *);

#endif
