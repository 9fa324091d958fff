/*
 * onboard: a new client tenant in one command, policy first:
 *
 *   1. check the input (slug, site URL, integrations, email, admins);
 *   2. refuse an existing tenant unless --update;
 *   3. render policies/tenant-admin.hcl.tmpl and write it as Vault policy
 *      <policy_prefix><tenant> (skipped when Vault already has it as is);
 *   4. optionally bind it to a Kubernetes-auth role for the tenant's
 *      admins (service accounts namespace/name);
 *   5. store the first key at <prefix>/tenants/<tenant>/<integration>,
 *      verified the way its kind needs (classic: at the site; scoped and
 *      service-account keys: at <gateway>/ex/<product>/<cloudId>, the
 *      cloud id read first from <site>/_edge/tenant_info) and written
 *      with check-and-set (skipped for an integration whose current
 *      version already holds it);
 *   6. insert the tenant and its integrations, in one transaction.
 *
 * Each step is audited as it completes. The tenant row comes last, so a
 * tenant that exists is onboarded, and a re-run of an interrupted
 * onboarding skips what is done and finishes the rest. --dry-run reads
 * the current state and prints what would be done, changing nothing and
 * needing no key; with --json the plan (or the steps done) is printed
 * as {"tenant","site","dry_run","update","steps":[{"step","what"}]}.
 */
#ifndef TG_TUI_ONBOARD_H
#define TG_TUI_ONBOARD_H

#include "secret.h"

struct admin;
struct err;

struct onboard_req {
	const char	*tenant;
	const char	*name;		/* display name; NULL = the slug */
	const char	*site;		/* Atlassian site, https://x.atlassian.net */
	const char	*integrations;	/* comma-separated; NULL = "jira,confluence" */
	const char	*email;		/* the key's Atlassian account */
	const secret_t	*key;		/* NULL with keep_key or dry_run */
	const char	*k8s_admins;	/* "ns/sa,..." for a Kubernetes role; NULL = none */
	/* Credential kind (migrations/0004): NULL or "classic" (Basic at the
	 * site), "scoped" (Basic at the API gateway), "service_account"
	 * (Bearer at the gateway; no email). The gateway kinds need the
	 * site's cloud id: cloud_id, or read from <site>/_edge/tenant_info. */
	const char	*cred_kind;
	const char	*gateway;	/* NULL = https://api.atlassian.com */
	const char	*cloud_id;	/* NULL = discover */
	int		 keep_key;	/* use the keys Vault already holds */
	int		 dry_run;
	int		 update;
	int		 no_verify;
	int		 insecure_site;	/* allow an http:// site (test sites) */
	const char	*expires_at;	/* of the key, ISO 8601 (expiry.h); NULL = unknown */
};

int	onboard_run(struct admin *, const struct onboard_req *, struct err *);

/* Step 1 alone (the console's wizard checks each field as it is typed). */
int	onboard_check(const struct onboard_req *, struct err *);

#endif
