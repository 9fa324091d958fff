/*
 * daemon: the start/stop sequence both daemons share (daemon.h), the
 * option table that drives getopt and --help, the HTTP front's start,
 * sd_notify(3) without libsystemd.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "conf_http.h"
#include "daemon.h"
#include "err.h"
#include "httpd.h"
#include "jsonx.h"
#include "log.h"

#define DAEMON_OVERRIDES_MAX	64
#define DAEMON_EXTRA_MAX	8
#define DAEMON_FLUSH_US		250000

enum { OPT_CHECK = 256, OPT_SHOW, OPT_DOCS, OPT_VERSION, OPT_EXTRA };

/* The options every daemon has: getopt's table and --help's lines. */
static const struct {
	const char	*name;
	int		 ch, arg;
	const char	*flag;	/* as --help shows it */
	const char	*help;
} daemon_common_opts[] = {
	{ "config", 'c', required_argument, "-c, --config FILE",
	  "read `key = value` lines from FILE (-f is the same)" },
	{ "file", 'f', required_argument, NULL, NULL },
	{ NULL, 'o', required_argument, "-o KEY=VALUE",
	  "set one key (after the file; repeatable)" },
	{ "check-config", OPT_CHECK, no_argument, "    --check-config",
	  "load the config, report every problem, exit 0 or 2 (--check is the same)" },
	{ "check", OPT_CHECK, no_argument, NULL, NULL },
	{ "show-config", OPT_SHOW, no_argument, "    --show-config",
	  "print the effective config (secrets as ***), exit" },
	{ "config-docs", OPT_DOCS, no_argument, "    --config-docs",
	  "print the config reference (Markdown), exit" },
	{ "version", OPT_VERSION, no_argument, "    --version", "print the version" },
	{ "help", 'h', no_argument, "-h, --help", "this text" },
};
#define DAEMON_NOPTS	(sizeof daemon_common_opts / sizeof daemon_common_opts[0])

struct daemon_run {
	struct daemon		 d;
	void			*snap;
	struct event		*drain_timer;
	const char		*overrides[DAEMON_OVERRIDES_MAX + 1];
	int			 check, show;
};

static void
daemon_usage(const struct daemon_def *def, FILE *f)
{
	fprintf(f, "usage: %s [-c file] [-o key=value]... [--check-config] [--show-config]\n"
	    "       [--config-docs]", def->name);
	for (const struct daemon_opt *o = def->opts; o != NULL && o->name != NULL; o++)
		fprintf(f, " [--%s]", o->name);
	fprintf(f, " [--version] [--help]\n");
}

static void
daemon_help(const struct daemon_def *def)
{
	char flag[64];

	daemon_usage(def, stdout);
	fputs(def->synopsis, stdout);
	fputs("\nOPTIONS\n", stdout);
	for (size_t i = 0; i < DAEMON_NOPTS; i++) {
		if (daemon_common_opts[i].help != NULL)
			printf("     %-22s %s\n", daemon_common_opts[i].flag,
			    daemon_common_opts[i].help);
		if (daemon_common_opts[i].ch != OPT_DOCS)
			continue;
		for (const struct daemon_opt *o = def->opts; o != NULL && o->name != NULL; o++) {
			snprintf(flag, sizeof flag, "    --%s", o->name);
			printf("     %-22s %s\n", flag, o->help);
		}
	}
	if (def->config != NULL)
		printf("\n     The default config file is %s.\n", def->config);
	fputs(def->more, stdout);
}

/* getopt_long() over the table: -1 = go on, else the exit status. */
static int
daemon_options(const struct daemon_def *def, struct daemon_run *r, int argc, char *argv[])
{
	struct option	 longopts[DAEMON_NOPTS + DAEMON_EXTRA_MAX + 1];
	size_t		 n = 0, nextra = 0;
	int		 ch, nover = 0;

	memset(longopts, 0, sizeof longopts);
	for (size_t i = 0; i < DAEMON_NOPTS; i++)
		if (daemon_common_opts[i].name != NULL)
			longopts[n++] = (struct option){ daemon_common_opts[i].name,
			    daemon_common_opts[i].arg, NULL, daemon_common_opts[i].ch };
	for (const struct daemon_opt *o = def->opts; o != NULL && o->name != NULL &&
	    nextra < DAEMON_EXTRA_MAX; o++, nextra++)
		longopts[n++] = (struct option){ o->name, no_argument, NULL,
		    OPT_EXTRA + (int)nextra };
	r->d.cfg_path = def->config;
	while ((ch = getopt_long(argc, argv, "c:f:o:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': case 'f': r->d.cfg_path = optarg; break;
		case 'o':
			if (nover == DAEMON_OVERRIDES_MAX) {
				fprintf(stderr, "%s: too many -o options (max %d)\n", def->name,
				    DAEMON_OVERRIDES_MAX);
				return 2;
			}
			r->overrides[nover++] = optarg;
			break;
		case OPT_CHECK: r->check = 1; break;
		case OPT_SHOW: r->show = 1; break;
		case OPT_DOCS: {
			char title[128];

			snprintf(title, sizeof title, "%s configuration", def->name);
			conf_render_docs(def->table, title, stdout);
			return 0;
		}
		case OPT_VERSION: printf("%s %s\n", def->name, def->version); return 0;
		case 'h': daemon_help(def); return 0;
		default:
			if (ch >= OPT_EXTRA && ch < OPT_EXTRA + (int)nextra)
				return def->opts[ch - OPT_EXTRA].run();
			daemon_usage(def, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", def->name, argv[optind]);
		daemon_usage(def, stderr);
		return 2;
	}
	r->d.overrides = r->overrides;
	return -1;
}

static void
daemon_set_level(const struct daemon_def *def, const void *snap)
{
	const struct conf_http	*h = def->cfg(snap);	/* CONF_HTTP_MEMBER comes first */
	enum log_level		 lvl;

	if (log_level_parse(h->log_level, &lvl) == 0)
		log_set_level(lvl);
}

/* Each cause on its own line: a reload refused says everything at once. */
static void
daemon_log_causes(const char *causes)
{
	const char	*p = causes != NULL ? causes : "?";
	size_t		 n;

	for (int i = 0; *p != '\0' && i < 1000; i++) {
		n = strcspn(p, "\n");
		log_warnx("reload refused: %.*s", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

void
daemon_reload(struct daemon *d)
{
	const struct daemon_def	*def = d->def;
	void			*next;
	char			*causes = NULL;

	daemon_notify("RELOADING=1");
	log_notice("SIGHUP: reloading %s", d->cfg_path != NULL ? d->cfg_path : "-o");
	if ((next = def->build(d, &causes)) == NULL) {
		daemon_log_causes(causes);
		log_warnx("reload refused: still running the old configuration");
		free(causes);
	} else {
		/* Said before a new log_level may silence it. */
		log_notice("reload done: configuration reloaded");
		daemon_set_level(def, next);
		def->reload(d, next);
	}
	daemon_notify("READY=1");
}

static void
daemon_drained(void *arg)
{
	struct daemon_run	*r = arg;
	struct timeval		 flush = { 0, DAEMON_FLUSH_US };

	/* The last replies are queued, not yet written: let the loop run a
	 * little longer to send them before it stops. */
	log_notice("all requests answered; exiting");
	event_base_loopexit(r->d.base, &flush);
}

static void
daemon_drain_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct daemon_run *r = arg;

	(void)fd;
	(void)ev;
	log_warnx("drain_timeout reached with requests in flight; exiting anyway");
	event_base_loopbreak(r->d.base);
}

static void
daemon_signal(evutil_socket_t sig, short ev, void *arg)
{
	struct daemon_run	*r = arg;
	struct timeval		 tv = { 0, 0 };

	(void)ev;
	if (sig == SIGHUP) {
		if (r->d.def->hup != NULL)
			r->d.def->hup(&r->d);
		else
			daemon_reload(&r->d);
		return;
	}
	if (r->d.stopping++) {
		log_warnx("second stop signal: exiting now");
		event_base_loopbreak(r->d.base);
		return;
	}
	log_notice("signal %d: draining", (int)sig);
	daemon_notify("STOPPING=1");
	if ((tv.tv_sec = r->d.def->drain(&r->d)) >= 0 &&
	    (r->drain_timer = evtimer_new(r->d.base, daemon_drain_timeout, r)) != NULL)
		evtimer_add(r->drain_timer, &tv);
	httpd_drain(r->d.httpd, daemon_drained, r);
}

/* Start, run until drained, stop: the one teardown path. */
static int
daemon_run_loop(struct daemon_run *r)
{
	static const int	 signums[] = { SIGHUP, SIGTERM, SIGINT };
	struct event		*sigs[3] = { NULL, NULL, NULL };
	struct err		 e;
	int			 rc = 1;

	signal(SIGPIPE, SIG_IGN);
	err_clear(&e);
	if ((r->d.base = daemon_base_new()) == NULL)
		fatalx("cannot create the event loop");
	r->d.running = 1;
	if (r->d.def->start(&r->d, r->snap, &e) == -1) {
		log_errx("%s", e.msg);
		goto out;
	}
	for (size_t i = 0; i < 3; i++) {
		if ((sigs[i] = evsignal_new(r->d.base, signums[i], daemon_signal, r)) == NULL)
			fatalx("cannot set up signal handling");
		evsignal_add(sigs[i], NULL);
	}
	log_notice("%s %s started", r->d.def->name, r->d.def->version);
	rc = event_base_dispatch(r->d.base) == -1;
out:
	for (size_t i = 0; i < 3; i++)
		if (sigs[i] != NULL)
			event_free(sigs[i]);
	if (r->drain_timer != NULL)
		event_free(r->drain_timer);
	r->d.def->stop(&r->d);
	event_base_free(r->d.base);
	log_notice("stopped");
	return rc;
}

int
daemon_main(const struct daemon_def *def, void *app, int argc, char *argv[])
{
	static struct daemon_run	 r;
	char				*causes = NULL;
	int				 rc;

	memset(&r, 0, sizeof r);
	r.d.def = def;
	r.d.app = app;
	if ((rc = daemon_options(def, &r, argc, argv)) != -1)
		return rc;
	jsonx_init_wiping_alloc();
	log_init(def->name, LOG_LVL_INFO);
	if ((r.snap = def->build(&r.d, &causes)) == NULL) {
		fprintf(stderr, "%s\n", causes != NULL ? causes : "configuration error");
		free(causes);
		return 2;
	}
	daemon_set_level(def, r.snap);
	if (r.show)
		conf_render_show(def->table, def->cfg(r.snap), stdout);
	if (r.check)
		printf("%s: configuration OK\n", r.d.cfg_path != NULL ? r.d.cfg_path : "-o");
	if (r.check || r.show) {
		def->unref(r.snap);
		return 0;
	}
	return daemon_run_loop(&r);
}

int
daemon_serve(struct daemon *d, const struct httpd_limits *lim,
    const struct httpd_route *routes, void *arg, char *const *listen,
    const char *cert, const char *key, struct err *e)
{
	if ((d->httpd = httpd_new(d->base, lim, routes, arg, e)) == NULL)
		return -1;
	if ((cert == NULL) != (key == NULL))
		return err_set(e, 500, "bad_config", "tls_cert_file and tls_key_file go together");
	if (cert != NULL && httpd_use_tls(d->httpd, cert, key, e) == -1)
		return -1;
	for (; listen != NULL && *listen != NULL; listen++) {
		if (httpd_listen(d->httpd, *listen, e) == -1)
			return -1;
		log_notice("listening on %s", *listen);
	}
	return 0;
}

struct event_base *
daemon_base_new(void)
{
	if (evthread_use_pthreads() != 0)
		fatalx("libevent was built without pthreads support");
	return event_base_new();
}

void
daemon_notify(const char *state)
{
	const char		*path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un	 sun;
	socklen_t		 len;
	int			 fd;

	if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof sun.sun_path)
		return;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (sun.sun_path[0] == '@')	/* abstract namespace */
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sun, len) == -1)
		log_warn("sd_notify %s", state);
	close(fd);
}
