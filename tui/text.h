/*
 * text: display width of UTF-8 text (a wide character takes two columns),
 * cutting it to a number of columns, and making untrusted text (names and
 * audit details come from the database) safe for a terminal: control
 * characters and bad UTF-8 become '?', so a tenant's display name cannot
 * carry escape sequences into an operator's terminal. Also the small
 * parsers the CLI and the console share (durations, times).
 */
#ifndef TG_TUI_TEXT_H
#define TG_TUI_TEXT_H

#include <stddef.h>
#include <time.h>
#include <wchar.h>

/* Call once after setlocale(): wide characters are measured with
 * wcwidth() only in a UTF-8 locale, else every non-ASCII one counts 1. */
void	text_init(void);
int	text_utf8(void);

/* Columns s takes once cleaned. */
int	text_width(const char *s);
/* Decode s into at most n-1 wide characters filling at most cols columns,
 * NUL-terminated; returns the columns used. Control characters and bad
 * UTF-8 become '?'; outside a UTF-8 locale every non-ASCII character does
 * too (ncursesw could not draw it). When s is cut and ellipsis is set,
 * the last column is '~'. */
int	text_wfit(wchar_t *dst, size_t n, const char *s, int cols, int ellipsis);
/* The same into UTF-8 bytes (for stdout). */
int	text_fit(char *dst, size_t n, const char *s, int cols, int ellipsis);

/* "90", "30s", "15m", "2h", "7d" -> seconds; -1 if not a duration. */
long	text_duration(const char *s);
/* A --since value: a duration ago, or an absolute date/time
 * ("2026-01-31", "2026-01-31 14:00", ISO 8601) passed on to PostgreSQL.
 * Writes an ISO 8601 UTC time or the given text into buf; -1 if neither. */
int	text_since(const char *s, time_t now, char *buf, size_t len);
/* "2026-01-31T14:05:09Z" -> "2026-01-31 14:05" (for tables). */
void	text_short_time(const char *iso, char *buf, size_t len);

/* text as lines: split at '\n' and, when wrap is set, at w columns
 * (preferring a space). Copies; free with text_lines_free(). */
char	**text_lines(const char *text, int w, int wrap, int *n);
void	 text_lines_free(char **lines, int n);

#endif
