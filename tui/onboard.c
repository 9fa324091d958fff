/*
 * onboard: policy-driven, audited, re-runnable tenant onboarding. See
 * onboard.h for the steps.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "admin.h"
#include "db.h"
#include "err.h"
#include "httpc.h"
#include "jsonx.h"
#include "onboard.h"
#include "ops.h"
#include "out.h"
#include "policy.h"
#include "rotate.h"
#include "vault.h"
#include "verify.h"

#define ONBOARD_INTS_MAX	4
#define ONBOARD_SA_MAX		16

struct onboard {
	struct admin		 *a;
	const struct onboard_req *rq;
	char			  policy[160];
	char			  site[512];
	char			  ints[ONBOARD_INTS_MAX][16];
	int			  nints;
	int			  versions[ONBOARD_INTS_MAX];
	const char		 *cred_kind;	/* classic | scoped | service_account */
	int			  gateway;	/* a kind sent through the API gateway */
	char			  cloud_id[72];
	char			  api_url[ONBOARD_INTS_MAX][600];
	int			  verified;
	int			  exists;
	char			  done[1024];	/* steps completed, for the state */
	json_t			 *steps;	/* with --json: [{"step","what"}] */
};

/* The next item of a list separated by commas and spaces: its start, its
 * length in *l, and *p moved past it; NULL at the end. */
static const char *
onboard_item(const char **p, size_t *l)
{
	const char *s = *p + strspn(*p, ", ");

	if (*s == '\0')
		return NULL;
	*l = strcspn(s, ", ");
	*p = s + *l;
	return s;
}

static int
onboard_split_ints(const char *list, char out[][16], int *n, struct err *e)
{
	const char	*p = list != NULL ? list : "jira,confluence", *s;
	size_t		 l;

	*n = 0;
	while ((s = onboard_item(&p, &l)) != NULL) {
		if (*n == ONBOARD_INTS_MAX || l >= 16)
			return err_set(e, 400, "bad_integrations", "too many or too long "
			    "integration names");
		snprintf(out[*n], 16, "%.*s", (int)l, s);
		if (strcmp(out[*n], "jira") != 0 && strcmp(out[*n], "confluence") != 0)
			return err_set(e, 400, "bad_integrations", "onboarding sets up jira "
			    "and confluence, not '%s'", out[*n]);
		for (int i = 0; i < *n; i++)
			if (strcmp(out[i], out[*n]) == 0)
				return err_set(e, 400, "bad_integrations", "'%s' is listed twice",
				    out[i]);
		(*n)++;
	}
	if (*n == 0)
		return err_set(e, 400, "bad_integrations", "no integration to set up");
	return 0;
}

/* "ns/name,ns/name" -> two JSON arrays of unique names and namespaces. */
static int
onboard_split_sas(const char *list, json_t *names, json_t *nss, struct err *e)
{
	const char	*p = list, *s;
	char		 item[128], *slash;
	size_t		 l;
	int		 n = 0;

	while ((s = onboard_item(&p, &l)) != NULL) {
		if (l >= sizeof item || ++n > ONBOARD_SA_MAX)
			return err_set(e, 400, "bad_admins", "too many or too long service "
			    "accounts");
		snprintf(item, sizeof item, "%.*s", (int)l, s);
		if ((slash = strchr(item, '/')) == NULL || slash == item || slash[1] == '\0' ||
		    strchr(slash + 1, '/') != NULL)
			return err_set(e, 400, "bad_admins", "'%s' is not namespace/serviceaccount",
			    item);
		for (char *c = item; *c != '\0'; c++)
			if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) ||
			    *c == '-' || *c == '.' || *c == '/'))
				return err_set(e, 400, "bad_admins", "'%s' is not a Kubernetes "
				    "name (a-z, 0-9, '-', '.')", item);
		*slash = '\0';
		if (!jsonx_array_has(nss, item))
			json_array_append_new(nss, json_string(item));
		if (!jsonx_array_has(names, slash + 1))
			json_array_append_new(names, json_string(slash + 1));
	}
	if (n == 0)
		return err_set(e, 400, "bad_admins", "no service account given");
	return 0;
}

int
onboard_check(const struct onboard_req *rq, struct err *e)
{
	char	ints[ONBOARD_INTS_MAX][16];
	int	n;
	json_t	*a, *b;

	if (policy_slug_check(rq->tenant, e) == -1)
		return -1;
	if (rq->site == NULL || (strncmp(rq->site, "https://", 8) != 0 &&
	    strncmp(rq->site, "http://", 7) != 0) || strlen(rq->site) > 400 ||
	    strpbrk(rq->site, " \t\r\n\"'") != NULL)
		return err_set(e, 400, "bad_site", "the site is an http(s) URL such as "
		    "https://%s.atlassian.net", rq->tenant);
	/* Over plain http the key would cross the network readable by anyone
	 * on the path: only for test sites, and only when asked for. */
	if (strncmp(rq->site, "http://", 7) == 0 && !rq->insecure_site)
		return err_set(e, 400, "insecure_site", "%s is plain http: the key would "
		    "travel unencrypted. Use https, or give --insecure-site for a test "
		    "site", rq->site);
	if (onboard_split_ints(rq->integrations, ints, &n, e) == -1)
		return -1;
	if (rq->cred_kind != NULL && strcmp(rq->cred_kind, "classic") != 0 &&
	    strcmp(rq->cred_kind, "scoped") != 0 && strcmp(rq->cred_kind, "service_account") != 0)
		return err_set(e, 400, "bad_key_kind", "the key kind is classic, scoped or "
		    "service_account, not '%.40s'", rq->cred_kind);
	if (rq->gateway != NULL && ((strncmp(rq->gateway, "https://", 8) != 0 &&
	    strncmp(rq->gateway, "http://", 7) != 0) || strlen(rq->gateway) > 300 ||
	    strpbrk(rq->gateway, " \t\r\n\"'?#") != NULL))
		return err_set(e, 400, "bad_gateway", "the API gateway is an http(s) URL such "
		    "as https://api.atlassian.com");
	if (rq->cloud_id != NULL && !verify_cloud_id_ok(rq->cloud_id))
		return err_set(e, 400, "bad_cloud_id", "a cloud id has letters, digits and '-' "
		    "only (at most 64)");
	if (rq->name != NULL && strlen(rq->name) > 200)
		return err_set(e, 400, "bad_name", "the display name is at most 200 bytes");
	if (!rq->keep_key && rq->email != NULL && !ops_email_valid(rq->email))
		return err_set(e, 400, "bad_email", "'%s' is not an email address", rq->email);
	if (!rq->keep_key && !rq->dry_run && rq->email == NULL &&
	    (rq->cred_kind == NULL || strcmp(rq->cred_kind, "service_account") != 0))
		return err_set(e, 400, "need_email", "give the key's Atlassian account "
		    "with --email");
	if (rq->k8s_admins != NULL && *rq->k8s_admins != '\0') {
		a = json_array();
		b = json_array();
		n = onboard_split_sas(rq->k8s_admins, a, b, e);
		json_decref(a);
		json_decref(b);
		if (n == -1)
			return -1;
	}
	return 0;
}

static void
onboard_step(struct onboard *ob, const char *tag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
onboard_step(struct onboard *ob, const char *tag, const char *fmt, ...)
{
	char	line[512];
	size_t	n;
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	out_note(ob->a->out, "  [%s] %s\n", tag, line);
	if (ob->steps != NULL)
		json_array_append_new(ob->steps, json_pack("{s:s,s:s}", "step", tag, "what",
		    line));
	if (strcmp(tag, "done") == 0 || strcmp(tag, "skip") == 0) {
		n = strlen(ob->done);
		snprintf(ob->done + n, sizeof ob->done - n, "%s%s", n > 0 ? "; " : "", line);
	}
}

/* An audit row for a completed step (autocommit: it stands alone). */
static int
onboard_audit(struct onboard *ob, const char *action, const char *subject, json_t *d,
    struct err *e)
{
	PGconn	*c;
	int	 rc = -1;

	json_object_set_new(d, "via", json_string(ob->a->via));
	if ((c = admin_db(ob->a, e)) != NULL)
		rc = db_audit(c, ob->a->actor, action, ob->rq->tenant, subject, d, e);
	json_decref(d);
	return rc;
}

static int
onboard_policy(struct onboard *ob, struct vault *v, struct err *e)
{
	struct httpc_resp	 r;
	struct policy_var	 vars[] = {
		{ "tenant", ob->rq->tenant }, { "kv_mount", ob->a->cfg.vault_kv_mount },
		{ "kv_prefix", ob->a->cfg.vault_kv_prefix }, { "policy", ob->policy },
		{ NULL, NULL },
	};
	char			 path[256], tpath[1024], *tmpl, *hcl;
	const char		*file, *have;
	json_t			*j = NULL;
	int			 rc, same = 0, absent = 0;

	if ((file = admin_data_path(ob->a->cfg.policy_template,
	    "policies/tenant-admin.hcl.tmpl", tpath, sizeof tpath)) == NULL)
		return err_set(e, 500, "no_template", "policies/tenant-admin.hcl.tmpl not "
		    "found (set policy_template)");
	if ((tmpl = policy_read(file, e)) == NULL)
		return -1;
	hcl = policy_render(tmpl, vars, e);
	free(tmpl);
	if (hcl == NULL)
		return err_prefix(e, "%s", file);

	snprintf(path, sizeof path, "sys/policies/acl/%s", ob->policy);
	rc = vault_request(v, "GET", path, NULL, &r, e);
	if (rc == 0) {
		j = json_loadb(r.body != NULL ? r.body : "", r.len, 0, NULL);
		have = json_string_value(json_object_get(json_object_get(j, "data"), "policy"));
		same = have != NULL && strcmp(have, hcl) == 0;
	} else if (strcmp(e->code, "vault_not_found") == 0) {
		absent = 1;
		err_clear(e);
	}
	json_decref(j);
	httpc_resp_free(&r);
	if (rc == -1 && !absent) {
		free(hcl);
		return err_prefix(e, "reading policy %s", ob->policy);
	}
	if (same) {
		onboard_step(ob, "skip", "Vault policy %s is already as rendered", ob->policy);
		free(hcl);
		return 0;
	}
	if (ob->rq->dry_run) {
		onboard_step(ob, "would", "%s Vault policy %s from %s", absent ? "write" :
		    "replace", ob->policy, file);
		free(hcl);
		return 0;
	}
	rc = vault_policy_write(v, ob->policy, hcl, e);
	free(hcl);
	if (rc == -1)
		return err_prefix(e, "writing policy %s", ob->policy);
	onboard_step(ob, "done", "Vault policy %s %s", ob->policy, absent ? "written" :
	    "replaced");
	return onboard_audit(ob, "onboard.policy", ob->policy, json_pack("{s:s,s:b}",
	    "policy", ob->policy, "replaced", !absent), e);
}

static int
onboard_k8s(struct onboard *ob, struct vault *v, struct err *e)
{
	struct httpc_resp	 r;
	json_t			*names = json_array(), *nss = json_array(), *body;
	char			 path[256], *text;
	int			 rc;

	if (ob->rq->k8s_admins == NULL || *ob->rq->k8s_admins == '\0') {
		json_decref(names);
		json_decref(nss);
		return 0;
	}
	if (onboard_split_sas(ob->rq->k8s_admins, names, nss, e) == -1) {
		json_decref(names);
		json_decref(nss);
		return -1;
	}
	snprintf(path, sizeof path, "auth/%s/role/%s", ob->a->cfg.vault_k8s_mount, ob->policy);
	if (ob->rq->dry_run) {
		onboard_step(ob, "would", "bind %s to Kubernetes service accounts %s (role %s)",
		    ob->policy, ob->rq->k8s_admins, path);
		json_decref(names);
		json_decref(nss);
		return 0;
	}
	body = json_pack("{s:o,s:o,s:[s],s:s}", "bound_service_account_names", names,
	    "bound_service_account_namespaces", nss, "token_policies", ob->policy,
	    "token_ttl", "1h");
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	rc = vault_request(v, "POST", path, text, &r, e);
	free(text);
	httpc_resp_free(&r);
	if (rc == -1)
		return err_prefix(e, "writing Kubernetes role %s", path);
	onboard_step(ob, "done", "Kubernetes role %s: %s may log in with policy %s", path,
	    ob->rq->k8s_admins, ob->policy);
	return onboard_audit(ob, "onboard.k8s_role", path, json_pack("{s:s,s:s}",
	    "role", path, "service_accounts", ob->rq->k8s_admins), e);
}

/* Make every later write of path carry check-and-set, whoever writes. */
static int
onboard_cas_required(struct onboard *ob, struct vault *v, const char *path,
    struct err *e)
{
	struct httpc_resp	 r;
	char			 api[640];
	int			 rc;

	snprintf(api, sizeof api, "%s/metadata/%s", ob->a->cfg.vault_kv_mount, path);
	rc = vault_request(v, "POST", api, "{\"cas_required\":true}", &r, e);
	httpc_resp_free(&r);
	if (rc == -1)
		rotate_explain_vault(ob->a, ob->rq->tenant, e);
	return rc;
}

/* Step 5 for one integration. */
static int
onboard_key(struct onboard *ob, struct vault *v, int i, struct err *e)
{
	const struct onboard_req *rq = ob->rq;
	char		 path[512];
	int		 cur = 0, nv = 0;
	secret_t	*data = NULL, *cred;
	json_t		*j = NULL;
	const char	*se, *sk;
	int		 same = 0;

	admin_kv_path(ob->a, rq->tenant, ob->ints[i], path, sizeof path);
	if (vault_kv_current_version(v, path, &cur, e) == -1) {
		rotate_explain_vault(ob->a, rq->tenant, e);
		return -1;
	}
	if (cur > 0 && rq->key != NULL) {
		if (vault_kv_read_version(v, path, cur, &data, e) == -1) {
			rotate_explain_vault(ob->a, rq->tenant, e);
			return -1;
		}
		j = json_loadb(secret_bytes(data), secret_len(data), 0, NULL);
		secret_free(data);
		se = json_string_value(json_object_get(j, "email"));
		sk = json_string_value(json_object_get(j, "api_token"));
		same = se != NULL && sk != NULL && rq->email != NULL &&
		    strcmp(se, rq->email) == 0 && secret_eq(rq->key, sk, strlen(sk));
		if (strcmp(ob->cred_kind, "service_account") == 0)
			same = (sk = json_string_value(json_object_get(j, "api_key"))) != NULL &&
			    secret_eq(rq->key, sk, strlen(sk));
		json_decref(j);
	}
	ob->versions[i] = cur;
	if (same || (rq->key == NULL && cur > 0)) {
		if (!rq->dry_run && onboard_cas_required(ob, v, path, e) == -1)
			return -1;
		onboard_step(ob, "skip", "key for %s already in Vault (%s/%s version %d)",
		    ob->ints[i], ob->a->cfg.vault_kv_mount, path, cur);
		return 0;
	}
	if (rq->dry_run) {
		onboard_step(ob, "would", "verify the key at %s and store it at %s/%s "
		    "(check-and-set on version %d)", ob->gateway ? ob->api_url[i] : ob->site,
		    ob->a->cfg.vault_kv_mount, path, cur);
		return 0;
	}
	if (rq->key == NULL)
		return err_set(e, 400, "need_key", "Vault has no key for %s yet: give one "
		    "(drop --keep-key)", ob->ints[i]);
	/* A classic token belongs to the account: one check at the site. A
	 * gateway key may hold one product's scopes only: each is checked. */
	if ((!ob->verified || ob->gateway) && !rq->no_verify) {
		char		 who[128];
		const char	*where = ob->gateway ? ob->api_url[i] : ob->site;

		if (verify_kind(ob->cred_kind, ob->ints[i], where, rq->email, rq->key,
		    (long)ob->a->cfg.verify_timeout * 1000, who, sizeof who, e) == -1)
			return err_prefix(e, "verifying the key");
		ob->verified = 1;
		onboard_step(ob, "done", "the key works at %s (as %s)", where,
		    who[0] != '\0' ? who : rq->email != NULL ? rq->email : "the service account");
	}
	if ((cred = rotate_credential(ob->ints[i], ob->cred_kind, rq->email, rq->key,
	    rq->expires_at)) == NULL)
		return err_set(e, 500, "nomem", "out of memory");
	if (vault_kv_write(v, path, secret_bytes(cred), cur, &nv, e) == -1) {
		secret_free(cred);
		if (strcmp(e->code, "vault_cas_conflict") == 0)
			return err_set(e, 409, "vault_cas_conflict", "%s changed in Vault while "
			    "onboarding (someone else wrote it): nothing was overwritten", path);
		rotate_explain_vault(ob->a, rq->tenant, e);
		return -1;
	}
	secret_free(cred);
	ob->versions[i] = nv;
	if (onboard_cas_required(ob, v, path, e) == -1)
		return -1;
	onboard_step(ob, "done", "key for %s stored at %s/%s (version %d)", ob->ints[i],
	    ob->a->cfg.vault_kv_mount, path, nv);
	return onboard_audit(ob, "onboard.key", ob->ints[i], json_pack("{s:s,s:s,s:i,s:b,s:b,s:s,s:s?}",
	    "integration", ob->ints[i], "vault_path", path, "version", nv,
	    "verified", ob->verified, "no_verify", rq->no_verify, "key_kind", ob->cred_kind,
	    "expires_at", rq->expires_at), e);
}

/* Scoped and service-account keys work only through Atlassian's API
 * gateway, at <gateway>/ex/<jira|confluence>/<cloudId>: find the cloud id
 * (public at <site>/_edge/tenant_info) before any key is checked. */
static int
onboard_gateway(struct onboard *ob, struct err *e)
{
	const struct onboard_req *rq = ob->rq;
	const char	*gw = rq->gateway != NULL ? rq->gateway : "https://api.atlassian.com";
	size_t		 n = strlen(gw);

	ob->cred_kind = rq->cred_kind != NULL ? rq->cred_kind : "classic";
	ob->gateway = strcmp(ob->cred_kind, "classic") != 0;
	if (!ob->gateway)
		return 0;
	while (n > 0 && gw[n - 1] == '/')
		n--;
	if (rq->cloud_id != NULL)
		snprintf(ob->cloud_id, sizeof ob->cloud_id, "%s", rq->cloud_id);
	else if (rq->dry_run) {
		snprintf(ob->cloud_id, sizeof ob->cloud_id, "<cloudId>");
		onboard_step(ob, "would", "read the cloud id from %s/_edge/tenant_info",
		    ob->site);
	} else {
		if (verify_cloud_id(ob->site, (long)ob->a->cfg.verify_timeout * 1000,
		    ob->cloud_id, sizeof ob->cloud_id, e) == -1)
			return -1;
		onboard_step(ob, "done", "cloud id %s (from %s/_edge/tenant_info)", ob->cloud_id,
		    ob->site);
	}
	for (int i = 0; i < ob->nints; i++) {
		char url[sizeof ob->api_url[i]];

		snprintf(url, sizeof url, "%.*s/ex/%s/%s", (int)n, gw, ob->ints[i],
		    ob->cloud_id);
		memcpy(ob->api_url[i], url, sizeof url);
	}
	return 0;
}

/* Step 6: the rows, last, in one transaction with their audit row. */
static int
onboard_rows(struct onboard *ob, struct err *e)
{
	const struct onboard_req *rq = ob->rq;
	const char	*name = rq->name != NULL ? rq->name : rq->tenant;
	const char	*tp[2] = { rq->tenant, name };
	const char	*ip[11];
	char		 path[512], ver[16];
	PGconn		*c;
	json_t		*d, *list = json_array();
	int		 rc = -1;

	if (rq->dry_run) {
		for (int i = 0; i < ob->nints; i++)
			json_array_append_new(list, json_string(ob->ints[i]));
		onboard_step(ob, "would", "%s tenant %s (%s) with its integrations at %s",
		    ob->exists ? "update" : "insert", rq->tenant, ob->exists &&
		    rq->name == NULL ? "name unchanged" : name, ob->site);
		json_decref(list);
		return 0;
	}
	if ((c = admin_db(ob->a, e)) == NULL || db_begin(c, e) == -1) {
		json_decref(list);
		return -1;
	}
	if (!ob->exists)
		rc = db_exec(c, DBQ_TENANT_INSERT, tp, NULL, e);
	else
		rc = rq->name != NULL ? db_exec(c, DBQ_TENANT_RENAME, tp, NULL, e) : 0;
	for (int i = 0; i < ob->nints && rc == 0; i++) {
		admin_kv_path(ob->a, rq->tenant, ob->ints[i], path, sizeof path);
		snprintf(ver, sizeof ver, "%d", ob->versions[i]);
		ip[0] = rq->tenant;
		ip[1] = ob->ints[i];
		ip[2] = ob->ints[i];
		ip[3] = ob->site;
		ip[4] = path;
		ip[5] = ver;
		ip[6] = ob->a->actor;
		ip[7] = ob->cred_kind;
		ip[8] = ob->gateway ? ob->cloud_id : NULL;
		ip[9] = ob->gateway ? ob->api_url[i] : NULL;
		ip[10] = rq->expires_at;	/* the broker's expiry job reads it */
		rc = db_exec(c, DBQ_INTEGRATION_UPSERT, ip, NULL, e);
		json_array_append_new(list, json_pack("{s:s,s:i}", "name", ob->ints[i],
		    "cred_version", ob->versions[i]));
	}
	d = json_pack("{s:s,s:s,s:O,s:b,s:s,s:s}", "name", name, "site", ob->site,
	    "integrations", list, "update", ob->exists, "via", ob->a->via,
	    "key_kind", ob->cred_kind);
	if (ob->gateway)
		json_object_set_new(d, "cloud_id", json_string(ob->cloud_id));
	if (rc == 0)
		rc = db_audit(c, ob->a->actor, ob->exists ? "onboard.update" : "onboard.tenant",
		    rq->tenant, rq->tenant, d, e);
	json_decref(d);
	json_decref(list);
	if (rc == 0)
		rc = db_commit(c, e);
	if (rc == -1) {
		db_rollback(c);
		return err_prefix(e, "recording the tenant");
	}
	onboard_step(ob, "done", "tenant %s %s with %d integration(s); brokers notified",
	    rq->tenant, ob->exists ? "updated" : "recorded", ob->nints);
	return 0;
}

int
onboard_run(struct admin *a, const struct onboard_req *rq, struct err *e)
{
	struct onboard	 ob;
	const char	*p[1] = { rq->tenant };
	struct vault	*v;
	PGconn		*c;
	json_t		*row = NULL;
	int		 rc;

	memset(&ob, 0, sizeof ob);
	ob.a = a;
	ob.rq = rq;
	if (onboard_check(rq, e) == -1 ||
	    onboard_split_ints(rq->integrations, ob.ints, &ob.nints, e) == -1)
		return -1;
	if (a->json && (ob.steps = json_array()) == NULL)
		return err_set(e, 500, "nomem", "out of memory");
	verify_site_root(rq->site, ob.site, sizeof ob.site);
	admin_policy_name(a, rq->tenant, ob.policy, sizeof ob.policy);
	out_note(a->out, "%s tenant %s:\n", rq->dry_run ? "Would onboard" : "Onboarding",
	    rq->tenant);

	if ((c = admin_db(a, e)) == NULL || (rc = db_one(c, DBQ_TENANT, p, &row, e)) == -1)
		goto fail;
	json_decref(row);
	ob.exists = rc == 1;
	if (ob.exists && !rq->update) {
		err_set(e, 409, "tenant_exists", "tenant '%s' already exists: nothing was "
		    "changed (use --update to change it)", rq->tenant);
		json_decref(ob.steps);
		return -1;
	}
	if (onboard_gateway(&ob, e) == -1 || (v = admin_vault(a, e)) == NULL)
		goto fail;
	if (onboard_policy(&ob, v, e) == -1 || onboard_k8s(&ob, v, e) == -1)
		goto fail;
	for (int i = 0; i < ob.nints; i++)
		if (onboard_key(&ob, v, i, e) == -1)
			goto fail;
	if (onboard_rows(&ob, e) == -1)
		goto fail;
	if (rq->dry_run)
		out_note(a->out, "dry run: nothing was changed\n");
	if (ob.steps != NULL) {
		/* The plan (or what was done) for scripts; the notes above
		 * stay on stderr for people. */
		json_t *j = json_pack("{s:s,s:s,s:b,s:b,s:o}", "tenant", rq->tenant,
		    "site", rq->site, "dry_run", rq->dry_run, "update", ob.exists,
		    "steps", ob.steps);

		out_json(a->out, j);
		json_decref(j);
	}
	return 0;
fail:
	json_decref(ob.steps);
	if (!rq->dry_run) {
		out_note(a->out, "  [failed] %s\n", e->msg);
		out_note(a->out, "State: %s%s.\n%s Fix the cause and run the same command "
		    "again: finished steps are skipped.\n",
		    ob.done[0] != '\0' ? "done so far: " : "nothing was changed",
		    ob.done, ob.exists ? "The tenant's database rows are as they were." :
		    "The tenant row is written last, so the tenant is not onboarded yet.");
	}
	return -1;
}
