/*
 * tenantgate-forwarder: the per-user MCP and OpenAPI tool server. What it
 * plugs into the daemon skeleton (common/daemon.h): its config snapshot,
 * the HTTP front, the change feed, the audit flusher and the cache
 * janitor; main() is the table of contents.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>

#include "audit.h"
#include "backend_mcp.h"
#include "builtin.h"
#include "broker_client.h"
#include "bulkhead.h"
#include "conf.h"
#include "daemon.h"
#include "err.h"
#include "feed.h"
#include "front.h"
#include "fwd.h"
#include "fwdconf.h"
#include "grants.h"
#include "httpd.h"
#include "jsonx.h"
#include "log.h"

#define JANITOR_INTERVAL_S	5
#define FEED_FIRST_WAIT_MS	3000

static const char synopsis[] =
"\n"
"NAME\n"
"     tenantgate-forwarder - per-user MCP and OpenAPI tool server for tenantgate\n"
"\n"
"DESCRIPTION\n"
"     Serves MCP (Streamable HTTP, revisions 2025-11-25 and 2026-07-28) at\n"
"     POST /mcp and an OpenAPI tool server (/openapi.json, /tools, /tenants,\n"
"     /tools/{tenant}/{tool}/execute). Each caller sees only the tools of the\n"
"     tenants the broker grants them, named <tenant>__<tool>, and each call runs\n"
"     with that tenant's credential, redeemed from the broker for one grant.\n"
"     The forwarder verifies no token itself and holds no long-lived secret\n"
"     but its own broker credential. Without -c: defaults and -o only.\n";

static const char more[] =
"\n"
"SIGNALS\n"
"     SIGTERM, SIGINT  stop accepting, finish in-flight requests (at most\n"
"                      drain_timeout), exit 0\n"
"     SIGHUP           reload the config file; keys marked no-reload must not\n"
"                      change (the reload is refused and logged)\n"
"\n"
"ENDPOINTS\n"
"     POST /mcp                    MCP JSON-RPC (GET/DELETE answer 405)\n"
"     GET  /openapi.json           OpenAPI 3.1 document\n"
"     GET  /tools, GET /tenants    the caller's tools and tenants\n"
"     POST /tools/T/X/execute      run tool X in tenant T\n"
"     GET  /health, /readyz, /metrics\n"
"\n"
"     Identity: X-OpenWebUI-User-Jwt, else Authorization: Bearer; a missing or\n"
"     refused one is 401 with WWW-Authenticate.\n"
"\n"
"EXIT STATUS\n"
"     0 on a clean stop, 1 on a start-up error (cannot listen), 2 on bad usage\n"
"     or a bad configuration.\n"
"\n"
"SEE ALSO\n"
"     docs/forwarder.md, docs/api.md, tenantgate-broker(8)\n";

struct main_state {
	struct fwd	*fwd;
	struct feed	*feed;
	struct event	*janitor;
};

static void *
main_build(struct daemon *d, char **causes)
{
	struct main_state	*m = d->app;
	struct fwdconf_snap	*snap, *old;

	if ((snap = fwdconf_load(d->cfg_path, d->overrides, causes)) == NULL || !d->running)
		return snap;
	old = fwd_conf(m->fwd);
	if (conf_render_reload_check(fwdconf_table, fwdconf_get(old), fwdconf_get(snap), causes) == -1) {
		fwdconf_unref(snap);
		snap = NULL;
	}
	fwdconf_unref(old);
	return snap;
}

static const void *
main_cfg(const void *snap)
{
	return fwdconf_get(snap);
}

static void
main_unref(void *snap)
{
	fwdconf_unref(snap);
}

static void
main_reload(struct daemon *d, void *snap)
{
	struct main_state *m = d->app;

	fwd_set_conf(m->fwd, snap);
}

static void
main_janitor(evutil_socket_t fd, short ev, void *arg)
{
	struct main_state	*m = arg;
	time_t			 now = time(NULL);
	size_t			 n;
	unsigned long		 refused;

	(void)fd;
	(void)ev;
	if ((n = grants_sweep(m->fwd->grants, now)) > 0)
		log_debug("janitor: %zu expired grant set(s) wiped", n);
	backend_mcp_sweep(m->fwd->backends, now);
	bulkhead_sweep(m->fwd->bulkheads, now);
	/* One line per interval, never one per refused call. */
	if ((refused = bulkhead_take_rejections(m->fwd->bulkheads)) > 0)
		log_notice("%lu call(s) refused by tenant limits in the last %d s (see "
		    "tenantgate_forwarder_tenant_rejected_total)", refused, JANITOR_INTERVAL_S);
}

static int
main_start(struct daemon *d, void *snap, struct err *e)
{
	struct main_state	*m = d->app;
	const struct fwdconf	*c = fwdconf_get(snap);
	struct httpd_limits	 lim;
	struct timeval		 tick = { JANITOR_INTERVAL_S, 0 };

	if ((m->fwd = fwd_new(snap, e)) == NULL) {
		fwdconf_unref(snap);
		return -1;
	}
	/* The broker credential is re-read on a worker, never in a request. */
	if (broker_client_start(m->fwd->broker, d->base, c, e) == -1)
		return -1;
	/* The change feed first: until it answers, caches are not trusted. */
	if ((m->feed = feed_start(m->fwd)) != NULL &&
	    feed_wait_current(m->feed, FEED_FIRST_WAIT_MS) == -1)
		log_warnx("the broker's change feed is not answering yet; every call asks the "
		    "broker until it does");
	if (audit_start(m->fwd, (size_t)c->audit_queue_max) == -1)
		return err_set(e, 500, "audit", "cannot start the audit flusher");
	conf_http_limits(&c->http, &lim);
	lim.coroutines = 1;
	if (daemon_serve(d, &lim, front_routes, m->fwd, c->listen, NULL, NULL, e) == -1)
		return -1;
	if ((m->janitor = event_new(d->base, -1, EV_PERSIST, main_janitor, m)) == NULL)
		return err_set(e, 500, "nomem", "out of memory");
	evtimer_add(m->janitor, &tick);
	log_info("broker %s", c->broker_url);
	daemon_notify("READY=1");
	return 0;
}

static int
main_drain(struct daemon *d)
{
	struct main_state	*m = d->app;
	struct fwdconf_snap	*snap = fwd_conf(m->fwd);
	int			 limit = fwdconf_get(snap)->drain_timeout;

	fwdconf_unref(snap);
	feed_stop_soon(m->feed);	/* its last poll ends during the drain */
	fwd_stop_renewals(m->fwd);
	return limit;
}

static void
main_stop(struct daemon *d)
{
	struct main_state *m = d->app;

	if (m->janitor != NULL)
		event_free(m->janitor);
	httpd_free(d->httpd);
	audit_stop();
	feed_stop(m->feed);
	fwd_free(m->fwd);
}

/* The built-in tools as JSON: for docs and for test stand-ins, so nothing
 * outside forwarder/builtin.c has to repeat the list. */
static int
main_catalogue(void)
{
	json_t	*list = builtin_catalogue();
	char	*text = json_dumps(list, JSON_INDENT(2));

	json_decref(list);
	if (text == NULL)
		return 1;
	puts(text);
	free(text);
	return 0;
}

static int
main_tools_docs(void)
{
	builtin_docs(stdout);
	return 0;
}

static const struct daemon_opt main_opts[] = {
	{ "tool-catalogue", "print the built-in tools (JSON), exit", main_catalogue },
	{ "tools-docs", "print the built-in tools reference (Markdown), exit", main_tools_docs },
	{ NULL, NULL, NULL },
};

static const struct daemon_def main_def = {
	.name = "tenantgate-forwarder", .version = FRONT_VERSION, .config = NULL,
	.synopsis = synopsis, .more = more, .opts = main_opts, .table = fwdconf_table,
	.build = main_build, .cfg = main_cfg, .unref = main_unref, .start = main_start,
	.reload = main_reload, .drain = main_drain, .stop = main_stop,
};

int
main(int argc, char *argv[])
{
	static struct main_state m;

	return daemon_main(&main_def, &m, argc, argv);
}
