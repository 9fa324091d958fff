/*
 * atlassian: runs the built-in tools of forwarder/builtin.c. One generic
 * builder turns a row (method, path template, query map, body builder)
 * and the checked arguments into the upstream request. Requests go only to
 * the integration's base URL, with the tenant's credential header;
 * upstream failures become tool errors that never contain the credential.
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
	/* Where requests go: NULL = base_url; for a scoped token or a
	 * service-account key, https://api.atlassian.com/ex/jira/<cloudId>
	 * (base_url still makes the links in results). */
	const char	*api_url;
	const secret_t	*auth;		/* "Authorization: Basic ..." or "... Bearer ..." */
};

/*
 * Run tool te with already-validated args. 0 with *text (the trimmed,
 * capped result, serialised once as compact JSON; *len bytes; caller wipes
 * and frees), or -1 with a tool error:
 *   400 upstream_rejected, 403 upstream_forbidden, 404 upstream_not_found,
 *   429 upstream_rate_limited, 502 upstream_unauthorized (the stored key
 *   was refused), 502 upstream_unavailable/upstream_too_large/...,
 *   504 upstream_timeout.
 */
int	atlassian_exec(const struct toolcat_entry *te, const json_t *args,
	    const struct atlassian_target *, const struct fwdconf *, char **text,
	    size_t *len, struct err *);
/*
 * What atlassian_exec() does with a 2xx answer (body, blen bytes; empty is
 * allowed): scan it (forwarder/jscan.h, at most max_response bytes), let
 * te's trimmer write the result text, cap it at max bytes. 0 with *text
 * (caller wipes and frees) or -1: 502 upstream_bad_json ("Atlassian's
 * answer to <what> is not JSON"), 500 nomem.
 */
int	atlassian_answer(const struct toolcat_entry *te, const char *body, size_t blen,
	    size_t max_response, const char *base_url, const json_t *args, size_t max,
	    const char *what, char **text, size_t *len, struct err *);
/* Can this tool be run (a catalogue row with a complete builtin row)? */
int	atlassian_has(const char *tool);
/* The request te sends for args, below base_url (for tests and docs):
 * method, path with query, and the JSON body or NULL. Caller frees. */
int	atlassian_request(const struct toolcat_entry *te, const json_t *args,
	    char **method, char **path, char **body, struct err *);
/* Shrink result until its JSON text fits max bytes: drop list items from
 * the end, then cut long texts; marks "truncated": true. */
void	atlassian_cap(json_t *result, size_t max);
/* result as compact JSON text of at most max bytes (capped if needed). */
int	atlassian_serialise(json_t *result, size_t max, char **text, size_t *len);

#endif
