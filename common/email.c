/*
 * email: canonical email addresses (see email.h for the form and why).
 *
 * EMAIL_NFC accepts a non-ASCII code point only when it is in
 * email_table.inc: assigned, not a control, format (invisible, bidi),
 * private-use or space character, combining class 0, and NFC_Quick_Check
 * Yes. By UAX #15's quick check every string made of such code points and
 * ASCII is already in NFC, so "compared exactly after NFC" holds without
 * carrying a normaliser: we never change a non-ASCII byte, we only refuse
 * what NFC could change (U+212A KELVIN SIGN, U+00C5 + combining ring, ...).
 * scripts/gen_email_table.py regenerates the table and documents the rule.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "email.h"
#include "err.h"
#include "utf8.h"

#include "email_table.inc"

const char *
email_unicode_version(void)
{
	return EMAIL_UNICODE_VERSION;
}

int
email_mode_parse(const char *s, enum email_mode *m)
{
	if (s == NULL || strcmp(s, "refuse") == 0)
		*m = EMAIL_ASCII;
	else if (strcmp(s, "nfc") == 0)
		*m = EMAIL_NFC;
	else
		return -1;
	return 0;
}

static int
email_cp_allowed(uint32_t cp)
{
	size_t lo = 0, hi = sizeof email_allowed / sizeof email_allowed[0];

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cp < email_allowed[mid][0])
			hi = mid;
		else if (cp > email_allowed[mid][1])
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

int
email_canon(const char *in, enum email_mode mode, char *out, struct err *e)
{
	const unsigned char	*s = (const unsigned char *)in;
	const char		*at;
	uint32_t		 cp;
	long			 dec;
	size_t			 len, i, n;

	out[0] = '\0';
	if (in == NULL || (len = strnlen(in, EMAIL_MAX + 1)) > EMAIL_MAX)
		return err_set(e, 400, "bad_email", "an email address is at most %d bytes",
		    EMAIL_MAX);
	if ((at = strchr(in, '@')) == NULL || at == in || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL)
		return err_set(e, 400, "bad_email",
		    "an email address needs exactly one '@' with text on either side");
	for (i = 0; i < len; i += n) {
		n = 1;
		if (s[i] < 0x80) {
			if (s[i] <= 0x20 || s[i] == 0x7f)
				goto bad_char;
			out[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
			continue;
		}
		if ((dec = utf8_decode(in + i, len - i, &n)) < 0) {
			out[0] = '\0';
			return err_set(e, 400, "bad_email", "the email address is not valid UTF-8");
		}
		if (mode == EMAIL_ASCII) {
			out[0] = '\0';
			return err_set(e, 400, "email_non_ascii", "email addresses with non-ASCII "
			    "characters are not accepted (setting email_non_ascii = refuse)");
		}
		cp = (uint32_t)dec;
		if (!email_cp_allowed(cp)) {
			out[0] = '\0';
			return err_set(e, 400, "email_not_nfc", "the email address holds U+%04X, "
			    "which is refused: combining marks, invisible, unassigned and "
			    "characters that Unicode normalisation (NFC) would change are not "
			    "accepted", (unsigned)cp);
		}
		memcpy(out + i, s + i, n);
	}
	out[len] = '\0';
	return 0;
bad_char:
	out[0] = '\0';
	return err_set(e, 400, "bad_email",
	    "an email address cannot hold a space or a control character");
}
