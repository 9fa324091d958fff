/* fixture: reading the committed test keys and tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

#define FX_DIR	"test/fixtures/jwt/"

char *
fx_read(const char *name)
{
	char	 path[256], *buf;
	FILE	*f;
	long	 n;

	snprintf(path, sizeof path, FX_DIR "%s", name);
	if ((f = fopen(path, "rb")) == NULL)
		fail_msg("cannot open %s (run from the repository top)", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	/* Tokens are stored with a trailing newline; keys keep theirs. */
	if (strstr(name, ".jwt") != NULL)
		buf[strcspn(buf, "\n")] = '\0';
	return buf;
}
