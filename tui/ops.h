/*
 * ops: the changes an operator makes to who may do what - tenants,
 * users, memberships, group mappings, revocations. Each runs in one
 * transaction together with its audit row (both or neither), and the
 * database triggers NOTIFY the brokers. The CLI commands and the console
 * screens call these same functions.
 */
#ifndef TG_TUI_OPS_H
#define TG_TUI_OPS_H

struct admin;
struct err;

#define OPS_ROLE_MAX	16

/* "viewer", "editor" or "admin". */
int	ops_role_valid(const char *);
/* A plausible email: one '@', no spaces or control characters, < 255. */
int	ops_email_valid(const char *);
/* A user's email in the canonical form the brokers compare (common/email.h,
 * with the email_non_ascii setting) into out (EMAIL_MAX + 1 bytes). */
int	ops_email_canon(struct admin *, const char *in, char *out, struct err *);

/* Return 0 and set *changed (may be NULL) to 0 when there was nothing to
 * do (already so, or already gone: no audit row), 1 when something
 * changed. A tenant or user that does not exist is a 404. */
/* 0 when tenant is NULL or exists; -1 with a 404 "no_tenant" (or the
 * database's error) otherwise. Commands that name a tenant, even as a
 * filter, call it so a typo is "not found" (exit 1), never an empty list. */
int	ops_tenant_known(struct admin *, const char *tenant, struct err *);
int	ops_tenant_add(struct admin *, const char *tenant, const char *name,
	    int *changed, struct err *);
int	ops_tenant_set_status(struct admin *, const char *tenant, int enable,
	    int *changed, struct err *);
int	ops_user_add(struct admin *, const char *email, const char *name,
	    int *changed, struct err *);
/* old_role (OPS_ROLE_MAX, may be NULL) gets the previous role or "". */
int	ops_member_add(struct admin *, const char *email, const char *tenant,
	    const char *role, char *old_role, int *changed, struct err *);
/* The tenant and user must exist (404 otherwise); removing what is not
 * there is nothing to do. */
int	ops_member_remove(struct admin *, const char *email, const char *tenant,
	    int *changed, struct err *);
int	ops_group_add(struct admin *, const char *group, const char *tenant,
	    const char *role, char *old_role, int *changed, struct err *);
int	ops_group_remove(struct admin *, const char *group, const char *tenant,
	    int *changed, struct err *);
/* Revocations the brokers check at redeem (revoked_grants and
 * user_revocations); a grant revoked twice is fine. *known (may be NULL)
 * says whether a grant.issue row names that jti. */
int	ops_revoke_grant(struct admin *, const char *jti, int *known, struct err *);
int	ops_revoke_user(struct admin *, const char *email, struct err *);

#endif
