/* broker_metrics: the broker's metrics table and its /metrics rendering. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker.h"
#include "httpd.h"
#include "keyexpiry.h"
#include "members.h"
#include "vault.h"

#define C METRIC_COUNTER
struct metric broker_metrics[BM__COUNT] = {
	[BM_GRANTS_ISSUED] = { "tenantgate_grants_issued_total", NULL, C, "Grants minted" },
	[BM_DENIED_NOT_MEMBER] = { "tenantgate_grants_denied_total", "reason=\"not_member\"", C,
	    "Grant requests refused, by reason" },
	[BM_DENIED_IDENTITY] = { "tenantgate_grants_denied_total", "reason=\"identity\"", C, "" },
	[BM_DENIED_CALLER] = { "tenantgate_grants_denied_total", "reason=\"caller\"", C, "" },
	[BM_DENIED_UNAVAILABLE] = { "tenantgate_grants_denied_total", "reason=\"unavailable\"", C, "" },
	[BM_REDEEMS] = { "tenantgate_redeems_total", NULL, C, "Grants redeemed for a credential" },
	[BM_REDEEM_REFUSED] = { "tenantgate_redeems_refused_total", NULL, C, "Redeems refused" },
	[BM_REVOKES] = { "tenantgate_revocations_total", NULL, C, "Revocations" },
	[BM_VAULT_ERRORS] = { "tenantgate_vault_errors_total", NULL, C, "Failed Vault operations" },
	[BM_DB_ERRORS] = { "tenantgate_db_errors_total", NULL, C, "Failed PostgreSQL operations" },
	[BM_MEMBERS_HITS] = { "tenantgate_members_cache_total", "result=\"hit\"", C,
	    "Membership lookups, by cache result" },
	[BM_MEMBERS_MISSES] = { "tenantgate_members_cache_total", "result=\"miss\"", C, "" },
	[BM_MEMBERS_STALE] = { "tenantgate_members_cache_total", "result=\"stale\"", C, "" },
	[BM_GRANTS_REUSED] = { "tenantgate_grants_reused_total", NULL, C,
	    "Still-valid grants handed out again instead of minting (no audit row)" },
	[BM_CALLERS_REVIEWS] = { "tenantgate_callers_tokenreviews_total", NULL, C,
	    "TokenReview calls made for caller tokens" },
	[BM_CALLERS_NEG_HITS] = { "tenantgate_callers_refused_cached_total", NULL, C,
	    "Caller tokens refused again from the negative cache (no TokenReview call)" },
	[BM_CALLERS_LIMITED] = { "tenantgate_callers_rate_limited_total", NULL, C,
	    "Caller checks refused with 429 by the TokenReview rate limit" },
	[BM_READY] = { "tenantgate_broker_ready", NULL, METRIC_GAUGE,
	    "1 when the broker can issue grants now (what /readyz answers)" },
	[BM_DB_STALE_S] = { "tenantgate_broker_db_stale_seconds", NULL, METRIC_GAUGE,
	    "Seconds since PostgreSQL last answered (0 while it does)" },
	[BM_VAULT_STALE_S] = { "tenantgate_broker_vault_stale_seconds", NULL, METRIC_GAUGE,
	    "Seconds since Vault last answered (0 while it does)" },
	[BM_JWKS_AGE_S] = { "tenantgate_broker_jwks_age_seconds", NULL, METRIC_GAUGE,
	    "Age of the IdP key set in use (0 when none is needed or fetched yet)" },
};
#undef C

struct histogram broker_latency = { "tenantgate_broker_request_seconds",
    "Broker API request latency", NULL, { 0 }, 0, 0 };

static struct metric g_req = { "tenantgate_http_requests_total", NULL, METRIC_COUNTER,
    "HTTP requests received", 0 };
static struct metric g_login = { "tenantgate_vault_logins_total", NULL, METRIC_COUNTER,
    "Vault logins", 0 };
static struct metric g_renew = { "tenantgate_vault_renewals_total", NULL, METRIC_COUNTER,
    "Vault token renewals", 0 };
static struct metric g_vready = { "tenantgate_vault_logged_in", NULL, METRIC_GAUGE,
    "1 while the broker holds a valid Vault token", 0 };

/* The rows with labels known only at run time (one per tenant key) come
 * after the fixed table. Takes both buffers; NULL when out of memory. */
static char *
broker_metrics_append(char *text, size_t *len, char *more, size_t mlen)
{
	char *out;

	if (text == NULL || more == NULL) {
		free(more);
		return text;
	}
	if ((out = realloc(text, *len + mlen + 1)) == NULL) {
		free(more);
		return text;
	}
	memcpy(out + *len, more, mlen + 1);
	*len += mlen;
	free(more);
	return out;
}

char *
broker_metrics_render(struct broker *b, size_t *len)
{
	struct metric		*rows[BM__COUNT + 4 + 16];
	struct histogram	*hist[] = { &broker_latency };
	struct httpd_stats	 hs;
	struct vault_status	 vs;
	unsigned long		 hits, misses, stale;
	size_t			 n = 0, klen = 0;
	char			*text, *more;

	/* Values other modules keep are copied in at scrape time. */
	members_stats(b->members, &hits, &misses, &stale);
	metrics_set(&broker_metrics[BM_MEMBERS_HITS], hits);
	metrics_set(&broker_metrics[BM_MEMBERS_MISSES], misses);
	httpd_stats(b->httpd, &hs);
	metrics_set(&g_req, hs.requests);
	vault_status(b->vault, &vs);
	metrics_set(&g_login, vs.logins);
	metrics_set(&g_renew, vs.renewals);
	metrics_set(&g_vready, (uint64_t)vs.logged_in);
	for (size_t i = 0; i < BM__COUNT; i++)
		rows[n++] = &broker_metrics[i];
	n += httpd_metrics(b->httpd, rows + n, 16);
	rows[n++] = &g_req;
	rows[n++] = &g_login;
	rows[n++] = &g_renew;
	rows[n++] = &g_vready;
	text = metrics_render(rows, n, hist, 1, len);
	more = keyexpiry_metrics(b->keyexpiry, time(NULL), &klen);
	return broker_metrics_append(text, len, more, klen);
}
