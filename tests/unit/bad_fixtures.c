/*
 * fpd_check_bad_fixtures (fpd_test.h): a directory of configuration fixtures that must each be
 * refused at the line:col and with the text their "# expect: L:C text" header names, whatever
 * loads them (the configuration alone, or the plugins' settings too).
 */
#include "core/error.h"
#include "fpd_test.h"

#include <dirent.h>

/* The "# expect: LINE:COL text" header of the fixture rel; fails the test when it has none. */
static void read_expectation(const char *rel, int *line, int *column, char *text, size_t size)
{
	char *fixture = fpd_read_fixture(rel, NULL);
	int used = 0;
	ck_assert_msg(sscanf(fixture, "# expect: %d:%d %n", line, column, &used) == 2,
	              "%s has no '# expect: L:C text' header", rel);
	size_t len = strcspn(fixture + used, "\n");
	ck_assert_uint_lt(len, size);
	memcpy(text, fixture + used, len);
	text[len] = '\0';
	free(fixture);
}

int fpd_check_bad_fixtures(const char *dir, int (*load)(const char *path, struct fpd_error *err))
{
	char dirpath[4096];
	snprintf(dirpath, sizeof(dirpath), "%s", fpd_fixture(dir));
	DIR *d = opendir(dirpath);
	ck_assert_msg(d != NULL, "cannot open fixture directory %s", dirpath);
	int seen = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (!strstr(e->d_name, ".yaml"))
			continue;
		char rel[512];
		snprintf(rel, sizeof(rel), "%s/%s", dir, e->d_name);
		int line = 0, column = 0;
		char fragment[256];
		read_expectation(rel, &line, &column, fragment, sizeof(fragment));

		char path[8192];
		snprintf(path, sizeof(path), "%s/%s", dirpath, e->d_name);
		struct fpd_error err;
		fpd_error_clear(&err);
		ck_assert_msg(load(path, &err) != FPD_OK, "%s was accepted", rel);
		ck_assert_msg(err.line == line && err.column == column,
		              "%s: expected error at %d:%d, got %d:%d (%s)", rel, line, column,
		              err.line, err.column, err.text);
		ck_assert_msg(strstr(err.text, fragment) != NULL, "%s: expected \"%s\" in \"%s\"",
		              rel, fragment, err.text);
		ck_assert_str_eq(err.file, path);
		seen++;
	}
	closedir(d);
	return seen;
}
