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
static _Thread_local char log_ctx_own[LOG_CTX_MAX];
/* A coroutine brings its own context buffer (coro.c binds it on switch). */
static _Thread_local char *log_ctx_bound;
#define log_ctx (log_ctx_bound != NULL ? log_ctx_bound : log_ctx_own)

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

void
log_ctx_set(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(log_ctx, LOG_CTX_MAX, fmt, ap);
	va_end(ap);
}

void
log_ctx_clear(void)
{
	log_ctx[0] = '\0';
}

void
log_ctx_bind(char *buf)
{
	log_ctx_bound = buf;
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
		    log_ctx, log_ctx[0] != '\0' ? " " : "", msg);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(line, sizeof line, "%s.%03ldZ %s[%s] %s%s%s", stamp,
		    ts.tv_nsec / 1000000, log_ident, log_levels[lvl].name,
		    log_ctx, log_ctx[0] != '\0' ? " " : "", msg);
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

#define LOG_FN(name, lvl, with_errno)			\
void							\
name(const char *fmt, ...)				\
{							\
	va_list ap;					\
	va_start(ap, fmt);				\
	log_vemit(lvl, with_errno, fmt, ap);		\
	va_end(ap);					\
}

LOG_FN(log_debug, LOG_LVL_DEBUG, 0)
LOG_FN(log_info, LOG_LVL_INFO, 0)
LOG_FN(log_notice, LOG_LVL_NOTICE, 0)
LOG_FN(log_warn, LOG_LVL_WARN, 1)
LOG_FN(log_warnx, LOG_LVL_WARN, 0)
LOG_FN(log_errx, LOG_LVL_ERR, 0)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_ERR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_ERR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
