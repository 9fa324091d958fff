/*
 * log: one line per event to stderr, or to the journal's stream with
 * <N> priority prefixes when JOURNAL_STREAM says stderr is the journal.
 * log_warn/fatal add strerror(errno); log_warnx/fatalx do not (relayd, tmux).
 * Each line carries the context bound to the calling thread or coroutine:
 * named fields such as "req=7f3a user=alice@example.com tenant=acme"
 * (pgbouncer log_socket_prefix()). A request owns its context (httpd.c binds
 * it while the request's handler runs and while its summary line is
 * written); log_ctx_add() adds one field to it and keeps the others.
 * Nothing here can print a secret_t: there is no format for it except
 * secret_redacted(), which is always "***"; a context holds names, never a
 * token or a key.
 */
#ifndef TG_LOG_H
#define TG_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_NOTICE, LOG_LVL_WARN, LOG_LVL_ERR };

void	log_init(const char *ident, enum log_level min);
void	log_set_level(enum log_level min);
int	log_level_parse(const char *name, enum log_level *out);
const char *log_level_name(enum log_level);
/* Tests capture lines instead of writing them. NULL restores stderr. */
void	log_set_sink(void (*sink)(enum log_level, const char *line, void *arg), void *arg);

/* Make text safe for a terminal or a log line, in place: C0 controls,
 * DEL and C1 controls (UTF-8 C2 80..9F) become '?' so no escape sequence
 * from a user or an upstream reaches an operator's terminal. Newlines
 * become spaces unless keep_newlines; tabs stay. */
void	log_clean(char *s, int keep_newlines);

#define LOG_CTX_MAX	256
#define LOG_CTX_VALUE_MAX	96	/* longer values are cut */
struct log_ctx {
	char	text[LOG_CTX_MAX];	/* "key=value key=value", "" when empty */
};

/* Add key=value to the bound context; an earlier value of the same key is
 * replaced, every other field stays. Blanks and '=' in the value become
 * '_' so the line stays one field per word; a field that would not fit is
 * left out whole. */
void	log_ctx_add(const char *key, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_ctx_clear(void);
/* Make ctx the calling thread's context (NULL: the thread's own); returns
 * the one bound before, for the caller to put back. coro.c keeps each
 * coroutine's binding across its parks. */
struct log_ctx *log_ctx_bind(struct log_ctx *ctx);

void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_notice(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_errx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
