/*
 * verify: one authenticated GET against the tenant's Atlassian site.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "err.h"
#include "httpc.h"
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

int
verify_atlassian(const char *base_url, const char *email, const secret_t *key,
    long timeout_ms, char *who, size_t wholen, struct err *e)
{
	static const char *const hdrs[] = { "Accept: application/json", NULL };
	struct httpc_req	 req;
	struct httpc_resp	 resp;
	struct err		 he;
	secret_t		*auth;
	char			 root[1024], url[1100], origin[256];
	const char		*name;
	json_t			*j;
	int			 rc;

	if (who != NULL && wholen > 0)
		who[0] = '\0';
	verify_site_root(base_url, root, sizeof root);
	snprintf(url, sizeof url, "%s/rest/api/3/myself", root);
	httpc_url_origin(root, origin, sizeof origin);
	if ((auth = httpc_basic_header(email, key)) == NULL)
		return err_set(e, 400, "bad_email", "the account email cannot be used in "
		    "Basic auth (it contains ':' or a line break)");
	memset(&req, 0, sizeof req);
	req.method = "GET";
	req.url = url;
	req.headers = hdrs;
	req.secret_header = auth;
	req.timeout_ms = timeout_ms;
	req.max_response = 256 * 1024;
	err_clear(&he);
	rc = httpc_do(&req, &resp, &he);
	secret_free(auth);
	if (rc == -1) {
		httpc_resp_free(&resp);
		return err_set(e, 502, "verify_failed", "could not check the key at %s: %s",
		    origin, he.msg);
	}
	if (resp.status == 401 || resp.status == 403) {
		rc = err_set(e, 400, "key_rejected", "%s refused the new key for %s (HTTP %ld)",
		    origin, email, resp.status);
	} else if (resp.status != 200) {
		rc = err_set(e, 502, "verify_failed", "could not check the key: %s answered "
		    "HTTP %ld", origin, resp.status);
	} else {
		rc = 0;
		j = json_loadb(resp.body != NULL ? resp.body : "", resp.len, 0, NULL);
		if ((name = json_string_value(json_object_get(j, "emailAddress"))) == NULL)
			name = json_string_value(json_object_get(j, "displayName"));
		if (who != NULL && name != NULL)
			snprintf(who, wholen, "%s", name);
		json_decref(j);
	}
	httpc_resp_free(&resp);
	return rc;
}
