/*
 * usermsg: what a user may read of an error. Internal failures (any 5xx,
 * and the vault_/db_/jwks_/upstream_ codes whatever their status) get a
 * fixed sentence and 503, so a Vault login failure never reads as a
 * permission problem and no message names an internal host, port or URL.
 * Other messages are scrubbed of addresses and cut at a word boundary. The
 * original text belongs in the log; api.c writes it there.
 */
#ifndef TG_BROKER_USERMSG_H
#define TG_BROKER_USERMSG_H

#include <stddef.h>

struct err;

#define USERMSG_MAX	200	/* bytes of message a user gets at most */

/* out = what to send for in (they may be the same struct). Returns 1 when
 * the message or status was changed (the caller logs the original). */
int	usermsg_from_err(const struct err *in, struct err *out);
/* Replace every URL, host:port and IP address in msg (in place) with
 * "[internal address]"; returns how many were replaced. */
int	usermsg_scrub(char *msg, size_t size);
/* Cut msg (in place) to at most max bytes at a word boundary, ending in
 * "..." when cut. A message that filled its buffer (size - 1 bytes) was
 * cut by vsnprintf() already and is cut again here at a word boundary. */
void	usermsg_cut(char *msg, size_t size, size_t max);

#endif
