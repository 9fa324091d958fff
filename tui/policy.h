/*
 * policy: tenant slugs and the per-tenant Vault policy. A slug is what
 * the database's check allows (^[a-z][a-z0-9-]{1,30}$) minus a trailing
 * or doubled '-', since it becomes part of Vault paths, policy names and
 * the tool names an MCP client sees (<tenant>__<tool>). The template
 * (policies/tenant-admin.hcl.tmpl) uses {{name}} placeholders; an unknown
 * or unclosed one is an error, so a typo cannot yield a policy that
 * silently grants a literal "{{tenat}}" path.
 */
#ifndef TG_TUI_POLICY_H
#define TG_TUI_POLICY_H

#include <stddef.h>

struct err;

int	policy_slug_check(const char *slug, struct err *);

struct policy_var {
	const char	*name;
	const char	*value;
};

/* Replace every {{name}} (spaces inside the braces allowed) by its value
 * from vars (ends with a NULL name). Caller frees; NULL with e set. */
char	*policy_render(const char *tmpl, const struct policy_var *vars, struct err *);
/* Read a template file (at most 64 KiB). Caller frees. */
char	*policy_read(const char *path, struct err *);

#endif
