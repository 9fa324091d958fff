/*
 * daemon: the one start/stop sequence both daemons run. The daemon gives
 * a table (struct daemon_def): its config table, its check-and-build
 * function and its start/drain/stop steps; daemon_main() does the rest:
 * options (from the option table below, which also writes --help), the
 * config (the same build for --check-config, start-up and SIGHUP), the
 * event loop, signals (drain on TERM/INT, reload on HUP), sd_notify(3)
 * and one teardown path.
 */
#ifndef TG_DAEMON_H
#define TG_DAEMON_H

#include "conf.h"

struct event_base;
struct httpd;
struct httpd_limits;
struct httpd_route;
struct err;

/* A print-and-exit option of one daemon (--tool-catalogue). */
struct daemon_opt {
	const char	*name;
	const char	*help;
	int		(*run)(void);	/* the exit status */
};

struct daemon;

struct daemon_def {
	const char		*name;		/* "tenantgate-broker" */
	const char		*version;	/* what --version prints */
	const char		*config;	/* -c default; NULL = none */
	const char		*synopsis;	/* --help: before the options */
	const char		*more;		/* --help: after the options */
	const struct daemon_opt	*opts;		/* more options; ends with name NULL */
	const struct conf_entry	*table;

	/*
	 * Check and build a snapshot from d->cfg_path and d->overrides:
	 * every error in *causes as "file:line: what is wrong" (caller
	 * frees). With d->running (SIGHUP) keys that cannot change are
	 * checked against the running config. Nothing is installed here.
	 */
	void		*(*build)(struct daemon *, char **causes);
	const void	*(*cfg)(const void *snap);	/* the loaded table struct */
	void		 (*unref)(void *snap);
	/* Install snap (taken) and start the rest: 0, or -1 with e set. */
	int		 (*start)(struct daemon *, void *snap, struct err *e);
	/* Install a built snapshot (taken), the old one goes when unused. */
	void		 (*reload)(struct daemon *, void *snap);
	/*
	 * SIGHUP, when building must not run on the loop (the broker's build
	 * reads Vault): hand the work to a thread that calls daemon_reload().
	 * NULL: daemon_reload() runs on the loop (the forwarder reads files).
	 */
	void		 (*hup)(struct daemon *);
	/* TERM/INT: stop feeding new work; the drain limit in seconds or -1. */
	int		 (*drain)(struct daemon *);
	/* Free what start() made, in reverse order; copes with a part. */
	void		 (*stop)(struct daemon *);
};

struct daemon {
	const struct daemon_def	*def;
	const char		*cfg_path;
	const char *const	*overrides;
	struct event_base	*base;
	struct httpd		*httpd;
	void			*app;		/* the daemon's own state */
	int			 running;	/* start() has run: build() reloads */
	int			 stopping;
};

/* Options, config, loop, signals, teardown: main() in one call. */
int	daemon_main(const struct daemon_def *, void *app, int argc, char *argv[]);
/* Build, and install or refuse with every cause logged: what SIGHUP does.
 * Safe on any thread when build() and reload() are. */
void	daemon_reload(struct daemon *);
/* httpd_new() with these limits, TLS when cert is set, listen on each. */
int	daemon_serve(struct daemon *, const struct httpd_limits *,
	    const struct httpd_route *, void *arg, char *const *listen,
	    const char *cert, const char *key, struct err *);
/* evthread_use_pthreads() + event_base_new(): workers wake the loop. */
struct event_base	*daemon_base_new(void);
/* Send "READY=1", "STOPPING=1", "RELOADING=1", "STATUS=..." to systemd
 * when NOTIFY_SOCKET is set; a no-op otherwise. */
void			 daemon_notify(const char *state);

#endif
