/*
 * verify: one authenticated GET against the tenant's Atlassian site, or
 * against Atlassian's API gateway for scoped and service-account keys;
 * and the unauthenticated cloud-id lookup that gateway URLs need.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "err.h"
#include "httpc.h"
#include "secret.h"
#include "verify.h"

void
verify_site_root(const char *base_url, char *buf, size_t len)
{
	size_t n;

	snprintf(buf, len, "%s", base_url);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '/')
		buf[--n] = '\0';
	if (n >= 5 && strcmp(buf + n - 5, "/wiki") == 0)
		buf[n - 5] = '\0';
}

/* One GET of url with the secret header auth; the verdict as documented
 * in verify.h. who gets the first of the name fields found. */
static int
verify_get(const char *url, const secret_t *auth, const char *what, long timeout_ms,
    char *who, size_t wholen, struct err *e)
{
	static const char *const hdrs[] = { "Accept: application/json", NULL };
	static const char *const names[] = { "emailAddress", "email", "displayName",
	    "publicName", NULL };
	struct httpc_req	 req;
	struct httpc_resp	 resp;
	struct err		 he;
	char			 origin[256];
	const char		*name = NULL;
	json_t			*j;
	int			 rc;

	httpc_url_origin(url, origin, sizeof origin);
	memset(&req, 0, sizeof req);
	req.method = "GET";
	req.url = url;
	req.headers = hdrs;
	req.secret_header = auth;
	req.timeout_ms = timeout_ms;
	req.max_response = 256 * 1024;
	err_clear(&he);
	if (httpc_do(&req, &resp, &he) == -1) {
		httpc_resp_free(&resp);
		return err_set(e, 502, "verify_failed", "could not check the key at %s: %s",
		    origin, he.msg);
	}
	if (resp.status == 401 || resp.status == 403)
		rc = err_set(e, 400, "key_rejected", "%s refused the new key for %s (HTTP %ld)",
		    origin, what, resp.status);
	else if (resp.status != 200)
		rc = err_set(e, 502, "verify_failed", "could not check the key: %s answered "
		    "HTTP %ld", origin, resp.status);
	else {
		rc = 0;
		j = json_loadb(resp.body != NULL ? resp.body : "", resp.len, 0, NULL);
		for (size_t i = 0; names[i] != NULL && name == NULL; i++)
			if ((name = json_string_value(json_object_get(j, names[i]))) != NULL &&
			    *name == '\0')
				name = NULL;
		if (who != NULL && name != NULL)
			snprintf(who, wholen, "%s", name);
		json_decref(j);
	}
	httpc_resp_free(&resp);
	return rc;
}

int
verify_cloud_id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

int
verify_kind(const char *cred_kind, const char *product, const char *url,
    const char *email, const secret_t *key, long timeout_ms, char *who, size_t wholen,
    struct err *e)
{
	char		 full[1100];
	secret_t	*auth = NULL;
	size_t		 n;
	int		 rc;

	if (who != NULL && wholen > 0)
		who[0] = '\0';
	if (cred_kind == NULL || strcmp(cred_kind, "classic") == 0) {
		if ((rc = verify_atlassian(url, email, key, timeout_ms, who, wholen, e)) == -1 &&
		    strcmp(e->code, "key_rejected") == 0)
			/* Atlassian's site answers 401 to a scoped token. */
			snprintf(e->msg + strlen(e->msg), sizeof e->msg - strlen(e->msg),
			    "; if it is a scoped API token, use --key-kind scoped");
		return rc;
	}
	n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	snprintf(full, sizeof full, "%.*s%s", (int)n, url, strcmp(product, "confluence") == 0 ?
	    "/wiki/rest/api/user/current" : "/rest/api/3/myself");
	if (strcmp(cred_kind, "service_account") == 0) {
		if ((auth = secret_header("Authorization", "Bearer", key)) == NULL)
			return errno == ENOMEM ? err_set(e, 500, "nomem", "out of memory") :
			    err_set(e, 400, "bad_key", "the key contains a line break");
	} else if ((auth = secret_header_basic(email != NULL ? email : "", key)) == NULL)
		return err_set(e, 400, "bad_email", "the account email cannot be used in "
		    "Basic auth (it contains ':' or a line break)");
	rc = verify_get(full, auth, email != NULL ? email : "the service account",
	    timeout_ms, who, wholen, e);
	secret_free(auth);
	return rc;
}

int
verify_cloud_id(const char *site, long timeout_ms, char *out, size_t len, struct err *e)
{
	static const char *const hdrs[] = { "Accept: application/json", NULL };
	struct httpc_req	 req;
	struct httpc_resp	 resp;
	struct err		 he;
	char			 root[1024], url[1100], origin[256];
	const char		*id;
	json_t			*j;
	int			 rc;

	verify_site_root(site, root, sizeof root);
	snprintf(url, sizeof url, "%s/_edge/tenant_info", root);
	httpc_url_origin(root, origin, sizeof origin);
	memset(&req, 0, sizeof req);
	req.url = url;
	req.headers = hdrs;
	req.timeout_ms = timeout_ms;
	req.max_response = 64 * 1024;
	err_clear(&he);
	if (httpc_do(&req, &resp, &he) == -1) {
		httpc_resp_free(&resp);
		return err_set(e, 502, "cloud_id_unknown", "could not read the cloud id at %s: "
		    "%s (give it with --cloud-id)", origin, he.msg);
	}
	j = resp.status == 200 ? json_loadb(resp.body != NULL ? resp.body : "", resp.len, 0,
	    NULL) : NULL;
	id = json_string_value(json_object_get(j, "cloudId"));
	if (id == NULL || !verify_cloud_id_ok(id) || strlen(id) >= len)
		rc = err_set(e, 502, "cloud_id_unknown", "%s/_edge/tenant_info gave no cloud id "
		    "(HTTP %ld): is this an Atlassian Cloud site? (or give --cloud-id)", origin,
		    resp.status);
	else {
		snprintf(out, len, "%s", id);
		rc = 0;
	}
	json_decref(j);
	httpc_resp_free(&resp);
	return rc;
}

int
verify_atlassian(const char *base_url, const char *email, const secret_t *key,
    long timeout_ms, char *who, size_t wholen, struct err *e)
{
	secret_t	*auth;
	char		 root[1024], url[1100];
	int		 rc;

	if (who != NULL && wholen > 0)
		who[0] = '\0';
	verify_site_root(base_url, root, sizeof root);
	snprintf(url, sizeof url, "%s/rest/api/3/myself", root);
	if ((auth = secret_header_basic(email, key)) == NULL)
		return err_set(e, 400, "bad_email", "the account email cannot be used in "
		    "Basic auth (it contains ':' or a line break)");
	rc = verify_get(url, auth, email, timeout_ms, who, wholen, e);
	secret_free(auth);
	return rc;
}
