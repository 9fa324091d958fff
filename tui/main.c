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

int
main(int argc, char *argv[])
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
	const char	*overrides[ADMIN_OVERRIDES_MAX + 1] = { NULL };
	char		*owned[ADMIN_OVERRIDES_MAX] = { NULL };
	const char	*cfg_path = NULL;
	struct admin	 a;
	char		*causes = NULL, *dsn;
	int		 ch, n = 0, json = 0, yes = 0, verbose = 0, rc;
	char		*help_argv[] = { "help", NULL };

	setlocale(LC_ALL, "");
	text_init();
	jsonx_init_wiping_alloc();
	log_init("tenantgate-admin", LOG_LVL_WARN);
	signal(SIGPIPE, SIG_IGN);

	/* '+': stop at the command, whose own options cmd.c parses. */
	while ((ch = getopt_long(argc, argv, "+c:d:o:jyvVh", longopts, NULL)) != -1) {
		if ((ch == 'd' || ch == 'o' || ch == 'C') && n == ADMIN_OVERRIDES_MAX) {
			fprintf(stderr, "tenantgate-admin: too many -o/-d options\n");
			return CMD_USAGE;
		}
		switch (ch) {
		case 'c': cfg_path = optarg; break;
		case 'd':
			/* The DSN may hold a password: the copy is wiped at exit. */
			if ((dsn = malloc(strlen(optarg) + sizeof "database_url=")) == NULL)
				return CMD_FAIL;
			sprintf(dsn, "database_url=%s", optarg);
			overrides[n] = owned[n] = dsn;
			n++;
			break;
		case 'o': overrides[n++] = optarg; break;
		case 'C': overrides[n++] = "color=false"; break;
		case 'j': json = 1; break;
		case 'y': yes = 1; break;
		case 'v': verbose = 1; break;
		case 'V': printf("tenantgate-admin %s\n", ADMIN_VERSION); return CMD_OK;
		case 'h':
			argc = 1;
			argv = help_argv;
			optind = 0;
			goto run;
		default:
			main_usage(stderr);
			return CMD_USAGE;
		}
	}
run:
	if (verbose)
		log_set_level(LOG_LVL_INFO);
	if (admin_init(&a, cfg_path, overrides, &causes) == -1) {
		fprintf(stderr, "tenantgate-admin: settings:\n%s\n", causes != NULL ? causes :
		    "cannot load");
		free(causes);
		admin_free(&a);
		rc = CMD_USAGE;
		goto out;
	}
	a.json = json;
	a.yes = yes;
	a.confirm = secretin_cli_confirm;
	a.ask_secret = secretin_cli_ask;
	if ((a.out = out_file(stdout, stderr)) == NULL) {
		admin_free(&a);
		rc = CMD_FAIL;
		goto out;
	}
	if (optind >= argc) {
		if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
			char *console_argv[] = { "console", NULL };

			rc = cmd_run(&a, 1, console_argv);
		} else {
			fprintf(stderr, "tenantgate-admin: no command given (and no terminal "
			    "for the console)\n");
			main_usage(stderr);
			rc = CMD_USAGE;
		}
	} else
		rc = cmd_run(&a, argc - optind, argv + optind);
	fflush(stdout);
	out_free(a.out);
	admin_free(&a);
out:
	for (int i = 0; i < n; i++)
		secret_free_str(owned[i]);
	return rc;
}
