/*
 * keys: the grant signing keys. The current EC P-256 private key signs;
 * the current and (during a rollover) the previous public key verify and
 * are published at /jwks.json. Loaded from Vault KV or, for development,
 * from files. Reloaded on SIGHUP by building a new keyring and swapping.
 */
#ifndef TG_BROKER_KEYS_H
#define TG_BROKER_KEYS_H

#include <stddef.h>

#include "jwt.h"
#include "secret.h"

struct broker_cfg;
struct vault;
struct err;

struct keyring {
	char		 kid[JWT_KID_MAX];
	secret_t	*private_pem;
	struct jwt_signer *signer;	/* the private key, parsed once */
	struct jwt_key	 verify[2];	/* current, then previous if any */
	size_t		 nverify;
	char		*jwks;		/* JSON text served at /jwks.json */
};

struct keyring	*keys_load(const struct broker_cfg *, struct vault *, struct err *);
void		 keys_free(struct keyring *);

#endif
