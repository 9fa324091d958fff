/*
 * email: the one canonical form of an email address, used by the broker
 * (for verified identities) and the admin tool (for what it stores and
 * looks up), so both compare the same bytes and PostgreSQL can compare
 * them exactly (migrations/0003_email_canonical.sql).
 *
 * The canonical form: ASCII letters lower-cased, every other byte kept as
 * it is. There is no Unicode case folding and no normalisation: a folded
 * or normalised comparison is what let U+0130 (İ) stand for 'i' and the
 * Kelvin sign U+212A for 'k'. Non-ASCII is either refused (the default)
 * or accepted only when the string is provably NFC already, so that two
 * spellings that NFC would make equal can never both be accepted.
 */
#ifndef TG_EMAIL_H
#define TG_EMAIL_H

#include <stddef.h>

struct err;

#define EMAIL_MAX	254	/* bytes; RFC 5321's path limit */

enum email_mode {
	EMAIL_ASCII,	/* refuse any byte >= 0x80 (default) */
	EMAIL_NFC,	/* allow non-ASCII code points that are NFC-stable (email.c) */
};

/*
 * Canonicalise `in` into `out` (EMAIL_MAX + 1 bytes). Returns 0, or -1 with
 * 400 and one of the codes "bad_email" (not one '@' with text either side,
 * a space or control character, too long, invalid UTF-8), "email_non_ascii"
 * (EMAIL_ASCII and a non-ASCII byte) or "email_not_nfc" (EMAIL_NFC and a
 * code point outside the allowed set). `out` is "" after a failure.
 */
int		 email_canon(const char *in, enum email_mode, char *out, struct err *);
/* "refuse" -> EMAIL_ASCII, "nfc" -> EMAIL_NFC; -1 for anything else. */
int		 email_mode_parse(const char *, enum email_mode *);
/* Unicode version of the allowed-code-point table, e.g. "14.0.0". */
const char	*email_unicode_version(void);

#endif
