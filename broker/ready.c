/* ready: the broker's readiness and staleness (see ready.h). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "broker.h"
#include "clock.h"
#include "err.h"
#include "httpc.h"
#include "identity.h"
#include "keys.h"
#include "ready.h"
#include "broker_state.h"
#include "store.h"
#include "usermsg.h"
#include "vault.h"

static long
ready_age(time_t now, time_t at)
{
	if (at == 0)
		return -1;
	return now > at ? (long)(now - at) : 0;
}

/* After an outage nothing may have asked Vault yet: ask now, which also
 * logs in again if Vault came back without our token. */
static void
ready_probe_vault(struct broker *b, long now_ms)
{
	struct httpc_resp	resp;
	struct err		e;

	err_clear(&e);
	if (now_ms - b->probe_at_ms < READYZ_PROBE_MS)
		return;
	b->probe_at_ms = now_ms;
	b->probe_ok = vault_request(b->vault, "GET", "auth/token/lookup-self", NULL, &resp,
	    &e) == 0 && resp.status == 200;
	if (b->probe_ok) {
		b->vault_ok_at = time(NULL);
		b->vault_error[0] = '\0';
	} else
		snprintf(b->vault_error, sizeof b->vault_error, "%s", err_isset(&e) ? e.msg :
		    "Vault refused our token");
	httpc_resp_free(&resp);
}

static void
ready_probe_db(struct broker *b, long now_ms)
{
	struct err e;

	if (now_ms - b->db_probe_at_ms < READYZ_PROBE_MS)
		return;
	b->db_probe_at_ms = now_ms;
	err_clear(&e);
	if ((b->db_probe_ok = store_ping(b->store, &e) == 0)) {
		b->db_ok_at = time(NULL);
		b->db_error[0] = '\0';
	} else {
		snprintf(b->db_error, sizeof b->db_error, "%s", e.msg);
	}
}

static void
ready_scrubbed(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src);
	usermsg_scrub(dst, size);
	usermsg_cut(dst, size, size - 1);
}

void
ready_eval(struct broker *b, const struct broker_state *s, int probe, struct ready *r)
{
	struct vault_status	vs;
	const struct keyring	*keys;
	char			probe_error[256];
	time_t			now = time(NULL), vault_at;
	long			now_ms = clock_now_ms();

	memset(r, 0, sizeof *r);
	vault_status(b->vault, &vs);
	pthread_mutex_lock(&b->probe_lock);
	/* Our token being logged in says nothing about Vault answering now
	 * (a KV read may just have failed): ask it, at most every
	 * READYZ_PROBE_MS, and count only a working token of ours. */
	if (probe) {
		ready_probe_vault(b, now_ms);
		ready_probe_db(b, now_ms);
		vault_status(b->vault, &vs);
	}
	r->vault_ok = b->probe_ok;	/* a sealed Vault fails the probe */
	snprintf(probe_error, sizeof probe_error, "%s", b->vault_error);
	/* Vault answering is not enough: only a working token of ours
	 * counts (a failed login still gets answers). */
	if (r->vault_ok)
		b->vault_ok_at = now;
	vault_at = b->vault_ok_at;
	if (vs.logged_in && vs.last_ok > vault_at)
		vault_at = vs.last_ok;
	r->db_ok = b->db_probe_ok;
	r->db_stale_s = r->db_ok ? 0 : ready_age(now, b->db_ok_at);
	ready_scrubbed(r->db_error, sizeof r->db_error, r->db_ok ? "" : b->db_error);
	pthread_mutex_unlock(&b->probe_lock);

	r->vault_stale_s = ready_age(now, vault_at);
	r->vault_logged_in = vs.logged_in;
	r->vault_sealed = vs.sealed;
	r->vault_serving_stale = vs.serving_stale;
	r->vault_token_ttl_s = vs.token_ttl_s;
	ready_scrubbed(r->vault_error, sizeof r->vault_error, r->vault_ok ? "" :
	    vs.last_error[0] != '\0' ? vs.last_error : probe_error);
	r->db_max_stale_s = s->cfg.members_max_stale;
	r->vault_max_stale_s = s->cfg.vault_cache_max_stale;
	keys = s->keys;
	r->keys_loaded = keys != NULL;
	snprintf(r->kid, sizeof r->kid, "%s", keys != NULL ? keys->kid : "");
	r->jwks_age_s = s->idv != NULL ? identity_jwks_age(s->idv) : -1;

	if (!r->keys_loaded)
		snprintf(r->reason, sizeof r->reason, "the signing key is not loaded");
	else if (!r->db_ok && (r->db_stale_s < 0 || r->db_stale_s > r->db_max_stale_s))
		snprintf(r->reason, sizeof r->reason, "the database has not answered for longer "
		    "than members_max_stale");
	else if (!r->vault_ok && (r->vault_stale_s < 0 || r->vault_stale_s > r->vault_max_stale_s))
		snprintf(r->reason, sizeof r->reason, "Vault has not answered for longer than "
		    "vault_cache_max_stale");
	r->ready = r->reason[0] == '\0';

	metrics_set(&broker_metrics[BM_READY], (uint64_t)r->ready);
	metrics_set(&broker_metrics[BM_DB_STALE_S], (uint64_t)(r->db_stale_s > 0 ? r->db_stale_s : 0));
	metrics_set(&broker_metrics[BM_VAULT_STALE_S],
	    (uint64_t)(r->vault_stale_s > 0 ? r->vault_stale_s : 0));
	metrics_set(&broker_metrics[BM_JWKS_AGE_S], (uint64_t)(r->jwks_age_s > 0 ? r->jwks_age_s : 0));
}

json_t *
ready_json(const struct ready *r)
{
	return json_pack("{s:b,s:s,s:{s:b,s:s},s:{s:b,s:I,s:I,s:s},"
	    "s:{s:b,s:b,s:b,s:b,s:I,s:I,s:I,s:s},s:{s:I}}",
	    "ready", r->ready, "reason", r->reason,
	    "signing_key", "loaded", r->keys_loaded, "kid", r->kid,
	    "database", "ok", r->db_ok, "stale_s", (json_int_t)r->db_stale_s,
	    "max_stale_s", (json_int_t)r->db_max_stale_s, "error", r->db_error,
	    "vault", "ok", r->vault_ok, "logged_in", r->vault_logged_in, "sealed", r->vault_sealed,
	    "serving_stale", r->vault_serving_stale, "token_ttl_s", (json_int_t)r->vault_token_ttl_s,
	    "stale_s", (json_int_t)r->vault_stale_s, "max_stale_s", (json_int_t)r->vault_max_stale_s,
	    "last_error", r->vault_error,
	    "jwks", "age_s", (json_int_t)r->jwks_age_s);
}
