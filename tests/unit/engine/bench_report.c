/*
 * Benchmark (not a test): the CPU time of choosing a page of /executions from a table of n
 * executions, in one go and in slices of FPD_ENGINE_PAGE_CHOOSE_SLOTS slots, as the admin
 * server does it. Prints the longest slice, the mean and the one-go time; see
 * bench/admin/README.md.
 *
 *   bench_engine_report [n ...]     (default: 10000 100000)
 */
#include "core/map.h"
#include "engine/internal.h"
#include "engine/report.h"

#include <flyteplugd/mem.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROUNDS 5

static int64_t cpu_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* n executions named like Flyte's (execution id, node, attempt) over 20 namespaces. */
static void fill(struct fpd_engine *e, size_t n)
{
	static const struct fpd_plugin plugin = {.name = "pod"};
	for (size_t i = 0; i < n; i++) {
		char ns[64], name[64], key[160];
		snprintf(ns, sizeof(ns), "project-%zu-development", i % 20);
		snprintf(name, sizeof(name), "a%019zx-n%zu-0", (i * 2654435761u) % 1000000007,
		         i % 7);
		snprintf(key, sizeof(key), "%s/%s", ns, name);
		struct execution *x = fpd_calloc(1, sizeof(*x));
		x->namespace_ = fpd_strdup(ns);
		x->name = fpd_strdup(name);
		x->plugin = &plugin;
		fpd_map_put(&e->execs, key, x);
	}
}

static void run(const struct fpd_engine *e, const char *ns, size_t limit)
{
	int64_t longest = 0, sliced = 0, one_go = INT64_MAX;
	size_t slices = 0;
	for (int r = 0; r < ROUNDS; r++) {
		struct fpd_engine_page *p = fpd_engine_page_new(ns, NULL, limit, NULL);
		int64_t t0 = cpu_ns();
		fpd_engine_page_choose(p, e, SIZE_MAX);
		int64_t dt = cpu_ns() - t0;
		if (dt < one_go)
			one_go = dt;
		fpd_engine_page_free(p);

		p = fpd_engine_page_new(ns, NULL, limit, NULL);
		int rc;
		slices = 0;
		sliced = 0;
		do {
			t0 = cpu_ns();
			rc = fpd_engine_page_choose(p, e, FPD_ENGINE_PAGE_CHOOSE_SLOTS);
			dt = cpu_ns() - t0;
			sliced += dt;
			slices++;
			if (dt > longest)
				longest = dt;
		} while (rc == FPD_AGAIN);
		fpd_engine_page_free(p);
	}
	printf("%8zu executions (cap %7zu), %-26s limit %5zu: one go %7.3f ms; %4zu slices of "
	       "%d slots, mean %6.1f us, longest %6.1f us\n",
	       e->execs.count, e->execs.cap, ns ? ns : "(all namespaces)", limit,
	       (double)one_go / 1e6, slices, FPD_ENGINE_PAGE_CHOOSE_SLOTS,
	       (double)sliced / (double)slices / 1e3, (double)longest / 1e3);
}

int main(int argc, char **argv)
{
	size_t sizes[16] = {10000, 100000}, nsizes = 2;
	if (argc > 1) {
		nsizes = 0;
		for (int i = 1; i < argc && nsizes < 16; i++)
			sizes[nsizes++] = (size_t)strtoull(argv[i], NULL, 10);
	}
	for (size_t s = 0; s < nsizes; s++) {
		struct fpd_engine e;
		memset(&e, 0, sizeof(e));
		fpd_map_init(&e.execs);
		fill(&e, sizes[s]);
		run(&e, NULL, 500);
		run(&e, NULL, 10000);
		run(&e, "project-3-development", 500);
		const char *k;
		void *v;
		for (size_t it = 0; fpd_map_next(&e.execs, &it, &k, &v);) {
			struct execution *x = v;
			free(x->namespace_);
			free(x->name);
			free(x);
		}
		fpd_map_free(&e.execs);
	}
	return 0;
}
