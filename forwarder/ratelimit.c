/*
 * ratelimit: upstream 429s as tool errors and as counters by reason.
 */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "httpc.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"

/* Atlassian's documented reasons get rows of their own; anything else is
 * "other", so an upstream cannot grow the label set. */
static struct metric ratelimit_metrics[] = {
	{ "tenantgate_forwarder_upstream_rate_limited_total", "reason=\"jira-burst-based\"",
	    METRIC_COUNTER, "Upstream 429 answers by RateLimit-Reason", 0 },
	{ "tenantgate_forwarder_upstream_rate_limited_total",
	    "reason=\"jira-quota-tenant-based\"", METRIC_COUNTER, NULL, 0 },
	{ "tenantgate_forwarder_upstream_rate_limited_total",
	    "reason=\"jira-quota-global-based\"", METRIC_COUNTER, NULL, 0 },
	{ "tenantgate_forwarder_upstream_rate_limited_total",
	    "reason=\"jira-per-issue-on-write\"", METRIC_COUNTER, NULL, 0 },
	{ "tenantgate_forwarder_upstream_rate_limited_total", "reason=\"other\"",
	    METRIC_COUNTER, NULL, 0 },
	{ "tenantgate_forwarder_upstream_rate_limited_total", "reason=\"none\"",
	    METRIC_COUNTER, NULL, 0 },
};
#define RL_N	(sizeof ratelimit_metrics / sizeof ratelimit_metrics[0])

void
ratelimit_count(const char *reason)
{
	size_t	i;
	char	want[80];

	if (reason == NULL || *reason == '\0') {
		metrics_inc(&ratelimit_metrics[RL_N - 1]);
		return;
	}
	snprintf(want, sizeof want, "reason=\"%s\"", reason);
	for (i = 0; i < RL_N - 2; i++)
		if (strcmp(ratelimit_metrics[i].labels, want) == 0)
			break;
	metrics_inc(&ratelimit_metrics[i]);	/* RL_N - 2 is "other" */
}

size_t
ratelimit_metric_rows(struct metric **rows, size_t max)
{
	return metrics_rows(ratelimit_metrics, RL_N, rows, max);
}

int
ratelimit_error(const struct httpc_resp *resp, const char *tenant, struct err *e)
{
	const char	*why = resp->ratelimit_reason;
	/* "Retry-After: 0" means now (no back-off); no header at all gets a
	 * short default, so the tenant still slows down a little. */
	long		 wait = resp->retry_after >= 0 ? resp->retry_after : RATELIMIT_DEFAULT_WAIT;

	if (wait > RATELIMIT_MAX_WAIT)
		wait = RATELIMIT_MAX_WAIT;
	ratelimit_count(why);
	log_info("atlassian: %s: rate-limited (429, reason %s, Retry-After %ld)", tenant,
	    why[0] != '\0' ? why : "none", resp->retry_after);
	/* The text is what a model reads: when to retry, and why. */
	err_set(e, 429, "upstream_rate_limited", "Atlassian is rate-limiting tenant '%s' "
	    "(429%s%s); retry in %ld s", tenant, why[0] != '\0' ? ", " : "", why, wait);
	if (resp->retry_after >= 0)
		snprintf(e->msg + strlen(e->msg), sizeof e->msg - strlen(e->msg),
		    " (Retry-After: %ld s)", resp->retry_after);
	e->retry_after = (int)wait;
	return -1;
}
