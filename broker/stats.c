/* stats: the broker's metrics table and its /metrics rendering. */
#include <stdio.h>
#include <stdlib.h>

#include "broker.h"
#include "httpd.h"
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
};
#undef C

struct histogram broker_latency = { "tenantgate_broker_request_seconds",
    "Broker API request latency", { 0 }, 0, 0 };

static struct metric g_open = { "tenantgate_http_open_connections", NULL, METRIC_GAUGE,
    "Open client connections", 0 };
static struct metric g_req = { "tenantgate_http_requests_total", NULL, METRIC_COUNTER,
    "HTTP requests received", 0 };
static struct metric g_login = { "tenantgate_vault_logins_total", NULL, METRIC_COUNTER,
    "Vault logins", 0 };
static struct metric g_renew = { "tenantgate_vault_renewals_total", NULL, METRIC_COUNTER,
    "Vault token renewals", 0 };
static struct metric g_vready = { "tenantgate_vault_logged_in", NULL, METRIC_GAUGE,
    "1 while the broker holds a valid Vault token", 0 };

char *
broker_metrics_render(struct broker *b, size_t *len)
{
	struct metric		*rows[BM__COUNT + 5];
	struct histogram	*hist[] = { &broker_latency };
	struct httpd_stats	 hs;
	struct vault_status	 vs;
	unsigned long		 hits, misses, stale;
	size_t			 n = 0;

	/* Values other modules keep are copied in at scrape time. */
	members_stats(b->members, &hits, &misses, &stale);
	metric_set(&broker_metrics[BM_MEMBERS_HITS], hits);
	metric_set(&broker_metrics[BM_MEMBERS_MISSES], misses);
	httpd_stats(b->httpd, &hs);
	metric_set(&g_open, (uint64_t)hs.open_connections);
	metric_set(&g_req, hs.requests);
	vault_status(b->vault, &vs);
	metric_set(&g_login, vs.logins);
	metric_set(&g_renew, vs.renewals);
	metric_set(&g_vready, (uint64_t)vs.logged_in);
	for (size_t i = 0; i < BM__COUNT; i++)
		rows[n++] = &broker_metrics[i];
	rows[n++] = &g_open;
	rows[n++] = &g_req;
	rows[n++] = &g_login;
	rows[n++] = &g_renew;
	rows[n++] = &g_vready;
	return metrics_render(rows, n, hist, 1, len);
}
