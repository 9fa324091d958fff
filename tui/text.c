/*
 * text: UTF-8 measuring, cutting and cleaning for terminal output. We
 * decode UTF-8 ourselves rather than trust mbrtowc(), so the result does
 * not depend on LC_CTYPE beyond the width of wide characters.
 */
#include <ctype.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <wchar.h>

#include "text.h"
#include "utf8.h"

static int text_is_utf8;

void
text_init(void)
{
	const char *cs = nl_langinfo(CODESET);

	text_is_utf8 = cs != NULL && (strcasecmp(cs, "UTF-8") == 0 ||
	    strcasecmp(cs, "UTF8") == 0);
}

int
text_utf8(void)
{
	return text_is_utf8;
}

/* The character to show for cp and its width. */
static long
text_shown(long cp, int *w)
{
	int	cw;

	if (cp < 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
		*w = 1;
		return '?';
	}
	if (cp < 0x80) {
		*w = 1;
		return cp;
	}
	if (!text_is_utf8) {
		*w = 1;
		return '?';
	}
	cw = wcwidth((wchar_t)cp);
	if (cw < 0) {
		*w = 1;
		return '?';
	}
	*w = cw;
	return cp;
}

int
text_width(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 len;
	int			 w, total = 0;

	if (s == NULL)
		return 0;
	while (*p != '\0') {
		text_shown(utf8_decode((const char *)p, strlen((const char *)p), &len), &w);
		total += w;
		p += len;
	}
	return total;
}

/* Where text_walk() writes: n wide characters, or n bytes of UTF-8. */
struct text_out {
	wchar_t	*wdst;
	char	*cdst;
	size_t	 n, at;
};

/* Append cp, NUL-terminated; -1 when it does not fit. */
static int
text_put(struct text_out *o, long cp)
{
	char	u[UTF8_MAX];
	size_t	k = o->wdst != NULL ? 1 : utf8_encode((unsigned long)cp, u);

	if (o->at + k >= o->n)
		return -1;
	if (o->wdst != NULL) {
		o->wdst[o->at] = (wchar_t)cp;
		o->wdst[o->at + 1] = L'\0';
	} else {
		memcpy(o->cdst + o->at, u, k);
		o->cdst[o->at + k] = '\0';
	}
	o->at += k;
	return 0;
}

/* Write s cleaned into o; stops at cols columns. */
static int
text_walk(const char *s, int cols, int ellipsis, struct text_out *o)
{
	const unsigned char	*p = (const unsigned char *)(s != NULL ? s : "");
	size_t			 len;
	long			 cp;
	int			 w, used = 0, total = text_width(s);
	int			 limit = cols;

	if (o->n == 0)
		return 0;
	if (o->wdst != NULL)
		o->wdst[0] = L'\0';
	else
		o->cdst[0] = '\0';
	if (total > cols && ellipsis && cols > 0)
		limit = cols - 1;
	while (*p != '\0') {
		cp = text_shown(utf8_decode((const char *)p, strlen((const char *)p), &len), &w);
		if (used + w > limit)
			break;
		if (text_put(o, cp) == -1)
			return used;
		used += w;
		p += len;
	}
	if (total > cols && ellipsis && cols > 0 && text_put(o, '~') == 0)
		used++;
	return used;
}

int
text_wfit(wchar_t *dst, size_t n, const char *s, int cols, int ellipsis)
{
	struct text_out o = { dst, NULL, n, 0 };

	return text_walk(s, cols, ellipsis, &o);
}

int
text_fit(char *dst, size_t n, const char *s, int cols, int ellipsis)
{
	struct text_out o = { NULL, dst, n, 0 };

	return text_walk(s, cols, ellipsis, &o);
}

long
text_duration(const char *s)
{
	char	*end;
	long	 v, mul = 1;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	v = strtol(s, &end, 10);
	if (v < 0 || v > 100L * 365 * 86400)
		return -1;
	if (*end != '\0') {
		switch (*end) {
		case 's': mul = 1; break;
		case 'm': mul = 60; break;
		case 'h': mul = 3600; break;
		case 'd': mul = 86400; break;
		case 'w': mul = 7 * 86400; break;
		default: return -1;
		}
		if (end[1] != '\0')
			return -1;
	}
	return v * mul;
}

int
text_since(const char *s, time_t now, char *buf, size_t len)
{
	long		 secs;
	time_t		 t;
	struct tm	 tm;
	size_t		 i;

	if ((secs = text_duration(s)) >= 0) {
		t = now - secs;
		gmtime_r(&t, &tm);
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
		return 0;
	}
	/* A date: digits and the punctuation of ISO 8601; PostgreSQL does
	 * the real parsing (and rejects what it cannot read). */
	if (s == NULL || strlen(s) < 10 || strlen(s) >= len ||
	    !isdigit((unsigned char)s[0]) || s[4] != '-')
		return -1;
	for (i = 0; s[i] != '\0'; i++)
		if (!isdigit((unsigned char)s[i]) && strchr("-:T Z+.", s[i]) == NULL)
			return -1;
	snprintf(buf, len, "%s", s);
	return 0;
}

void
text_short_time(const char *iso, char *buf, size_t len)
{
	if (iso == NULL || strlen(iso) < 16 || iso[10] != 'T') {
		snprintf(buf, len, "%s", iso != NULL ? iso : "-");
		return;
	}
	snprintf(buf, len, "%.10s %.5s", iso, iso + 11);
}

char **
text_lines(const char *text, int w, int wrap, int *nout)
{
	char	**lines = NULL, **nl, *copy, *p, *eol, cut[4096];
	int	  n = 0, cap = 0;
	size_t	  len, take, k;

	*nout = 0;
	if ((copy = strdup(text)) == NULL)
		return NULL;
	for (p = copy; *p != '\0'; p = eol) {
		len = strcspn(p, "\n");
		eol = p + len + (p[len] == '\n');
		p[len] = '\0';
		do {
			take = strlen(p);
			if (wrap && text_width(p) > w) {
				/* Cut at the width, preferring the last space. */
				text_fit(cut, sizeof cut, p, w, 0);
				take = strlen(cut);
				for (k = take; k > take / 2; k--)
					if (p[k] == ' ') {
						take = k;
						break;
					}
				/* Narrower than one character: take a whole one
				 * anyway, or this would never end. */
				if (take == 0)
					take = strnlen(p, utf8_seqlen((unsigned char)*p));
			}
			if (n == cap) {
				cap = cap != 0 ? cap * 2 : 64;
				if ((nl = realloc(lines, (size_t)cap * sizeof *lines)) == NULL)
					goto out;
				lines = nl;
			}
			if ((lines[n] = strndup(p, take)) == NULL)
				goto out;
			n++;
			p += take;
			while (*p == ' ' && take > 0)
				p++;
		} while (*p != '\0');
	}
out:
	free(copy);
	*nout = n;
	return lines;
}

void
text_lines_free(char **lines, int n)
{
	for (int i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
}
