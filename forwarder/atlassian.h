/*
 * atlassian: the executors behind the built-in tools of common/toolcat.c.
 * Each toolcat row has one row here: how to build the upstream request and
 * how to trim the answer to what a model needs. Requests go only to the
 * integration's base URL, with the tenant's Basic header; upstream failures
 * become tool errors that never contain the credential.
 */
#ifndef TG_ATLASSIAN_H
#define TG_ATLASSIAN_H

#include <stddef.h>

#include <jansson.h>

#include "secret.h"

struct err;
struct fwdconf;
struct toolcat_entry;

struct atlassian_target {
	const char	*tenant;
	const char	*base_url;	/* https://x.atlassian.net, no trailing slash */
	const secret_t	*auth;		/* "Authorization: Basic ..." */
};

/*
 * Run tool te with already-validated args. 0 with *result (the trimmed,
 * capped structured result), or -1 with a tool error:
 *   400 upstream_rejected, 403 upstream_forbidden, 404 upstream_not_found,
 *   429 upstream_rate_limited, 502 upstream_unauthorized (the stored key
 *   was refused), 502 upstream_unavailable/upstream_too_large/...,
 *   504 upstream_timeout.
 */
int	atlassian_exec(const struct toolcat_entry *te, const json_t *args,
	    const struct atlassian_target *, const struct fwdconf *, json_t **result,
	    struct err *);
/* Is there an executor for this toolcat row? */
int	atlassian_has(const char *tool);
/* Trim an upstream answer for a tool (exposed for unit tests). */
json_t	*atlassian_trim(const char *tool, const json_t *upstream, const char *base_url,
	    const json_t *args);
/* Shrink result until its JSON text fits max bytes: drop list items from
 * the end, then cut long texts; marks "truncated": true. */
void	atlassian_cap(json_t *result, size_t max);

#endif
