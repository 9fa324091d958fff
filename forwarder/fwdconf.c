/*
 * fwdconf: the forwarder's config table and its refcounted snapshots.
 * Validation that spans keys (broker identity file) lives here too, so
 * --check, start-up and SIGHUP all refuse the same bad configs.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwdconf.h"
#include "oauth_meta.h"

#define CONF_STRUCT	struct fwdconf
#define NR	CONF_NO_RELOAD

const struct conf_entry fwdconf_table[] = {
#include "fwdconf.def"
	CONF_END
};

struct fwdconf_snap {
	struct fwdconf	c;
	atomic_int	refs;
};

/* Checks that span keys, every one: each failure names the line of the
 * key it is about, as the parser's own errors do. */
static void
fwdconf_check(const struct fwdconf *c, struct conf_load *l)
{
	const char *msg;

	if (c->broker_url != NULL && strncmp(c->broker_url, "http://", 7) != 0 &&
	    strncmp(c->broker_url, "https://", 8) != 0)
		conf_load_cause(l, "broker_url", "broker_url must start with http:// or https://");
	if (c->broker_secret_file != NULL && c->broker_sa_token_file != NULL)
		conf_load_cause(l, "broker_sa_token_file",
		    "set only one of broker_secret_file and broker_sa_token_file");
	if (c->broker_secret_file == NULL && c->broker_sa_token_file == NULL)
		conf_load_cause(l, NULL, "set broker_secret_file or broker_sa_token_file: the "
		    "broker only answers callers that identify themselves");
	if (c->listen == NULL || c->listen[0] == NULL)
		conf_load_cause(l, "listen", "listen must name at least one address");
	if ((msg = oauth_meta_check(c)) != NULL)
		conf_load_cause(l, "resource_url", "%s", msg);
}

struct fwdconf_snap *
fwdconf_load(const char *path, const char *const *overrides, char **causes)
{
	struct fwdconf_snap	*s;
	struct conf_load	 l;

	if (causes != NULL)
		*causes = NULL;
	if ((s = calloc(1, sizeof *s)) == NULL) {
		if (causes != NULL)
			*causes = strdup("out of memory");
		return NULL;
	}
	/* Cross-key checks run even after a parse error: all at once. */
	(void)conf_load_begin(&l, fwdconf_table, &s->c, path, overrides);
	fwdconf_check(&s->c, &l);
	if (conf_load_end(&l, causes) == -1) {
		conf_free(fwdconf_table, &s->c);
		free(s);
		return NULL;
	}
	atomic_init(&s->refs, 1);
	return s;
}

const struct fwdconf *
fwdconf_get(const struct fwdconf_snap *s)
{
	return &s->c;
}

struct fwdconf_snap *
fwdconf_ref(struct fwdconf_snap *s)
{
	atomic_fetch_add(&s->refs, 1);
	return s;
}

void
fwdconf_unref(struct fwdconf_snap *s)
{
	if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	conf_free(fwdconf_table, &s->c);
	free(s);
}
