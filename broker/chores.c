/*
 * chores: the broker's jobs on the janitor and the state they keep (the
 * signing-key back-off). See chores.h for the list and why none of them
 * runs on the loop.
 */
#include <pthread.h>
#include <stdlib.h>

#include "broker.h"
#include "chores.h"
#include "daemon.h"
#include "err.h"
#include "identity.h"
#include "janitor.h"
#include "keys.h"
#include "log.h"
#include "broker_state.h"
#include "store.h"

/* A slow purge or reload must not hold back the JWKS refresh a request
 * may be waiting for: one thread each, and one spare. */
#define CHORES_THREADS		3
#define CHORES_GROUP_STATE	1	/* keys, reload: the snapshot's keys */

struct chores {
	struct broker		*b;
	void			(*reload)(void *);
	void			*reload_arg;
	struct janitor		*janitor;
	struct janitor_job	*purge, *keys, *reload_job, *jwks;
	int			 keys_retry_s;	/* keys job only */
};

/* Revocations of grants that have expired anyway are dropped. */
static long
chores_purge(void *arg)
{
	struct chores	*c = arg;
	struct err	 e;
	int		 n;

	err_clear(&e);
	if ((n = store_purge_expired(c->b->store, &e)) == -1)
		log_warnx("purging expired revocations: %s", e.msg);
	else if (n > 0)
		log_info("purged %d expired revocation(s)", n);
	return 0;
}

/* Only this job and reload (same group) set keys, so a snapshot seen
 * without keys here gets them from us or from a reload's build, never
 * from both at once; requests see them through the snapshot (broker_state.h). */
static long
chores_keys(void *arg)
{
	struct chores		*c = arg;
	struct broker		*b = c->b;
	struct broker_state	*s = broker_state_get(b);
	struct keyring		*keys = NULL;
	struct err		 e;
	long			 wait;

	err_clear(&e);
	if (s->keys != NULL || (keys = keys_load(&s->cfg, b->vault, &e)) != NULL) {
		if (keys != NULL && broker_state_set_keys(s, keys) == -1)
			keys_free(keys);
		broker_state_put(s);
		daemon_notify("READY=1\nSTATUS=serving");
		return 0;
	}
	broker_state_put(s);
	log_warnx("signing key not loaded yet, retrying in %ds: %s", c->keys_retry_s, e.msg);
	wait = c->keys_retry_s * 1000L;
	c->keys_retry_s = c->keys_retry_s * 2 > CHORES_KEYS_RETRY_MAX_S ?
	    CHORES_KEYS_RETRY_MAX_S : c->keys_retry_s * 2;
	return wait;
}

static long
chores_reload_run(void *arg)
{
	struct chores *c = arg;

	c->reload(c->reload_arg);
	return 0;
}

/* The snapshot (and so its verifier) is held across the fetch, so a
 * reload never waits for the IdP and the fetch never uses a freed one. */
static long
chores_jwks(void *arg)
{
	struct chores		*c = arg;
	struct broker_state	*s = broker_state_get(c->b);

	identity_refresh(s->idv);
	broker_state_put(s);
	return 0;
}

struct chores *
chores_start(struct broker *b, void (*reload)(void *), void *reload_arg, struct err *e)
{
	struct chores *c;

	if ((c = calloc(1, sizeof *c)) == NULL) {
		err_set(e, 500, "nomem", "out of memory");
		return NULL;
	}
	c->b = b;
	c->reload = reload;
	c->reload_arg = reload_arg;
	c->keys_retry_s = 1;
	if ((c->janitor = janitor_new(b->base, CHORES_THREADS, e)) == NULL) {
		free(c);
		return NULL;
	}
	c->purge = janitor_add(c->janitor, "purge", 0, chores_purge, c, CHORES_PURGE_S * 1000L);
	c->keys = janitor_add(c->janitor, "keys", CHORES_GROUP_STATE, chores_keys, c, 0);
	c->reload_job = janitor_add(c->janitor, "reload", CHORES_GROUP_STATE,
	    chores_reload_run, c, 0);
	c->jwks = janitor_add(c->janitor, "jwks", 0, chores_jwks, c, CHORES_JWKS_TICK_S * 1000L);
	if (c->purge == NULL || c->keys == NULL || c->reload_job == NULL || c->jwks == NULL) {
		err_set(e, 500, "nomem", "out of memory");
		chores_stop(c);
		return NULL;
	}
	b->chores = c;
	/* A broker that restarts often would otherwise never purge; the
	 * IdP's keys are fetched before the first token needs them. */
	janitor_kick(c->purge);
	janitor_kick(c->jwks);
	janitor_kick(c->keys);		/* returns at once when there are keys */
	return c;
}

void
chores_reload(struct chores *c)
{
	janitor_kick(c->reload_job);
}

void
chores_jwks_ask(void *arg)
{
	struct broker *b = arg;

	/* Set before the loop runs, so before any request asks. */
	if (b->chores != NULL)
		janitor_kick(b->chores->jwks);
}

void
chores_stop(struct chores *c)
{
	if (c == NULL)
		return;
	janitor_free(c->janitor);
	if (c->b->chores == c)
		c->b->chores = NULL;
	free(c);
}
