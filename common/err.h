/*
 * err: an error value that travels up to whoever decides the HTTP status or
 * exit code. Fallible functions return -1 (or NULL) and fill one of these,
 * like tmux's `char **cause` and curl's failf(). Messages never carry secrets.
 */
#ifndef TG_ERR_H
#define TG_ERR_H

#include <stddef.h>

#define ERR_MSG_MAX 256

struct err {
	int	status;			/* HTTP-ish: 400, 401, 403, 404, 409, 413, 429, 500, 502, 503, 504 */
	char	code[32];		/* short machine-readable reason, e.g. "vault_sealed" */
	char	msg[ERR_MSG_MAX];	/* one human sentence, no secret */
	int	retry_after;		/* seconds a 429/503 asks the caller to wait; 0 none */
};

void	err_clear(struct err *);
/* Set status, code and a printf-style message; returns -1 so callers can
 * `return err_set(e, ...)`. A NULL err is allowed and ignored. */
int	err_set(struct err *, int status, const char *code, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
/* Prefix context to an existing message: "loading keys: <old message>". */
int	err_prefix(struct err *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
int	err_isset(const struct err *);

#endif
