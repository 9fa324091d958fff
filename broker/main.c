/*
 * tenantgate-broker: the only process that holds a Vault token. It logs in
 * to Vault with Kubernetes auth, reads per-tenant credentials from KV v2,
 * keeps memberships in PostgreSQL, verifies who the user is and issues
 * short-lived grants that a forwarder redeems for one tenant's credential.
 */
#include <getopt.h>
#include <signal.h>
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
#include "store.h"
#include "vault.h"

#define BROKER_VERSION		"0.1.0"
#define BROKER_SECRET_MAX	8192
#define BROKER_MAX_OVERRIDES	64

static const char usage_text[] =
"usage: tenantgate-broker [-c file] [-o key=value]... [--check-config]\n"
"                         [--show-config] [--config-docs] [--version] [--help]\n"
"\n"
"The tenantgate broker: verifies users, keeps tenant memberships in\n"
"PostgreSQL, logs in to Vault and issues short-lived per-tenant grants.\n"
"\n"
"  -c, --config FILE    configuration file (default /etc/tenantgate/broker.conf)\n"
"  -o KEY=VALUE         override one configuration key (repeatable)\n"
"      --check-config   validate the configuration and exit (0 = valid)\n"
"      --show-config    print the effective configuration, secrets as ***\n"
"      --config-docs    print the configuration reference (Markdown)\n"
"      --version        print the version\n"
"  -h, --help           this text\n"
"\n"
"Signals: SIGHUP reloads configuration, keys and secrets without dropping\n"
"connections; SIGTERM/SIGINT stop accepting, finish in-flight requests\n"
"and exit. Endpoints and configuration: docs/api.md, docs/broker.md.\n";

static struct broker	 broker;

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

static void
broker_cfg_free(struct broker_cfg *cfg)
{
	conf_free(broker_conf_table, cfg);
}

static int
broker_load_cfg(struct broker_cfg *cfg)
{
	char *causes = NULL;

	memset(cfg, 0, sizeof *cfg);
	if (conf_load_with(broker_conf_table, cfg, broker.cfg_path, broker.overrides,
	    &causes) == -1) {
		fprintf(stderr, "%s\n", causes != NULL ? causes : "configuration error");
		free(causes);
		broker_cfg_free(cfg);
		return -1;
	}
	free(causes);
	return 0;
}

static struct idv *
broker_identity(const struct broker_cfg *cfg, secret_t *owui, struct err *e)
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
	if (ic.oidc_issuer == NULL && owui == NULL) {
		err_set(e, 500, "bad_config", "no way to verify users: set oidc_issuer "
		    "and/or openwebui_secret_file");
		return NULL;
	}
	return identity_new(&ic, e);
}

/* Everything SIGHUP may replace, built first and swapped only if all of
 * it loaded: a bad reload leaves the running state untouched. */
int
broker_load_reloadables(struct broker *b, struct err *e)
{
	struct idv	*idv = NULL;
	struct callers	*callers = NULL;
	struct keyring	*keys = NULL;
	secret_t	*admin = NULL, *owui = NULL;

	if (b->cfg.openwebui_secret_file != NULL &&
	    (owui = secret_from_file(b->cfg.openwebui_secret_file, BROKER_SECRET_MAX, e)) == NULL)
		goto fail;
	if (b->cfg.admin_token_file != NULL &&
	    (admin = secret_from_file(b->cfg.admin_token_file, BROKER_SECRET_MAX, e)) == NULL)
		goto fail;
	if ((idv = broker_identity(&b->cfg, owui, e)) == NULL ||
	    (callers = callers_new(&b->cfg, e)) == NULL)
		goto fail;
	identity_set_refresher(idv, chores_jwks_ask, b);
	/* Keys come from Vault, which may not be reachable yet at start-up:
	 * then the retry timer loads them. */
	if (b->keys != NULL || strcmp(b->cfg.signing_key_source, "file") == 0) {
		if (strcmp(b->cfg.signing_key_source, "vault") == 0) {
			char path[512];

			/* Only the key: cached tenant credentials may be what
			 * bridges a Vault outage right now. */
			snprintf(path, sizeof path, "%s/%s", b->cfg.vault_kv_prefix,
			    b->cfg.signing_key_path);
			vault_cache_invalidate(b->vault, path);
		}
		if ((keys = keys_load(&b->cfg, b->vault, e)) == NULL)
			goto fail;
	}

	pthread_rwlock_wrlock(&b->reload_lock);
	identity_free(b->idv);
	b->idv = idv;
	callers_free(b->callers);
	b->callers = callers;
	secret_free(b->admin_token);
	b->admin_token = admin;
	secret_free(b->owui_secret);
	b->owui_secret = owui;
	if (keys != NULL) {
		keys_free(b->keys);
		b->keys = keys;
	}
	pthread_rwlock_unlock(&b->reload_lock);
	return 0;
fail:
	identity_free(idv);
	callers_free(callers);
	secret_free(admin);
	secret_free(owui);
	return -1;
}

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

static void
broker_reload(struct broker *b)
{
	struct broker_cfg	 next, old;
	struct err		 e;
	char			*cause = NULL;
	enum log_level		 lvl;

	daemon_notify("RELOADING=1");
	log_notice("SIGHUP: reloading %s", b->cfg_path);
	if (broker_load_cfg(&next) == -1) {
		log_warnx("reload refused: the configuration has errors; still running the old one");
		goto done;
	}
	if (conf_reload_check(broker_conf_table, &b->cfg, &next, &cause) == -1) {
		log_warnx("reload refused: %s", cause);
		free(cause);
		broker_cfg_free(&next);
		goto done;
	}
	pthread_rwlock_wrlock(&b->reload_lock);
	old = b->cfg;
	b->cfg = next;
	pthread_rwlock_unlock(&b->reload_lock);
	err_clear(&e);
	if (broker_load_reloadables(b, &e) == -1) {
		log_warnx("reload refused: %s", e.msg);
		pthread_rwlock_wrlock(&b->reload_lock);
		b->cfg = old;
		pthread_rwlock_unlock(&b->reload_lock);
		broker_cfg_free(&next);
		goto done;
	}
	broker_cfg_free(&old);
	if (log_level_parse(b->cfg.log_level, &lvl) == 0)
		log_set_level(lvl);
	members_set_limits(b->members, b->cfg.members_cache_ttl, b->cfg.members_max_stale);
	ints_set_limits(b->ints, b->cfg.members_cache_ttl, b->cfg.members_max_stale);
	feed_set_retention(b->feed, b->cfg.changes_retention);
	log_notice("reload done");
done:
	daemon_notify("READY=1");
}

static void
broker_drained(void *arg)
{
	struct broker	*b = arg;
	struct timeval	 flush = { 0, 250000 };

	/* The last replies (parked long-polls answered just now) are still
	 * in their sockets' buffers: give the loop a moment to write them. */
	log_notice("all requests answered; exiting");
	event_base_loopexit(b->base, &flush);
}

static void
broker_signal(evutil_socket_t sig, short what, void *arg)
{
	struct broker *b = arg;

	(void)what;
	switch (sig) {
	case SIGHUP:
		chores_reload(b->chores);	/* the reload does I/O: not here */
		break;
	case SIGTERM:
	case SIGINT:
		daemon_notify("STOPPING=1");
		log_notice("signal %d: draining", (int)sig);
		feed_release_all(b->feed);
		httpd_drain(b->httpd, broker_drained, b);
		break;
	}
}

static struct vault *
broker_vault(const struct broker_cfg *cfg, secret_t **token, struct err *e)
{
	struct vault_cfg vc;

	memset(&vc, 0, sizeof vc);
	vc.addr = cfg->vault_addr;
	vc.k8s_mount = cfg->vault_k8s_mount;
	vc.k8s_role = cfg->vault_k8s_role;
	vc.sa_token_path = cfg->vault_sa_token_file;
	vc.kv_mount = cfg->vault_kv_mount;
	vc.timeout_ms = cfg->vault_timeout * 1000L;
	vc.cache_ttl_s = cfg->vault_cache_ttl;
	vc.cache_max_stale_s = cfg->vault_cache_max_stale;
	vc.ca_file = cfg->vault_ca_file;
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

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "show-config", no_argument, NULL, 'S' },
		{ "config-docs", no_argument, NULL, 'D' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char		*overrides[BROKER_MAX_OVERRIDES + 1] = { NULL };
	struct httpd_limits	 lim;
	struct event		*sigs[4];
	const int		 signums[4] = { SIGHUP, SIGTERM, SIGINT, 0 };
	struct broker		*b = &broker;
	secret_t		*vault_token = NULL;
	struct err		 e;
	enum log_level		 lvl;
	int			 ch, noverrides = 0, check = 0, show = 0, docs = 0, rc = 1;

	b->cfg_path = "/etc/tenantgate/broker.conf";
	while ((ch = getopt_long(argc, argv, "c:o:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': b->cfg_path = optarg; break;
		case 'o':
			if (noverrides == BROKER_MAX_OVERRIDES) {
				fprintf(stderr, "tenantgate-broker: too many -o options\n");
				return 2;
			}
			overrides[noverrides++] = optarg;
			break;
		case 'C': check = 1; break;
		case 'S': show = 1; break;
		case 'D': docs = 1; break;
		case 'V': printf("tenantgate-broker %s (schema %d)\n", BROKER_VERSION,
		    STORE_SCHEMA_VERSION); return 0;
		case 'h': fputs(usage_text, stdout); return 0;
		default: fputs(usage_text, stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "tenantgate-broker: unexpected argument '%s'\n", argv[optind]);
		fputs(usage_text, stderr);
		return 2;
	}
	if (docs) {
		conf_docs(broker_conf_table, "tenantgate-broker configuration", stdout);
		return 0;
	}
	b->overrides = overrides;
	jsonx_init_wiping_alloc();
	log_init("tenantgate-broker", LOG_LVL_INFO);
	if (broker_load_cfg(&b->cfg) == -1)
		return 2;
	if (log_level_parse(b->cfg.log_level, &lvl) == 0)
		log_set_level(lvl);
	if (show)
		conf_show(broker_conf_table, &b->cfg, stdout);
	if (check || show) {
		if (check)
			printf("%s: configuration OK\n", b->cfg_path);
		broker_cfg_free(&b->cfg);
		return 0;
	}

	signal(SIGPIPE, SIG_IGN);
	err_clear(&e);
	pthread_rwlock_init(&b->reload_lock, NULL);
	pthread_mutex_init(&b->probe_lock, NULL);
	if ((b->base = daemon_base_new()) == NULL)
		fatalx("cannot create the event loop");
	if ((b->store = store_open(b->cfg.database_url, b->cfg.db_pool, &e)) == NULL)
		fatalx("database: %s", e.msg);
	/* Refuse a schema we do not know rather than misread it. A database
	 * that is down now goes unchecked: on a wrong schema our statements
	 * would not prepare, and those errors name the statement. */
	if (store_check_schema(b->store, &e) == -1) {
		if (e.status == 409)
			fatalx("database: %s", e.msg);
		log_warnx("database: schema version not checked at start-up: %s", e.msg);
	}
	/* Callers may queue for the database, but two threads always stay
	 * free for answers from the caches. */
	store_set_wait_max(b->store, b->cfg.workers - b->cfg.db_pool - 2 > b->cfg.db_pool ?
	    b->cfg.workers - b->cfg.db_pool - 2 : b->cfg.db_pool);
	if ((b->vault = broker_vault(&b->cfg, &vault_token, &e)) == NULL)
		fatalx("vault: %s", e.msg);
	vault_start(b->vault);
	if ((b->members = members_new(b->store, b->cfg.members_cache_ttl,
	    b->cfg.members_max_stale)) == NULL)
		fatalx("out of memory");
	if ((b->ints = ints_new(b->store, b->cfg.members_cache_ttl,
	    b->cfg.members_max_stale)) == NULL || (b->reuse = reuse_new()) == NULL)
		fatalx("out of memory");
	if ((b->feed = feed_new(b->store, b->cfg.changes_retention, &e)) == NULL)
		fatalx("%s", e.msg);
	if ((b->keyexpiry = keyexpiry_new(b->store, &e)) == NULL)
		fatalx("%s", e.msg);
	if (store_listen_start(b->store, b->cfg.database_url, broker_on_change, b, &e) == -1)
		fatalx("database: %s", e.msg);
	if (broker_load_reloadables(b, &e) == -1)
		fatalx("%s", e.msg);

	memset(&lim, 0, sizeof lim);
	lim.max_header_bytes = b->cfg.max_header;
	/* The audit intake takes batches up to 1 MiB; the handlers hold
	 * every other endpoint to max_body (api.c, LOCKED). */
	lim.max_body_bytes = b->cfg.max_body > API_AUDIT_MAX_BODY ? b->cfg.max_body :
	    API_AUDIT_MAX_BODY;
	lim.max_connections = b->cfg.max_connections;
	lim.timeout_s = b->cfg.request_timeout;
	lim.workers = b->cfg.workers;
	lim.header_timeout_s = b->cfg.header_timeout;
	lim.body_timeout_s = b->cfg.body_timeout;
	lim.max_buffered_bytes = b->cfg.max_buffered;
	if ((b->httpd = httpd_new(b->base, &lim, broker_routes, b, &e)) == NULL)
		fatalx("%s", e.msg);
	if ((b->cfg.tls_cert_file == NULL) != (b->cfg.tls_key_file == NULL))
		fatalx("tls_cert_file and tls_key_file go together");
	if (b->cfg.tls_cert_file != NULL &&
	    httpd_use_tls(b->httpd, b->cfg.tls_cert_file, b->cfg.tls_key_file, &e) == -1)
		fatalx("%s", e.msg);
	for (char **l = b->cfg.listen; l != NULL && *l != NULL; l++) {
		if (httpd_listen(b->httpd, *l, &e) == -1)
			fatalx("%s", e.msg);
		log_notice("listening on %s", *l);
	}
	for (int i = 0; signums[i] != 0; i++) {
		sigs[i] = evsignal_new(b->base, signums[i], broker_signal, b);
		evsignal_add(sigs[i], NULL);
	}
	keyexpiry_ev = event_new(b->base, -1, EV_PERSIST, broker_keyexpiry_tick, b);
	{
		struct timeval every = { b->cfg.key_expiry_interval, 0 };

		evtimer_add(keyexpiry_ev, &every);
	}
	if (chores_start(b, broker_reload, &e) == NULL)
		fatalx("%s", e.msg);
	if (b->keys != NULL)
		daemon_notify("READY=1\nSTATUS=serving");
	log_notice("tenantgate-broker %s started", BROKER_VERSION);

	rc = event_base_dispatch(b->base) == -1;

	/* One teardown path, in reverse order of start-up. The listener
	 * stops before the feed it wakes; the feed answers its parked
	 * long-polls before httpd_free() writes the last replies. */
	store_listen_stop(b->store);
	keyexpiry_free(b->keyexpiry);
	feed_free(b->feed);
	httpd_free(b->httpd);
	chores_stop(b->chores);
	event_free(keyexpiry_ev);
	for (int i = 0; signums[i] != 0; i++)
		event_free(sigs[i]);
	vault_stop(b->vault);
	identity_free(b->idv);
	callers_free(b->callers);
	keys_free(b->keys);
	secret_free(b->admin_token);
	secret_free(b->owui_secret);
	members_free(b->members);
	ints_free(b->ints);
	reuse_free(b->reuse);
	store_close(b->store);
	vault_free(b->vault);
	secret_free(vault_token);
	broker_cfg_free(&b->cfg);
	event_base_free(b->base);
	pthread_rwlock_destroy(&b->reload_lock);
	pthread_mutex_destroy(&b->probe_lock);
	log_notice("stopped");
	return rc;
}
