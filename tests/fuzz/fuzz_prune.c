/*
 * Arbitrary bytes (size-capped) into the pruned parser informers and create answers use on what
 * the API server sends (kube/prune.h). It must accept or refuse with an error, never crash, leak
 * or read out of bounds. Beyond that, differentially: whenever jansson accepts the document
 * (and it nests less deeply than the pruner's bound), the pruner accepts it too and keeps
 * exactly what a plain projection of jansson's tree along the same pointers keeps.
 * Seeds: corpus/prune/ (Kubernetes objects, a list item, a watch event).
 */
#include "kube/prune.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_INPUT (64 * 1024)
#define MAX_DEPTH 900 /* below the pruner's bound on skipped nesting (1024) */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Pointers as token lists ("*": every array element); NULL ends a pointer. */
static const char *const pointers[][5] = {
    {"metadata", "name", NULL},
    {"metadata", "labels", NULL},
    {"status", NULL},
    {"spec", "containers", "*", "name", NULL},
    {"spec", "items", "1", NULL},
    {"a/b", NULL},
    {"0", "x", NULL},
};
static const char *const pointer_text[] = {
    "/metadata/name", "/metadata/labels",
    "/status",        "/spec/containers/*/name",
    "/spec/items/1",  "/a~1b",
    "/0/x",
};
enum { NPTR = sizeof(pointer_text) / sizeof(pointer_text[0]) };

static size_t depth(const json_t *v)
{
	size_t d = 0;
	if (json_is_object(v)) {
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)v, k, x)
		{
			size_t c = depth(x);
			d = c > d ? c : d;
		}
		return d + 1;
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x)
		{
			size_t c = depth(x);
			d = c > d ? c : d;
		}
		return d + 1;
	}
	return 0;
}

/* The reference: v projected on the pointers whose first `at` tokens match the path so far
 * (active[i]); NULL where nothing is kept (a scalar where pointers go deeper). */
static json_t *project(const json_t *v, const bool *active, size_t at)
{
	for (size_t i = 0; i < NPTR; i++)
		if (active[i] && !pointers[i][at])
			return json_deep_copy(v); /* a pointer ends here: whole */
	if (json_is_object(v)) {
		json_t *o = json_object();
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)v, k, x)
		{
			bool next[NPTR], any = false;
			for (size_t i = 0; i < NPTR; i++) {
				next[i] = active[i] && strcmp(pointers[i][at], k) == 0;
				any |= next[i];
			}
			json_t *p = any ? project(x, next, at + 1) : NULL;
			if (p)
				json_object_set_new(o, k, p);
		}
		return o;
	}
	if (json_is_array(v)) {
		json_t *a = json_array();
		long last = -1; /* positions are kept up to the last numeric index asked for */
		bool every = false;
		for (size_t i = 0; i < NPTR; i++) {
			if (!active[i])
				continue;
			const char *t = pointers[i][at];
			if (strcmp(t, "*") == 0)
				every = true;
			else if (t[0] >= '0' && t[0] <= '9' && (t[0] != '0' || !t[1]))
				last = strtol(t, NULL, 10) > last ? strtol(t, NULL, 10) : last;
		}
		size_t n;
		json_t *x;
		json_array_foreach(v, n, x)
		{
			char idx[24];
			snprintf(idx, sizeof(idx), "%zu", n);
			bool next[NPTR], any = false;
			for (size_t i = 0; i < NPTR; i++) {
				next[i] = active[i] && (every ? strcmp(pointers[i][at], "*") == 0
				                              : strcmp(pointers[i][at], idx) == 0);
				any |= next[i];
			}
			json_t *p = any ? project(x, next, at + 1) : NULL;
			if (any || (long)n < last)
				json_array_append_new(a, p ? p : json_null());
		}
		return a;
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_INPUT)
		return 0;
	static struct fpd_kube_prune *p;
	if (!p) {
		p = fpd_kube_prune_new();
		for (size_t i = 0; i < NPTR; i++)
			if (fpd_kube_prune_add(p, pointer_text[i], NULL))
				abort();
	}
	json_t *got = NULL;
	struct fpd_error err;
	int rc = fpd_kube_prune_parse(p, (const char *)data, size, &got, &err);
	if (rc && got)
		abort(); /* an error leaves nothing behind */

	/* jansson lets a NUL byte pass between tokens; the pruner refuses it (the API server never
	 * sends one): documents holding one are not compared. */
	json_t *full = json_loadb((const char *)data, size, 0, NULL);
	if (full && depth(full) < MAX_DEPTH && !memchr(data, '\0', size)) {
		if (rc)
			abort(); /* jansson took it: so must the pruner */
		bool all[NPTR];
		for (size_t i = 0; i < NPTR; i++)
			all[i] = true;
		json_t *want = project(full, all, 0);
		if (!json_equal(got, want))
			abort();
		json_decref(want);
	}
	json_decref(full);
	json_decref(got);
	return 0;
}
