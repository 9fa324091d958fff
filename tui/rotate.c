/*
 * rotate: verified, check-and-set, audited key rotation that can be
 * finished by running it again. See rotate.h for the steps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "admin.h"
#include "db.h"
#include "err.h"
#include "expiry.h"
#include "log.h"
#include "out.h"
#include "rotate.h"
#include "secret.h"
#include "vault.h"
#include "verify.h"

void
rotate_explain_vault(const struct admin *a, const char *tenant, struct err *e)
{
	char policy[160];

	if (e->status != 403 || strcmp(e->code, "vault_forbidden") != 0)
		return;
	admin_policy_name(a, tenant, policy, sizeof policy);
	err_set(e, 403, "vault_forbidden", "Vault refused your token (403 permission "
	    "denied) for tenant '%s' keys: it needs the policy %s. Nothing was changed.",
	    tenant, policy);
}

secret_t *
rotate_credential(const char *kind, const char *cred_kind, const char *who,
    const secret_t *key, const char *expires_at)
{
	json_t		*o;
	char		*text;
	secret_t	*s;

	/* A service-account key has no account email: Bearer only. */
	if (cred_kind != NULL && strcmp(cred_kind, "service_account") == 0)
		o = json_pack("{s:s%}", "api_key", secret_bytes(key), secret_len(key));
	else if (strcmp(kind, "mcp") == 0)
		o = json_pack("{s:s,s:s%}", "header", who, "value", secret_bytes(key),
		    secret_len(key));
	else
		o = json_pack("{s:s,s:s%}", "email", who, "api_token", secret_bytes(key),
		    secret_len(key));
	if (o == NULL)
		return NULL;
	if (expires_at != NULL)
		json_object_set_new(o, "expires_at", json_string(expires_at));
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (text == NULL)
		return NULL;
	s = secret_new(text, strlen(text));
	secret_free_str(text);
	return s;
}

/* The stored credential of version, parsed; NULL if unreadable. */
static json_t *
rotate_read(struct vault *v, const char *path, int version, struct err *e)
{
	secret_t	*data = NULL;
	json_t		*j;

	if (vault_kv_read_version(v, path, version, &data, e) == -1)
		return NULL;
	j = json_loadb(secret_bytes(data), secret_len(data), 0, NULL);
	secret_free(data);
	return j;
}

static int
rotate_is_sa(const char *cred_kind)
{
	return cred_kind != NULL && strcmp(cred_kind, "service_account") == 0;
}

int
rotate_verify(struct admin *a, const json_t *row, const char *who, const secret_t *key,
    char *whoami, size_t wholen, const char **where, struct err *e)
{
	const char	*kind = json_string_value(json_object_get(row, "kind"));
	const char	*ck = json_string_value(json_object_get(row, "cred_kind"));
	const char	*api = json_string_value(json_object_get(row, "api_url"));
	const char	*base = json_string_value(json_object_get(row, "base_url"));
	int		 gw = ck != NULL && strcmp(ck, "classic") != 0;

	*where = gw ? api : base;
	if (kind == NULL || strcmp(kind, "mcp") == 0)
		return 0;
	if (*where == NULL)
		return err_set(e, 500, "no_api_url", "the integration has credential kind %s "
		    "but no api_url: run `onboard --update` with --key-kind", ck);
	return verify_kind(ck, kind, *where, who, key, (long)a->cfg.verify_timeout * 1000,
	    whoami, wholen, e);
}

/* Does stored hold exactly who + key (+ the same expiry)? */
static int
rotate_same(const json_t *stored, const char *kind, const char *cred_kind, const char *who,
    const secret_t *key, const char *expires_at)
{
	if (rotate_is_sa(cred_kind)) {
		const char *sk = json_string_value(json_object_get(stored, "api_key"));

		return sk != NULL && secret_eq(key, sk, strlen(sk));
	}
	const char *wk = strcmp(kind, "mcp") == 0 ? "header" : "email";
	const char *kk = strcmp(kind, "mcp") == 0 ? "value" : "api_token";
	const char *sw = json_string_value(json_object_get(stored, wk));
	const char *sk = json_string_value(json_object_get(stored, kk));
	const char *sx = json_string_value(json_object_get(stored, "expires_at"));

	if ((sx == NULL) != (expires_at == NULL) ||
	    (sx != NULL && strcmp(sx, expires_at) != 0))
		return 0;
	return sw != NULL && sk != NULL && strcmp(sw, who) == 0 &&
	    secret_eq(key, sk, strlen(sk));
}

/* Step 5: database row, audit row and NOTIFY in one transaction. */
static int
rotate_record(struct admin *a, const struct rotate_req *rq, struct rotate_res *res,
    struct err *e)
{
	PGconn		*c;
	char		 ver[16], *payload;
	/* The new key's expiry goes in with its version (NULL = unknown):
	 * the broker's expiry job and redeem read it from this row. */
	const char	*p[5] = { rq->tenant, rq->integration, ver, a->actor,
			    rq->expires_at };
	const char	*np[1];
	json_t		*d, *n;
	long		 rows = 0;
	int		 rc;

	snprintf(ver, sizeof ver, "%d", res->new_version);
	if ((c = admin_db(a, e)) == NULL || db_begin(c, e) == -1)
		return -1;
	if (db_exec(c, DBQ_INTEGRATION_ROTATED, p, &rows, e) == -1) {
		db_rollback(c);
		return -1;
	}
	d = json_pack("{s:s,s:s,s:i,s:i,s:i,s:b,s:b,s:s}", "integration", rq->integration,
	    "vault_path", res->vault_path, "old_version", res->vault_version,
	    "new_version", res->new_version, "db_version_before", res->db_version,
	    "verified", res->verified, "no_verify", rq->no_verify, "via", a->via);
	if (res->finished)
		json_object_set_new(d, "finished_earlier_write", json_true());
	if (rq->expires_at != NULL)
		json_object_set_new(d, "expires_at", json_string(rq->expires_at));
	if (rows == 0)
		json_object_set_new(d, "db_already_newer", json_true());
	n = json_pack("{s:s,s:s,s:s,s:s,s:i}", "table", "tenant_integrations", "op",
	    "ROTATE", "tenant", rq->tenant, "integration", rq->integration,
	    "cred_version", res->new_version);
	payload = json_dumps(n, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(n);
	np[0] = payload;
	rc = db_audit(c, a->actor, "key.rotate", rq->tenant, rq->integration, d, e);
	json_decref(d);
	if (rc == 0)
		rc = db_exec(c, DBQ_NOTIFY, np, NULL, e);
	free(payload);
	if (rc == 0)
		rc = db_commit(c, e);
	if (rc == -1)
		db_rollback(c);
	return rc;
}

void
rotate_refused(struct admin *a, const struct rotate_req *rq, const struct err *why)
{
	struct err	 e2;
	PGconn		*c;
	json_t		*d;

	/* The operator saying no is not a refusal; without the database
	 * there is nowhere to write one (and no second connect timeout). */
	if (strcmp(why->code, "cancelled") == 0 || strcmp(why->code, "db_unavailable") == 0)
		return;
	err_clear(&e2);
	if ((c = admin_db(a, &e2)) == NULL)
		return;
	d = json_pack("{s:s,s:s,s:s,s:b,s:s}", "integration", rq->integration, "reason",
	    why->code, "message", why->msg, "no_verify", rq->no_verify, "via", a->via);
	/* Autocommit: a refusal leaves nothing else to commit with it. */
	if (db_audit(c, a->actor, "key.rotate_refused", rq->tenant, rq->integration, d,
	    &e2) == -1)
		log_warnx("audit of the refused rotation of %s/%s: %s", rq->tenant,
		    rq->integration, e2.msg);
	json_decref(d);
	admin_db_check(a);
}

/* Where things stand when Vault is ahead of the database. */
static void
rotate_state(struct admin *a, const struct rotate_req *rq, struct rotate_res *res,
    const struct err *why)
{
	snprintf(res->state, sizeof res->state,
	    "State: Vault holds the new key as version %d of %s/%s (written %s), but "
	    "recording it in PostgreSQL failed: %s.\n"
	    "  - brokers read the newest Vault version, so they switch to the new key "
	    "when their cache expires;\n"
	    "  - tenant_integrations still says version %d, and no key.rotate audit row "
	    "was written.\n"
	    "To finish: run `tenantgate-admin key rotate %s %s` again with the same key. "
	    "It sees that version %d already holds it, does not write Vault again, and "
	    "records the version and the audit row.",
	    res->new_version, a->cfg.vault_kv_mount, res->vault_path,
	    res->wrote_vault ? "by this run" : "by an earlier run", why->msg,
	    res->db_version, rq->tenant, rq->integration, res->new_version);
}

int
rotate_run(struct admin *a, const struct rotate_req *rq, struct rotate_res *res,
    struct err *e)
{
	const char	*p[2] = { rq->tenant, rq->integration };
	PGconn		*c;
	struct vault	*v;
	json_t		*row = NULL, *cur = NULL;
	const char	*who;
	secret_t	*cred = NULL;
	struct err	 e2;
	int		 rc = -1, now;

	memset(res, 0, sizeof *res);
	if ((c = admin_db(a, e)) == NULL)
		goto out;
	if ((rc = db_one(c, DBQ_INTEGRATION, p, &row, e)) != 1) {
		if (rc == 0)
			err_set(e, 404, "no_integration", "tenant '%s' has no integration '%s' "
			    "(see `key status %s`)", rq->tenant, rq->integration, rq->tenant);
		rc = -1;
		goto out;
	}
	rc = -1;
	snprintf(res->kind, sizeof res->kind, "%s", json_string_value(json_object_get(row,
	    "kind")));
	snprintf(res->cred_kind, sizeof res->cred_kind, "%s",
	    json_string_value(json_object_get(row, "cred_kind")) != NULL ?
	    json_string_value(json_object_get(row, "cred_kind")) : "classic");
	snprintf(res->vault_path, sizeof res->vault_path, "%s",
	    json_string_value(json_object_get(row, "vault_path")));
	res->db_version = (int)json_integer_value(json_object_get(row, "cred_version"));

	if ((v = admin_vault(a, e)) == NULL)
		goto out;
	if (vault_kv_current_version(v, res->vault_path, &res->vault_version, e) == -1 ||
	    (res->vault_version > 0 &&
	    (cur = rotate_read(v, res->vault_path, res->vault_version, e)) == NULL &&
	    err_isset(e))) {
		rotate_explain_vault(a, rq->tenant, e);
		goto out;
	}
	err_clear(e);
	out_note(a->out, "%s/%s: Vault version %d, database version %d\n", rq->tenant,
	    rq->integration, res->vault_version, res->db_version);

	if (rotate_is_sa(res->cred_kind))
		who = "";	/* a service-account key has no email */
	else if (strcmp(res->kind, "mcp") == 0)
		who = rq->header != NULL ? rq->header :
		    json_string_value(json_object_get(cur, "header")) != NULL ?
		    json_string_value(json_object_get(cur, "header")) : "Authorization";
	else if ((who = rq->email != NULL ? rq->email :
	    json_string_value(json_object_get(cur, "email"))) == NULL) {
		err_set(e, 400, "need_email", "no account email stored for %s/%s yet: give "
		    "--email", rq->tenant, rq->integration);
		goto out;
	}

	if (cur != NULL && rotate_same(cur, res->kind, res->cred_kind, who, rq->key,
	    rq->expires_at)) {
		res->new_version = res->vault_version;
		if (res->db_version == res->vault_version) {
			res->unchanged = 1;
			out_note(a->out, "nothing to do: Vault version %d already holds this key "
			    "and the database records it\n", res->vault_version);
			rc = 0;
			goto out;
		}
		res->finished = 1;
		out_note(a->out, "Vault version %d already holds this key (an earlier run "
		    "wrote it): recording it\n", res->vault_version);
	} else {
		if (!rq->no_verify && strcmp(res->kind, "mcp") != 0) {
			const char *where = NULL;

			if (rotate_verify(a, row, who, rq->key, res->who, sizeof res->who,
			    &where, e) == -1) {
				err_prefix(e, "nothing was written");
				goto out;
			}
			res->verified = 1;
			out_note(a->out, "the new key works at %s (as %s)\n", where,
			    res->who[0] != '\0' ? res->who : who);
		} else if (rq->no_verify)
			out_note(a->out, "not verifying the new key (--no-verify, recorded in "
			    "the audit log)\n");
		if ((cred = rotate_credential(res->kind, res->cred_kind, who, rq->key,
		    rq->expires_at)) == NULL) {
			err_set(e, 500, "nomem", "out of memory");
			goto out;
		}
		if (vault_kv_write(v, res->vault_path, secret_bytes(cred), res->vault_version,
		    &res->new_version, e) == -1) {
			if (strcmp(e->code, "vault_cas_conflict") == 0) {
				err_clear(&e2);
				now = -1;
				(void)vault_kv_current_version(v, res->vault_path, &now, &e2);
				err_set(e, 409, "vault_cas_conflict", "someone else changed %s/%s "
				    "in Vault since version %d (it is now at version %d): nothing "
				    "was overwritten; check `key status %s` before trying again",
				    rq->tenant, rq->integration, res->vault_version, now,
				    rq->tenant);
			} else
				rotate_explain_vault(a, rq->tenant, e);
			goto out;
		}
		res->wrote_vault = 1;
		out_note(a->out, "wrote Vault version %d (check-and-set on version %d)\n",
		    res->new_version, res->vault_version);
	}

	if (rotate_record(a, rq, res, e) == -1) {
		rotate_state(a, rq, res, e);
		e2 = *e;
		err_set(e, e2.status, e2.code, "the key is in Vault (version %d) but not "
		    "recorded in PostgreSQL (%s); see the state above", res->new_version,
		    e2.code);
		goto out;
	}
	out_note(a->out, "recorded version %d in tenant_integrations, audit row written, "
	    "brokers notified\n", res->new_version);
	rc = 0;
out:
	if (rc == -1)
		rotate_refused(a, rq, e);
	secret_free(cred);
	json_decref(cur);
	json_decref(row);
	return rc;
}

/* The expiry recorded with version ver of path: days left into row. */
static void
rotate_expiry(struct vault *v, json_t *row, const char *path, int ver, time_t now)
{
	struct err	 e;
	secret_t	*data = NULL;
	json_t		*j;
	const char	*iso;
	long		 days;
	char		 text[64];

	json_object_set_new(row, "expires_at", json_null());
	json_object_set_new(row, "days_left", json_null());
	err_clear(&e);
	if (ver <= 0 || vault_kv_read_version(v, path, ver, &data, &e) == -1)
		return;
	j = json_loadb(secret_bytes(data), secret_len(data), 0, NULL);
	secret_free(data);
	if ((iso = json_string_value(json_object_get(j, "expires_at"))) != NULL &&
	    expiry_days(iso, now, &days) == 0) {
		json_object_set_new(row, "expires_at", json_string(iso));
		json_object_set_new(row, "days_left", json_integer(days));
		if (expiry_level(days) != 0 && strcmp(json_string_value(json_object_get(row,
		    "state")), "ok") == 0) {
			expiry_text(days, text, sizeof text);
			json_object_set_new(row, "state", json_string(text));
		}
	}
	json_decref(j);
}

void
rotate_status(struct admin *a, json_t *rows)
{
	struct vault	*v;
	struct err	 e;
	json_t		*row;
	size_t		 i;
	int		 ver, db;
	const char	*path;
	time_t		 now = time(NULL);

	err_clear(&e);
	v = admin_vault(a, &e);
	json_array_foreach(rows, i, row) {
		db = (int)json_integer_value(json_object_get(row, "cred_version"));
		path = json_string_value(json_object_get(row, "vault_path"));
		json_object_set_new(row, "expires_at", json_null());
		json_object_set_new(row, "days_left", json_null());
		if (v == NULL) {
			json_object_set_new(row, "vault_version", json_null());
			json_object_set_new(row, "state", json_string(e.msg));
			continue;
		}
		err_clear(&e);
		if (vault_kv_current_version(v, path, &ver, &e) == -1) {
			json_object_set_new(row, "vault_version", json_null());
			json_object_set_new(row, "state", json_string(e.status == 403 ?
			    "vault denied (no policy for this tenant)" : e.code));
			continue;
		}
		json_object_set_new(row, "vault_version", json_integer(ver));
		json_object_set_new(row, "state", json_string(ver == 0 ? "no key in Vault" :
		    ver == db ? "ok" : ver > db ? "vault ahead: re-run key rotate to record" :
		    "database ahead of Vault"));
		rotate_expiry(v, row, path, ver, now);
	}
}
