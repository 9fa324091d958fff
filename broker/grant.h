/*
 * grant: mint and check the short-lived ES256 grants the broker issues,
 * one per tenant: who (sub), where (tenant, integrations), what (tools),
 * which credential version, until when (exp <= 300 s), and a jti so it
 * can be revoked.
 */
#ifndef TG_BROKER_GRANT_H
#define TG_BROKER_GRANT_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

struct broker_cfg;
struct err;
struct identity;
struct integration;
struct keyring;
struct membership;

/* Which tools of these integrations a role may use, optionally narrowed to
 * `wanted` (a JSON array of tool names, or NULL). Returns a JSON array. */
json_t	*grant_tools(const struct membership *, const struct integration *, size_t n,
	    const json_t *wanted);
/* Mint one grant. On success returns the description the API replies with
 * ({tenant, role, token, expires_at, integrations, tools}). with_groups:
 * the membership comes from an IdP group, so the grant carries the user's
 * groups for redeem to re-check it; a direct membership needs none. */
json_t	*grant_mint(const struct broker_cfg *, const struct keyring *,
	    const struct identity *, const struct membership *,
	    const struct integration *, size_t n, json_t *tools, int with_groups,
	    struct err *);
/* Verify a grant's signature, issuer, audience and expiry; the claims are
 * returned for the caller's further checks (revocation, membership). */
json_t	*grant_check(const struct broker_cfg *, const struct keyring *, const char *token,
	    struct err *);
/* {name, kind, base_url, cred_kind, api_url, cred_version} of one
 * integration, as grant and redeem answers carry it. */
json_t	*grant_integ_desc(const struct integration *);
/* Is `name` in the claims' integrations array? */
int	 grant_has_integration(const json_t *claims, const char *name);

#endif
