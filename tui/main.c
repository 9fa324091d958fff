/*
 * tenantgate-admin: the operators' console and CLI. Global options, the
 * settings, then either the console or one command from the table
 * (cmd.c). Everything an operation does lives in its own file; this one
 * only wires them up.
 */
#include <getopt.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "cmd.h"
#include "jsonx.h"
#include "log.h"
#include "out.h"
#include "secret.h"
#include "secretin.h"
#include "text.h"

#define ADMIN_VERSION		"0.1.0"
#define ADMIN_OVERRIDES_MAX	32

static void
main_usage(FILE *f)
{
	fprintf(f, "usage: tenantgate-admin [options] [command [args]]\n"
	    "run 'tenantgate-admin help' for the commands\n");
}

/* The global options, before the command. */
struct main_opts {
	const char	*cfg_path;
	const char	*overrides[ADMIN_OVERRIDES_MAX + 1];
	char		*owned[ADMIN_OVERRIDES_MAX];	/* -d copies, wiped */
	int		 n, json, yes, verbose, help;
};

/* -1 to go on, or the exit status. optind is left at the command. */
static int
main_options(struct main_opts *o, int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "yes", no_argument, NULL, 'y' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "no-color", no_argument, NULL, 'C' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char	*dsn;
	int	 ch;

	/* '+': stop at the command, whose own options cmd.c parses. */
	while ((ch = getopt_long(argc, argv, "+c:d:o:jyvVh", longopts, NULL)) != -1) {
		if ((ch == 'd' || ch == 'o' || ch == 'C') && o->n == ADMIN_OVERRIDES_MAX) {
			fprintf(stderr, "tenantgate-admin: too many -o/-d options\n");
			return CMD_USAGE;
		}
		switch (ch) {
		case 'c': o->cfg_path = optarg; break;
		case 'd':
			/* The DSN may hold a password: the copy is wiped at exit. */
			if ((dsn = malloc(strlen(optarg) + sizeof "database_url=")) == NULL)
				return CMD_FAIL;
			sprintf(dsn, "database_url=%s", optarg);
			o->overrides[o->n] = o->owned[o->n] = dsn;
			o->n++;
			break;
		case 'o': o->overrides[o->n++] = optarg; break;
		case 'C': o->overrides[o->n++] = "color=false"; break;
		case 'j': o->json = 1; break;
		case 'y': o->yes = 1; break;
		case 'v': o->verbose = 1; break;
		case 'V': printf("tenantgate-admin %s\n", ADMIN_VERSION); return CMD_OK;
		case 'h': o->help = 1; return -1;
		default:
			main_usage(stderr);
			return CMD_USAGE;
		}
	}
	return -1;
}

/* The settings and the CLI's input and output: 0, or the exit status. */
static int
main_admin(struct admin *a, const struct main_opts *o)
{
	char *causes = NULL;

	if (admin_init(a, o->cfg_path, o->overrides, &causes) == -1) {
		fprintf(stderr, "tenantgate-admin: settings:\n%s\n", causes != NULL ? causes :
		    "cannot load");
		free(causes);
		admin_free(a);
		return CMD_USAGE;
	}
	a->json = o->json;
	a->yes = o->yes;
	a->confirm = secretin_cli_confirm;
	a->ask_secret = secretin_cli_ask;
	if ((a->out = out_file(stdout, stderr)) == NULL) {
		admin_free(a);
		return CMD_FAIL;
	}
	return 0;
}

/* No command: the console on a terminal, else a usage error. */
static int
main_command(struct admin *a, int argc, char *argv[])
{
	char *console_argv[] = { "console", NULL };

	if (argc > 0)
		return cmd_run(a, argc, argv);
	if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))
		return cmd_run(a, 1, console_argv);
	fprintf(stderr, "tenantgate-admin: no command given (and no terminal for the "
	    "console)\n");
	main_usage(stderr);
	return CMD_USAGE;
}

int
main(int argc, char *argv[])
{
	static struct main_opts	 o;
	char			*help_argv[] = { "help", NULL };
	struct admin		 a;
	int			 rc;

	setlocale(LC_ALL, "");
	text_init();
	jsonx_init_wiping_alloc();
	log_init("tenantgate-admin", LOG_LVL_WARN);
	signal(SIGPIPE, SIG_IGN);
	if ((rc = main_options(&o, argc, argv)) == -1) {
		if (o.verbose)
			log_set_level(LOG_LVL_INFO);
		if ((rc = main_admin(&a, &o)) == 0) {
			rc = o.help ? cmd_run(&a, 1, help_argv) :
			    main_command(&a, argc - optind, argv + optind);
			fflush(stdout);
			out_free(a.out);
			admin_free(&a);
		}
	}
	for (int i = 0; i < o.n; i++)
		secret_free_str(o.owned[i]);
	return rc;
}
