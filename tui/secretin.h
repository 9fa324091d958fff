/*
 * secretin: how a credential gets in. Never from argv (any user can read
 * /proc/<pid>/cmdline): from a file, from stdin when it is a pipe, or
 * typed at the terminal with echo off. It goes straight into a secret_t;
 * the read buffers are wiped. The CLI's yes/no question lives here too,
 * as it shares the terminal handling.
 */
#ifndef TG_TUI_SECRETIN_H
#define TG_TUI_SECRETIN_H

#include <stddef.h>

#include "secret.h"

struct admin;
struct err;

/* All of fd up to max bytes, trailing whitespace removed; one line only. */
secret_t	*secretin_fd(int fd, size_t max, struct err *);
/* A line typed on /dev/tty with echo off, after prompt. */
secret_t	*secretin_tty(const char *prompt, size_t max, struct err *);
/* A file's content, checked like secretin_fd(). */
secret_t	*secretin_file(const char *path, size_t max, struct err *);
/* Refuse an empty key or one with control characters (a pasted line
 * break, an escape sequence). */
int		 secretin_check(const secret_t *, struct err *);

/* The CLI's hooks for struct admin: the terminal when stdin is one, else
 * stdin for a secret and "cannot ask" (-1) for a question. */
secret_t	*secretin_cli_ask(struct admin *, const char *prompt, struct err *);
int		 secretin_cli_confirm(struct admin *, const char *question);

/* A command's key: --from-file when given, else the operator's way. */
secret_t	*secretin_key(struct admin *, const char *from_file, const char *prompt,
		    struct err *);

#endif
