/*
 * admin: what every tenantgate-admin operation works with: the settings
 * (one conf table: file, then environment, then -o overrides), the
 * operator's own PostgreSQL connection and Vault token (opened lazily, so
 * `--help` or a usage error touches neither), who the operator is for the
 * audit log, where output goes, and how to ask the operator something
 * (the CLI uses the terminal; the console swaps in its own dialogs).
 */
#ifndef TG_TUI_ADMIN_H
#define TG_TUI_ADMIN_H

#include <stddef.h>

#include <libpq-fe.h>

#include "conf.h"
#include "secret.h"

struct err;
struct out;
struct vault;

struct admin_cfg {
	char	*database_url;
	char	*vault_addr;
	char	*vault_token_file;
	char	*vault_ca_file;
	int	 vault_timeout;
	char	*vault_kv_mount;
	char	*vault_kv_prefix;
	char	*vault_k8s_mount;
	char	*policy_template;
	char	*policy_prefix;
	char	*migrations_dir;
	int	 verify_timeout;
	int	 grant_ttl;
	char	*actor;
	int	 color;
	char	*email_non_ascii;
};

extern const struct conf_entry admin_conf_table[];

#define ADMIN_ACTOR_MAX	128
#define ADMIN_KEY_MAX	8192	/* largest credential we accept */

struct admin {
	struct admin_cfg cfg;
	PGconn		*db;
	struct vault	*vault;
	secret_t	*vault_token;
	char		 actor[ADMIN_ACTOR_MAX];
	const char	*via;		/* "cli" or "console", for audit details */
	struct out	*out;
	int		 json;		/* --json given */
	int		 yes;		/* --yes given: do not ask */
	/* Ask a yes/no question: 1 yes, 0 no, -1 cannot ask (no terminal). */
	int		(*confirm)(struct admin *, const char *question);
	/* Read a secret with echo off; NULL with e set (or cancelled). */
	secret_t	*(*ask_secret)(struct admin *, const char *prompt, struct err *);
	void		*ui;		/* the console, when it runs */
};

/* Settings from the file (NULL: $TENANTGATE_ADMIN_CONFIG, else
 * ~/.config/tenantgate/admin.conf when it exists), the environment
 * (TENANTGATE_DATABASE_URL, then DATABASE_URL, then libpq's PG*;
 * VAULT_ADDR/BAO_ADDR; TENANTGATE_ACTOR), then overrides. *causes as conf_load() (caller frees). */
int		 admin_init(struct admin *, const char *cfg_path,
		    const char *const *overrides, char **causes);
void		 admin_free(struct admin *);

/* The operator's connection, (re)connected on demand. NULL with a 503
 * "db_unavailable" err naming host and port, never the password. */
PGconn		*admin_db(struct admin *, struct err *);
/* After an error that may have broken the connection: reconnect next time. */
void		 admin_db_check(struct admin *);
/* The operator's Vault client: VAULT_TOKEN, else vault_token_file, else
 * ~/.vault-token, checked once with lookup-self. */
struct vault	*admin_vault(struct admin *, struct err *);

/* 1 when the operator said yes or gave --yes, 0 for no, -1 when there is
 * nobody to ask (then the caller refuses and suggests --yes). */
int		 admin_confirm(struct admin *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/* "<kv_prefix>/tenants/<tenant>/<integration>" (the broker's layout). */
void		 admin_kv_path(const struct admin *, const char *tenant,
		    const char *integration, char *buf, size_t len);
/* "<policy_prefix><tenant>", e.g. tenantgate-tenant-google. */
void		 admin_policy_name(const struct admin *, const char *tenant,
		    char *buf, size_t len);
/* A data file: the configured path if set, else the first of rel under
 * the current directory, $TENANTGATE_DATADIR, /usr/local/share/tenantgate,
 * /usr/share/tenantgate that exists. NULL when none does. */
const char	*admin_data_path(const char *configured, const char *rel, char *buf,
		    size_t len);

#endif
