/* usermsg: user-facing error text (see usermsg.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "usermsg.h"

#define USERMSG_ADDR	"[internal address]"

/* Internal failures by code prefix: status and the sentence users get. */
static const struct {
	const char	*prefix;
	const char	*msg;
} usermsg_internal[] = {
	{ "vault_", "the tenant credential store is not available right now; "
	    "please try again in a minute" },
	{ "db_", "the access database is not reachable right now; "
	    "please try again in a minute" },
	{ "jwks_", "the sign-in provider's keys cannot be fetched right now; "
	    "please try again in a minute" },
	{ "upstream_", "a service the broker depends on is not answering right now; "
	    "please try again in a minute" },
	{ "tokenreview_", "the broker cannot check the caller's credential right now; "
	    "please try again in a minute" },
};

/* Does word w (length n, surrounding punctuation stripped) look like an
 * address: a URL, an IPv4 address, or host:port? */
static int
usermsg_is_addr(const char *w, size_t n)
{
	size_t	i, digits = 0, dots = 0, colon = n;

	for (i = 0; i + 2 < n; i++)
		if (w[i] == ':' && w[i + 1] == '/' && w[i + 2] == '/')
			return 1;
	for (i = 0; i < n; i++) {
		if (w[i] == ':' && colon == n)
			colon = i;
		else if (w[i] == '.')
			dots++;
		else if (isdigit((unsigned char)w[i]))
			digits++;
	}
	if (dots == 3 && digits + dots == n)		/* 10.0.0.1 */
		return 1;
	if (colon > 0 && colon + 1 < n) {		/* host:5432, [::1]:80, not 12:30 */
		for (i = 0; i < colon && (isdigit((unsigned char)w[i])); i++)
			;
		if (i == colon)
			return 0;
		for (i = colon + 1; i < n; i++)
			if (!isdigit((unsigned char)w[i]) && w[i] != ':' &&
			    !isxdigit((unsigned char)w[i]) && w[i] != ']')
				return 0;
		return isdigit((unsigned char)w[n - 1]) &&
		    (dots > 0 || w[0] == '[' || strchr(w + colon + 1, ':') == NULL);
	}
	return 0;
}

int
usermsg_scrub(char *msg, size_t size)
{
	char	 out[ERR_MSG_MAX * 2];
	size_t	 i = 0, o = 0, n, lead, trail;
	int	 replaced = 0;

	while (msg[i] != '\0' && o + 1 < sizeof out) {
		if (msg[i] == ' ') {
			out[o++] = msg[i++];
			continue;
		}
		n = strcspn(msg + i, " ");
		/* Quotes, brackets and sentence punctuation around a word stay. */
		for (lead = 0; lead < n && strchr("\"'(<", msg[i + lead]) != NULL; lead++)
			;
		for (trail = 0; trail < n - lead &&
		    strchr("\"')>,;.", msg[i + n - 1 - trail]) != NULL; trail++)
			;
		if (n > lead + trail && usermsg_is_addr(msg + i + lead, n - lead - trail)) {
			o += (size_t)snprintf(out + o, sizeof out - o, "%.*s%s%.*s", (int)lead,
			    msg + i, USERMSG_ADDR, (int)trail, msg + i + n - trail);
			replaced++;
		} else
			o += (size_t)snprintf(out + o, sizeof out - o, "%.*s", (int)n, msg + i);
		if (o >= sizeof out)
			o = sizeof out - 1;
		i += n;
	}
	out[o] = '\0';
	if (replaced)
		snprintf(msg, size, "%s", out);
	return replaced;
}

void
usermsg_cut(char *msg, size_t size, size_t max)
{
	size_t len = strlen(msg), cut;

	if (max + 1 > size)
		max = size - 1;
	if (len <= max && len + 1 < size)
		return;
	/* Room for "..." and at a space, so no word and no UTF-8 sequence is
	 * split (a space is never inside one). */
	cut = max >= 3 ? max - 3 : 0;
	if (cut > len)
		cut = len;
	while (cut > 0 && msg[cut] != ' ')
		cut--;
	while (cut > 0 && strchr(" ,;:", msg[cut - 1]) != NULL)
		cut--;
	memcpy(msg + cut, "...", 4);
}

int
usermsg_from_err(const struct err *in, struct err *out)
{
	int	status = in->status != 0 ? in->status : 500;
	char	code[sizeof in->code], msg[sizeof in->msg];
	size_t	i;

	snprintf(code, sizeof code, "%s", in->code[0] != '\0' ? in->code : "internal");
	snprintf(msg, sizeof msg, "%s", in->msg);
	for (i = 0; i < sizeof usermsg_internal / sizeof usermsg_internal[0]; i++) {
		if (strncmp(code, usermsg_internal[i].prefix,
		    strlen(usermsg_internal[i].prefix)) == 0) {
			err_set(out, 503, code, "%s", usermsg_internal[i].msg);
			return 1;
		}
	}
	if (status >= 500) {
		err_set(out, status, code, "the broker could not complete this request (%s); "
		    "the operators' log has the details", code);
		return 1;
	}
	i = (size_t)usermsg_scrub(msg, sizeof msg);
	if (strlen(msg) > USERMSG_MAX || strlen(msg) + 1 >= sizeof msg) {
		usermsg_cut(msg, sizeof msg, USERMSG_MAX);
		i++;
	}
	err_set(out, status, code, "%s", msg);
	return i > 0;
}
