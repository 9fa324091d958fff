/*
 * secretin: reading credentials from files, pipes and the terminal.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "admin.h"
#include "err.h"
#include "secretin.h"

int
secretin_check(const secret_t *s, struct err *e)
{
	const unsigned char *p = (const unsigned char *)secret_bytes(s);

	if (secret_len(s) == 0)
		return err_set(e, 400, "empty_key", "the key is empty");
	for (size_t i = 0; i < secret_len(s); i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return err_set(e, 400, "bad_key", "the key must be one line without "
			    "control characters");
	return 0;
}

/* A secret from buf[0..n) without trailing whitespace; buf is wiped. */
static secret_t *
secretin_take(char *buf, size_t n, struct err *e)
{
	secret_t *s;

	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
	    buf[n - 1] == '\t'))
		n--;
	s = secret_new(buf, n);
	secret_wipe(buf, n);
	if (s == NULL) {
		err_set(e, 500, "nomem", "out of memory");
		return NULL;
	}
	if (secretin_check(s, e) == -1) {
		secret_free(s);
		return NULL;
	}
	return s;
}

secret_t *
secretin_fd(int fd, size_t max, struct err *e)
{
	char		*buf;
	size_t		 n = 0;
	ssize_t		 r;
	secret_t	*s;

	if ((buf = malloc(max + 1)) == NULL) {
		err_set(e, 500, "nomem", "out of memory");
		return NULL;
	}
	while (n <= max) {
		r = read(fd, buf + n, max + 1 - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		secret_wipe(buf, n);
		free(buf);
		err_set(e, 400, "key_too_large", "the key is larger than %zu bytes", max);
		return NULL;
	}
	s = secretin_take(buf, n, e);
	free(buf);
	return s;
}

secret_t *
secretin_file(const char *path, size_t max, struct err *e)
{
	int		 fd;
	secret_t	*s;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		err_set(e, 400, "no_key_file", "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	s = secretin_fd(fd, max, e);
	close(fd);
	return s;
}

static volatile sig_atomic_t secretin_interrupted;

static void
secretin_on_signal(int sig)
{
	(void)sig;
	secretin_interrupted = 1;
}

secret_t *
secretin_tty(const char *prompt, size_t max, struct err *e)
{
	struct termios		 saved, quiet;
	struct sigaction	 sa, old_int, old_term;
	char			*buf;
	size_t			 n = 0;
	ssize_t			 r;
	char			 ch;
	int			 fd;
	secret_t		*s = NULL;

	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC)) == -1) {
		err_set(e, 400, "no_terminal", "no terminal to type the key on: give it on "
		    "stdin or with --from-file");
		return NULL;
	}
	if ((buf = malloc(max + 1)) == NULL) {
		close(fd);
		err_set(e, 500, "nomem", "out of memory");
		return NULL;
	}
	if (tcgetattr(fd, &saved) == -1) {
		free(buf);
		close(fd);
		err_set(e, 400, "no_terminal", "cannot turn echo off: %s", strerror(errno));
		return NULL;
	}
	quiet = saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	/* Interrupted reads must restore echo rather than die with it off. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = secretin_on_signal;
	sigemptyset(&sa.sa_mask);
	secretin_interrupted = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	if (write(fd, prompt, strlen(prompt)) < 0)
		prompt = "";
	tcsetattr(fd, TCSAFLUSH, &quiet);
	while (!secretin_interrupted) {
		r = read(fd, &ch, 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0 || ch == '\n' || ch == '\r')
			break;
		if (n < max)
			buf[n++] = ch;
		else
			n = max + 1;
	}
	ch = 0;
	tcsetattr(fd, TCSAFLUSH, &saved);
	if (write(fd, "\n", 1) < 0)
		ch = 0;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	close(fd);
	if (secretin_interrupted)
		err_set(e, 400, "cancelled", "cancelled");
	else if (n > max)
		err_set(e, 400, "key_too_large", "the key is larger than %zu bytes", max);
	else
		s = secretin_take(buf, n, e);
	secret_wipe(buf, max + 1);
	free(buf);
	return s;
}

secret_t *
secretin_cli_ask(struct admin *a, const char *prompt, struct err *e)
{
	(void)a;
	if (isatty(STDIN_FILENO))
		return secretin_tty(prompt, ADMIN_KEY_MAX, e);
	return secretin_fd(STDIN_FILENO, ADMIN_KEY_MAX, e);
}

int
secretin_cli_confirm(struct admin *a, const char *question)
{
	char	 line[16];
	FILE	*tty;
	int	 yes;

	(void)a;
	if (!isatty(STDIN_FILENO) || (tty = fopen("/dev/tty", "r+")) == NULL)
		return -1;
	fprintf(tty, "%s [y/N] ", question);
	fflush(tty);
	yes = fgets(line, sizeof line, tty) != NULL && (line[0] == 'y' || line[0] == 'Y');
	fclose(tty);
	return yes;
}

secret_t *
secretin_key(struct admin *a, const char *from_file, const char *prompt, struct err *e)
{
	if (from_file != NULL && *from_file != '\0')
		return secretin_file(from_file, ADMIN_KEY_MAX, e);
	if (a->ask_secret == NULL) {
		err_set(e, 400, "no_key", "no key given (use stdin or --from-file)");
		return NULL;
	}
	return a->ask_secret(a, prompt, e);
}
