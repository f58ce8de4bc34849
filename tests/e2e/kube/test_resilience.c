/* The informer against a real API server that goes away: watches that time out resume without
 * a relist; the apiserver is SIGKILLed and restarted while the informer is not looking and the
 * world changes meanwhile; etcd is compacted so the old resourceVersion is gone (410). In every
 * case the cache must converge to exactly what the server has, with a delete for every object
 * that disappeared.
 *
 * Two loops: the informer's (frozen while the test changes things) and the test's own, with
 * its own client, so that changes really happen behind the informer's back. */
#include "e2e.h"

#include <flyteplugd/mem.h>

#include <stdio.h>
#include <stdlib.h>

enum { F_GEN = 0, F_PHASE = 1, MAXP = 512 };

static struct ev_loop *iloop;      /* the informer's */
static struct ev_loop *tloop;      /* the test's */
static struct fpd_kube_client *ic; /* the informer's client */
static struct fpd_kube_client *tc; /* the test's client */
static char *ns;
static struct fpd_kube_informer *current; /* freed by teardown even when a check fails */

struct seen {
	size_t adds, updates, deletes, inferred, errors;
	char deleted[MAXP][32];
	size_t ndeleted;
	char last_error[FPD_ERROR_TEXT];
	int64_t last_retry_ms;
};
static struct seen seen;

static void on_add(void *ud, const struct fpd_kube_obj *o)
{
	seen.adds++;
}

static void on_update(void *ud, const struct fpd_kube_obj *old, const struct fpd_kube_obj *o)
{
	seen.updates++;
}

static void on_delete(void *ud, const struct fpd_kube_obj *o, bool unknown)
{
	seen.deletes++;
	seen.inferred += unknown;
	if (seen.ndeleted < MAXP)
		snprintf(seen.deleted[seen.ndeleted++], 32, "%s", fpd_kube_obj_name(o));
}

static void on_error(void *ud, const struct fpd_error *err, int64_t retry_ms)
{
	seen.errors++;
	snprintf(seen.last_error, sizeof(seen.last_error), "%s", err->text);
	seen.last_retry_ms = retry_ms;
}

static bool was_deleted(const char *name)
{
	for (size_t i = 0; i < seen.ndeleted; i++)
		if (strcmp(seen.deleted[i], name) == 0)
			return true;
	return false;
}

/* ---- changes, made on the test's loop ---- */

struct batch {
	int pending, failed;
	struct fpd_error first;
};

static void batch_done(void *ud, const struct fpd_kube_result *r)
{
	struct batch *b = ud;
	b->pending--;
	if (r->code != FPD_OK && b->failed++ == 0)
		b->first = r->err;
}

static bool batch_finished(void *ud)
{
	return ((struct batch *)ud)->pending == 0;
}

static void finish(struct batch *b, const char *what)
{
	e2e_wait_for(tloop, batch_finished, b, 300, what);
	ck_assert_msg(b->failed == 0, "%s: %d failed: %s", what, b->failed, b->first.text);
}

static void create_pods(const char *prefix, int from, int to)
{
	struct batch b = {0};
	struct fpd_kube_ref coll = {&e2e_pods, ns, NULL, NULL};
	for (int i = from; i < to; i++) {
		char name[32];
		snprintf(name, sizeof(name), "%s-%03d", prefix, i);
		json_t *pod = e2e_pod(name, "app", "resilience");
		json_object_set_new(json_object_get(json_object_get(pod, "metadata"), "labels"),
		                    "gen", json_string("1"));
		ck_assert_int_eq(fpd_kube_create(tc, &coll, pod, NULL, batch_done, &b, NULL),
		                 FPD_AGAIN);
		json_decref(pod);
		b.pending++;
	}
	finish(&b, "create");
}

static void delete_pods(const char *prefix, int from, int to)
{
	struct batch b = {0};
	for (int i = from; i < to; i++) {
		char name[32];
		snprintf(name, sizeof(name), "%s-%03d", prefix, i);
		struct fpd_kube_ref p = {&e2e_pods, ns, name, NULL};
		struct fpd_kube_delete_opts d = {.grace_period_s = 0};
		ck_assert_int_eq(fpd_kube_delete(tc, &p, &d, batch_done, &b, NULL), FPD_AGAIN);
		b.pending++;
	}
	finish(&b, "delete");
}

static void patch_pods(const char *prefix, int from, int to, const char *sub, json_t *patch)
{
	struct batch b = {0};
	for (int i = from; i < to; i++) {
		char name[32];
		snprintf(name, sizeof(name), "%s-%03d", prefix, i);
		struct fpd_kube_ref p = {&e2e_pods, ns, name, sub};
		ck_assert_int_eq(
		    fpd_kube_patch(tc, &p, FPD_KUBE_PATCH_MERGE, patch, NULL, batch_done, &b, NULL),
		    FPD_AGAIN);
		b.pending++;
	}
	json_decref(patch);
	finish(&b, "patch");
}

/* ---- the server's truth vs the cache ---- */

struct truth {
	size_t n;
	char name[MAXP][32];
	char rv[MAXP][32];
	char gen[MAXP][8];
	char phase[MAXP][16];
};
static struct truth truth;

static void server_state(void)
{
	struct e2e_call call = {0};
	struct fpd_kube_ref coll = {&e2e_pods, ns, NULL, NULL};
	struct fpd_kube_list_opts lo = {.label_selector = "app=resilience"};
	E2E_CALL(tloop, &call, fpd_kube_list(tc, &coll, &lo, e2e_done, &call, &e2e_err));
	E2E_OK(&call);
	json_t *items = json_object_get(call.obj, "items");
	truth.n = json_array_size(items);
	ck_assert_uint_le(truth.n, MAXP);
	for (size_t i = 0; i < truth.n; i++) {
		json_t *it = json_array_get(items, i);
		json_t *m = json_object_get(it, "metadata");
		const char *gen =
		    json_string_value(json_object_get(json_object_get(m, "labels"), "gen"));
		const char *phase =
		    json_string_value(json_object_get(json_object_get(it, "status"), "phase"));
		snprintf(truth.name[i], 32, "%s", json_string_value(json_object_get(m, "name")));
		snprintf(truth.rv[i], 32, "%s",
		         json_string_value(json_object_get(m, "resourceVersion")));
		snprintf(truth.gen[i], 8, "%s", gen ? gen : "");
		snprintf(truth.phase[i], 16, "%s", phase ? phase : "");
	}
	e2e_call_reset(&call);
}

static bool converged(void *ud)
{
	struct fpd_kube_informer *inf = ud;
	if (fpd_kube_informer_count(inf) != truth.n)
		return false;
	for (size_t i = 0; i < truth.n; i++) {
		const struct fpd_kube_obj *o = fpd_kube_informer_get(inf, ns, truth.name[i]);
		if (!o || strcmp(fpd_kube_obj_resource_version(o), truth.rv[i]) != 0)
			return false;
	}
	return true;
}

/* Runs the informer's loop until its cache is the server's state, then checks field values. */
static void expect_convergence(struct fpd_kube_informer *inf, const char *what)
{
	server_state();
	e2e_wait_for(iloop, converged, inf, 180, what);
	for (size_t i = 0; i < truth.n; i++) {
		const struct fpd_kube_obj *o = fpd_kube_informer_get(inf, ns, truth.name[i]);
		const char *gen = fpd_kube_obj_field(o, F_GEN);
		const char *phase = fpd_kube_obj_field(o, F_PHASE);
		ck_assert_str_eq(gen ? gen : "", truth.gen[i]);
		ck_assert_str_eq(phase ? phase : "", truth.phase[i]);
	}
}

static struct fpd_kube_informer *start_informer(int64_t watch_timeout_ms)
{
	static const struct fpd_kube_field fields[] = {{"/metadata/labels/gen", true},
	                                               {"/status/phase", true}};
	struct fpd_kube_informer_opts io = {
	    .gvr = e2e_pods,
	    .namespace_ = ns,
	    .label_selector = "app=resilience",
	    .fields = fields,
	    .nfields = 2,
	    .on_add = on_add,
	    .on_update = on_update,
	    .on_delete = on_delete,
	    .on_error = on_error,
	    .watch_timeout_ms = watch_timeout_ms,
	    .backoff_initial_ms = 200,
	    .backoff_max_ms = 2000,
	};
	struct fpd_kube_informer *inf;
	struct fpd_error err;
	ck_assert_int_eq(fpd_kube_informer_new(ic, &io, &inf, &err), FPD_OK);
	current = inf;
	fpd_kube_informer_start(inf);
	e2e_wait_for(iloop, (bool (*)(void *))fpd_kube_informer_synced, inf, 60, "first list");
	return inf;
}

static bool saw_update(void *ud)
{
	return seen.updates > *(size_t *)ud;
}

/* Makes sure the watch is on the wire: a change made now must reach the informer through it. */
static void watch_is_live(const char *prefix)
{
	size_t before = seen.updates;
	patch_pods(prefix, 0, 1, NULL,
	           json_pack("{s:{s:{s:s}}}", "metadata", "annotations", "live", "yes"));
	e2e_wait_for(iloop, saw_update, &before, 60, "an update through the watch");
}

static void print_stats(const char *what, struct fpd_kube_informer *inf)
{
	struct fpd_kube_informer_stats st;
	fpd_kube_informer_get_stats(inf, &st);
	fprintf(stderr,
	        "%s: lists %llu (after 410: %llu), watches %llu, watch ends %llu, failures %llu, "
	        "adds %llu updates %llu deletes %llu (inferred %llu); last error: %s\n",
	        what, (unsigned long long)st.lists, (unsigned long long)st.relists_gone,
	        (unsigned long long)st.watches, (unsigned long long)st.watch_timeouts,
	        (unsigned long long)st.failures, (unsigned long long)st.adds,
	        (unsigned long long)st.updates, (unsigned long long)st.deletes,
	        (unsigned long long)st.inferred_deletes, seen.last_error);
}

static void setup(void)
{
	iloop = ev_default_loop(0);
	tloop = ev_loop_new(EVFLAG_AUTO);
	struct fpd_kube_client_opts o = {
	    .qps = 1000, .burst = 1000, .request_timeout_ms = 30000, .protobuf = e2e_protobuf()};
	ic = e2e_client(iloop, &o);
	tc = e2e_client(tloop, &o);
	ns = e2e_namespace(tloop, tc, "kube-resilience");
	memset(&seen, 0, sizeof(seen));
}

static void teardown(void)
{
	struct e2e_call call = {0};
	struct fpd_kube_ref ref = {&e2e_namespaces, NULL, ns, NULL};
	E2E_CALL(tloop, &call, fpd_kube_delete(tc, &ref, NULL, e2e_done, &call, &e2e_err));
	e2e_call_reset(&call);
	free(ns);
	fpd_kube_informer_free(current);
	current = NULL;
	fpd_kube_client_free(tc);
	fpd_kube_client_free(ic);
	ev_loop_destroy(tloop);
}

START_TEST(watch_timeouts_resume_without_relist)
{
	create_pods("t", 0, 20);
	/* timeoutSeconds drawn from [2, 4]: several server-side watch ends in 12 s. */
	struct fpd_kube_informer *inf = start_informer(4000);
	e2e_run_for(iloop, 12);
	patch_pods("t", 0, 20, NULL, json_pack("{s:{s:{s:s}}}", "metadata", "labels", "gen", "2"));
	expect_convergence(inf, "changes after watch restarts");
	struct fpd_kube_informer_stats st;
	fpd_kube_informer_get_stats(inf, &st);
	print_stats("watch timeouts", inf);
	ck_assert_msg(st.watch_timeouts >= 2, "expected the server to end >= 2 watches, saw %llu",
	              (unsigned long long)st.watch_timeouts);
	ck_assert_msg(st.lists == 1 && st.failures == 0,
	              "a watch timeout must not relist (lists %llu, failures %llu)",
	              (unsigned long long)st.lists, (unsigned long long)st.failures);
	ck_assert_uint_eq(seen.updates, 20);
}
END_TEST

START_TEST(apiserver_killed_and_restarted)
{
	create_pods("k", 0, 200);
	struct fpd_kube_informer *inf = start_informer(0);
	/* The first list is served from the apiserver's watch cache (resourceVersion "0", as
	 * client-go does), which may trail the last creates a little: the watch then delivers
	 * them. Wait for that instead of assuming the list had everything. */
	expect_convergence(inf, "the 200 created pods");
	ck_assert_uint_eq(fpd_kube_informer_count(inf), 200);
	watch_is_live("k");

	/* The apiserver dies (SIGKILL) and comes back while the informer's loop is frozen;
	 * then, still behind its back, the world changes. */
	e2e_cluster("kill-apiserver");
	e2e_cluster("start-apiserver");
	delete_pods("k", 0, 50);
	patch_pods("k", 50, 100, NULL,
	           json_pack("{s:{s:{s:s}}}", "metadata", "labels", "gen", "2"));
	patch_pods("k", 100, 150, "status", json_pack("{s:{s:s}}", "status", "phase", "Succeeded"));
	create_pods("k", 200, 250);

	expect_convergence(inf, "convergence after an apiserver restart");
	print_stats("apiserver restart", inf);
	ck_assert_msg(seen.errors >= 1, "the lost connection should have been reported");
	for (int i = 0; i < 50; i++) {
		char name[32];
		snprintf(name, sizeof(name), "k-%03d", i);
		ck_assert_msg(was_deleted(name), "no delete callback for %s", name);
	}
	ck_assert_uint_eq(seen.deletes, 50);
}
END_TEST

START_TEST(etcd_compacted_relist_after_410)
{
	create_pods("c", 0, 120);
	struct fpd_kube_informer *inf = start_informer(0);
	watch_is_live("c");
	/* Changes behind the informer's back, then etcd compaction: the informer's resource
	 * version no longer exists anywhere. The restart empties the apiserver's watch cache, so
	 * its window cannot cover the old version either. */
	delete_pods("c", 0, 30);
	patch_pods("c", 30, 60, NULL, json_pack("{s:{s:{s:s}}}", "metadata", "labels", "gen", "3"));
	create_pods("c", 120, 140);
	e2e_cluster("compact");
	e2e_cluster("kill-apiserver");
	e2e_cluster("start-apiserver");
	delete_pods("c", 30, 40);

	expect_convergence(inf, "convergence after compaction");
	print_stats("etcd compaction", inf);
	struct fpd_kube_informer_stats st;
	fpd_kube_informer_get_stats(inf, &st);
	ck_assert_msg(st.relists_gone >= 1, "the watch should have been answered 410 Gone");
	ck_assert_msg(st.lists >= 2, "a relist should have happened");
	for (int i = 0; i < 40; i++) {
		char name[32];
		snprintf(name, sizeof(name), "c-%03d", i);
		ck_assert_msg(was_deleted(name), "no delete callback for %s", name);
	}
	/* Objects removed while the informer was away are inferred from the relist. */
	ck_assert_uint_ge(seen.inferred, 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("e2e_kube_resilience");
	TCase *tcase = tcase_create("all");
	tcase_add_checked_fixture(tcase, setup, teardown);
	tcase_add_test(tcase, watch_timeouts_resume_without_relist);
	tcase_add_test(tcase, apiserver_killed_and_restarted);
	tcase_add_test(tcase, etcd_compacted_relist_after_410);
	suite_add_tcase(s, tcase);
	return fpd_run_suite(s);
}
