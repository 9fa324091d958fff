/* keys: load the signing keyring from Vault or files; build the JWKS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "err.h"
#include "jsonx.h"
#include "jwk.h"
#include "keys.h"
#include "log.h"
#include "vault.h"

#define KEYS_PEM_MAX	16384

void
keys_free(struct keyring *k)
{
	if (k == NULL)
		return;
	secret_free(k->private_pem);
	jwt_signer_free(k->signer);
	for (size_t i = 0; i < k->nverify; i++)
		jwt_key_release(&k->verify[i]);
	free(k->jwks);
	free(k);
}

/* A previous key may be given as a public or a private PEM: keep only the
 * public half. */
static char *
keys_public_pem(const char *pem, struct err *e)
{
	secret_t	*s;
	char		*pub;

	if (strstr(pem, "PRIVATE KEY") == NULL)
		return strdup(pem);
	if ((s = secret_new(pem, strlen(pem))) == NULL) {
		err_set(e, 500, "nomem", "out of memory");
		return NULL;
	}
	pub = jwk_public_pem_from_private(s, e);
	secret_free(s);
	return pub;
}

static int
keys_add_verify(struct keyring *k, const char *kid, char *public_pem, struct err *e)
{
	struct jwt_key *vk = &k->verify[k->nverify];

	if (public_pem == NULL)
		return -1;
	if (strlen(kid) == 0 || strlen(kid) >= sizeof vk->kid) {
		free(public_pem);
		return err_set(e, 500, "bad_key", "key id '%s' is empty or too long", kid);
	}
	snprintf(vk->kid, sizeof vk->kid, "%s", kid);
	vk->alg = JWT_ALG_ES256;
	vk->pem = public_pem;
	k->nverify++;
	return 0;
}

static int
keys_build_jwks(struct keyring *k, struct err *e)
{
	json_t *set = json_array(), *jwk, *doc;

	for (size_t i = 0; i < k->nverify; i++) {
		if ((jwk = jwk_from_pem_public(k->verify[i].pem, k->verify[i].kid, e)) == NULL) {
			json_decref(set);
			return -1;
		}
		json_array_append_new(set, jwk);
	}
	doc = json_pack("{s:o}", "keys", set);
	k->jwks = doc != NULL ? jsonx_dump(doc) : NULL;
	json_decref(doc);
	return k->jwks != NULL ? 0 : err_set(e, 500, "nomem", "out of memory");
}

static int
keys_from_vault(struct keyring *k, const struct broker_cfg *cfg, struct vault *v,
    struct err *e)
{
	char		 path[512];
	secret_t	*doc = NULL;
	json_t		*j = NULL;
	const char	*kid, *priv, *pkid, *ppem;
	int		 version, stale, rc = -1;

	snprintf(path, sizeof path, "%s/%s", cfg->vault_kv_prefix, cfg->signing_key_path);
	if (vault_kv_read(v, path, &doc, &version, &stale, e) == -1)
		return err_prefix(e, "loading the signing key from Vault");
	if ((j = jsonx_parse_object(secret_bytes(doc), secret_len(doc), e)) == NULL)
		goto out;
	kid = jsonx_str(j, "kid");
	priv = jsonx_str(j, "private_pem");
	if (kid == NULL || priv == NULL) {
		err_set(e, 500, "bad_key", "Vault path %s needs string fields 'kid' and 'private_pem'",
		    path);
		goto out;
	}
	snprintf(k->kid, sizeof k->kid, "%s", kid);
	if ((k->private_pem = secret_new(priv, strlen(priv))) == NULL ||
	    keys_add_verify(k, kid, jwk_public_pem_from_private(k->private_pem, e), e) == -1)
		goto out;
	pkid = jsonx_str(j, "previous_kid");
	ppem = jsonx_str(j, "previous_public_pem");
	if (pkid != NULL && ppem != NULL &&
	    keys_add_verify(k, pkid, keys_public_pem(ppem, e), e) == -1)
		goto out;
	rc = 0;
out:
	json_decref(j);
	secret_free(doc);
	return rc;
}

static int
keys_from_files(struct keyring *k, const struct broker_cfg *cfg, struct err *e)
{
	secret_t *prev;

	if (cfg->signing_key_file == NULL)
		return err_set(e, 500, "bad_config",
		    "signing_key_source = file needs signing_key_file");
	if ((k->private_pem = secret_from_file(cfg->signing_key_file, KEYS_PEM_MAX, e)) == NULL)
		return err_prefix(e, "loading the signing key");
	snprintf(k->kid, sizeof k->kid, "%s", cfg->signing_key_id);
	if (keys_add_verify(k, cfg->signing_key_id,
	    jwk_public_pem_from_private(k->private_pem, e), e) == -1)
		return err_prefix(e, "%s", cfg->signing_key_file);
	if (cfg->previous_key_file == NULL)
		return 0;
	if (cfg->previous_key_id == NULL)
		return err_set(e, 500, "bad_config", "previous_key_file needs previous_key_id");
	if ((prev = secret_from_file(cfg->previous_key_file, KEYS_PEM_MAX, e)) == NULL)
		return err_prefix(e, "loading the previous key");
	int rc = keys_add_verify(k, cfg->previous_key_id, keys_public_pem(secret_bytes(prev), e), e);
	secret_free(prev);
	return rc;
}

struct keyring *
keys_load(const struct broker_cfg *cfg, struct vault *v, struct err *e)
{
	struct keyring	*k;
	int		 rc;

	if ((k = calloc(1, sizeof *k)) == NULL) {
		err_set(e, 500, "nomem", "out of memory");
		return NULL;
	}
	if (strcmp(cfg->signing_key_source, "vault") == 0)
		rc = keys_from_vault(k, cfg, v, e);
	else
		rc = keys_from_files(k, cfg, e);
	if (rc == -1 || keys_build_jwks(k, e) == -1 ||
	    (k->signer = jwt_signer_new(k->private_pem, k->kid, e)) == NULL) {
		keys_free(k);
		return NULL;
	}
	/* Parse the public keys once, before threads share them. */
	for (size_t i = 0; i < k->nverify; i++) {
		if (jwt_key_prepare(&k->verify[i], e) == -1) {
			keys_free(k);
			return NULL;
		}
	}
	log_info("signing key '%s' loaded (%zu key(s) published)", k->kid, k->nverify);
	return k;
}
