/*
 * reuse: grants already minted, handed out again while nothing changed.
 * Open WebUI signs a new user JWT for every request; without this each one
 * would cost an ES256 signature, an audit row and (at the forwarder) a
 * redeem. The key is everything a grant says about access: user, tenant,
 * role, each integration's name and credential version, the tools, the
 * IdP groups it carries, and the signing key id. Any change NOTIFY
 * flushes the whole cache (as for memberships), so a revoked jti or user
 * is never handed out again once the broker has heard of it.
 */
#ifndef TG_BROKER_REUSE_H
#define TG_BROKER_REUSE_H

#include <time.h>

#include <jansson.h>

struct reuse;

/* A grant is reused only while it has at least this long to live. */
#define REUSE_MIN_LEFT_S	60
/* The bound; a full cache evicts its least recently used grant. */
#define REUSE_MAX_ENTRIES	65536

struct reuse	*reuse_new(void);
void		 reuse_free(struct reuse *);
void		 reuse_flush(struct reuse *);
/* The cache key of a grant about to be minted (SHA-256, hex, 65 bytes). */
void		 reuse_key(const char *email, const char *tenant, const char *role,
		    const json_t *cred_versions, const json_t *tools, const json_t *groups,
		    const char *kid, char key[65]);
/* A copy of the cached grant description (grant_mint()'s answer, jti
 * included) if it expires no later than not_after (0 = no bound) and has
 * REUSE_MIN_LEFT_S left; else NULL. */
json_t		*reuse_get(struct reuse *, const char *key, time_t not_after);
/* Read the generation before minting and pass it here: a grant minted
 * across a flush is not kept (it may predate the change). */
unsigned long	 reuse_gen(struct reuse *);
void		 reuse_put(struct reuse *, const char *key, const json_t *grant,
		    unsigned long gen);

#endif
