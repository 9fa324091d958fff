/* grant revoke: stop one grant, or every grant of a user and every sign-in
 * (user token) of theirs issued before now, at the brokers' next look. */
#include "admin.h"
#include "cmd.h"
#include "err.h"
#include "ops.h"
#include "out.h"

static const struct cmd_opt cmd_grant_revoke_opts[] = {
	{ "user", "EMAIL", "revoke every grant and every sign-in of EMAIL issued until now" },
	{ NULL, NULL, NULL },
};

static int
cmd_grant_revoke_exec(struct admin *a, struct cmd_args *args, struct err *e)
{
	const char	*user = cmd_get(args, "user");
	const char	*jti = args->argc > 0 ? args->argv[0] : NULL;
	int		 known = 1, rc;

	if ((user == NULL) == (jti == NULL)) {
		err_set(e, 400, "usage", "give a grant id (JTI) or --user EMAIL, not both");
		return CMD_USAGE;
	}
	if ((rc = cmd_confirm(a, "revoked", "revoking", e, user != NULL ?
	    "Revoke every grant of %s?" : "Revoke grant %s?", user != NULL ? user : jti)) != CMD_OK)
		return rc;
	if ((user != NULL ? ops_revoke_user(a, user, e) :
	    ops_revoke_grant(a, jti, &known, e)) == -1)
		return CMD_FAIL;
	if (user != NULL)
		out_printf(a->out, "every grant of %s issued until now is revoked, and brokers "
		    "refuse their user tokens issued until now: %s must sign in again\n",
		    user, user);
	else
		out_printf(a->out, "grant %s revoked%s\n", jti, known ? "" :
		    " (no broker has recorded issuing it)");
	return CMD_OK;
}

const struct cmd_entry cmd_grant_revoke_entry = {
	"grant revoke", NULL, "[JTI]",
	"Revoke one grant by id, or all of a user's grants with --user (asks first)",
	"Writes revoked_grants or user_revocations. Brokers refuse the grants at "
	"their next redeem and, with --user, every user token issued before now "
	"(by its iat) at the next grant; forwarders hear of it on the change feed "
	"within a second. Open WebUI signs a new token per request, so to lock "
	"a user out of Open WebUI remove their memberships or disable them.",
	cmd_grant_revoke_opts, 0, 1, CMD_F_CONFIRM, cmd_grant_revoke_exec,
};
