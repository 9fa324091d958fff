/*
 * broker_state: the broker's check-and-build. One function reads the config,
 * runs every check that spans keys, reads the secret files and builds
 * everything a reload may replace; --check-config, start-up and SIGHUP all
 * call it, so they accept and refuse the same configs with the same
 * messages. Errors are all collected, each as "file:line: what is wrong".
 */
#ifndef TG_BROKER_BROKER_STATE_H
#define TG_BROKER_BROKER_STATE_H

#include <stdatomic.h>

#include "config.h"
#include "secret.h"

struct broker;
struct idv;
struct callers;
struct keyring;

/*
 * Built whole or not at all, then handed over whole (install) and never
 * changed: a request takes a reference when it starts (broker_state_get)
 * and drops it when it ends (broker_state_put), so a SIGHUP never swaps
 * anything under a running handler; the snapshot a reload replaced is
 * freed by whoever drops its last reference (fwdconf_snap, tmux
 * server_client_unref()). The one exception is keys: while Vault has not
 * given the signing key yet it is NULL, and the retry timer sets it once
 * (broker_state_set_keys); it never changes after that.
 */
struct broker_state {
	struct broker_cfg	 cfg;
	struct idv		*idv;
	struct callers		*callers;
	struct keyring *_Atomic	 keys;		/* NULL: Vault keys not read yet */
	secret_t		*admin_token;
	secret_t		*owui_secret;
	atomic_int		 refs;
};

/*
 * Build from path and overrides. running is the broker on SIGHUP (its
 * config for the no-reload keys, its Vault for the signing key), NULL at
 * start-up and for --check-config. NULL with *causes on any error.
 */
struct broker_state	*broker_state_build(const char *path, const char *const *overrides,
			    struct broker *running, char **causes);
/* Make s (taken) the current snapshot; the old one goes with its last
 * reference. */
void			 broker_state_install(struct broker *b, struct broker_state *s);
/* The current snapshot, with a reference the caller drops with put(). */
struct broker_state	*broker_state_get(struct broker *b);
struct broker_state	*broker_state_ref(struct broker_state *);
void			 broker_state_put(struct broker_state *);
/* Publish keys loaded late into s: 0, or -1 (not taken) if s has some. */
int			 broker_state_set_keys(struct broker_state *, struct keyring *);

#endif
