/* log: levelled, context-prefixed lines to stderr or the journal stream. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static const char	*log_ident = "tenantgate";
static enum log_level	 log_min = LOG_LVL_INFO;
static int		 log_journal;
static void		(*log_sink)(enum log_level, const char *, void *);
static void		*log_sink_arg;
static pthread_mutex_t	 log_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local struct log_ctx log_ctx_own;
/* A request or a coroutine brings its own context (httpd.c, coro.c). */
static _Thread_local struct log_ctx *log_ctx_bound;
#define LOG_CTX_TEXT (log_ctx_bound != NULL ? log_ctx_bound->text : log_ctx_own.text)

static const struct {
	const char	*name;
	int		 syslog_prio;	/* sd-daemon(3) <N> prefix */
} log_levels[] = {
	[LOG_LVL_DEBUG] = { "debug", 7 },
	[LOG_LVL_INFO] = { "info", 6 },
	[LOG_LVL_NOTICE] = { "notice", 5 },
	[LOG_LVL_WARN] = { "warn", 4 },
	[LOG_LVL_ERR] = { "error", 3 },
};

void
log_init(const char *ident, enum log_level min)
{
	log_ident = ident;
	log_min = min;
	/* systemd sets JOURNAL_STREAM when stderr is connected to journald. */
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void
log_set_level(enum log_level min)
{
	log_min = min;
}

int
log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < sizeof log_levels / sizeof log_levels[0]; i++) {
		if (strcmp(name, log_levels[i].name) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

const char *
log_level_name(enum log_level l)
{
	return log_levels[l].name;
}

void
log_set_sink(void (*sink)(enum log_level, const char *, void *), void *arg)
{
	log_sink = sink;
	log_sink_arg = arg;
}

void
log_clean(char *s, int keep_newlines)
{
	unsigned char *p = (unsigned char *)s;

	for (; *p != '\0'; p++) {
		if (*p == '\n' || *p == '\r')
			*p = keep_newlines ? *p : ' ';
		else if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			*p = '?';
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			p[0] = '?';
			p[1] = '?';
			p++;
		}
	}
}

/* The field "key=..." in ctx, or NULL. */
static char *
log_ctx_find(char *ctx, const char *key)
{
	size_t	 klen = strlen(key);
	char	*p = ctx;

	while (*p != '\0') {
		if (strncmp(p, key, klen) == 0 && p[klen] == '=')
			return p;
		if ((p = strchr(p, ' ')) == NULL)
			break;
		p++;
	}
	return NULL;
}

void
log_ctx_add(const char *key, const char *fmt, ...)
{
	char	 val[LOG_CTX_VALUE_MAX], *ctx = LOG_CTX_TEXT, *old, *next;
	size_t	 n;
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof val, fmt, ap);
	va_end(ap);
	log_clean(val, 0);
	for (char *p = val; *p != '\0'; p++)
		if (*p == ' ' || *p == '\t' || *p == '=')
			*p = '_';
	if ((old = log_ctx_find(ctx, key)) != NULL) {
		/* Drop the old field with the blank that joins it. */
		if ((next = strchr(old, ' ')) != NULL)
			memmove(old, next + 1, strlen(next + 1) + 1);
		else
			*(old > ctx ? old - 1 : old) = '\0';
	}
	n = strlen(ctx);
	if (n + 1 + strlen(key) + 1 + strlen(val) >= LOG_CTX_MAX)
		return;
	snprintf(ctx + n, LOG_CTX_MAX - n, "%s%s=%s", n > 0 ? " " : "", key, val);
}

void
log_ctx_clear(void)
{
	LOG_CTX_TEXT[0] = '\0';
}

struct log_ctx *
log_ctx_bind(struct log_ctx *ctx)
{
	struct log_ctx *prev = log_ctx_bound;

	log_ctx_bound = ctx;
	return prev;
}

static void
log_vemit(enum log_level lvl, int with_errno, const char *fmt, va_list ap)
{
	char		 msg[1024], line[1400], stamp[32];
	int		 saved = errno;
	struct timespec	 ts;
	struct tm	 tm;

	if (lvl < log_min)
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	/* One event on one line, and no escape sequences, whatever the
	 * message quoted. */
	log_clean(msg, 0);
	if (with_errno) {
		size_t n = strlen(msg);
		snprintf(msg + n, sizeof msg - n, ": %s", strerror(saved));
	}

	if (log_journal) {
		snprintf(line, sizeof line, "<%d>%s%s%s", log_levels[lvl].syslog_prio,
		    LOG_CTX_TEXT, LOG_CTX_TEXT[0] != '\0' ? " " : "", msg);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(line, sizeof line, "%s.%03ldZ %s[%s] %s%s%s", stamp,
		    ts.tv_nsec / 1000000, log_ident, log_levels[lvl].name,
		    LOG_CTX_TEXT, LOG_CTX_TEXT[0] != '\0' ? " " : "", msg);
	}

	pthread_mutex_lock(&log_lock);
	if (log_sink != NULL)
		log_sink(lvl, line, log_sink_arg);
	else {
		fputs(line, stderr);
		fputc('\n', stderr);
		fflush(stderr);
	}
	pthread_mutex_unlock(&log_lock);
	errno = saved;
}

#define LOG_FN(name, lvl, with_errno, then)		\
void							\
name(const char *fmt, ...)				\
{							\
	va_list ap;					\
	va_start(ap, fmt);				\
	log_vemit(lvl, with_errno, fmt, ap);		\
	va_end(ap);					\
	then;						\
}

LOG_FN(log_debug, LOG_LVL_DEBUG, 0, (void)0)
LOG_FN(log_info, LOG_LVL_INFO, 0, (void)0)
LOG_FN(log_notice, LOG_LVL_NOTICE, 0, (void)0)
LOG_FN(log_warn, LOG_LVL_WARN, 1, (void)0)
LOG_FN(log_warnx, LOG_LVL_WARN, 0, (void)0)
LOG_FN(log_errx, LOG_LVL_ERR, 0, (void)0)
LOG_FN(fatal, LOG_LVL_ERR, 1, exit(1))
LOG_FN(fatalx, LOG_LVL_ERR, 0, exit(1))
