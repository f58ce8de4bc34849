/*
 * Shared helpers for the Check unit tests: running a suite with one call from main, parsing test
 * JSON, reading fixture files from tests/fixtures (FPD_FIXTURES, set by ctest), and checking a
 * directory of configuration fixtures that must be refused (bad_fixtures.c).
 */
#ifndef FPD_TEST_H
#define FPD_TEST_H

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Path of a fixture file (static buffer, valid until the next call). */
static inline const char *fpd_fixture(const char *rel)
{
	static char path[4096];
	const char *root = getenv("FPD_FIXTURES");
	snprintf(path, sizeof(path), "%s/%s", root ? root : "tests/fixtures", rel);
	return path;
}

/* text parsed as JSON (a new reference); fails the test when it is not JSON. */
static inline json_t *fpd_test_json(const char *text)
{
	json_error_t e;
	json_t *o = json_loads(text, 0, &e);
	ck_assert_msg(o != NULL, "bad test JSON: %s", e.text);
	return o;
}

/* Whole file as a new NUL-terminated buffer; *len gets the size. Fails the test if unreadable. */
static inline char *fpd_read_fixture(const char *rel, size_t *len)
{
	const char *path = fpd_fixture(rel);
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open fixture %s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

struct fpd_error;

/* The functions below are defined in fixtures.c, which a test calling them adds to its SOURCES. */

/* Calls fn(name, ud) for each file of the fixture directory dir (relative to tests/fixtures)
 * whose name ends in suffix (".json"), in name order, skipping the file named skip (NULL: none).
 * Returns how many files it called fn for; fails the test when dir cannot be read. */
size_t fpd_fixture_each(const char *dir, const char *suffix, const char *skip,
                        void (*fn)(const char *name, void *ud), void *ud);

/* Checks every *.yaml file of the fixture directory dir (relative to tests/fixtures), each of
 * which starts with "# expect: LINE:COL text": load(path, err) must refuse it, with err naming
 * the file and LINE:COL and its text containing text. load loads the file as the test means,
 * releases whatever it loaded and returns FPD_OK or the error code (err filled). Returns how many
 * files were checked; fails the test at the first that is not refused as expected. */
int fpd_check_bad_fixtures(const char *dir, int (*load)(const char *path, struct fpd_error *err));

/* Runs one suite; returns the process exit code. */
static inline int fpd_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
