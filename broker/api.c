/*
 * api: the broker's HTTP endpoints. Each handler authenticates first,
 * validates its body with jsonx, decides, audits, and replies with one
 * JSON document. No reply and no audit row ever holds a secret, except
 * the credential in a successful /v1/redeem answer, which is the point.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "broker.h"
#include "callers.h"
#include "clock.h"
#include "email.h"
#include "err.h"
#include "grant.h"
#include "httpc.h"
#include "httpd.h"
#include "identity.h"
#include "ints.h"
#include "issue.h"
#include "jsonx.h"
#include "keyexpiry.h"
#include "keys.h"
#include "log.h"
#include "members.h"
#include "reuse.h"
#include "secret.h"
#include "ready.h"
#include "broker_state.h"
#include "store.h"
#include "usermsg.h"
#include "vault.h"

#define CALLER_MAX API_CALLER_MAX

void
api_audit(struct broker *b, const char *actor, const char *action, const char *tenant,
    const char *subject, json_t *detail)
{
	struct err	 e;
	char		*d = detail != NULL ? jsonx_dump(detail) : NULL;

	json_decref(detail);
	err_clear(&e);
	/* The log line is the fallback record when PostgreSQL is down. */
	if (store_audit(b->store, actor, action, tenant, subject, d, &e) == -1) {
		metrics_inc(&broker_metrics[BM_DB_ERRORS]);
		log_warnx("audit row not written (%s): actor=%s action=%s tenant=%s subject=%s "
		    "detail=%s", e.msg, actor, action, tenant ? tenant : "-",
		    subject ? subject : "-", d ? d : "{}");
	}
	free(d);
}

/* Every error reply goes out here: the user gets usermsg's text (no
 * internal host, port or URL, cut at a word boundary; internal failures
 * as 503 with a sentence for users), the log gets the original. */
void
api_reply_err(struct httpd_req *r, const struct err *e)
{
	struct err out;

	if (usermsg_from_err(e, &out))
		log_warnx("%s %s: %s (%s, HTTP %d; the caller was told: HTTP %d)",
		    httpd_method(r), httpd_path(r), e->msg, e->code, e->status, out.status);
	if (out.status == 401)
		httpd_add_header(r, "WWW-Authenticate", "Bearer realm=\"tenantgate\"");
	else if (out.status == 429 || out.status == 503)
		httpd_add_header(r, "Retry-After", out.status == 429 ? "1" : "5");
	httpd_reply_err(r, &out);
}

/* The forwarder (or other caller) must prove who it is. */
int
api_caller(const struct broker_state *s, struct httpd_req *r, char *who, struct err *e)
{
	if (callers_check(s->callers, httpd_header(r, "Authorization"), who, CALLER_MAX, e) == 0)
		return 0;
	metrics_inc(&broker_metrics[BM_DENIED_CALLER]);
	log_warnx("caller refused from %s: %s (%s)", httpd_peer(r), e->msg, e->code);
	return -1;
}

/*
 * A forwarder names the protected resource it is (its RFC 9728 resource);
 * only one the operator listed in oidc_resources may widen the accepted
 * token audience, so a caller cannot make the broker accept tokens minted
 * for some other application.
 */
static int
api_resource_ok(const struct broker_state *s, const char *resource, struct err *e)
{
	for (size_t i = 0; resource != NULL && s->cfg.oidc_resources != NULL &&
	    s->cfg.oidc_resources[i] != NULL; i++)
		if (strcmp(s->cfg.oidc_resources[i], resource) == 0)
			return 0;
	if (resource == NULL)
		return 0;
	return err_set(e, 400, "unknown_resource", "resource %.200s is not listed in the "
	    "broker's oidc_resources", resource);
}

static int
api_identity(const struct broker_state *s, const char *assertion, const char *resource,
    struct identity *id, struct err *e)
{
	if (assertion == NULL || assertion[0] == '\0')
		return err_set(e, 401, "no_assertion", "the user's identity token is missing");
	if (identity_verify_resource(s->idv, assertion, resource, id, e) == 0) {
		log_ctx_add("user", "%s", id->email);
		return 0;
	}
	metrics_inc(&broker_metrics[BM_DENIED_IDENTITY]);
	log_warnx("user assertion refused: %s (%s)", e->msg, e->code);
	return -1;
}

static int
api_lookup_members(struct broker *b, const struct identity *id, struct membership **ms,
    size_t *n, struct err *e)
{
	int stale;

	if (members_lookup(b->members, id->email, (const char *const *)id->groups, id->ngroups,
	    ms, n, &stale, e) == 0) {
		if (stale)
			metrics_inc(&broker_metrics[BM_MEMBERS_STALE]);
		return 0;
	}
	metrics_inc(&broker_metrics[BM_DB_ERRORS]);
	metrics_inc(&broker_metrics[BM_DENIED_UNAVAILABLE]);
	return -1;
}

/* Is a tenant in the request's "tenants" list (absent or "*" = all)? */
static int
api_tenant_wanted(const json_t *wanted, const char *tenant)
{
	return wanted == NULL || json_is_string(wanted) || jsonx_array_has(wanted, tenant);
}

static int
api_check_tenants_field(const json_t *wanted, struct err *e)
{
	size_t	 i;
	json_t	*v;

	if (wanted == NULL || (json_is_string(wanted) && strcmp(json_string_value(wanted), "*") == 0))
		return 0;
	if (!json_is_array(wanted) || json_array_size(wanted) > 256)
		return err_set(e, 400, "bad_field",
		    "field 'tenants' must be \"*\" or an array of at most 256 tenant names");
	json_array_foreach(wanted, i, v)
		if (!json_is_string(v))
			return err_set(e, 400, "bad_field", "field 'tenants' must hold strings");
	return 0;
}

static int
api_check_tools_field(const json_t *tools, struct err *e)
{
	size_t	 i;
	json_t	*v;

	if (tools == NULL)
		return 0;
	if (!json_is_array(tools) || json_array_size(tools) > 256)
		return err_set(e, 400, "bad_field", "field 'tools' must be an array of tool names");
	json_array_foreach(tools, i, v)
		if (!json_is_string(v))
			return err_set(e, 400, "bad_field", "field 'tools' must hold strings");
	return 0;
}

/*
 * The forwarder has applied change seen_seq from some broker's feed. If we
 * have not processed that change ourselves yet (its NOTIFY is on the way),
 * our caches may predate it: start them over now, so the grant it just
 * dropped (a revocation, a removed member) is not handed back from them.
 */
static void
api_catch_up(struct broker *b, const json_t *seen)
{
	long long want, have;

	if (!json_is_integer(seen) || (want = json_integer_value(seen)) <= 0)
		return;
	have = atomic_load(&b->applied_seq);
	while (want > have) {
		if (atomic_compare_exchange_weak(&b->applied_seq, &have, want)) {
			log_debug("caller has seen change %lld, we %lld: caches start over",
			    want, have);
			members_flush(b->members);
			ints_flush(b->ints);
			reuse_flush(b->reuse);
			break;
		}
	}
}

/* POST /v1/grants */
static void
api_grants(struct httpd_req *r, struct broker *b, const struct broker_state *s)
{
	struct identity		 id;
	struct err		 e;
	struct membership	*ms = NULL, *direct = NULL;
	struct err		 failure;
	size_t			 n = 0, len, ndirect = 0;
	unsigned long		 rgen;
	int			 stale;
	const char		*body = httpd_body(r, &len), *assertion = NULL, *resource = NULL;
	json_t			*req = NULL, *wanted, *tools, *grants, *denied, *g;
	char			 caller[CALLER_MAX];

	memset(&id, 0, sizeof id);
	err_clear(&e);
	if (api_caller(s, r, caller, &e) == -1 ||
	    (req = jsonx_parse_object(body, len, &e)) == NULL ||
	    jsonx_get_str(req, "assertion", 1, &assertion, &e) == -1 ||
	    api_check_tenants_field(wanted = json_object_get(req, "tenants"), &e) == -1 ||
	    api_check_tools_field(tools = json_object_get(req, "tools"), &e) == -1 ||
	    jsonx_get_str(req, "resource", 0, &resource, &e) == -1 ||
	    api_resource_ok(s, resource, &e) == -1 ||
	    api_identity(s, assertion, resource, &id, &e) == -1) {
		api_reply_err(r, &e);
		goto out;
	}
	api_catch_up(b, json_object_get(req, "seen_seq"));
	rgen = reuse_gen(b->reuse);
	if (api_lookup_members(b, &id, &ms, &n, &e) == -1 ||
	    issue_check_user_token(ms, n, assertion, id.email, &e) == -1) {
		api_audit(b, id.email, "grant.deny", NULL, NULL,
		    json_pack("{s:s,s:s}", "reason", e.code, "caller", caller));
		api_reply_err(r, &e);
		goto out;
	}

	/* Which memberships are direct: the others come from IdP groups, and
	 * only their grants need to carry the groups. */
	if (id.ngroups > 0 && members_lookup(b->members, id.email, NULL, 0, &direct, &ndirect,
	    &stale, &e) == -1) {
		direct = NULL;		/* unknown: every grant carries the groups */
		ndirect = 0;
	}
	grants = json_array();
	denied = json_array();
	err_clear(&failure);
	for (size_t i = 0; i < n; i++) {
		if (!api_tenant_wanted(wanted, ms[i].tenant))
			continue;
		g = issue_grant(b, s, &id, &ms[i], tools,
		    id.ngroups > 0 && members_find(direct, ndirect, ms[i].tenant) == NULL,
		    caller, rgen, &e);
		if (g == NULL) {
			json_array_append_new(denied, json_pack("{s:s,s:s}", "tenant", ms[i].tenant,
			    "reason", e.code));
			if (!err_isset(&failure))
				failure = e;
			continue;
		}
		json_array_append_new(grants, g);
	}
	/* Tenants asked for by name that the user is not in. */
	if (json_is_array(wanted)) {
		size_t	 i;
		json_t	*v;

		json_array_foreach(wanted, i, v) {
			if (members_find(ms, n, json_string_value(v)) != NULL)
				continue;
			metrics_inc(&broker_metrics[BM_DENIED_NOT_MEMBER]);
			json_array_append_new(denied, json_pack("{s:s,s:s}", "tenant",
			    json_string_value(v), "reason", "not_member"));
			api_audit(b, id.email, "grant.deny", json_string_value(v), NULL,
			    json_pack("{s:s,s:s}", "reason", "not_member", "caller", caller));
		}
	}
	if (json_array_size(grants) == 0 && err_isset(&failure)) {
		/* A member we could not serve (database, signing): say why, not
		 * "not a member". */
		json_decref(grants);
		json_decref(denied);
		api_reply_err(r, &failure);
		goto out;
	}
	if (json_array_size(grants) == 0) {
		if (n == 0) {
			metrics_inc(&broker_metrics[BM_DENIED_NOT_MEMBER]);
			api_audit(b, id.email, "grant.deny", NULL, NULL,
			    json_pack("{s:s,s:s}", "reason", "no_tenants", "caller", caller));
		}
		json_decref(grants);
		json_decref(denied);
		httpd_reply_error(r, 403, "no_tenants", "%s is not a member of %s", id.email,
		    n == 0 ? "any tenant" : "the requested tenant(s)");
		goto out;
	}
	httpd_reply_json(r, 200, json_pack("{s:s,s:o,s:o}", "user", id.email, "grants", grants,
	    "denied", denied));
out:
	free(ms);
	free(direct);
	json_decref(req);
	identity_clear(&id);
}

static const struct integration *
api_find_integration(const struct integration *ints, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(ints[i].name, name) == 0)
			return &ints[i];
	return NULL;
}

/* Every check a grant must pass before it yields a credential. */
static int
api_redeem_checks(struct broker *b, const json_t *claims, const char *integration,
    const struct ints_set *set, struct err *e)
{
	const struct membership	*m;
	struct membership	*ms = NULL;
	size_t			 n = 0, i, ngroups = 0;
	const char		*tenant = jsonx_str(claims, "tenant");
	const char		*email = jsonx_str(claims, "sub");
	const char		*jti = jsonx_str(claims, "jti");
	json_t			*groups = json_object_get(claims, "groups"), *v;
	const char		*gv[256];
	int			 rc, stale;

	if (!grant_has_integration(claims, integration))
		return err_set(e, 403, "integration_not_granted",
		    "this grant does not cover integration '%s' of tenant '%s'", integration,
		    tenant);
	rc = store_grant_revoked(b->store, jti, email,
	    (time_t)json_integer_value(json_object_get(claims, "iat")), e);
	if (rc == -1) {
		metrics_inc(&broker_metrics[BM_DB_ERRORS]);
		return err_prefix(e, "cannot confirm the grant is not revoked");
	}
	if (rc == 1)
		return err_set(e, 403, "grant_revoked", "this grant has been revoked");

	json_array_foreach(groups, i, v)
		if (i < 256 && json_is_string(v))
			gv[ngroups++] = json_string_value(v);
	if (members_lookup(b->members, email, gv, ngroups, &ms, &n, &stale, e) == -1) {
		metrics_inc(&broker_metrics[BM_DB_ERRORS]);
		return -1;
	}
	/* Still a member, and the role now still allows every tool granted
	 * (a lowered role stops a grant minted under the old one). */
	if ((m = members_find(ms, n, tenant)) == NULL)
		rc = err_set(e, 403, "not_member", "%s is no longer a member of tenant '%s'",
		    email, tenant);
	else
		rc = issue_check_role(m, set, claims, e);
	free(ms);
	return rc;
}

static void
api_redeem_credential(struct broker *b, struct httpd_req *r, const json_t *claims,
    const struct integration *in, const char *caller)
{
	struct err	 e;
	secret_t	*cred = NULL;
	json_t		*cj, *desc, *rest;
	json_int_t	 exp;
	int		 version, stale;

	err_clear(&e);
	if (vault_kv_read(b->vault, in->vault_path, &cred, &version, &stale, &e) == -1) {
		metrics_inc(&broker_metrics[BM_VAULT_ERRORS]);
		metrics_inc(&broker_metrics[BM_REDEEM_REFUSED]);
		log_warnx("redeem: credential for %s/%s unavailable: %s", in->tenant, in->name, e.msg);
		api_reply_err(r, &e);
		return;
	}
	if ((cj = jsonx_parse_object(secret_bytes(cred), secret_len(cred), &e)) == NULL) {
		secret_free(cred);
		httpd_reply_error(r, 500, "bad_credential",
		    "the credential stored for %s/%s is not a JSON object", in->tenant, in->name);
		return;
	}
	secret_free(cred);
	metrics_inc(&broker_metrics[BM_REDEEMS]);
	api_audit(b, jsonx_str(claims, "sub"), "grant.redeem", in->tenant, jsonx_str(claims, "jti"),
	    json_pack("{s:s,s:s,s:i,s:b}", "integration", in->name, "caller", caller,
	    "cred_version", version, "stale", stale));
	/* The integration's own fields (grant_integ_desc), then the rest. */
	desc = grant_integ_desc(in);
	json_object_del(desc, "name");
	/* A forwarder keeps the credential until expires_at: never past the
	 * key's own end, so a cached key stops with a redeem that says why. */
	exp = json_integer_value(json_object_get(claims, "exp"));
	if (in->key_expires_at > 0 && in->key_expires_at < exp)
		exp = in->key_expires_at;
	rest = json_pack("{s:s,s:s,s:i,s:I,s:o}", "tenant", in->tenant,
	    "integration", in->name, "cred_version", version,
	    "expires_at", exp, "credential", cj);
	json_object_update(desc, rest);
	json_decref(rest);
	httpd_reply_json(r, 200, desc);
}

/* 1 with e (409 key_expired) when the integration's key has expired
 * (tenant_integrations.key_expires_at, migrations/0005); unknown = 0. */
static int
api_key_expired(const struct integration *in, time_t now, struct err *e)
{
	char date[32];

	if (in->key_expires_at <= 0 || keyexpiry_level(in->key_expires_at, now) != -1)
		return 0;
	keyexpiry_date(in->key_expires_at, date, sizeof date);
	err_set(e, 409, "key_expired", "tenant '%s''s %s key expired on %s; ask your "
	    "tenantgate operators to rotate it", in->tenant, in->name, date);
	return 1;
}

/* POST /v1/redeem */
static void
api_redeem(struct httpd_req *r, struct broker *b, const struct broker_state *s)
{
	struct err		 e;
	struct ints_set		*set = NULL;
	const struct integration *in;
	size_t			 len;
	const char		*body = httpd_body(r, &len), *token = NULL, *name = NULL;
	json_t			*req = NULL, *claims = NULL;
	char			 caller[CALLER_MAX];
	int			 stale;

	err_clear(&e);
	if (api_caller(s, r, caller, &e) == -1 ||
	    (req = jsonx_parse_object(body, len, &e)) == NULL ||
	    jsonx_get_str(req, "grant", 1, &token, &e) == -1 ||
	    jsonx_get_str(req, "integration", 1, &name, &e) == -1) {
		api_reply_err(r, &e);
		goto out;
	}
	if ((claims = grant_check(&s->cfg, s->keys, token, &e)) != NULL &&
	    ints_lookup(b->ints, jsonx_str(claims, "tenant"), &set, &stale, &e) == -1) {
		metrics_inc(&broker_metrics[BM_DB_ERRORS]);
		httpd_reply_err(r, &e);
		goto out;
	}
	if (claims == NULL || api_redeem_checks(b, claims, name, set, &e) == -1) {
		metrics_inc(&broker_metrics[BM_REDEEM_REFUSED]);
		log_warnx("redeem refused: %s (%s)", e.msg, e.code);
		if (claims != NULL)
			api_audit(b, jsonx_str(claims, "sub"), "grant.redeem_refused",
			    jsonx_str(claims, "tenant"), jsonx_str(claims, "jti"),
			    json_pack("{s:s,s:s,s:s}", "reason", e.code, "integration", name,
			    "caller", caller));
		api_reply_err(r, &e);
		goto out;
	}
	log_ctx_add("user", "%s", jsonx_str(claims, "sub"));
	log_ctx_add("tenant", "%s", jsonx_str(claims, "tenant"));
	if ((in = api_find_integration(set->v, set->n, name)) == NULL || !in->enabled) {
		httpd_reply_error(r, 404, "integration_not_found",
		    "tenant '%s' has no enabled integration '%s'", jsonx_str(claims, "tenant"), name);
		goto out;
	}
	if (api_key_expired(in, time(NULL), &e)) {
		/* The key would only earn an Atlassian 401 now: say why, and
		 * who can fix it, before touching Vault. */
		metrics_inc(&broker_metrics[BM_REDEEM_REFUSED]);
		log_warnx("redeem refused: %s (%s)", e.msg, e.code);
		api_audit(b, jsonx_str(claims, "sub"), "grant.redeem_refused", in->tenant,
		    jsonx_str(claims, "jti"), json_pack("{s:s,s:s,s:s,s:I}", "reason", e.code,
		    "integration", in->name, "caller", caller, "key_expires_at",
		    (json_int_t)in->key_expires_at));
		api_reply_err(r, &e);
		goto out;
	}
	api_redeem_credential(b, r, claims, in, caller);
out:
	ints_release(b->ints, set);
	json_decref(claims);
	json_decref(req);
}

/* POST /v1/revoke {jti} | {user} - admin only */
static void
api_revoke(struct httpd_req *r, struct broker *b, const struct broker_state *s)
{
	struct err	 e;
	size_t		 len;
	const char	*body = httpd_body(r, &len), *jti = NULL, *user = NULL;
	const char	*admin = httpd_header(r, "X-Tenantgate-Admin");
	json_t		*req = NULL;
	char		 caller[CALLER_MAX], canon[EMAIL_MAX + 1];

	err_clear(&e);
	if (api_caller(s, r, caller, &e) == -1) {
		api_reply_err(r, &e);
		return;
	}
	if (s->admin_token == NULL || admin == NULL ||
	    !secret_eq(s->admin_token, admin, strlen(admin))) {
		httpd_reply_error(r, 403, "admin_required",
		    "revocation needs the admin token in X-Tenantgate-Admin");
		return;
	}
	if ((req = jsonx_parse_object(body, len, &e)) == NULL ||
	    jsonx_get_str(req, "jti", 0, &jti, &e) == -1 ||
	    jsonx_get_str(req, "user", 0, &user, &e) == -1) {
		api_reply_err(r, &e);
		goto out;
	}
	if ((jti == NULL) == (user == NULL)) {
		httpd_reply_error(r, 400, "bad_request", "give exactly one of 'jti' or 'user'");
		goto out;
	}
	/* The revocation names the user as grants do: canonical. */
	if (user != NULL) {
		enum email_mode m = EMAIL_ASCII;

		(void)email_mode_parse(s->cfg.email_non_ascii, &m);
		if (email_canon(user, m, canon, &e) == -1) {
			api_reply_err(r, &e);
			goto out;
		}
		user = canon;
	}
	if ((jti != NULL ? store_revoke_jti(b->store, jti, time(NULL) + 300, caller, &e) :
	    store_revoke_user(b->store, user, caller, &e)) == -1) {
		metrics_inc(&broker_metrics[BM_DB_ERRORS]);
		api_reply_err(r, &e);
		goto out;
	}
	metrics_inc(&broker_metrics[BM_REVOKES]);
	api_audit(b, caller, "grant.revoke", NULL, jti != NULL ? jti : user,
	    json_pack("{s:s}", "by", jti != NULL ? "jti" : "user"));
	httpd_reply_json(r, 200, json_pack("{s:s,s:s}", "revoked", jti != NULL ? "jti" : "user",
	    "subject", jti != NULL ? jti : user));
out:
	json_decref(req);
}

/* GET /v1/users/me/tenants - the user's own assertion is enough here. */
static void
api_me_tenants(struct httpd_req *r, struct broker *b, const struct broker_state *s)
{
	struct identity		 id;
	struct err		 e;
	struct membership	*ms = NULL;
	size_t			 n = 0;
	json_t			*list;

	memset(&id, 0, sizeof id);
	err_clear(&e);
	if (api_identity(s, callers_bearer(httpd_header(r, "Authorization")), NULL, &id, &e) == -1 ||
	    api_lookup_members(b, &id, &ms, &n, &e) == -1) {
		api_reply_err(r, &e);
		goto out;
	}
	list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, json_pack("{s:s,s:s}", "tenant", ms[i].tenant,
		    "role", ms[i].role));
	httpd_reply_json(r, 200, json_pack("{s:s,s:o}", "user", id.email, "tenants", list));
out:
	free(ms);
	identity_clear(&id);
}

static void
api_jwks(struct httpd_req *r, struct broker *b, const struct broker_state *s)
{
	(void)b;
	httpd_reply(r, 200, "application/json", s->keys->jwks, strlen(s->keys->jwks));
}

static void
api_healthz(struct httpd_req *r, void *arg)
{
	(void)arg;
	httpd_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

/* GET /readyz: "can issue grants now" (ready.h), with staleness. */
static void
api_readyz(struct httpd_req *r, struct broker *b, const struct broker_state *s)
{
	struct ready	 st;

	ready_eval(b, s, 1, &st);
	httpd_reply_json(r, st.ready ? 200 : 503, ready_json(&st));
}

static void
api_metrics(struct httpd_req *r, void *arg)
{
	struct broker		*b = arg;
	struct broker_state	*s = broker_state_get(b);
	struct ready		 st;
	size_t			 len;
	char			*text;

	/* The gauges from the last probes; no probe runs here. */
	ready_eval(b, s, 0, &st);
	broker_state_put(s);
	text = broker_metrics_render(b, &len);

	httpd_reply(r, 200, "text/plain; version=0.0.4", text != NULL ? text : "", len);
	free(text);
}

/* Each handler gets the snapshot current when its request started and
 * keeps it to the end, so a SIGHUP never swaps keys or verifiers in the
 * middle of a request. */
#define API_KEYS	0x1	/* 503 until the signing key is loaded */
#define API_BODY	0x2	/* max_body applies (the audit intake has its own) */
#define API_TIMED	0x4	/* feeds the latency histogram */
#define WITH_STATE(fn, flags)						\
static void								\
fn##_req(struct httpd_req *r, void *arg)				\
{									\
	struct broker		*b = arg;				\
	struct broker_state	*s = broker_state_get(b);		\
	size_t			 len;					\
									\
	if (((flags) & API_BODY) && httpd_body(r, &len) != NULL &&	\
	    len > s->cfg.max_body)					\
		httpd_reply_error(r, 413, "body_too_large",		\
		    "request body is larger than %zu bytes", s->cfg.max_body); \
	else if (((flags) & API_KEYS) && s->keys == NULL)		\
		httpd_reply_error(r, 503, "not_ready",			\
		    "the signing key is not loaded yet (is Vault reachable?)"); \
	else								\
		fn(r, b, s);						\
	broker_state_put(s);						\
	if ((flags) & API_TIMED)					\
		metrics_observe(&broker_latency, httpd_age(r));	\
}

WITH_STATE(api_grants, API_KEYS | API_BODY | API_TIMED)
WITH_STATE(api_redeem, API_KEYS | API_BODY | API_TIMED)
WITH_STATE(api_revoke, API_BODY | API_TIMED)
WITH_STATE(api_me_tenants, API_BODY | API_TIMED)
WITH_STATE(api_jwks, API_KEYS | API_BODY | API_TIMED)
WITH_STATE(api_readyz, API_BODY | API_TIMED)
/* A long-poll's reply may come from the feed thread: no latency sample. */
WITH_STATE(api_feed_changes, 0)
WITH_STATE(api_feed_audit, API_TIMED)

const struct httpd_route broker_routes[] = {
	{ "POST", "/v1/grants", api_grants_req, 0 },
	{ "POST", "/v1/redeem", api_redeem_req, 0 },
	{ "POST", "/v1/revoke", api_revoke_req, 0 },
	{ "GET", "/v1/changes", api_feed_changes_req, 0 },
	{ "POST", "/v1/audit", api_feed_audit_req, 0 },
	{ "GET", "/v1/users/me/tenants", api_me_tenants_req, 0 },
	{ "GET", "/jwks.json", api_jwks_req, 0 },
	{ "GET", "/.well-known/jwks.json", api_jwks_req, 0 },
	{ "GET", "/healthz", api_healthz, 1 },
	{ "GET", "/readyz", api_readyz_req, 0 },
	{ "GET", "/metrics", api_metrics, 1 },
	{ NULL, NULL, NULL, 0 },
};
