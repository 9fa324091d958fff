/*
 * issue: the decisions around one grant that do not belong to the HTTP
 * layer: hand out the still-valid grant for the same access or mint a
 * new one (audited on first issue only), refuse user tokens older than a
 * `grant revoke --user`, and re-check at redeem that the member's current
 * role still allows every tool the grant names.
 */
#ifndef TG_BROKER_ISSUE_H
#define TG_BROKER_ISSUE_H

#include <stddef.h>

#include <jansson.h>

struct broker;
struct broker_state;
struct err;
struct identity;
struct ints_set;
struct membership;

/* One tenant's grant description (as /v1/grants lists it, jti removed),
 * or NULL with e set (503 when the tenant's integrations are unknown).
 * gen: reuse_gen() read before the memberships were: a grant minted from
 * answers that a change may have overtaken is not kept for reuse. */
json_t	*issue_grant(struct broker *, const struct broker_state *, const struct identity *,
	    const struct membership *,
	    const json_t *wanted_tools, int with_groups, const char *caller,
	    unsigned long gen, struct err *);
/* -1 (401 "token_revoked") when the user was revoked after the presented
 * token was issued (its iat, or it has none). ms: the user's memberships. */
int	 issue_check_user_token(const struct membership *ms, size_t n, const char *assertion,
	    const char *email, struct err *);
/* -1 (403 "role_changed") when the grant's tools are not all allowed by
 * member m's current role over the tenant's current integrations. */
int	 issue_check_role(const struct membership *m, const struct ints_set *,
	    const json_t *claims, struct err *);

#endif
