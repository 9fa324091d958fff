/* onboard: set up a new client tenant (see onboard.h for the steps). */
#include <stdio.h>
#include <time.h>

#include "admin.h"
#include "cmd.h"
#include "err.h"
#include "expiry.h"
#include "onboard.h"
#include "out.h"
#include "secret.h"
#include "secretin.h"

static const struct cmd_opt cmd_onboard_opts[] = {
	{ "site", "URL", "the tenant's Atlassian site, e.g. https://acme.atlassian.net" },
	{ "email", "EMAIL", "Atlassian account the key belongs to (not for service_account)" },
	{ "key-kind", "KIND", "classic (default: Basic at the site), scoped (Basic at the API "
	    "gateway) or service_account (Bearer at the gateway)" },
	{ "cloud-id", "ID", "the site's cloud id for scoped/service_account keys (default: "
	    "read from SITE/_edge/tenant_info)" },
	{ "api-gateway", "URL", "Atlassian's API gateway (default https://api.atlassian.com)" },
	{ "name", "NAME", "display name (default: the slug)" },
	{ "integrations", "LIST", "comma-separated: jira, confluence (default both)" },
	{ "from-file", "FILE", "read the key from FILE (default: stdin, or typed with echo off)" },
	{ "k8s-admins", "NS/SA,...", "bind the tenant policy to these Kubernetes service accounts" },
	{ "keep-key", NULL, "use the keys Vault already holds (read no key)" },
	{ "dry-run", NULL, "print what would be done (with --json, as JSON on stdout); change nothing" },
	{ "update", NULL, "change an existing tenant" },
	{ "no-verify", NULL, "store the key without checking it at the site (audited)" },
	{ "expires", "WHEN", "when the key expires: 90d or 2027-03-01 (stored with it)" },
	{ "insecure-site", NULL, "allow a plain http:// site (test sites only: the key travels unencrypted)" },
	{ NULL, NULL, NULL },
};

static int
cmd_onboard_exec(struct admin *a, struct cmd_args *args, struct err *e)
{
	struct onboard_req	 rq = { 0 };
	secret_t		*key = NULL;
	char			 prompt[160], expires[EXPIRY_ISO_MAX];
	int			 rc;

	rq.tenant = args->argv[0];
	rq.site = cmd_get(args, "site");
	rq.email = cmd_get(args, "email");
	rq.name = cmd_get(args, "name");
	rq.integrations = cmd_get(args, "integrations");
	rq.k8s_admins = cmd_get(args, "k8s-admins");
	rq.cred_kind = cmd_get(args, "key-kind");
	rq.cloud_id = cmd_get(args, "cloud-id");
	rq.gateway = cmd_get(args, "api-gateway");
	rq.keep_key = cmd_get(args, "keep-key") != NULL;
	rq.dry_run = cmd_get(args, "dry-run") != NULL;
	rq.update = cmd_get(args, "update") != NULL;
	rq.no_verify = cmd_get(args, "no-verify") != NULL;
	rq.insecure_site = cmd_get(args, "insecure-site") != NULL;
	if (cmd_get(args, "expires") != NULL) {
		if (expiry_parse(cmd_get(args, "expires"), time(NULL), expires,
		    sizeof expires, e) == -1)
			return CMD_USAGE;
		rq.expires_at = expires;
	}
	if (rq.site == NULL) {
		err_set(e, 400, "usage", "give the tenant's Atlassian site with --site URL");
		return CMD_USAGE;
	}
	if (onboard_check(&rq, e) == -1)
		return CMD_USAGE;
	if (!rq.dry_run && !rq.keep_key) {
		if (rq.email == NULL)
			snprintf(prompt, sizeof prompt, "Atlassian service-account key for %s "
			    "(not echoed): ", rq.tenant);
		else
			snprintf(prompt, sizeof prompt, "Atlassian API key of %s for %s (not "
			    "echoed): ", rq.email, rq.tenant);
		if ((key = secretin_key(a, cmd_get(args, "from-file"), prompt, e)) == NULL)
			return CMD_FAIL;
		rq.key = key;
	}
	if (!rq.dry_run) {
		if ((rc = cmd_confirm(a, "onboarded", "onboarding", e, "Onboard tenant %s (%s)?",
		    rq.tenant, rq.site)) != CMD_OK) {
			secret_free(key);
			return rc;
		}
	}
	rc = onboard_run(a, &rq, e);
	secret_free(key);
	if (rc == -1)
		return CMD_FAIL;
	if (!rq.dry_run && !a->json)
		out_printf(a->out, "tenant %s onboarded\n", rq.tenant);
	return CMD_OK;
}

const struct cmd_entry cmd_onboard_entry = {
	"onboard", NULL, "TENANT",
	"Onboard a client tenant: Vault policy, optional Kubernetes role, first key, rows",
	"Renders policies/tenant-admin.hcl.tmpl into the Vault policy "
	"<policy_prefix>TENANT, optionally binds it to a Kubernetes-auth role for the "
	"tenant's admins, stores the first key (verified at the site) for each "
	"integration, then inserts the tenant and its integrations. Every step is "
	"audited. An existing tenant is refused unless --update; an interrupted run is "
	"finished by running the same command again.",
	cmd_onboard_opts, 1, 1, CMD_F_CONFIRM | CMD_F_JSON, cmd_onboard_exec,
};
