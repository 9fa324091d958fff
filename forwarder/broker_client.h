/*
 * broker_client: the forwarder's calls to tenantgate-broker (docs/api.md):
 * POST /v1/grants, POST /v1/redeem, GET /v1/changes, POST /v1/audit,
 * GET /readyz. Owns the forwarder's own
 * caller credential (client secret or service-account token file) and the
 * mapping of broker answers to err values a handler can return as is.
 */
#ifndef TG_BROKER_CLIENT_H
#define TG_BROKER_CLIENT_H

#include <jansson.h>

#include "secret.h"

struct err;
struct fwdconf;
struct broker_client;

struct event_base;

struct broker_client	*broker_client_new(void);
/* Stops the credential job first (if started). */
void			 broker_client_free(struct broker_client *);
/* Read our credential now (a failure is logged, not fatal) and from then
 * on re-read it on a worker, kicked by a timer on base: requests never
 * read the file (broker_client.c). -1 with e when out of memory. */
int	broker_client_start(struct broker_client *, struct event_base *,
	    const struct fwdconf *, struct err *);

/*
 * POST /v1/grants for a user assertion. 0 with *out = the 200 answer;
 * 0 with *out = NULL when the user is a member of no tenant (403
 * no_tenants); -1 otherwise with e = 401 (identity refused, the broker's
 * code), 502 broker_refused (our own credential), 503 broker_unavailable.
 */
int	broker_client_grants(struct broker_client *, const struct fwdconf *,
	    const char *assertion, json_t **out, struct err *);
/* POST /v1/redeem; 0 with *out = the answer (holds a credential: decref
 * promptly), or -1 with the broker's status and code (401 grant_invalid,
 * 403 not_member, 503 vault_*...). */
int	broker_client_redeem(struct broker_client *, const struct fwdconf *,
	    const secret_t *grant, const char *integration, json_t **out, struct err *);
/* GET /v1/changes?since=&wait= (the change feed's long-poll); 0 with *out
 * = the 200 answer, -1 with e (503 broker_unavailable, the broker's code). */
int	broker_client_changes(struct broker_client *, const struct fwdconf *,
	    long long since, int wait_s, json_t **out, struct err *);
/* POST /v1/audit with body {"events":[...]}; 0 on 202. */
int	broker_client_audit(struct broker_client *, const struct fwdconf *,
	    json_t *body, struct err *);
/* GET /readyz of the broker: 0 when it answers 200. */
int	broker_client_ready(struct broker_client *, const struct fwdconf *, struct err *);

#endif
