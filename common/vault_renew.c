/*
 * vault_renew: the thread that keeps a token alive. It renews at about 2/3
 * of the TTL, logs in afresh (Kubernetes auth) when renewal fails or stops
 * extending because the token reached its max TTL, and backs off with
 * jitter (1 s .. 5 min) while Vault is unreachable or sealed. It sleeps on
 * a condition variable, so vault_stop() and a login done by a request
 * thread wake it at once.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "httpc.h"
#include "log.h"
#include "secret.h"
#include "clock.h"
#include "vault.h"
#include "vault_int.h"

#define VAULT_BACKOFF_MIN_MS	1000L
#define VAULT_BACKOFF_MAX_MS	(5L * 60 * 1000)
#define VAULT_NEVER_MS		(24L * 3600 * 1000)

enum vault_act { VAULT_ACT_NONE, VAULT_ACT_LOGIN, VAULT_ACT_RENEW };

int
vault_renew_self(struct vault *v, struct err *e)
{
	unsigned long	gen;
	long		ttl;
	int		renewable;
	char		why[48];

	if (vault_token_self(v, 1, &ttl, &renewable, &gen, e) == -1)
		return -1;
	snprintf(why, sizeof why, "renewed, ttl %ld s", ttl);
	if (vault_token_update(v, VAULT_UPD_RENEW, NULL, gen, ttl, renewable, why) == -1)
		return err_set(e, 500, "vault_state", "the renewed token was not accepted");
	return 0;
}

/* What to do next for the current token (mu held). */
static enum vault_act
vault_plan_locked(struct vault *v, long now, long *next_ms)
{
	long left, delay;

	/* A static token past its TTL: renewing and looking it up cannot
	 * help; the warning has been given. */
	if (v->state == VAULT_ST_EXPIRED) {
		*next_ms = now + VAULT_NEVER_MS;
		return VAULT_ACT_NONE;
	}
	if (v->tok_hdr == NULL || !vault_state_ok(v->state)) {
		*next_ms = now;
		return VAULT_ACT_LOGIN;
	}
	if (v->tok_expiry_ms == 0) {
		*next_ms = now + VAULT_NEVER_MS;
		return VAULT_ACT_NONE;
	}
	left = v->tok_expiry_ms - now;
	if (left <= 0 && v->auth == VAULT_AUTH_KUBERNETES) {
		*next_ms = now;
		return VAULT_ACT_LOGIN;
	}
	if (left < 0)
		left = 0;
	/* 2/3 of what is left, minus up to 10%, so replicas spread out. */
	delay = left * 2 / 3;
	delay = delay - delay / 5 + clock_jitter(delay / 5);
	*next_ms = now + delay;
	if (v->tok_renewable && v->state != VAULT_ST_CAPPED)
		return VAULT_ACT_RENEW;
	if (v->auth == VAULT_AUTH_KUBERNETES)
		return VAULT_ACT_LOGIN;
	/* A static token we cannot renew further: nothing to do but warn
	 * (once, when it has expired). */
	if (v->tok_renewable && left > 1000)
		return VAULT_ACT_RENEW;
	*next_ms = now + (left > 0 ? left : VAULT_NEVER_MS);
	return VAULT_ACT_NONE;
}

static long
vault_backoff(long *backoff_ms)
{
	*backoff_ms = *backoff_ms == 0 ? VAULT_BACKOFF_MIN_MS : *backoff_ms * 2;
	if (*backoff_ms > VAULT_BACKOFF_MAX_MS)
		*backoff_ms = VAULT_BACKOFF_MAX_MS;
	return clock_jitter(*backoff_ms);
}

static void
vault_wait_until(struct vault *v, long until_ms)
{
	struct timespec ts;

	ts.tv_sec = until_ms / 1000;
	ts.tv_nsec = (until_ms % 1000) * 1000000;
	pthread_cond_timedwait(&v->cv, &v->mu, &ts);
}

static void *
vault_renew_main(void *arg)
{
	struct vault	*v = arg;
	struct err	 e;
	enum vault_act	 act;
	unsigned long	 seen_gen;
	long		 next_ms, backoff_ms = 0, delay, now;
	int		 rc;

	pthread_mutex_lock(&v->mu);
	act = vault_plan_locked(v, clock_now_ms(), &next_ms);
	seen_gen = v->tok_gen;
	for (;;) {
		/* Sleep until due, stopped, or a login elsewhere changed the
		 * token (then plan again from it). */
		while (!v->th_stop && v->tok_gen == seen_gen &&
		    (now = clock_now_ms()) < next_ms)
			vault_wait_until(v, next_ms);
		if (v->th_stop)
			break;
		if (v->tok_gen != seen_gen) {
			seen_gen = v->tok_gen;
			backoff_ms = 0;
			act = vault_plan_locked(v, clock_now_ms(), &next_ms);
			continue;
		}
		pthread_mutex_unlock(&v->mu);

		err_clear(&e);
		if (act == VAULT_ACT_NONE)
			rc = 0;
		else if (act == VAULT_ACT_LOGIN)
			rc = vault_relogin(v, seen_gen, &e);
		else
			rc = vault_renew_self(v, &e);

		pthread_mutex_lock(&v->mu);
		now = clock_now_ms();
		if (act == VAULT_ACT_NONE) {
			if (v->tok_expiry_ms != 0 && now >= v->tok_expiry_ms) {
				log_warnx("vault: the Vault token has expired and "
				    "cannot be renewed");
				if (v->state != VAULT_ST_EXPIRED)
					vault_set_state(v, VAULT_ST_EXPIRED, "its TTL ran out");
			}
			next_ms = now + VAULT_NEVER_MS;
			continue;
		}
		if (rc == 0) {
			backoff_ms = 0;
			seen_gen = v->tok_gen;
			act = vault_plan_locked(v, now, &next_ms);
			continue;
		}
		if (act == VAULT_ACT_RENEW && v->auth == VAULT_AUTH_KUBERNETES) {
			/* Refused (dead token, past the max TTL: Vault says
			 * 500 for that) or Vault is away: a fresh login is the
			 * one step that helps in every case, and when it fails
			 * too, the login backoff below takes over. */
			log_warnx("vault: token renewal failed: %s; logging in "
			    "afresh", e.msg);
			act = VAULT_ACT_LOGIN;
			next_ms = now;
			continue;
		}
		if (act == VAULT_ACT_RENEW && e.status >= 400 && e.status < 500) {
			log_warnx("vault: the Vault token was refused: %s", e.msg);
			vault_set_state(v, VAULT_ST_REFUSED, "renewal refused");
			act = VAULT_ACT_NONE;
			next_ms = now + VAULT_NEVER_MS;
			continue;
		}
		delay = vault_backoff(&backoff_ms);
		log_warnx("vault: %s failed: %s; retrying in %ld ms",
		    act == VAULT_ACT_LOGIN ? "login" : "token renewal", e.msg, delay);
		next_ms = now + delay;
	}
	pthread_mutex_unlock(&v->mu);
	return NULL;
}

int
vault_start(struct vault *v)
{
	int rc;

	pthread_mutex_lock(&v->mu);
	if (v->th_running) {
		pthread_mutex_unlock(&v->mu);
		return -1;
	}
	v->th_stop = 0;
	rc = pthread_create(&v->th, NULL, vault_renew_main, v);
	v->th_running = rc == 0;
	pthread_mutex_unlock(&v->mu);
	if (rc != 0) {
		errno = rc;
		log_warn("vault: cannot start the renewal thread");
		return -1;
	}
	return 0;
}

void
vault_stop(struct vault *v)
{
	pthread_t	th;
	int		running;

	pthread_mutex_lock(&v->mu);
	running = v->th_running;
	th = v->th;
	v->th_stop = 1;
	v->th_running = 0;
	pthread_cond_broadcast(&v->cv);
	pthread_mutex_unlock(&v->mu);
	if (running)
		pthread_join(th, NULL);
}
