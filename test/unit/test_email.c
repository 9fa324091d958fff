/*
 * email_canon(): the one canonical form of an email (common/email.h).
 * ASCII lower-cased; non-ASCII refused by default, or kept byte-exact when
 * provably NFC; never case-folded, never normalised. The U+0130 and Kelvin
 * sign cases are the ones that once mapped other people's addresses onto
 * alice@ and k...@ (issue 14).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "email.h"
#include "err.h"
#include "utf8.h"

/* The same table email.c uses, to test its edges. */
#include "../../common/email_table.inc"

static void
ok(const char *in, enum email_mode m, const char *want)
{
	char		out[EMAIL_MAX + 1];
	struct err	e;

	err_clear(&e);
	if (email_canon(in, m, out, &e) != 0)
		fail_msg("email_canon(%s): %s: %s", in, e.code, e.msg);
	assert_string_equal(out, want);
}

static void
refused(const char *in, enum email_mode m, const char *code)
{
	char		out[EMAIL_MAX + 1];
	struct err	e;

	memset(out, 'x', sizeof out);
	err_clear(&e);
	assert_int_equal(email_canon(in, m, out, &e), -1);
	assert_string_equal(e.code, code);
	assert_int_equal(e.status, 400);
	assert_string_equal(out, "");
}

static void
test_ascii_lowercased(void **state)
{
	ok("Alice@Example.COM", EMAIL_ASCII, "alice@example.com");
	ok("alice@example.com", EMAIL_NFC, "alice@example.com");
	ok("A.B+tag_X@SUB.Example.org", EMAIL_ASCII, "a.b+tag_x@sub.example.org");
	/* Only A-Z change: the rest of ASCII is kept. */
	ok("[~]{^}@X", EMAIL_ASCII, "[~]{^}@x");
}

static void
test_structure(void **state)
{
	static const char *const bad[] = {
		"", "nobody", "a@b@c", "@b.c", "a@", "a b@c.d", "a@b.c\n", "a\t@b.c",
		"a\x7f@b.c", "@",
	};
	char	big[300];
	size_t	i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		refused(bad[i], EMAIL_ASCII, "bad_email");
		refused(bad[i], EMAIL_NFC, "bad_email");
	}
	refused(NULL, EMAIL_ASCII, "bad_email");
	/* 254 bytes pass, 255 do not. */
	memset(big, 'a', sizeof big);
	memcpy(big + 254 - 6, "@b.com", 7);
	ok(big, EMAIL_ASCII, big);
	memset(big, 'a', sizeof big);
	memcpy(big + 255 - 6, "@b.com", 7);
	refused(big, EMAIL_ASCII, "bad_email");
}

/* The two reported spoofs, in both modes. */
static void
test_dotted_capital_i_and_kelvin(void **state)
{
	char		out[EMAIL_MAX + 1];
	struct err	e;

	/* alİce: refused by default; with nfc it is its own address, never
	 * alice (no Unicode lower-casing: İ stays İ). */
	refused("al\xc4\xb0" "ce@example.com", EMAIL_ASCII, "email_non_ascii");
	ok("al\xc4\xb0" "ce@example.com", EMAIL_NFC, "al\xc4\xb0" "ce@example.com");
	ok("AL\xc4\xb0" "CE@EXAMPLE.COM", EMAIL_NFC, "al\xc4\xb0" "ce@example.com");
	assert_int_equal(email_canon("al\xc4\xb0" "ce@example.com", EMAIL_NFC, out, &e), 0);
	assert_string_not_equal(out, "alice@example.com");
	/* Kelvin sign: NFC would make it 'K' (then 'k'), so it is refused in
	 * both modes rather than normalised. */
	refused("\xe2\x84\xaa" "aren@example.com", EMAIL_ASCII, "email_non_ascii");
	refused("\xe2\x84\xaa" "aren@example.com", EMAIL_NFC, "email_not_nfc");
	refused("bob@\xe2\x84\xaa" "ube.example", EMAIL_NFC, "email_not_nfc");
	/* Its cousins: ANGSTROM SIGN and OHM SIGN are singletons too. */
	refused("\xe2\x84\xab" "@x.y", EMAIL_NFC, "email_not_nfc");
	refused("\xe2\x84\xa6" "@x.y", EMAIL_NFC, "email_not_nfc");
	/* No case folding of other scripts either. */
	ok("\xc3\x89" "mile@example.fr", EMAIL_NFC, "\xc3\x89" "mile@example.fr");
	/* Fullwidth A is a different address from a, kept as written. */
	ok("\xef\xbc\xa1" "lice@example.com", EMAIL_NFC, "\xef\xbc\xa1" "lice@example.com");
}

static void
test_nfc_rule(void **state)
{
	/* é precomposed is NFC; e + U+0301 is not (combining, NFC_QC Maybe). */
	ok("jos\xc3\xa9@example.es", EMAIL_NFC, "jos\xc3\xa9@example.es");
	refused("jose\xcc\x81@example.es", EMAIL_NFC, "email_not_nfc");
	/* Å: U+00C5 fine, U+212B (ANGSTROM SIGN) refused. */
	ok("\xc3\x85" "sa@example.se", EMAIL_NFC, "\xc3\x85" "sa@example.se");
	/* Hangul: a precomposed syllable is fine; conjoining L + V is not. */
	ok("\xed\x95\x9c@example.kr", EMAIL_NFC, "\xed\x95\x9c@example.kr");
	refused("\xe1\x84\x80\xe1\x85\xa1@example.kr", EMAIL_NFC, "email_not_nfc");
	/* Invisible and spacing characters: ZWJ, RLO, NBSP, NEL, a private-use
	 * and an unassigned code point. */
	refused("a\xe2\x80\x8d" "b@x.y", EMAIL_NFC, "email_not_nfc");
	refused("a\xe2\x80\xae" "b@x.y", EMAIL_NFC, "email_not_nfc");
	refused("a\xc2\xa0" "b@x.y", EMAIL_NFC, "email_not_nfc");
	refused("a\xc2\x85" "b@x.y", EMAIL_NFC, "email_not_nfc");
	refused("a\xee\x80\x80" "b@x.y", EMAIL_NFC, "email_not_nfc");
	refused("a\xf3\xb0\x80\x80" "b@x.y", EMAIL_NFC, "email_not_nfc");
	/* CJK compatibility ideograph U+F900 normalises to U+8C48. */
	refused("\xef\xa4\x80@x.y", EMAIL_NFC, "email_not_nfc");
	ok("\xe8\xb1\x88@x.y", EMAIL_NFC, "\xe8\xb1\x88@x.y");
}

static void
test_bad_utf8(void **state)
{
	static const char *const bad[] = {
		"\xc0\xaf@x.y",			/* overlong '/' */
		"\xe0\x80\xaf@x.y",		/* overlong, 3 bytes */
		"\xed\xa0\x80@x.y",		/* surrogate */
		"\xf4\x90\x80\x80@x.y",		/* past U+10FFFF */
		"a\xc3",			/* truncated at the end */
		"a\xc3@x.y",			/* continuation missing */
		"\x80@x.y", "\xff@x.y",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		/* Invalid UTF-8 is malformed in either mode. */
		refused(bad[i], EMAIL_NFC, "bad_email");
		refused(bad[i], EMAIL_ASCII, "bad_email");
	}
}

static int
in_table(uint32_t cp)
{
	for (size_t i = 0; i < sizeof email_allowed / sizeof email_allowed[0]; i++)
		if (cp >= email_allowed[i][0] && cp <= email_allowed[i][1])
			return 1;
	return 0;
}

/* Every range edge: the binary search agrees with a linear scan, and the
 * table is sorted and disjoint. */
static void
test_table_edges(void **state)
{
	size_t		n = sizeof email_allowed / sizeof email_allowed[0], i;
	uint32_t	probe[4];
	char		ch[5], in[32], out[EMAIL_MAX + 1];
	struct err	e;

	assert_true(n > 100);
	for (i = 0; i < n; i++) {
		assert_true(email_allowed[i][0] <= email_allowed[i][1]);
		assert_true(email_allowed[i][0] >= 0x80);
		if (i > 0)
			assert_true(email_allowed[i][0] > email_allowed[i - 1][1] + 1);
		probe[0] = email_allowed[i][0];
		probe[1] = email_allowed[i][1];
		probe[2] = email_allowed[i][0] - 1;
		probe[3] = email_allowed[i][1] + 1;
		for (size_t j = 0; j < 4; j++) {
			if (probe[j] < 0x80 || probe[j] > 0x10ffff ||
			    (probe[j] >= 0xd800 && probe[j] <= 0xdfff))
				continue;
			ch[utf8_encode(probe[j], ch)] = '\0';
			snprintf(in, sizeof in, "a%s@x.y", ch);
			assert_int_equal(email_canon(in, EMAIL_NFC, out, &e) == 0,
			    in_table(probe[j]));
		}
	}
	assert_string_equal(email_unicode_version(), EMAIL_UNICODE_VERSION);
}

static void
test_mode_parse(void **state)
{
	enum email_mode m;

	assert_int_equal(email_mode_parse("refuse", &m), 0);
	assert_int_equal(m, EMAIL_ASCII);
	assert_int_equal(email_mode_parse("nfc", &m), 0);
	assert_int_equal(m, EMAIL_NFC);
	assert_int_equal(email_mode_parse(NULL, &m), 0);
	assert_int_equal(m, EMAIL_ASCII);
	assert_int_equal(email_mode_parse("NFKC", &m), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ascii_lowercased),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_dotted_capital_i_and_kelvin),
		cmocka_unit_test(test_nfc_rule),
		cmocka_unit_test(test_bad_utf8),
		cmocka_unit_test(test_table_edges),
		cmocka_unit_test(test_mode_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
