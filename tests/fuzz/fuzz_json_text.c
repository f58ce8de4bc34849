/*
 * The JSON text writer (core/json_text.h) against json_dumps, which it must equal byte for
 * byte: arbitrary bytes (size-capped) parsed by jansson, then written both ways, in insertion
 * order and sorted; and the same bytes taken as one unchecked string, where invalid UTF-8 must
 * be refused by both. Seeds: corpus/json_text/.
 */
#include "core/json_text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_INPUT (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const json_t *v, bool sorted)
{
	size_t flags = JSON_COMPACT | JSON_ENCODE_ANY | (sorted ? JSON_SORT_KEYS : 0);
	char *want = json_dumps(v, flags);
	size_t len = 0;
	char *got = fpd_json_text(v, sorted, &len);
	if (!want != !got)
		abort();
	if (want && (strlen(want) != len || memcmp(want, got, len + 1) != 0))
		abort();
	free(want);
	free(got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_INPUT)
		return 0;
	json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	if (v) {
		/* parsed values nest at most as deep as the writer's bound: both must write them */
		same(v, false);
		same(v, true);
		json_decref(v);
	}
	json_t *s = json_stringn_nocheck((const char *)data, size);
	same(s, false);
	json_decref(s);
	return 0;
}
