/* fixture: shared helpers of the cmocka unit tests. */
#ifndef TG_TEST_FIXTURE_H
#define TG_TEST_FIXTURE_H

/* A file under test/fixtures/jwt/ (tests run from the repository top), as
 * a NUL-terminated heap string; a .jwt file loses its trailing newline.
 * Fails the running test when the file is missing. */
char	*fx_read(const char *name);

#endif
