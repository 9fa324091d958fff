/*
 * callers: who is calling the broker. Forwarders prove themselves with a
 * Kubernetes service-account token (checked with the TokenReview API and
 * an allow-list of namespace/name) or, outside Kubernetes, with a client
 * secret. A user assertion alone is never a caller.
 */
#ifndef TG_BROKER_CALLERS_H
#define TG_BROKER_CALLERS_H

#include <stddef.h>

struct broker_cfg;
struct callers;
struct err;

struct callers	*callers_new(const struct broker_cfg *, struct err *);
void		 callers_free(struct callers *);
/* `authorization` is the raw header value. On success `who` names the
 * caller ("client-secret" or "ns/name") for logs and audit. */
int		 callers_check(struct callers *, const char *authorization, char *who,
		    size_t wholen, struct err *);
/* Bearer token out of an Authorization header value, or NULL. */
const char	*callers_bearer(const char *authorization);

#endif
