/*
 * admin: settings, the operator's lazily opened connections, identity and
 * the yes/no question. See admin.h.
 */
#include <sys/stat.h>

#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "admin.h"
#include "err.h"
#include "secret.h"
#include "vault.h"

#define CONF_STRUCT	struct admin_cfg

const struct conf_entry admin_conf_table[] = {
#include "admin.def"
	CONF_END
};

static void
admin_set_actor(struct admin *a)
{
	const char	*name = a->cfg.actor;
	struct passwd	*pw;

	if (name == NULL || *name == '\0')
		name = getenv("TENANTGATE_ACTOR");
	if (name == NULL || *name == '\0')
		name = (pw = getpwuid(getuid())) != NULL ? pw->pw_name : NULL;
	if (name == NULL || *name == '\0')
		name = getenv("USER");
	snprintf(a->actor, sizeof a->actor, "%s", name != NULL && *name != '\0' ?
	    name : "unknown");
}

int
admin_init(struct admin *a, const char *cfg_path, const char *const *overrides,
    char **causes)
{
	char		 home_cfg[1024];
	const char	*home;
	struct stat	 st;

	memset(a, 0, sizeof *a);
	a->via = "cli";
	*causes = NULL;
	if (cfg_path == NULL)
		cfg_path = getenv("TENANTGATE_ADMIN_CONFIG");
	if (cfg_path == NULL && (home = getenv("HOME")) != NULL) {
		snprintf(home_cfg, sizeof home_cfg, "%s/.config/tenantgate/admin.conf", home);
		if (stat(home_cfg, &st) == 0)
			cfg_path = home_cfg;
	}
	if (conf_load_with(admin_conf_table, &a->cfg, cfg_path, overrides, causes) == -1)
		return -1;
	admin_set_actor(a);
	return 0;
}

void
admin_free(struct admin *a)
{
	if (a->db != NULL)
		PQfinish(a->db);
	a->db = NULL;
	vault_free(a->vault);
	a->vault = NULL;
	secret_free(a->vault_token);
	a->vault_token = NULL;
	conf_free(admin_conf_table, &a->cfg);
}

/* First line of libpq's message, which names host and port but never the
 * password. */
static void
admin_pq_message(PGconn *c, char *buf, size_t len)
{
	const char	*m = c != NULL ? PQerrorMessage(c) : "out of memory";
	size_t		 n = strcspn(m, "\n");

	snprintf(buf, len, "%.*s", (int)n, m);
}

PGconn *
admin_db(struct admin *a, struct err *e)
{
	const char	*conninfo = a->cfg.database_url;
	const char	*kw[] = { "connect_timeout", "application_name", "dbname", NULL };
	const char	*val[] = { "5", "tenantgate-admin", NULL, NULL };
	char		 msg[200];

	if (a->db != NULL && PQstatus(a->db) == CONNECTION_OK)
		return a->db;
	if (a->db != NULL) {
		PQfinish(a->db);
		a->db = NULL;
	}
	/* The demo's .demo/env and most platforms export DATABASE_URL; ours
	 * wins when both are set, and an empty one counts as unset, so
	 * libpq's own PG* variables are the last resort. */
	if (conninfo == NULL || *conninfo == '\0')
		conninfo = getenv("TENANTGATE_DATABASE_URL");
	if (conninfo == NULL || *conninfo == '\0')
		conninfo = getenv("DATABASE_URL");
	/* Listed last so the DSN's own dbname expands and its
	 * connect_timeout, if any, wins over ours. */
	val[2] = conninfo != NULL ? conninfo : "";
	a->db = PQconnectdbParams(kw, val, 1);
	if (a->db == NULL || PQstatus(a->db) != CONNECTION_OK) {
		admin_pq_message(a->db, msg, sizeof msg);
		if (a->db != NULL)
			PQfinish(a->db);
		a->db = NULL;
		err_set(e, 503, "db_unavailable", "cannot connect to PostgreSQL: %s", msg);
		return NULL;
	}
	return a->db;
}

void
admin_db_check(struct admin *a)
{
	if (a->db != NULL && PQstatus(a->db) != CONNECTION_OK) {
		PQfinish(a->db);
		a->db = NULL;
	}
}

static secret_t *
admin_vault_token(struct admin *a, struct err *e)
{
	const char	*env = getenv("VAULT_TOKEN"), *home;
	char		 path[1024];
	secret_t	*t;

	if (env == NULL || *env == '\0')
		env = getenv("BAO_TOKEN");
	if (env != NULL && *env != '\0')
		return secret_new(env, strlen(env));
	if (a->cfg.vault_token_file != NULL)
		snprintf(path, sizeof path, "%s", a->cfg.vault_token_file);
	else if ((home = getenv("HOME")) != NULL)
		snprintf(path, sizeof path, "%s/.vault-token", home);
	else {
		err_set(e, 401, "vault_no_token",
		    "no Vault token: set VAULT_TOKEN or log in with `vault login`");
		return NULL;
	}
	if ((t = secret_from_file(path, 4096, e)) == NULL) {
		err_set(e, 401, "vault_no_token", "no Vault token: VAULT_TOKEN is unset and "
		    "%s cannot be read (log in with `vault login`)", path);
		return NULL;
	}
	return t;
}

struct vault *
admin_vault(struct admin *a, struct err *e)
{
	struct vault_cfg	 vc;
	const char		*addr = a->cfg.vault_addr;

	if (a->vault != NULL)
		return a->vault;
	if (addr == NULL || *addr == '\0')
		addr = getenv("VAULT_ADDR");
	if (addr == NULL || *addr == '\0')
		addr = getenv("BAO_ADDR");
	if (addr == NULL || *addr == '\0') {
		err_set(e, 400, "vault_config",
		    "no Vault address: set VAULT_ADDR or vault_addr in the config");
		return NULL;
	}
	if (a->vault_token == NULL && (a->vault_token = admin_vault_token(a, e)) == NULL)
		return NULL;
	memset(&vc, 0, sizeof vc);
	vc.addr = addr;
	vc.auth = VAULT_AUTH_TOKEN;
	vc.token = a->vault_token;
	vc.kv_mount = a->cfg.vault_kv_mount;
	vc.timeout_ms = (long)a->cfg.vault_timeout * 1000;
	vc.cache_ttl_s = -1;		/* an admin always wants Vault's own answer */
	vc.cache_max_stale_s = -1;
	vc.ca_file = a->cfg.vault_ca_file;
	if ((a->vault = vault_new(&vc, e)) == NULL)
		return NULL;
	if (vault_login(a->vault, e) == -1) {
		vault_free(a->vault);
		a->vault = NULL;
		return NULL;
	}
	return a->vault;
}

int
admin_confirm(struct admin *a, const char *fmt, ...)
{
	char	q[512];
	va_list	ap;

	if (a->yes)
		return 1;
	va_start(ap, fmt);
	vsnprintf(q, sizeof q, fmt, ap);
	va_end(ap);
	return a->confirm != NULL ? a->confirm(a, q) : -1;
}

void
admin_kv_path(const struct admin *a, const char *tenant, const char *integration,
    char *buf, size_t len)
{
	snprintf(buf, len, "%s/tenants/%s/%s", a->cfg.vault_kv_prefix, tenant, integration);
}

void
admin_policy_name(const struct admin *a, const char *tenant, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", a->cfg.policy_prefix, tenant);
}

const char *
admin_data_path(const char *configured, const char *rel, char *buf, size_t len)
{
	const char	*dirs[] = { ".", getenv("TENANTGATE_DATADIR"),
			    "/usr/local/share/tenantgate", "/usr/share/tenantgate" };
	struct stat	 st;

	if (configured != NULL && *configured != '\0') {
		snprintf(buf, len, "%s", configured);
		return buf;
	}
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		if (dirs[i] == NULL || *dirs[i] == '\0')
			continue;
		snprintf(buf, len, "%s/%s", dirs[i], rel);
		if (stat(buf, &st) == 0)
			return buf;
	}
	return NULL;
}
