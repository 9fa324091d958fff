/*
 * conf: the table-driven config reader. This file owns parsing of the
 * `key = value` format, value conversion and validation per type, the
 * collection of every error with its file:line, the reload rule
 * (NO_RELOAD), and the two renderings of a table: --show-config and the
 * markdown reference in docs/. Nothing here knows any particular key.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "conf_impl.h"
#include "secret.h"

#define CONF_LINE_MAX	65536	/* longer lines are refused, not truncated */
#define CONF_LINES_MAX	100000	/* bounds the read loop */
#define CONF_ECHO_MAX	64	/* how much of a bad value an error repeats */

static void
conf_cause_addv(struct conf_causes *c, const char *fmt, va_list ap)
{
	char	 line[1024];
	size_t	 l;
	char	*nb;

	vsnprintf(line, sizeof line, fmt, ap);
	l = strlen(line);
	c->n++;		/* counted even if it cannot be kept: the call fails */
	nb = realloc(c->buf, c->len + l + 2);
	if (nb == NULL)
		return;
	c->buf = nb;
	if (c->len > 0)
		c->buf[c->len++] = '\n';
	memcpy(c->buf + c->len, line, l + 1);
	c->len += l;
}

void
conf_cause_add(struct conf_causes *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conf_cause_addv(c, fmt, ap);
	va_end(ap);
}

int
conf_causes_finish(struct conf_causes *c, char **out)
{
	if (out != NULL)
		*out = c->buf;
	else
		free(c->buf);
	c->buf = NULL;
	return c->n > 0 ? -1 : 0;
}

static size_t
conf_count(const struct conf_entry *t)
{
	size_t n = 0;

	while (t[n].name != NULL)
		n++;
	return n;
}

const struct conf_entry *
conf_find(const struct conf_entry *t, const char *key)
{
	for (; t->name != NULL; t++)
		if (strcmp(t->name, key) == 0)
			return t;
	return NULL;
}

/* Optimal string alignment distance, so a swapped pair costs one edit. */
static size_t
conf_distance(const char *a, const char *b)
{
	size_t	la = strlen(a), lb = strlen(b);
	size_t	d[65][65];

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = tolower((unsigned char)a[i - 1]) ==
			    tolower((unsigned char)b[j - 1]) ? 0 : 1;
			size_t v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

static void
conf_unknown(const struct conf_entry *t, const char *key, char *msg, size_t sz)
{
	const char	*best = NULL;
	size_t		 bestd = SIZE_MAX, len = strlen(key), limit;

	limit = len <= 4 ? 1 : len <= 8 ? 2 : 3;
	for (; t->name != NULL; t++) {
		size_t d = conf_distance(key, t->name);
		if (d < bestd) {
			bestd = d;
			best = t->name;
		}
	}
	if (best != NULL && bestd <= limit)
		snprintf(msg, sz, "unknown key '%.*s' (did you mean '%s'?)",
		    CONF_ECHO_MAX, key, best);
	else
		snprintf(msg, sz, "unknown key '%.*s'", CONF_ECHO_MAX, key);
}

/* Free one field's heap value; secrets are wiped first. */
static void
conf_release(const struct conf_entry *e, void *dst)
{
	switch (e->type) {
	case CONF_STR:
	case CONF_PATH:
	case CONF_ENUM: {
		char **p = FIELD(dst, e, char *);
		if (*p != NULL) {
			if (e->flags & CONF_SECRET)
				secret_free_str(*p);
			else
				free(*p);
		}
		*p = NULL;
		break;
	}
	case CONF_LIST: {
		char ***p = FIELD(dst, e, char **);
		if (*p != NULL) {
			for (char **it = *p; *it != NULL; it++) {
				if (e->flags & CONF_SECRET)
					secret_free_str(*it);
				else
					free(*it);
			}
			free(*p);
		}
		*p = NULL;
		break;
	}
	default:
		break;
	}
}

static int
conf_parse_ll(const char *s, long long *out)
{
	char		*end;
	long long	 v;

	if (*s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* Unsigned digits then a suffix from `units`; -1 on syntax or overflow. */
struct conf_unit {
	const char		*suffix;
	unsigned long long	 mult;
};

static const struct conf_unit conf_duration_units[] = {
	{ "", 1 }, { "s", 1 }, { "m", 60 }, { "h", 3600 }, { "d", 86400 },
	{ NULL, 0 }
};

static const struct conf_unit conf_size_units[] = {
	{ "", 1 }, { "b", 1 },
	{ "k", 1ULL << 10 }, { "kb", 1ULL << 10 }, { "kib", 1ULL << 10 },
	{ "m", 1ULL << 20 }, { "mb", 1ULL << 20 }, { "mib", 1ULL << 20 },
	{ "g", 1ULL << 30 }, { "gb", 1ULL << 30 }, { "gib", 1ULL << 30 },
	{ NULL, 0 }
};

static int
conf_parse_unit(const char *s, const struct conf_unit *units,
    unsigned long long *out)
{
	unsigned long long	 v = 0;
	const char		*p = s;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (ULLONG_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	while (*p == ' ')
		p++;
	for (; units->suffix != NULL; units++) {
		if (strcasecmp(p, units->suffix) == 0) {
			if (units->mult != 0 && v > ULLONG_MAX / units->mult)
				return -1;
			*out = v * units->mult;
			return 0;
		}
	}
	return -1;
}

static int
conf_bool(const char *s, int *out)
{
	static const char *yes[] = { "true", "yes", "on", "1" };
	static const char *no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return *out = 1, 0;
		if (strcasecmp(s, no[i]) == 0)
			return *out = 0, 0;
	}
	return -1;
}

/* Is s one of the '|'-separated words of choices? */
static int
conf_choice(const char *choices, const char *s)
{
	size_t		 l = strlen(s);
	const char	*p = choices;

	while (p != NULL && *p != '\0') {
		const char *bar = strchr(p, '|');
		size_t n = bar != NULL ? (size_t)(bar - p) : strlen(p);
		if (n == l && strncmp(p, s, l) == 0)
			return 1;
		p = bar != NULL ? bar + 1 : NULL;
	}
	return 0;
}

/* "a|b|c" -> "a, b, c" */
void
conf_choices_text(const char *choices, char *buf, size_t sz)
{
	size_t	o = 0;

	buf[0] = '\0';
	for (const char *p = choices; p != NULL && *p != '\0' && o + 3 < sz; p++) {
		if (*p == '|') {
			buf[o++] = ',';
			buf[o++] = ' ';
		} else
			buf[o++] = *p;
	}
	buf[o] = '\0';
}

/* Effective bounds of a numeric row. */
void
conf_bounds(const struct conf_entry *e, long long *lo, long long *hi)
{
	if (e->min != 0 || e->max != 0) {
		*lo = e->min;
		*hi = e->max;
	} else if (e->type == CONF_INT) {
		*lo = INT_MIN;
		*hi = INT_MAX;
	} else if (e->type == CONF_DURATION) {
		*lo = 0;
		*hi = INT_MAX;
	} else {
		*lo = 0;
		*hi = LLONG_MAX;
	}
	if (e->type == CONF_INT || e->type == CONF_DURATION) {
		if (*lo < INT_MIN)
			*lo = INT_MIN;
		if (*hi > INT_MAX)
			*hi = INT_MAX;
	}
	if (e->type == CONF_SIZE && (unsigned long long)*hi > SIZE_MAX)
		*hi = (long long)(SIZE_MAX > LLONG_MAX ? LLONG_MAX : SIZE_MAX);
}

/* Split a comma-separated list into a fresh NULL-terminated array. */
static char **
conf_split(const char *s)
{
	size_t		 n = 1, i = 0;
	char		**v;
	const char	*p;

	for (p = s; *p != '\0'; p++)
		if (*p == ',')
			n++;
	if ((v = calloc(n + 1, sizeof *v)) == NULL)
		return NULL;
	for (p = s; ; ) {
		const char *comma = strchr(p, ',');
		const char *end = comma != NULL ? comma : p + strlen(p);
		const char *b = p;
		while (b < end && isspace((unsigned char)*b))
			b++;
		while (end > b && isspace((unsigned char)end[-1]))
			end--;
		if (end > b) {
			if ((v[i] = strndup(b, (size_t)(end - b))) == NULL) {
				for (size_t k = 0; k < i; k++)
					free(v[k]);
				free(v);
				return NULL;
			}
			i++;
		}
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	v[i] = NULL;
	return v;
}

/* A number with a unit (durations, sizes) within the row's bounds; the
 * messages name what was expected, in the unit the bounds are in. */
static int
conf_assign_unit(const struct conf_entry *e, const char *value, const struct conf_unit *units,
    const char *what, const char *unit, const char *got, unsigned long long *u,
    char *msg, size_t sz)
{
	long long lo, hi;

	conf_bounds(e, &lo, &hi);
	if (conf_parse_unit(value, units, u) == -1) {
		snprintf(msg, sz, "'%s' must be %s%s", e->name, what, got);
		return -1;
	}
	if (*u > (unsigned long long)hi || (long long)*u < lo) {
		snprintf(msg, sz, "'%s' must be between %lld and %lld %s%s", e->name, lo, hi,
		    unit, got);
		return -1;
	}
	return 0;
}

/*
 * Convert value for row e and store it in dst, replacing (and freeing) the
 * old value. On error, msg says why and dst is unchanged. A secret's value
 * is never repeated in msg.
 */
static int
conf_assign(const struct conf_entry *e, void *dst, const char *value,
    char *msg, size_t sz)
{
	char			 got[CONF_ECHO_MAX + 16] = "";
	long long		 lo, hi, v;
	unsigned long long	 u;
	int			 b;

	if (!(e->flags & CONF_SECRET))
		snprintf(got, sizeof got, " (got '%.*s')", CONF_ECHO_MAX, value);
	for (const char *p = value; *p != '\0'; p++) {
		if (iscntrl((unsigned char)*p) && *p != '\t') {
			snprintf(msg, sz, "'%s' must not contain control "
			    "characters", e->name);
			return -1;
		}
	}
	conf_bounds(e, &lo, &hi);

	switch (e->type) {
	case CONF_STR:
	case CONF_PATH:
	case CONF_ENUM: {
		char *s = NULL;
		if (e->type == CONF_ENUM && !conf_choice(e->choices, value)) {
			char list[256];
			conf_choices_text(e->choices, list, sizeof list);
			snprintf(msg, sz, "'%s' must be one of: %s%s", e->name,
			    list, got);
			return -1;
		}
		if (*value != '\0' && (s = strdup(value)) == NULL) {
			snprintf(msg, sz, "'%s': out of memory", e->name);
			return -1;
		}
		conf_release(e, dst);
		*FIELD(dst, e, char *) = s;
		return 0;
	}
	case CONF_INT:
		if (conf_parse_ll(value, &v) == -1) {
			snprintf(msg, sz, "'%s' must be an integer%s", e->name,
			    got);
			return -1;
		}
		if (v < lo || v > hi) {
			snprintf(msg, sz, "'%s' must be between %lld and %lld%s",
			    e->name, lo, hi, got);
			return -1;
		}
		*FIELD(dst, e, int) = (int)v;
		return 0;
	case CONF_BOOL:
		if (conf_bool(value, &b) == -1) {
			snprintf(msg, sz, "'%s' must be a boolean (true/false, "
			    "yes/no, on/off, 1/0)%s", e->name, got);
			return -1;
		}
		*FIELD(dst, e, int) = b;
		return 0;
	case CONF_DURATION:
		if (conf_assign_unit(e, value, conf_duration_units, "a duration such as 30s, "
		    "5m, 2h, 1d or a number of seconds", "seconds", got, &u, msg, sz) == -1)
			return -1;
		*FIELD(dst, e, int) = (int)u;
		return 0;
	case CONF_SIZE:
		if (conf_assign_unit(e, value, conf_size_units, "a size such as 4096, 64k, 1MiB",
		    "bytes", got, &u, msg, sz) == -1)
			return -1;
		*FIELD(dst, e, size_t) = (size_t)u;
		return 0;
	case CONF_LIST: {
		char **l = NULL;
		if (*value != '\0' && (l = conf_split(value)) == NULL) {
			snprintf(msg, sz, "'%s': out of memory", e->name);
			return -1;
		}
		conf_release(e, dst);
		*FIELD(dst, e, char **) = l;
		return 0;
	}
	}
	snprintf(msg, sz, "'%s': bad table row", e->name);
	return -1;
}

int
conf_set_defaults(const struct conf_entry *t, void *dst, char **causes)
{
	struct conf_causes	c = { NULL, 0, 0 };
	char		msg[512];

	for (const struct conf_entry *e = t; e->name != NULL; e++) {
		/* dst may be uninitialised: clear without freeing. */
		switch (e->type) {
		case CONF_STR: case CONF_PATH: case CONF_ENUM:
			*FIELD(dst, e, char *) = NULL;
			break;
		case CONF_LIST:
			*FIELD(dst, e, char **) = NULL;
			break;
		case CONF_SIZE:
			*FIELD(dst, e, size_t) = 0;
			break;
		default:
			*FIELD(dst, e, int) = 0;
			break;
		}
		if (e->defval != NULL &&
		    conf_assign(e, dst, e->defval, msg, sizeof msg) == -1)
			conf_cause_add(&c, "default: %s", msg);
	}
	return conf_causes_finish(&c, causes);
}

/* Trim in place; returns the start. */
static char *
conf_trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/*
 * Turn the text after '=' into the value, in place. Quoted values may
 * carry \" and \\ and be followed by a comment.
 */
static int
conf_unquote(char *s, char **out, char *msg, size_t sz)
{
	char *r, *w;

	s = conf_trim(s);
	if (*s != '"') {
		*out = s;
		return 0;
	}
	for (r = s + 1, w = s; *r != '\0' && *r != '"'; r++) {
		if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
			r++;
		*w++ = *r;
	}
	if (*r != '"') {
		snprintf(msg, sz, "missing closing quote");
		return -1;
	}
	*w = '\0';
	for (r++; isspace((unsigned char)*r); r++)
		;
	if (*r != '\0' && *r != '#') {
		snprintf(msg, sz, "unexpected text after closing quote");
		return -1;
	}
	*out = s;
	return 0;
}

static void
conf_read_file(const struct conf_entry *t, void *dst, const char *path,
    int *seen, struct conf_causes *c)
{
	FILE	*f;
	char	*line = NULL, *key, *val, *eq, msg[512];
	size_t	 cap = 0;
	ssize_t	 len;
	int	 lineno = 0;

	if ((f = fopen(path, "r")) == NULL) {
		conf_cause_add(c, "%s: cannot open: %s", path, strerror(errno));
		return;
	}
	while ((len = getline(&line, &cap, f)) != -1) {
		const struct conf_entry *e;

		if (++lineno > CONF_LINES_MAX) {
			conf_cause_add(c, "%s:%d: too many lines", path, lineno);
			break;
		}
		if (len > CONF_LINE_MAX) {
			conf_cause_add(c, "%s:%d: line too long", path, lineno);
			goto next;
		}
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		key = conf_trim(line);
		if (*key == '\0' || *key == '#')
			goto next;
		if ((eq = strchr(key, '=')) == NULL) {
			conf_cause_add(c, "%s:%d: expected 'key = value' (missing '=')",
			    path, lineno);
			goto next;
		}
		*eq = '\0';
		key = conf_trim(key);
		if (*key == '\0') {
			conf_cause_add(c, "%s:%d: missing key before '='", path,
			    lineno);
			goto next;
		}
		if ((e = conf_find(t, key)) == NULL) {
			conf_unknown(t, key, msg, sizeof msg);
			conf_cause_add(c, "%s:%d: %s", path, lineno, msg);
			goto next;
		}
		if (seen[e - t] != 0) {
			conf_cause_add(c, "%s:%d: duplicate key '%s' (first set on "
			    "line %d)", path, lineno, key, seen[e - t]);
			goto next;
		}
		seen[e - t] = lineno;
		if (conf_unquote(eq + 1, &val, msg, sizeof msg) == -1 ||
		    conf_assign(e, dst, val, msg, sizeof msg) == -1)
			conf_cause_add(c, "%s:%d: %s", path, lineno, msg);
next:
		/* The line may have held a secret value. */
		secret_wipe(line, cap);
	}
	if (ferror(f))
		conf_cause_add(c, "%s: read error: %s", path, strerror(errno));
	if (line != NULL)
		secret_wipe(line, cap);
	free(line);
	fclose(f);
}

int
conf_set(const struct conf_entry *t, void *dst, const char *key,
    const char *value, char **cause)
{
	const struct conf_entry	*e;
	char			 msg[512], *v;
	int			 rc;

	if (cause != NULL)
		*cause = NULL;
	if ((e = conf_find(t, key)) == NULL) {
		conf_unknown(t, key, msg, sizeof msg);
		goto fail;
	}
	if ((v = strdup(value)) == NULL) {
		snprintf(msg, sizeof msg, "out of memory");
		goto fail;
	}
	rc = conf_assign(e, dst, conf_trim(v), msg, sizeof msg);
	secret_free_str(v);
	if (rc == 0)
		return 0;
fail:
	if (cause != NULL)
		*cause = strdup(msg);
	return -1;
}

/* An empty value unsets a string or list: a required one is then unset. */
static int
conf_is_unset(const struct conf_entry *e, const void *dst)
{
	switch (e->type) {
	case CONF_STR: case CONF_PATH: case CONF_ENUM:
		return *CFIELD(dst, e, conf_str_t) == NULL;
	case CONF_LIST:
		return *CFIELD(dst, e, conf_list_t) == NULL;
	default:
		return 0;
	}
}

int
conf_load_begin(struct conf_load *l, const struct conf_entry *t, void *dst,
    const char *path, const char *const *overrides)
{
	struct conf_causes	*c = &l->causes;
	size_t		 n = conf_count(t);
	int		*seen;
	char		*dc = NULL, msg[512];

	memset(l, 0, sizeof *l);
	l->table = t;
	l->path = path;
	if (conf_set_defaults(t, dst, &dc) == -1) {
		conf_cause_add(c, "%s", dc != NULL ? dc : "bad default");
		free(dc);
	}
	if ((seen = calloc(n + 1, sizeof *seen)) == NULL) {
		conf_cause_add(c, "out of memory");
		return -1;
	}
	l->lines = seen;
	if (path != NULL)
		conf_read_file(t, dst, path, seen, c);

	for (size_t i = 0; overrides != NULL && overrides[i] != NULL &&
	    i < CONF_LINES_MAX; i++) {
		const struct conf_entry	*e;
		char			*kv, *eq, *key;

		if ((kv = strdup(overrides[i])) == NULL) {
			conf_cause_add(c, "-o: out of memory");
			break;
		}
		if ((eq = strchr(kv, '=')) == NULL) {
			conf_cause_add(c, "-o: expected key=value");
			secret_free_str(kv);
			continue;
		}
		*eq = '\0';
		key = conf_trim(kv);
		if ((e = conf_find(t, key)) == NULL) {
			conf_unknown(t, key, msg, sizeof msg);
			conf_cause_add(c, "-o: %s", msg);
		} else if (conf_assign(e, dst, conf_trim(eq + 1), msg,
		    sizeof msg) == -1)
			conf_cause_add(c, "-o: %s", msg);
		else
			seen[e - t] = -1;
		secret_free_str(kv);
	}

	for (size_t i = 0; i < n; i++) {
		if ((t[i].flags & CONF_REQUIRED) &&
		    (seen[i] == 0 || conf_is_unset(&t[i], dst)))
			conf_cause_add(c, "%s: required key '%s' is not set",
			    path != NULL ? path : "config", t[i].name);
	}
	return c->n > 0 ? -1 : 0;
}

void
conf_load_cause(struct conf_load *l, const char *key, const char *fmt, ...)
{
	const struct conf_entry	*e = key != NULL ? conf_find(l->table, key) : NULL;
	int			 line = e != NULL && l->lines != NULL ?
				    l->lines[e - l->table] : 0;
	char			 msg[900];
	va_list			 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* Where the key was set; a default has no line, so the file. */
	if (line > 0)
		conf_cause_add(&l->causes, "%s:%d: %s", l->path, line, msg);
	else if (line < 0)
		conf_cause_add(&l->causes, "-o: %s", msg);
	else
		conf_cause_add(&l->causes, "%s: %s", l->path != NULL ? l->path : "config", msg);
}

int
conf_load_end(struct conf_load *l, char **causes)
{
	free(l->lines);
	l->lines = NULL;
	return conf_causes_finish(&l->causes, causes);
}

int
conf_load_with(const struct conf_entry *t, void *dst, const char *path,
    const char *const *overrides, char **causes)
{
	struct conf_load l;

	(void)conf_load_begin(&l, t, dst, path, overrides);
	return conf_load_end(&l, causes);
}

int
conf_load(const struct conf_entry *t, void *dst, const char *path,
    char **causes)
{
	return conf_load_with(t, dst, path, NULL, causes);
}

void
conf_free(const struct conf_entry *t, void *dst)
{
	for (; t->name != NULL; t++)
		conf_release(t, dst);
}

