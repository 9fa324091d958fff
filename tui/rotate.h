/*
 * rotate: replacing a tenant integration's key, done so that it is safe
 * to interrupt and to re-run:
 *
 *   1. read the integration (PostgreSQL) and Vault's current KV version;
 *   2. if that version already holds exactly this key, skip to 5 (an
 *      earlier run wrote Vault and then failed: this run finishes it);
 *   3. verify the key the way its credential kind needs: at the site, or
 *      at Atlassian's API gateway for scoped and service-account keys
 *      (unless --no-verify, which the audit row records; MCP keys are not
 *      checked);
 *   4. write it with check-and-set on the version read in 1, so a
 *      concurrent rotation makes one of the two fail and nothing is
 *      overwritten;
 *   5. in one transaction: tenant_integrations.cred_version/rotated_at/
 *      rotated_by, the audit row, NOTIFY tenantgate_changes.
 *
 * A failure before 4 leaves everything as it was. A failure in 5 leaves
 * Vault ahead of the database; res->state then says exactly that and how
 * to finish (re-run with the same key).
 */
#ifndef TG_TUI_ROTATE_H
#define TG_TUI_ROTATE_H

#include <jansson.h>

#include "secret.h"

struct admin;
struct err;

struct rotate_req {
	const char	*tenant;
	const char	*integration;
	const char	*email;		/* jira/confluence account; NULL = keep the current */
	const char	*header;	/* mcp header name; NULL = keep the current */
	const secret_t	*key;
	int		 no_verify;
	const char	*expires_at;	/* ISO 8601 UTC (expiry.h); NULL = not known */
};

struct rotate_res {
	char	 kind[16];
	char	 cred_kind[24];		/* classic | scoped | service_account */
	char	 vault_path[512];
	int	 db_version;		/* tenant_integrations.cred_version before */
	int	 vault_version;		/* Vault's current version before */
	int	 new_version;
	int	 wrote_vault;		/* this run wrote a new version */
	int	 finished;		/* this run recorded an earlier run's write */
	int	 unchanged;		/* nothing to do: key stored and recorded */
	int	 verified;		/* the site accepted the key */
	char	 who[128];		/* the account the site reported */
	char	 state[1024];		/* set when Vault and the database disagree */
};

/* Every failure (a wrong key, a CAS conflict, Vault's 403, no such
 * integration, ...) writes a key.rotate_refused audit row with the reason,
 * when the database can be reached. */
int	rotate_run(struct admin *, const struct rotate_req *, struct rotate_res *,
	    struct err *);
/* That audit row, for refusals found before rotate_run() (the CLI's own
 * checks); nothing for "cancelled". Best effort: a warning if it fails. */
void	rotate_refused(struct admin *, const struct rotate_req *, const struct err *why);

/* Shape the credential JSON Vault stores for kind and cred_kind:
 * {"email","api_token"}, {"api_key"} for a service account (any kind), or
 * {"header","value"} for a classic mcp one, with "expires_at" when known
 * (the daemons ignore what they do not read). As a secret; NULL on ENOMEM. */
secret_t *rotate_credential(const char *kind, const char *cred_kind, const char *who,
	    const secret_t *key, const char *expires_at);

/* Verify key for one integration row of DBQ_INTEGRATION(S) the way its
 * credential kind needs (verify_kind()); mcp rows are not checked (0).
 * where gets the URL checked, for messages. */
int	rotate_verify(struct admin *, const json_t *row, const char *who,
	    const secret_t *key, char *whoami, size_t wholen, const char **where,
	    struct err *);

/* Turn a Vault 403 into "your token may not ... needs policy ..."; other
 * errors pass unchanged. */
void	rotate_explain_vault(const struct admin *, const char *tenant, struct err *);

/* Adds vault_version (null when unknown), expires_at and days_left (null
 * when not recorded with the current key) and a state sentence to each
 * integration row of DBQ_INTEGRATIONS: "ok", "expires in 5 days",
 * "EXPIRED 2 days ago", "vault ahead: ...", ... */
void	rotate_status(struct admin *, json_t *rows);

#endif
