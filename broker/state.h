/*
 * state: the broker's check-and-build. One function reads the config,
 * runs every check that spans keys, reads the secret files and builds
 * everything a reload may replace; --check-config, start-up and SIGHUP all
 * call it, so they accept and refuse the same configs with the same
 * messages. Errors are all collected, each as "file:line: what is wrong".
 */
#ifndef TG_BROKER_STATE_H
#define TG_BROKER_STATE_H

#include "config.h"
#include "secret.h"

struct broker;
struct idv;
struct callers;
struct keyring;

/* Built whole or not at all, then handed over whole (install). */
struct broker_state {
	struct broker_cfg	 cfg;
	struct idv		*idv;
	struct callers		*callers;
	struct keyring		*keys;		/* NULL: Vault keys not read yet */
	secret_t		*admin_token;
	secret_t		*owui_secret;
};

/*
 * Build from path and overrides. running is the broker on SIGHUP (its
 * config for the no-reload keys, its Vault for the signing key), NULL at
 * start-up and for --check-config. NULL with *causes on any error.
 */
struct broker_state	*broker_state_build(const char *path, const char *const *overrides,
			    struct broker *running, char **causes);
/* Swap s into b under the write lock; then free what was there. */
void			 broker_state_install(struct broker *b, struct broker_state *s);
void			 broker_state_free(struct broker_state *);

#endif
