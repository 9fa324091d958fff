/* grant: ES256 grant tokens: mint, verify, read. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "config.h"
#include "err.h"
#include "grant.h"
#include "identity.h"
#include "jsonx.h"
#include "jwt.h"
#include "keys.h"
#include "store.h"
#include "toolcat.h"

#define GRANT_MAX_LEN	65536

/* One integration as a grant answer names it. The forwarder sends the
 * credential only to api_url (the API gateway, for the scoped and
 * service-account kinds) or, when it is null, to base_url, and builds the
 * header by cred_kind (migrations/0004_credential_kinds.sql). */
json_t *
grant_integ_desc(const struct integration *in)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:o,s:i}", "name", in->name, "kind", in->kind,
	    "base_url", in->base_url, "cred_kind", in->cred_kind[0] != '\0' ?
	    in->cred_kind : "classic", "api_url", in->api_url[0] != '\0' ?
	    json_string(in->api_url) : json_null(), "cred_version", in->cred_version);
}

static int
grant_wanted(const json_t *wanted, const char *name)
{
	return json_array_size(wanted) == 0 || jsonx_array_has(wanted, name);
}

static int
grant_enabled(const struct integration *in, const char *tool)
{
	if (in->enabled_tools == NULL)
		return 1;
	for (size_t i = 0; in->enabled_tools[i] != NULL; i++)
		if (strcmp(in->enabled_tools[i], tool) == 0)
			return 1;
	return 0;
}

json_t *
grant_tools(const struct membership *m, const struct integration *ints, size_t n,
    const json_t *wanted)
{
	json_t	*tools = json_array();
	char	 name[128];

	for (size_t i = 0; i < n; i++) {
		const struct integration *in = &ints[i];

		if (!in->enabled)
			continue;
		if (strcmp(in->kind, "mcp") == 0) {
			/* A backend's tools are only known at run time: the grant
			 * names the backend and whether writes are allowed. */
			snprintf(name, sizeof name, "mcp:%s:%s", in->name,
			    toolcat_role_allows(m->role, TOOL_WRITE) ? "*" : "readonly");
			json_array_append_new(tools, json_string(name));
			continue;
		}
		for (size_t t = 0; t < toolcat_len; t++) {
			const struct toolcat_entry *te = &toolcat[t];

			if (strcmp(te->kind, in->kind) != 0 ||
			    !toolcat_role_allows(m->role, te->access) ||
			    !grant_enabled(in, te->name) || !grant_wanted(wanted, te->name))
				continue;
			json_array_append_new(tools, json_string(te->name));
		}
	}
	return tools;
}

json_t *
grant_mint(const struct broker_cfg *cfg, const struct keyring *keys,
    const struct identity *id, const struct membership *m,
    const struct integration *ints, size_t n, json_t *tools, int with_groups,
    struct err *e)
{
	json_t		*claims, *names = json_array(), *vers = json_object(), *desc = json_array();
	json_t		*groups = json_array(), *out = NULL;
	unsigned char	 rnd[16];
	char		 jti[33], *token;
	time_t		 now = time(NULL);
	long		 ttl = cfg->grant_ttl > 300 ? 300 : cfg->grant_ttl;

	/* A grant never outlives the user token it was minted for. */
	if (id->exp > 0 && id->exp - now < ttl)
		ttl = id->exp - now > 0 ? id->exp - now : 1;

	if (RAND_bytes(rnd, sizeof rnd) != 1) {
		json_decref(tools);
		err_set(e, 500, "rng", "no randomness available for a grant id");
		goto fail;
	}
	for (size_t i = 0; i < sizeof rnd; i++)
		snprintf(jti + 2 * i, 3, "%02x", rnd[i]);
	for (size_t i = 0; i < n; i++) {
		if (!ints[i].enabled)
			continue;
		json_array_append_new(names, json_string(ints[i].name));
		json_object_set_new(vers, ints[i].name, json_integer(ints[i].cred_version));
		json_array_append_new(desc, grant_integ_desc(&ints[i]));
	}
	/* Redeem re-checks membership, which may come from an IdP group. */
	for (size_t i = 0; with_groups && i < id->ngroups; i++)
		json_array_append_new(groups, json_string(id->groups[i]));
	claims = json_pack("{s:s,s:s,s:s,s:s,s:s,s:O,s:O,s:O,s:O,s:s,s:I,s:I}",
	    "iss", cfg->grant_issuer, "aud", cfg->grant_audience, "sub", id->email,
	    "tenant", m->tenant, "role", m->role, "integrations", names, "tools", tools,
	    "cred_ver", vers, "groups", groups, "jti", jti,
	    "iat", (json_int_t)now, "exp", (json_int_t)(now + ttl));
	if (claims == NULL) {
		json_decref(tools);
		err_set(e, 500, "internal", "cannot build grant claims");
		goto fail;
	}
	token = jwt_signer_mint(keys->signer, claims, e);
	json_decref(claims);
	if (token == NULL) {
		json_decref(tools);
		goto fail;
	}
	out = json_pack("{s:s,s:s,s:s,s:s,s:I,s:O,s:o}", "tenant", m->tenant, "role", m->role,
	    "jti", jti, "token", token, "expires_at", (json_int_t)(now + ttl),
	    "integrations", desc, "tools", tools);
	free(token);
fail:
	json_decref(names);
	json_decref(vers);
	json_decref(desc);
	json_decref(groups);
	return out;
}

json_t *
grant_check(const struct broker_cfg *cfg, const struct keyring *keys, const char *token,
    struct err *e)
{
	struct jwt_verify_opts	 o = { 0 };
	json_t			*claims = NULL;
	const char		*tenant, *sub, *jti;

	o.issuer = cfg->grant_issuer;
	o.audience = cfg->grant_audience;
	o.skew_s = 5;
	o.require_exp = 1;
	/* Ours, signature checked before parsing; may carry many IdP groups. */
	o.max_token_len = GRANT_MAX_LEN;
	if (jwt_verify(token, keys->verify, keys->nverify, &o, &claims, e) == -1) {
		char why[ERR_MSG_MAX];

		snprintf(why, sizeof why, "%s", e->msg);
		return err_set(e, 401, "grant_invalid", "grant refused: %s", why), NULL;
	}
	tenant = json_string_value(json_object_get(claims, "tenant"));
	sub = json_string_value(json_object_get(claims, "sub"));
	jti = json_string_value(json_object_get(claims, "jti"));
	if (tenant == NULL || sub == NULL || jti == NULL ||
	    !json_is_array(json_object_get(claims, "integrations")) ||
	    !json_is_integer(json_object_get(claims, "iat"))) {
		json_decref(claims);
		err_set(e, 401, "grant_invalid", "grant refused: required claims are missing");
		return NULL;
	}
	return claims;
}

int
grant_has_integration(const json_t *claims, const char *name)
{
	return jsonx_array_has(json_object_get(claims, "integrations"), name);
}
