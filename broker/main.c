/*
 * tenantgate-broker: the only process that holds a Vault token. It logs in
 * to Vault with Kubernetes auth, reads per-tenant credentials from KV v2,
 * keeps memberships in PostgreSQL, verifies who the user is and issues
 * short-lived grants that a forwarder redeems for one tenant's credential.
 * What it plugs into the daemon skeleton (common/daemon.h) is here; the
 * config check-and-build is broker_state.c.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "broker.h"
#include "callers.h"
#include "chores.h"
#include "daemon.h"
#include "err.h"
#include "feed.h"
#include "httpd.h"
#include "identity.h"
#include "ints.h"
#include "keyexpiry.h"
#include "jsonx.h"
#include "keys.h"
#include "log.h"
#include "members.h"
#include "reuse.h"
#include "broker_state.h"
#include "store.h"
#include "vault.h"

#define BROKER_VERSION		"0.1.0"
#define BROKER_STR(x)		BROKER_STR2(x)
#define BROKER_STR2(x)		#x
#define BROKER_SECRET_MAX	8192

static const char synopsis[] =
"\n"
"The tenantgate broker: verifies users, keeps tenant memberships in\n"
"PostgreSQL, logs in to Vault and issues short-lived per-tenant grants.\n";

static const char more[] =
"\n"
"Signals: SIGHUP reloads configuration, keys and secrets without dropping\n"
"connections; SIGTERM/SIGINT stop accepting, finish in-flight requests\n"
"and exit. Endpoints and configuration: docs/api.md, docs/broker.md.\n";

static struct broker	 broker;
static secret_t		*vault_token;

/* The seq a change notice carries (migration 0002), kept as the highest
 * change our caches have seen: api.c compares callers' seen_seq with it. */
static void
broker_note_seq(struct broker *b, const char *payload)
{
	json_t		*j = payload != NULL ? json_loads(payload, 0, NULL) : NULL;
	json_t		*seq = json_object_get(j, "seq");
	long long	 v, have;

	if (json_is_integer(seq)) {
		v = json_integer_value(seq);
		have = atomic_load(&b->applied_seq);
		while (v > have && !atomic_compare_exchange_weak(&b->applied_seq, &have, v))
			;
	}
	json_decref(j);
}

/* NOTIFY tenantgate_changes (payload NULL: the listener reconnected and
 * may have missed some): memberships may have changed, and a rotation
 * (tenant_integrations.cred_version) must not be hidden by the Vault cache. */
static void
broker_on_change(const char *payload, void *arg)
{
	struct broker *b = arg;

	/* Everything cached about access starts over; the feed thread wakes
	 * its long-polls. Flushing all is coarse but cannot miss a case. */
	members_on_change(payload, b->members);
	ints_flush(b->ints);
	reuse_flush(b->reuse);
	broker_note_seq(b, payload);
	feed_on_change(b->feed);
	if (payload == NULL || strstr(payload, "\"tenant_integrations\"") != NULL)
		vault_cache_invalidate(b->vault, NULL);
	/* A rotation (or a tenant disabled) changes which expiry counts:
	 * the metric follows at once, not at the next tick. */
	if (payload == NULL || strstr(payload, "\"tenant_integrations\"") != NULL ||
	    strstr(payload, "\"tenants\"") != NULL)
		keyexpiry_kick(b->keyexpiry);
}
static struct event	*keyexpiry_ev;

/* The timer only wakes the expiry job's thread: its PostgreSQL read must
 * never hold the loop (keyexpiry.h). */
static void
broker_keyexpiry_tick(evutil_socket_t fd, short what, void *arg)
{
	struct broker *b = arg;

	(void)fd;
	(void)what;
	keyexpiry_kick(b->keyexpiry);
}

static struct vault *
broker_vault(const struct broker_cfg *cfg, secret_t **token, struct err *e)
{
	struct vault_cfg vc = {
		.addr = cfg->vault_addr, .ca_file = cfg->vault_ca_file,
		.k8s_mount = cfg->vault_k8s_mount, .k8s_role = cfg->vault_k8s_role,
		.sa_token_path = cfg->vault_sa_token_file, .kv_mount = cfg->vault_kv_mount,
		.timeout_ms = cfg->vault_timeout * 1000L, .cache_ttl_s = cfg->vault_cache_ttl,
		.cache_max_stale_s = cfg->vault_cache_max_stale,
	};

	if (strcmp(cfg->vault_auth, "token") == 0) {
		if (cfg->vault_token_file == NULL) {
			err_set(e, 500, "bad_config", "vault_auth = token needs vault_token_file");
			return NULL;
		}
		if ((*token = secret_from_file(cfg->vault_token_file, BROKER_SECRET_MAX, e)) == NULL)
			return NULL;
		log_warnx("vault_auth = token: a static Vault token is for development only");
		vc.auth = VAULT_AUTH_TOKEN;
		vc.token = *token;
	} else
		vc.auth = VAULT_AUTH_KUBERNETES;
	return vault_new(&vc, e);
}

static void *
broker_build(struct daemon *d, char **causes)
{
	return broker_state_build(d->cfg_path, d->overrides, d->running ? d->app : NULL,
	    causes);
}

static const void *
broker_cfg(const void *snap)
{
	return &((const struct broker_state *)snap)->cfg;
}

static void
broker_unref(void *snap)
{
	broker_state_put(snap);
}

/* After the install: the caches take the new limits. */
static void
broker_reload(struct daemon *d, void *snap)
{
	struct broker		*b = d->app;
	struct broker_state	*s = snap;

	identity_set_refresher(s->idv, chores_jwks_ask, b);
	broker_state_install(b, broker_state_ref(s));
	members_set_limits(b->members, s->cfg.members_cache_ttl, s->cfg.members_max_stale);
	ints_set_limits(b->ints, s->cfg.members_cache_ttl, s->cfg.members_max_stale);
	feed_set_retention(b->feed, s->cfg.changes_retention);
	broker_state_put(s);
}

/* SIGHUP: the build reads Vault (the signing key) and files, so it runs
 * on a chores worker, never on the loop; several signals, one reload. */
static void
broker_hup(struct daemon *d)
{
	struct broker *b = d->app;

	chores_reload(b->chores);
}

static void
broker_reload_job(void *arg)
{
	daemon_reload(arg);
}

/* The database, its caches and the change listener. */
static int
broker_start_store(struct broker *b, const struct broker_cfg *cfg, struct err *e)
{
	if ((b->store = store_open(cfg->database_url, cfg->db_pool, e)) == NULL)
		return -1;
	/* Refuse a schema we do not know rather than misread it. A database
	 * that is down now goes unchecked: on a wrong schema our statements
	 * would not prepare, and those errors name the statement. */
	if (store_check_schema(b->store, e) == -1) {
		if (e->status == 409)
			return -1;
		log_warnx("database: schema version not checked at start-up: %s", e->msg);
		err_clear(e);
	}
	/* Callers may queue for the database, but two threads always stay
	 * free for answers from the caches. */
	store_set_wait_max(b->store, cfg->workers - cfg->db_pool - 2 > cfg->db_pool ?
	    cfg->workers - cfg->db_pool - 2 : cfg->db_pool);
	if ((b->members = members_new(b->store, cfg->members_cache_ttl,
	    cfg->members_max_stale)) == NULL ||
	    (b->ints = ints_new(b->store, cfg->members_cache_ttl,
	    cfg->members_max_stale)) == NULL || (b->reuse = reuse_new()) == NULL)
		return err_set(e, 500, "nomem", "out of memory");
	if ((b->feed = feed_new(b->store, cfg->changes_retention, e)) == NULL ||
	    (b->keyexpiry = keyexpiry_new(b->store, e)) == NULL)
		return -1;
	return store_listen_start(b->store, cfg->database_url, broker_on_change, b, e);
}

static int
broker_start_jobs(struct daemon *d, struct broker *b, const struct broker_cfg *cfg,
    struct err *e)
{
	struct timeval expiry_every = { cfg->key_expiry_interval, 0 };

	keyexpiry_ev = event_new(b->base, -1, EV_PERSIST, broker_keyexpiry_tick, b);
	if (keyexpiry_ev == NULL)
		return err_set(e, 500, "nomem", "out of memory");
	evtimer_add(keyexpiry_ev, &expiry_every);
	/* Purge, the signing-key retry, SIGHUP and the JWKS refresh. */
	if (chores_start(b, broker_reload_job, d, e) == NULL)
		return -1;
	return 0;
}

static int
broker_start(struct daemon *d, void *snap, struct err *e)
{
	struct broker		*b = d->app;
	struct broker_state	*s = snap;
	const struct broker_cfg	*cfg = &s->cfg;	/* b holds s until stop */
	struct httpd_limits	 lim;

	pthread_mutex_init(&b->state_lock, NULL);
	pthread_mutex_init(&b->probe_lock, NULL);
	b->base = d->base;
	identity_set_refresher(s->idv, chores_jwks_ask, b);
	broker_state_install(b, s);
	if (broker_start_store(b, cfg, e) == -1)
		return -1;
	if ((b->vault = broker_vault(cfg, &vault_token, e)) == NULL)
		return -1;
	vault_start(b->vault);
	conf_http_limits(&cfg->http, &lim);
	/* The audit intake takes batches up to 1 MiB; the handlers hold
	 * every other endpoint to max_body (api.c, WITH_STATE). */
	lim.max_body_bytes = cfg->max_body > API_AUDIT_MAX_BODY ? cfg->max_body :
	    API_AUDIT_MAX_BODY;
	if (daemon_serve(d, &lim, broker_routes, b, cfg->listen, cfg->tls_cert_file,
	    cfg->tls_key_file, e) == -1)
		return -1;
	b->httpd = d->httpd;
	if (broker_start_jobs(d, b, cfg, e) == -1)
		return -1;
	/* Without the signing key, READY waits for the keys job. */
	if (s->keys != NULL)
		daemon_notify("READY=1\nSTATUS=serving");
	return 0;
}

static int
broker_drain(struct daemon *d)
{
	struct broker *b = d->app;

	feed_release_all(b->feed);
	return -1;
}

/* In reverse order of start-up. The listener stops before the feed it
 * wakes; the feed answers its parked long-polls before httpd_free()
 * writes the last replies. */
static void
broker_stop(struct daemon *d)
{
	struct broker *b = d->app;

	if (b->store != NULL)
		store_listen_stop(b->store);
	keyexpiry_free(b->keyexpiry);
	feed_free(b->feed);
	httpd_free(d->httpd);
	/* A job in progress finishes first; then nothing touches the store
	 * or Vault behind our back. */
	chores_stop(b->chores);
	if (keyexpiry_ev != NULL)
		event_free(keyexpiry_ev);
	if (b->vault != NULL)
		vault_stop(b->vault);
	members_free(b->members);
	ints_free(b->ints);
	reuse_free(b->reuse);
	store_close(b->store);
	vault_free(b->vault);
	secret_free(vault_token);
	/* The workers are gone (httpd_free): this is the last reference. */
	broker_state_install(b, NULL);
	pthread_mutex_destroy(&b->state_lock);
	pthread_mutex_destroy(&b->probe_lock);
}

static const struct daemon_def broker_def = {
	.name = "tenantgate-broker",
	.version = BROKER_VERSION " (schema " BROKER_STR(STORE_SCHEMA_VERSION) ")",
	.config = "/etc/tenantgate/broker.conf",
	.synopsis = synopsis, .more = more, .opts = NULL, .table = broker_conf_table,
	.build = broker_build, .cfg = broker_cfg, .unref = broker_unref, .start = broker_start,
	.reload = broker_reload, .hup = broker_hup, .drain = broker_drain,
	.stop = broker_stop,
};

int
main(int argc, char *argv[])
{
	return daemon_main(&broker_def, &broker, argc, argv);
}
