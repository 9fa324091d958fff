/*
 * broker_state: the broker's config checks, across keys, and the building of
 * what SIGHUP may replace (broker_state.h). Nothing here is installed until all
 * of it is built.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "callers.h"
#include "err.h"
#include "identity.h"
#include "keys.h"
#include "log.h"
#include "broker_state.h"
#include "vault.h"

#define STATE_SECRET_MAX	8192

/* The rules that span keys, all of them, each at the line of its key. */
static void
broker_state_check(const struct broker_cfg *c, struct conf_load *l)
{
	if ((c->tls_cert_file == NULL) != (c->tls_key_file == NULL))
		conf_load_cause(l, c->tls_cert_file != NULL ? "tls_cert_file" : "tls_key_file",
		    "tls_cert_file and tls_key_file go together");
	if (strcmp(c->vault_auth, "token") == 0 && c->vault_token_file == NULL)
		conf_load_cause(l, "vault_auth", "vault_auth = token needs vault_token_file");
	if (c->oidc_issuer == NULL && c->openwebui_secret_file == NULL)
		conf_load_cause(l, NULL, "no way to verify users: set oidc_issuer "
		    "and/or openwebui_secret_file");
	if (c->callers_secret_file == NULL && c->callers_tokenreview_url == NULL)
		conf_load_cause(l, NULL, "no way for forwarders to authenticate: set "
		    "callers_secret_file or callers_tokenreview_url");
}

static secret_t *
broker_state_secret(struct conf_load *l, const char *key, const char *path)
{
	struct err	 e;
	secret_t	*s;

	err_clear(&e);
	if (path == NULL)
		return NULL;
	if ((s = secret_from_file(path, STATE_SECRET_MAX, &e)) == NULL)
		conf_load_cause(l, key, "%s", e.msg);
	return s;
}

static struct idv *
broker_state_identity(const struct broker_cfg *cfg, secret_t *owui, struct err *e)
{
	struct identity_cfg ic;

	memset(&ic, 0, sizeof ic);
	ic.oidc_issuer = cfg->oidc_issuer;
	ic.oidc_audience = cfg->oidc_audience;
	ic.oidc_jwks_url = cfg->oidc_jwks_url;
	ic.oidc_ca_file = cfg->oidc_ca_file;
	ic.oidc_algs = (const char *const *)cfg->oidc_algs;
	ic.email_claim = cfg->email_claim;
	(void)email_mode_parse(cfg->email_non_ascii, &ic.email_mode);	/* an enum row */
	ic.require_email_verified = cfg->require_email_verified;
	ic.groups_claim = cfg->groups_claim != NULL && cfg->groups_claim[0] != '\0' ?
	    cfg->groups_claim : NULL;
	ic.skew_s = cfg->clock_skew;
	ic.jwks_refresh_s = cfg->jwks_refresh;
	ic.owui_secret = owui;
	ic.owui_issuer = cfg->openwebui_issuer;
	ic.max_token_len = cfg->max_token_size;
	return identity_new(&ic, e);
}

/* Keys come from Vault, which may not be reachable yet at start-up: then
 * the retry timer loads them. Without a running broker only file keys. */
static struct keyring *
broker_state_keys(struct broker *b, const struct broker_state *cur,
    const struct broker_cfg *cfg, struct err *e, int *fail)
{
	struct keyring *keys;

	if (strcmp(cfg->signing_key_source, "file") != 0 && (cur == NULL || cur->keys == NULL))
		return NULL;
	if (strcmp(cfg->signing_key_source, "vault") == 0) {
		char path[512];

		/* Only the key: cached tenant credentials may be what
		 * bridges a Vault outage right now. */
		snprintf(path, sizeof path, "%s/%s", cfg->vault_kv_prefix,
		    cfg->signing_key_path);
		vault_cache_invalidate(b->vault, path);
	}
	if ((keys = keys_load(cfg, b != NULL ? b->vault : NULL, e)) == NULL)
		*fail = 1;
	return keys;
}

/* What the checks could not see: files read and objects built. */
static void
broker_state_objects(struct broker_state *s, struct broker *running,
    const struct broker_state *cur, struct conf_load *l)
{
	const struct broker_cfg	*c = &s->cfg;
	struct err		 e;
	int			 fail = 0;

	s->owui_secret = broker_state_secret(l, "openwebui_secret_file", c->openwebui_secret_file);
	s->admin_token = broker_state_secret(l, "admin_token_file", c->admin_token_file);
	/* Read at start-up by the Vault client: refused here first. */
	if (running == NULL && strcmp(c->vault_auth, "token") == 0)
		secret_free(broker_state_secret(l, "vault_token_file", c->vault_token_file));
	err_clear(&e);
	if ((c->openwebui_secret_file == NULL || s->owui_secret != NULL) &&
	    (s->idv = broker_state_identity(c, s->owui_secret, &e)) == NULL)
		conf_load_cause(l, c->oidc_issuer != NULL ? "oidc_issuer" :
		    "openwebui_secret_file", "%s", e.msg);
	err_clear(&e);
	if ((s->callers = callers_new(c, &e)) == NULL)
		conf_load_cause(l, c->callers_tokenreview_url != NULL ?
		    "callers_tokenreview_url" : "callers_secret_file", "%s", e.msg);
	err_clear(&e);
	s->keys = broker_state_keys(running, cur, c, &e, &fail);
	if (fail)
		conf_load_cause(l, strcmp(c->signing_key_source, "file") == 0 ?
		    "signing_key_file" : "signing_key_path", "%s", e.msg);
}

struct broker_state *
broker_state_build(const char *path, const char *const *overrides, struct broker *running,
    char **causes)
{
	struct broker_state	*s, *cur = running != NULL ? broker_state_get(running) : NULL;
	struct conf_load	 l;
	char			*rc = NULL;
	int			 failed;

	*causes = NULL;
	if ((s = calloc(1, sizeof *s)) == NULL) {
		broker_state_put(cur);
		*causes = strdup("out of memory");
		return NULL;
	}
	atomic_init(&s->refs, 1);
	if (conf_load_begin(&l, broker_conf_table, &s->cfg, path, overrides) == 0) {
		broker_state_check(&s->cfg, &l);
		if (cur != NULL && conf_render_reload_check(broker_conf_table, &cur->cfg,
		    &s->cfg, &rc) == -1) {
			conf_cause_add(&l.causes, "%s", rc);
			free(rc);
		}
		if (l.causes.n == 0)
			broker_state_objects(s, running, cur, &l);
	}
	broker_state_put(cur);
	failed = conf_load_end(&l, causes) == -1;
	if (failed) {
		broker_state_put(s);
		return NULL;
	}
	return s;
}

/* The lock guards only the pointer and the taking of a reference: a
 * request never waits for a reload's building, nor a reload for a request. */
void
broker_state_install(struct broker *b, struct broker_state *s)
{
	struct broker_state *old;

	pthread_mutex_lock(&b->state_lock);
	old = b->state;
	b->state = s;
	pthread_mutex_unlock(&b->state_lock);
	broker_state_put(old);
}

struct broker_state *
broker_state_get(struct broker *b)
{
	struct broker_state *s;

	pthread_mutex_lock(&b->state_lock);
	s = b->state != NULL ? broker_state_ref(b->state) : NULL;
	pthread_mutex_unlock(&b->state_lock);
	return s;
}

struct broker_state *
broker_state_ref(struct broker_state *s)
{
	atomic_fetch_add(&s->refs, 1);
	return s;
}

void
broker_state_put(struct broker_state *s)
{
	if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	identity_free(s->idv);
	callers_free(s->callers);
	keys_free(s->keys);
	secret_free(s->admin_token);
	secret_free(s->owui_secret);
	conf_free(broker_conf_table, &s->cfg);
	free(s);
}

int
broker_state_set_keys(struct broker_state *s, struct keyring *keys)
{
	struct keyring *none = NULL;

	return atomic_compare_exchange_strong(&s->keys, &none, keys) ? 0 : -1;
}
