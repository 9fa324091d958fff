/*
 * tenantgate-forwarder: the per-user MCP and OpenAPI tool server. main()
 * reads like a table of contents: options, config, the loop, the HTTP
 * front, signals (drain on TERM/INT, reload on HUP), the cache janitor.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
#define MAX_OVERRIDES		64

static const char usage_text[] =
"usage: tenantgate-forwarder [-c file] [-o key=value]... [--check-config]\n"
"                            [--show-config] [--config-docs] [--tool-catalogue]\n"
"                            [--tools-docs]\n"
"                            [--version] [--help]\n"
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
"     but its own broker credential.\n"
"\n"
"OPTIONS\n"
"     -c, --config file   read `key = value` lines from file (-f is the same);\n"
"                         without it, defaults and -o only\n"
"     -o key=value        set one key (after the file; repeatable)\n"
"     --check-config      load the config, report every problem, exit 0 or 2\n"
"                         (--check is the same)\n"
"     --show-config       print the effective config (secrets as ***), exit\n"
"     --config-docs       print the config reference (markdown), exit\n"
"     --tool-catalogue    print the built-in tools (JSON), exit\n"
"     --tools-docs        print the built-in tools reference (Markdown), exit\n"
"     -h, --help          this text\n"
"     --version           print the version\n"
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
	struct event_base	*base;
	struct fwd		*fwd;
	struct httpd		*httpd;
	const char		*path;
	const char		*overrides[MAX_OVERRIDES + 1];
	struct event		*drain_timer;
	struct feed		*feed;
	int			 stopping;
};

static void
main_drained(void *arg)
{
	struct main_state	*m = arg;
	struct timeval		 flush = { 0, 250000 };

	/* The last replies are queued, not yet written: let the loop run a
	 * little longer to send them before it stops. */
	log_info("all requests answered; exiting");
	event_base_loopexit(m->base, &flush);
}

static void
main_drain_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct main_state *m = arg;

	(void)fd;
	(void)ev;
	log_warnx("drain_timeout reached with requests in flight; exiting anyway");
	event_base_loopbreak(m->base);
}

static void
main_on_stop(evutil_socket_t sig, short ev, void *arg)
{
	struct main_state	*m = arg;
	struct fwdconf_snap	*snap;
	struct timeval		 tv = { 0, 0 };

	(void)ev;
	if (m->stopping++) {
		log_warnx("second stop signal: exiting now");
		event_base_loopbreak(m->base);
		return;
	}
	log_info("signal %d: draining", (int)sig);
	daemon_notify("STOPPING=1");
	snap = fwd_conf(m->fwd);
	tv.tv_sec = fwdconf_get(snap)->drain_timeout;
	fwdconf_unref(snap);
	m->drain_timer = evtimer_new(m->base, main_drain_timeout, m);
	if (m->drain_timer != NULL)
		evtimer_add(m->drain_timer, &tv);
	feed_stop_soon(m->feed);	/* its last poll ends during the drain */
	httpd_drain(m->httpd, main_drained, m);
}

static void
main_on_hup(evutil_socket_t sig, short ev, void *arg)
{
	struct main_state	*m = arg;
	struct fwdconf_snap	*snap, *old;
	char			*causes = NULL;
	enum log_level		 lvl;

	(void)sig;
	(void)ev;
	daemon_notify("RELOADING=1");
	if ((snap = fwdconf_load(m->path, m->overrides, &causes)) == NULL) {
		log_warnx("reload refused: %s", causes != NULL ? causes : "?");
		free(causes);
		daemon_notify("READY=1");
		return;
	}
	old = fwd_conf(m->fwd);
	if (conf_reload_check(fwdconf_table, fwdconf_get(old), fwdconf_get(snap), &causes) == -1) {
		log_warnx("reload refused: %s", causes != NULL ? causes : "?");
		free(causes);
		fwdconf_unref(snap);
		fwdconf_unref(old);
		daemon_notify("READY=1");
		return;
	}
	fwdconf_unref(old);
	/* Said before a new log_level may silence it. */
	log_info("configuration reloaded");
	if (log_level_parse(fwdconf_get(snap)->log_level, &lvl) == 0)
		log_set_level(lvl);
	fwd_set_conf(m->fwd, snap);
	daemon_notify("READY=1");
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

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "check", no_argument, NULL, 'C' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "show-config", no_argument, NULL, 'S' },
		{ "config-docs", no_argument, NULL, 'D' },
		{ "version", no_argument, NULL, 'V' },
		{ "tool-catalogue", no_argument, NULL, 'T' },
		{ "tools-docs", no_argument, NULL, 'W' },
		{ NULL, 0, NULL, 0 },
	};
	struct main_state	 m;
	struct fwdconf_snap	*snap;
	const struct fwdconf	*c;
	struct httpd_limits	 lim;
	struct event		*sig_term, *sig_int, *sig_hup, *janitor;
	struct timeval		 tick = { JANITOR_INTERVAL_S, 0 };
	struct err		 e;
	char			*causes = NULL;
	enum log_level		 lvl = LOG_LVL_INFO;
	int			 ch, check = 0, show = 0, noverrides = 0;

	memset(&m, 0, sizeof m);
	jsonx_init_wiping_alloc();
	log_init("tenantgate-forwarder", LOG_LVL_INFO);
	while ((ch = getopt_long(argc, argv, "c:f:o:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
		case 'f':
			m.path = optarg;
			break;
		case 'o':
			if (noverrides >= MAX_OVERRIDES) {
				fprintf(stderr, "too many -o options (max %d)\n", MAX_OVERRIDES);
				return 2;
			}
			m.overrides[noverrides++] = optarg;
			break;
		case 'C':
			check = 1;
			break;
		case 'S':
			show = 1;
			break;
		case 'D':
			conf_docs(fwdconf_table, "tenantgate-forwarder configuration", stdout);
			return 0;
		case 'W':
			builtin_docs(stdout);
			return 0;
		case 'T':
			return main_catalogue();
		case 'V':
			printf("tenantgate-forwarder %s\n", FRONT_VERSION);
			return 0;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fputs("usage: tenantgate-forwarder [-c file] [-o key=value]... "
			    "[--check-config] [--show-config] [--config-docs] [--help]\n", stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "unexpected argument: %s\n", argv[optind]);
		return 2;
	}
	m.overrides[noverrides] = NULL;

	if ((snap = fwdconf_load(m.path, m.overrides, &causes)) == NULL) {
		fprintf(stderr, "%s\n", causes != NULL ? causes : "cannot load the config");
		free(causes);
		return 2;
	}
	c = fwdconf_get(snap);
	if (show)
		conf_show(fwdconf_table, c, stdout);
	if (check || show) {
		if (check)
			printf("configuration ok\n");
		fwdconf_unref(snap);
		return 0;
	}
	if (log_level_parse(c->log_level, &lvl) == 0)
		log_set_level(lvl);

	signal(SIGPIPE, SIG_IGN);
	err_clear(&e);
	if ((m.base = daemon_base_new()) == NULL)
		fatalx("cannot create the event loop");
	if ((m.fwd = fwd_new(snap, &e)) == NULL)
		fatalx("%s", e.msg);
	if (broker_client_start(m.fwd->broker, m.base, c, &e) == -1)
		fatalx("%s", e.msg);
	memset(&lim, 0, sizeof lim);
	lim.max_header_bytes = c->max_header;
	lim.max_body_bytes = c->max_body;
	lim.max_connections = c->max_connections;
	lim.timeout_s = c->request_timeout;
	lim.workers = c->workers;
	lim.max_queue = c->max_queue;
	lim.coroutines = 1;
	lim.header_timeout_s = c->header_timeout;
	lim.body_timeout_s = c->body_timeout;
	lim.max_buffered_bytes = c->max_buffered;
	if ((m.httpd = httpd_new(m.base, &lim, front_routes, m.fwd, &e)) == NULL)
		fatalx("%s", e.msg);
	/* The change feed first: until it answers, caches are not trusted. */
	if ((m.feed = feed_start(m.fwd)) != NULL &&
	    feed_wait_current(m.feed, FEED_FIRST_WAIT_MS) == -1)
		log_warnx("the broker's change feed is not answering yet; every call asks the "
		    "broker until it does");
	if (audit_start(m.fwd, (size_t)c->audit_queue_max) == -1)
		fatalx("cannot start the audit flusher");
	for (size_t i = 0; c->listen[i] != NULL; i++) {
		if (httpd_listen(m.httpd, c->listen[i], &e) == -1) {
			log_errx("%s", e.msg);
			audit_stop();
			feed_stop(m.feed);
			httpd_free(m.httpd);
			fwd_free(m.fwd);
			event_base_free(m.base);
			return 1;
		}
		log_info("listening on %s", c->listen[i]);
	}
	sig_term = evsignal_new(m.base, SIGTERM, main_on_stop, &m);
	sig_int = evsignal_new(m.base, SIGINT, main_on_stop, &m);
	sig_hup = evsignal_new(m.base, SIGHUP, main_on_hup, &m);
	janitor = event_new(m.base, -1, EV_PERSIST, main_janitor, &m);
	if (sig_term == NULL || sig_int == NULL || sig_hup == NULL || janitor == NULL)
		fatalx("cannot set up signal handling");
	evsignal_add(sig_term, NULL);
	evsignal_add(sig_int, NULL);
	evsignal_add(sig_hup, NULL);
	evtimer_add(janitor, &tick);
	log_info("tenantgate-forwarder %s ready; broker %s", FRONT_VERSION, c->broker_url);
	daemon_notify("READY=1");

	event_base_dispatch(m.base);

	event_free(sig_term);
	event_free(sig_int);
	event_free(sig_hup);
	event_free(janitor);
	if (m.drain_timer != NULL)
		event_free(m.drain_timer);
	httpd_free(m.httpd);
	audit_stop();
	feed_stop(m.feed);
	fwd_free(m.fwd);
	event_base_free(m.base);
	log_info("stopped");
	return 0;
}
