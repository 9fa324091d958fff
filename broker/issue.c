/* issue: reuse-or-mint, user-token revocation, role re-check (issue.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "b64url.h"
#include "broker.h"
#include "err.h"
#include "grant.h"
#include "identity.h"
#include "ints.h"
#include "issue.h"
#include "jsonx.h"
#include "keys.h"
#include "log.h"
#include "broker_state.h"
#include "reuse.h"
#include "store.h"

json_t *
issue_grant(struct broker *b, const struct broker_state *s, const struct identity *id,
    const struct membership *m,
    const json_t *wanted_tools, int with_groups, const char *caller, unsigned long gen,
    struct err *e)
{
	struct ints_set	*set;
	json_t		*tools, *vers, *groups = NULL, *g;
	char		 key[65];
	int		 stale;

	if (ints_lookup(b->ints, m->tenant, &set, &stale, e) == -1) {
		metrics_inc(&broker_metrics[BM_DB_ERRORS]);
		return NULL;
	}
	tools = grant_tools(m, set->v, set->n, wanted_tools);
	vers = json_object();
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i].enabled)
			json_object_set_new(vers, set->v[i].name,
			    json_integer(set->v[i].cred_version));
	if (with_groups) {
		groups = json_array();
		for (size_t i = 0; i < id->ngroups; i++)
			json_array_append_new(groups, json_string(id->groups[i]));
	}
	reuse_key(id->email, m->tenant, m->role, vers, tools, groups, s->keys->kid, key);
	json_decref(vers);
	json_decref(groups);

	/* Nothing changed since a grant for exactly this was minted: the same
	 * token again, no signature, no audit row (it was audited once). */
	if ((g = reuse_get(b->reuse, key, id->exp)) != NULL) {
		json_decref(tools);
		ints_release(b->ints, set);
		metrics_inc(&broker_metrics[BM_GRANTS_REUSED]);
		json_object_del(g, "jti");
		return g;
	}
	g = grant_mint(&s->cfg, s->keys, id, m, set->v, set->n, tools, with_groups, e);
	ints_release(b->ints, set);
	if (g == NULL)
		return NULL;
	reuse_put(b->reuse, key, g, gen);
	metrics_inc(&broker_metrics[BM_GRANTS_ISSUED]);
	api_audit(b, id->email, "grant.issue", m->tenant, json_string_value(json_object_get(g,
	    "jti")), json_pack("{s:s,s:s,s:O}", "caller", caller, "role", m->role, "tools",
	    json_object_get(g, "tools")));
	json_object_del(g, "jti");
	return g;
}

/* The verified token's iat (identity_verify() checked the signature, so
 * reading the payload again is safe); -1 when absent or not a number. */
static double
issue_token_iat(const char *token)
{
	const char	*p = strchr(token, '.'), *q;
	unsigned char	*raw;
	size_t		 len;
	json_t		*claims, *iat;
	double		 v = -1;

	if (p == NULL || (q = strchr(p + 1, '.')) == NULL)
		return -1;
	if ((raw = b64url_decode(p + 1, (size_t)(q - p - 1), &len)) == NULL)
		return -1;
	if ((claims = json_loadb((const char *)raw, len, 0, NULL)) != NULL &&
	    json_is_number(iat = json_object_get(claims, "iat")))
		v = json_number_value(iat);
	json_decref(claims);
	free(raw);
	return v;
}

int
issue_check_user_token(const struct membership *ms, size_t n, const char *assertion,
    const char *email, struct err *e)
{
	double iat;

	if (n == 0 || ms[0].revoked_before <= 0)
		return 0;
	/* iat has whole seconds and the revocation milliseconds: a token from
	 * the revocation's own second counts as revoked (the safe side). */
	iat = issue_token_iat(assertion);
	if (iat >= 0 && iat > ms[0].revoked_before)
		return 0;
	metrics_inc(&broker_metrics[BM_DENIED_IDENTITY]);
	return err_set(e, 401, "token_revoked",
	    "every sign-in of %s before %.0f (unix time) was revoked by an administrator; "
	    "sign in again", email, ms[0].revoked_before);
}

int
issue_check_role(const struct membership *m, const struct ints_set *set,
    const json_t *claims, struct err *e)
{
	json_t		*allowed = grant_tools(m, set->v, set->n, NULL), *v;
	const json_t	*granted = json_object_get(claims, "tools");
	size_t		 i;
	int		 rc = 0;

	if (!json_is_array(granted)) {
		json_decref(allowed);
		return err_set(e, 401, "grant_invalid", "grant refused: it names no tools");
	}
	json_array_foreach(granted, i, v) {
		if (jsonx_array_has(allowed, json_string_value(v)))
			continue;
		rc = err_set(e, 403, "role_changed",
		    "this grant allows '%s', which the current role (%s) in tenant '%s' "
		    "no longer does; ask for a new grant", json_string_value(v), m->role,
		    m->tenant);
		break;
	}
	json_decref(allowed);
	return rc;
}
