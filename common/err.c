/* err: error values with a status, a code and a message. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

void
err_clear(struct err *e)
{
	if (e == NULL)
		return;
	e->status = 0;
	e->retry_after = 0;
	e->code[0] = '\0';
	e->msg[0] = '\0';
}

int
err_set(struct err *e, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	e->status = status;
	e->retry_after = 0;
	snprintf(e->code, sizeof e->code, "%s", code != NULL ? code : "error");
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return -1;
}

int
err_prefix(struct err *e, const char *fmt, ...)
{
	char	prefix[ERR_MSG_MAX], old[ERR_MSG_MAX];
	va_list	ap;

	if (e == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof old);
	snprintf(e->msg, sizeof e->msg, "%s: %s", prefix, old);
	return -1;
}

int
err_isset(const struct err *e)
{
	return e != NULL && e->status != 0;
}
