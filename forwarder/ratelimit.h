/*
 * ratelimit: what an upstream 429 tells us, turned into one tool error.
 * Atlassian answers 429 with Retry-After (seconds) and RateLimit-Reason
 * (jira-burst-based, jira-quota-tenant-based, ...): the error says when to
 * retry and why, carries the wait in err.retry_after (the HTTP layer sends
 * it as Retry-After, usertools turns it into the tenant's shared back-off,
 * bulkhead_backoff()), and the reason is counted per label.
 */
#ifndef TG_RATELIMIT_H
#define TG_RATELIMIT_H

#include <stddef.h>

struct err;
struct httpc_resp;
struct metric;

/* When Atlassian gives no Retry-After: wait this long (seconds); an
 * explicit "Retry-After: 0" is honoured as it is (no back-off). */
#define RATELIMIT_DEFAULT_WAIT	1
/* Never ask a caller to wait longer than this (seconds). */
#define RATELIMIT_MAX_WAIT	3600

/* 429 upstream_rate_limited for tenant from resp; always returns -1. */
int	ratelimit_error(const struct httpc_resp *resp, const char *tenant, struct err *);
/* Count one 429 by its RateLimit-Reason (a fixed row per known reason). */
void	ratelimit_count(const char *reason);
/* The tenantgate_forwarder_upstream_rate_limited_total rows. */
size_t	ratelimit_metric_rows(struct metric **rows, size_t max);

#endif
