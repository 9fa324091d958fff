/*
 * callers: who is calling the broker. Forwarders prove themselves with a
 * Kubernetes service-account token (checked with the TokenReview API and
 * an allow-list of namespace/name) or, outside Kubernetes, with a client
 * secret. A user assertion alone is never a caller. Errors (generic text,
 * never TokenReview's): 401 caller_unauthenticated | caller_not_allowed,
 * 429 caller_check_limited (review rate or concurrency), 503
 * caller_check_unavailable (TokenReview unreachable).
 */
#ifndef TG_BROKER_CALLERS_H
#define TG_BROKER_CALLERS_H

#include <stddef.h>
#include <time.h>

struct broker_cfg;
struct callers;
struct err;

struct callers	*callers_new(const struct broker_cfg *, struct err *);
void		 callers_free(struct callers *);
/* `authorization` is the raw header value. On success `who` names the
 * caller ("client-secret" or "ns/name") for logs and audit. */
int		 callers_check(struct callers *, const char *authorization, char *who,
		    size_t wholen, struct err *);
/* 1 when `token` is a JWT-shaped, unexpired Kubernetes service-account token
 * (RS/ES/PS alg, sub "system:serviceaccount:NS:NAME"): the only values ever
 * sent to TokenReview. nsname gets "NS/NAME" (unverified). */
int		 callers_sa_shaped(const char *token, time_t now, char *nsname, size_t);
/* Bearer token out of an Authorization header value, or NULL. */
const char	*callers_bearer(const char *authorization);

#endif
