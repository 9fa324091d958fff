/* key rotate: replace an integration's key (see rotate.h for the steps). */
#include <time.h>

#include <jansson.h>

#include "admin.h"
#include "cmd.h"
#include "db.h"
#include "err.h"
#include "expiry.h"
#include "out.h"
#include "rotate.h"
#include "secret.h"
#include "secretin.h"

static const struct cmd_opt cmd_key_rotate_opts[] = {
	{ "from-file", "FILE", "read the new key from FILE (default: stdin, or typed "
	  "with echo off)" },
	{ "email", "EMAIL", "Atlassian account of the new key (default: the current one)" },
	{ "header", "NAME", "MCP backends: header carrying the key (default: the current "
	  "one, else Authorization)" },
	{ "no-verify", NULL, "store the key without checking it at the site (audited)" },
	{ "expires", "WHEN", "when the new key expires: 90d or 2027-03-01 (stored with the key; `key status` counts down)" },
	{ NULL, NULL, NULL },
};

/* Before asking for a key: does the integration exist (and does the
 * database answer)? rotate_run() checks again; this spares typing a key
 * for nothing. */
static int
cmd_key_rotate_known(struct admin *a, const struct rotate_req *rq, struct err *e)
{
	const char	*p[2] = { rq->tenant, rq->integration };
	PGconn		*c;
	json_t		*row = NULL;
	int		 rc;

	if ((c = admin_db(a, e)) == NULL || (rc = db_one(c, DBQ_INTEGRATION, p, &row,
	    e)) == -1)
		return -1;
	json_decref(row);
	if (rc == 0)
		return err_set(e, 404, "no_integration", "tenant '%s' has no integration "
		    "'%s' (see `key status %s`): nothing was changed", rq->tenant,
		    rq->integration, rq->tenant);
	return 0;
}

static int
cmd_key_rotate_exec(struct admin *a, struct cmd_args *args, struct err *e)
{
	struct rotate_req	 rq = { 0 };
	struct rotate_res	 res;
	secret_t		*key;
	json_t			*j;
	char			 prompt[160], expires[EXPIRY_ISO_MAX];
	int			 rc;

	rq.tenant = args->argv[0];
	rq.integration = args->argv[1];
	rq.email = cmd_get(args, "email");
	rq.header = cmd_get(args, "header");
	rq.no_verify = cmd_get(args, "no-verify") != NULL;
	if (cmd_get(args, "expires") != NULL) {
		if (expiry_parse(cmd_get(args, "expires"), time(NULL), expires,
		    sizeof expires, e) == -1)
			return CMD_USAGE;
		rq.expires_at = expires;
	}
	if (cmd_key_rotate_known(a, &rq, e) == -1) {
		rotate_refused(a, &rq, e);
		return CMD_FAIL;
	}
	snprintf(prompt, sizeof prompt, "New key for %s/%s (not echoed): ", rq.tenant,
	    rq.integration);
	if ((key = secretin_key(a, cmd_get(args, "from-file"), prompt, e)) == NULL) {
		rotate_refused(a, &rq, e);
		return CMD_FAIL;
	}
	if ((rc = cmd_confirm(a, "rotated", "rotating", e, "Rotate the key of %s/%s? Brokers "
	    "switch to the new key.", rq.tenant, rq.integration)) != CMD_OK) {
		secret_free(key);
		return rc;
	}
	rq.key = key;
	rc = rotate_run(a, &rq, &res, e);
	secret_free(key);
	if (rc == -1) {
		if (res.state[0] != '\0')
			out_note(a->out, "%s\n", res.state);
		return CMD_FAIL;
	}
	if (a->json) {
		j = json_pack("{s:s,s:s,s:i,s:i,s:b,s:b,s:b,s:b}", "tenant", rq.tenant,
		    "integration", rq.integration, "old_version", res.vault_version,
		    "new_version", res.new_version, "wrote_vault", res.wrote_vault,
		    "finished", res.finished, "unchanged", res.unchanged,
		    "verified", res.verified);
		out_json(a->out, j);
		json_decref(j);
	} else if (res.unchanged)
		out_printf(a->out, "%s/%s already uses this key (version %d)\n", rq.tenant,
		    rq.integration, res.new_version);
	else if (res.finished)
		out_printf(a->out, "%s/%s: finished the earlier rotation to version %d\n",
		    rq.tenant, rq.integration, res.new_version);
	else
		out_printf(a->out, "%s/%s rotated: version %d -> %d%s\n", rq.tenant,
		    rq.integration, res.vault_version, res.new_version,
		    res.verified ? " (verified)" : " (not verified)");
	return CMD_OK;
}

const struct cmd_entry cmd_key_rotate_entry = {
	"key rotate", NULL, "TENANT INTEGRATION",
	"Replace an integration's key: verify, check-and-set in Vault, record, audit, notify",
	"The key is read from --from-file, else from stdin when it is a pipe, else typed "
	"with echo off; never from the command line. It is checked against the tenant's "
	"site (GET /rest/api/3/myself) before anything is written, and written with "
	"check-and-set, so a concurrent rotation fails cleanly. If recording in "
	"PostgreSQL fails after the Vault write, the command says so and running it "
	"again with the same key finishes the job without a second Vault write.",
	cmd_key_rotate_opts, 2, 2, CMD_F_JSON | CMD_F_CONFIRM, cmd_key_rotate_exec,
};
