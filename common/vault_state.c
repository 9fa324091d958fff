/*
 * vault_state: the token's state and the one way it changes. Every change
 * of state goes through vault_set_state(), which logs "old -> new (why)"
 * by name and refuses a change the table below does not allow (curl
 * lib/multi.c mstate(), pgbouncer change_client_state()); every change of
 * what Vault told us about the token (header, TTL, renewable, counters)
 * goes through vault_token_update().
 *
 * Logins and renewals in flight are not states: a request thread may log
 * in while the renewal thread renews, and both keep using the old token
 * meanwhile. Sealed is not a token state either: sealing keeps tokens, so
 * it is a status flag (vault_note_ok/err in vault.c).
 */
#include <pthread.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "secret.h"
#include "vault.h"
#include "vault_int.h"

#define VS(s)	(1u << (s))

static const char *const vault_state_names[VAULT_ST_COUNT] = {
	[VAULT_ST_NONE] = "none",
	[VAULT_ST_UNCHECKED] = "unchecked",
	[VAULT_ST_VALID] = "valid",
	[VAULT_ST_CAPPED] = "capped",
	[VAULT_ST_REFUSED] = "refused",
	[VAULT_ST_EXPIRED] = "expired",
};

/* Where each state may go. A login makes any token valid; renewal moves
 * between valid and capped; only a token we hold can be refused, expire
 * or be dropped. */
static const unsigned vault_state_next[VAULT_ST_COUNT] = {
	[VAULT_ST_NONE] = VS(VAULT_ST_UNCHECKED) | VS(VAULT_ST_VALID),
	[VAULT_ST_UNCHECKED] = VS(VAULT_ST_VALID) | VS(VAULT_ST_NONE),
	[VAULT_ST_VALID] = VS(VAULT_ST_VALID) | VS(VAULT_ST_CAPPED) |
	    VS(VAULT_ST_REFUSED) | VS(VAULT_ST_EXPIRED) | VS(VAULT_ST_NONE),
	[VAULT_ST_CAPPED] = VS(VAULT_ST_VALID) | VS(VAULT_ST_CAPPED) |
	    VS(VAULT_ST_REFUSED) | VS(VAULT_ST_EXPIRED) | VS(VAULT_ST_NONE),
	[VAULT_ST_REFUSED] = VS(VAULT_ST_VALID) | VS(VAULT_ST_EXPIRED) | VS(VAULT_ST_NONE),
	[VAULT_ST_EXPIRED] = VS(VAULT_ST_VALID) | VS(VAULT_ST_NONE),
};

const char *
vault_state_name(enum vault_state s)
{
	return (unsigned)s < VAULT_ST_COUNT ? vault_state_names[s] : "?";
}

int
vault_state_ok(enum vault_state s)
{
	return s == VAULT_ST_VALID || s == VAULT_ST_CAPPED;
}

int
vault_set_state(struct vault *v, enum vault_state to, const char *why)
{
	enum vault_state from = v->state;

	if ((unsigned)to >= VAULT_ST_COUNT ||
	    (vault_state_next[from] & VS(to)) == 0) {
		/* A bug, not an operational event: say so loudly, keep the
		 * state we know to be consistent with the token we hold. */
		log_errx("vault: refused impossible token state change %s -> %s (%s)",
		    vault_state_name(from), vault_state_name(to), why);
		return -1;
	}
	v->state = to;
	/* A renewal lands here every 2/3 of the TTL and changes nothing an
	 * operator acts on: debug. Every real change is news: info. */
	if (from == to)
		log_debug("vault: %s -> %s (%s)", vault_state_name(from),
		    vault_state_name(to), why);
	else
		log_info("vault: %s -> %s (%s)", vault_state_name(from),
		    vault_state_name(to), why);
	return 0;
}

int
vault_token_update(struct vault *v, enum vault_upd kind, secret_t *hdr,
    unsigned long gen, long ttl, int renewable, const char *why)
{
	enum vault_state	to = VAULT_ST_VALID;

	pthread_mutex_lock(&v->mu);
	if (kind == VAULT_UPD_RENEW && (v->tok_gen != gen || v->tok_hdr == NULL)) {
		/* A login replaced the token, or a 403 dropped it, while the
		 * renewal was in flight: its answer is about a token we no
		 * longer hold. */
		pthread_mutex_unlock(&v->mu);
		return 1;
	}
	/* Vault caps the TTL at the max TTL: past that point renewing cannot
	 * keep the token alive, only a new login can. */
	if (kind == VAULT_UPD_RENEW && ttl < v->tok_login_ttl)
		to = VAULT_ST_CAPPED;
	if (vault_set_state(v, to, why) == -1) {
		pthread_mutex_unlock(&v->mu);
		secret_free(hdr);
		return -1;
	}
	if (hdr != NULL) {
		secret_free(v->tok_hdr);
		v->tok_hdr = hdr;
		v->tok_gen++;
	}
	if (kind == VAULT_UPD_LOGIN) {
		v->tok_login_ttl = ttl;
		v->logins++;
	} else
		v->renewals++;
	v->tok_expiry_ms = vault_expiry_ms(clock_now_ms(), ttl);
	v->tok_renewable = renewable;
	v->last_ok = time(NULL);
	v->sealed = 0;
	/* Wakes the renewal thread to plan from the new token. */
	pthread_cond_broadcast(&v->cv);
	pthread_mutex_unlock(&v->mu);
	return 0;
}

void
vault_token_drop(struct vault *v, unsigned long gen, const char *why)
{
	pthread_mutex_lock(&v->mu);
	/* Only the token the caller saw fail: a newer login stays. */
	if (v->tok_gen == gen && v->tok_hdr != NULL &&
	    vault_set_state(v, VAULT_ST_NONE, why) == 0) {
		secret_free(v->tok_hdr);
		v->tok_hdr = NULL;
	}
	pthread_mutex_unlock(&v->mu);
}
