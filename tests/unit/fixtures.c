/*
 * Fixture directories (fpd_test.h): walking one in name order, and a directory of configuration
 * fixtures that must each be refused at the line:col and with the text their "# expect: L:C text"
 * header names, whatever loads them (the configuration alone, or the plugins' settings too).
 */
#include <flyteplugd/error.h>
#include "fpd_test.h"

#include <dirent.h>

size_t fpd_fixture_each(const char *dir, const char *suffix, const char *skip,
                        void (*fn)(const char *name, void *ud), void *ud)
{
	struct dirent **names;
	int n = scandir(fpd_fixture(dir), &names, NULL, alphasort);
	ck_assert_msg(n >= 0, "cannot open fixture directory %s", fpd_fixture(dir));
	size_t ran = 0, sl = strlen(suffix);
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		size_t len = strlen(name);
		if (len > sl && strcmp(name + len - sl, suffix) == 0 &&
		    !(skip && strcmp(name, skip) == 0)) {
			fn(name, ud);
			ran++;
		}
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return ran;
}

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

struct bad {
	const char *dir;
	int (*load)(const char *path, struct fpd_error *err);
};

static void check_bad(const char *name, void *ud)
{
	const struct bad *b = ud;
	char rel[512];
	snprintf(rel, sizeof(rel), "%s/%s", b->dir, name);
	int line = 0, column = 0;
	char fragment[256];
	read_expectation(rel, &line, &column, fragment, sizeof(fragment));

	char path[8192];
	snprintf(path, sizeof(path), "%s", fpd_fixture(rel));
	struct fpd_error err;
	fpd_error_clear(&err);
	ck_assert_msg(b->load(path, &err) != FPD_OK, "%s was accepted", rel);
	ck_assert_msg(err.line == line && err.column == column,
	              "%s: expected error at %d:%d, got %d:%d (%s)", rel, line, column, err.line,
	              err.column, err.text);
	ck_assert_msg(strstr(err.text, fragment) != NULL, "%s: expected \"%s\" in \"%s\"", rel,
	              fragment, err.text);
	ck_assert_str_eq(err.file, path);
}

int fpd_check_bad_fixtures(const char *dir, int (*load)(const char *path, struct fpd_error *err))
{
	struct bad b = {dir, load};
	return (int)fpd_fixture_each(dir, ".yaml", NULL, check_bad, &b);
}
