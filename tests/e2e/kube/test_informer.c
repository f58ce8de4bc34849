/* An informer on 1,000 pods against the real API server sees every add, update and delete, in
 * order, with the final state on delete; objects outside its selector never appear. */
#include "e2e.h"

#include "core/log.h"
#include <flyteplugd/mem.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N = 1000, F_STEP = 0, F_PHASE = 1 };

static struct ev_loop *loop;
static struct fpd_kube_client *admin;
static char *ns;
static struct fpd_kube_informer *current; /* freed by teardown even when a check fails */

struct podlog {
	int adds, updates, deletes;
	int last_step;
	bool inferred_delete;
	char final_phase[16];
	char final_step[8];
	char error[160]; /* the first ordering violation seen */
};

static struct podlog logs[N];
static size_t foreign; /* objects outside the selector that reached a callback */

static int pod_index(const struct fpd_kube_obj *o)
{
	const char *name = fpd_kube_obj_name(o);
	int i = -1;
	if (sscanf(name, "p-%d", &i) != 1 || i < 0 || i >= N) {
		foreign++;
		return -1;
	}
	return i;
}

static void violation(struct podlog *l, const char *what)
{
	if (!l->error[0])
		snprintf(l->error, sizeof(l->error), "%s (adds %d updates %d deletes %d)", what,
		         l->adds, l->updates, l->deletes);
}

static int step_of(const struct fpd_kube_obj *o)
{
	const char *s = fpd_kube_obj_field(o, F_STEP);
	return s ? (int)strtol(s, NULL, 10) : -1;
}

static void on_add(void *ud, const struct fpd_kube_obj *o)
{
	int i = pod_index(o);
	if (i < 0)
		return;
	struct podlog *l = &logs[i];
	if (l->adds || l->deletes)
		violation(l, "add after add or delete");
	l->adds++;
	l->last_step = step_of(o);
}

static void on_update(void *ud, const struct fpd_kube_obj *old, const struct fpd_kube_obj *o)
{
	int i = pod_index(o);
	if (i < 0)
		return;
	struct podlog *l = &logs[i];
	if (!l->adds || l->deletes)
		violation(l, "update before add or after delete");
	if (strcmp(fpd_kube_obj_resource_version(old), fpd_kube_obj_resource_version(o)) == 0)
		violation(l, "update without a new resourceVersion");
	if (step_of(o) < l->last_step)
		violation(l, "step went backwards");
	l->updates++;
	l->last_step = step_of(o);
}

static void on_delete(void *ud, const struct fpd_kube_obj *o, bool unknown)
{
	int i = pod_index(o);
	if (i < 0)
		return;
	struct podlog *l = &logs[i];
	if (!l->adds || l->deletes)
		violation(l, "delete before add or twice");
	l->deletes++;
	l->inferred_delete = unknown;
	const char *phase = fpd_kube_obj_field(o, F_PHASE);
	const char *step = fpd_kube_obj_field(o, F_STEP);
	snprintf(l->final_phase, sizeof(l->final_phase), "%s", phase ? phase : "");
	snprintf(l->final_step, sizeof(l->final_step), "%s", step ? step : "");
}

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

static void run_batch(struct batch *b, const char *what)
{
	e2e_wait_for(loop, batch_finished, b, 300, what);
	ck_assert_msg(b->failed == 0, "%s: %d failed, first: %s", what, b->failed, b->first.text);
}

struct want {
	struct fpd_kube_informer *inf;
	size_t count;
	int step;
};

static bool cache_is(void *ud)
{
	struct want *w = ud;
	if (fpd_kube_informer_count(w->inf) != w->count)
		return false;
	if (w->step < 0)
		return true;
	for (int i = 0; i < N; i++)
		if (logs[i].last_step != w->step)
			return false;
	return true;
}

static void setup(void)
{
	loop = ev_default_loop(0);
	struct fpd_kube_client_opts o = {
	    .qps = 1000, .burst = 1000, .request_timeout_ms = 60000, .protobuf = e2e_protobuf()};
	admin = e2e_client(loop, &o);
	ns = e2e_namespace(loop, admin, "kube-informer");
}

static void teardown(void)
{
	struct e2e_call call = {0};
	struct fpd_kube_ref ref = {&e2e_namespaces, NULL, ns, NULL};
	E2E_CALL(loop, &call, fpd_kube_delete(admin, &ref, NULL, e2e_done, &call, &e2e_err));
	e2e_call_reset(&call);
	free(ns);
	fpd_kube_informer_free(current);
	current = NULL;
	fpd_kube_client_free(admin);
}

START_TEST(thousand_pods_every_event_in_order)
{
	memset(logs, 0, sizeof(logs));
	static const struct fpd_kube_field fields[] = {
	    {"/metadata/labels/step", true},
	    {"/status/phase", true},
	};
	struct fpd_kube_informer_opts io = {
	    .gvr = e2e_pods,
	    .namespace_ = ns,
	    .label_selector = "app=informer-e2e",
	    .fields = fields,
	    .nfields = 2,
	    .on_add = on_add,
	    .on_update = on_update,
	    .on_delete = on_delete,
	};
	struct fpd_kube_informer *inf;
	struct fpd_error err;
	ck_assert_int_eq(fpd_kube_informer_new(admin, &io, &inf, &err), FPD_OK);
	current = inf;
	fpd_kube_informer_start(inf);
	struct want w = {inf, 0, -1};
	e2e_wait_for(loop, (bool (*)(void *))fpd_kube_informer_synced, inf, 60, "first list");

	/* A pod outside the selector. */
	struct e2e_call call = {0};
	struct fpd_kube_ref coll = {&e2e_pods, ns, NULL, NULL};
	json_t *other = e2e_pod("other", "app", "something-else");
	E2E_CALL(loop, &call,
	         fpd_kube_create(admin, &coll, other, NULL, e2e_done, &call, &e2e_err));
	json_decref(other);
	E2E_OK(&call);

	/* 1,000 creates, all in flight at once (the server's in-flight limit may answer 429 with
	 * Retry-After; the transport waits and retries). */
	struct batch b = {0};
	char name[32];
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "p-%04d", i);
		json_t *pod = e2e_pod(name, "app", "informer-e2e");
		json_object_set_new(json_object_get(json_object_get(pod, "metadata"), "labels"),
		                    "step", json_string("0"));
		ck_assert_int_eq(fpd_kube_create(admin, &coll, pod, NULL, batch_done, &b, &err),
		                 FPD_AGAIN);
		b.pending++;
		json_decref(pod);
	}
	run_batch(&b, "creating 1000 pods");
	w.count = N;
	w.step = 0;
	e2e_wait_for(loop, cache_is, &w, 120, "1000 adds");

	/* Two updates each: a label, then the status a kubelet would write. */
	json_t *label = json_pack("{s:{s:{s:s}}}", "metadata", "labels", "step", "1");
	json_t *status = json_pack("{s:{s:s}}", "status", "phase", "Running");
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "p-%04d", i);
		struct fpd_kube_ref p = {&e2e_pods, ns, name, NULL};
		struct fpd_kube_ref ps = {&e2e_pods, ns, name, "status"};
		ck_assert_int_eq(fpd_kube_patch(admin, &p, FPD_KUBE_PATCH_MERGE, label, NULL,
		                                batch_done, &b, &err),
		                 FPD_AGAIN);
		ck_assert_int_eq(fpd_kube_patch(admin, &ps, FPD_KUBE_PATCH_MERGE, status, NULL,
		                                batch_done, &b, &err),
		                 FPD_AGAIN);
		b.pending += 2;
	}
	json_decref(label);
	json_decref(status);
	run_batch(&b, "patching 1000 pods twice");
	w.step = 1;
	e2e_wait_for(loop, cache_is, &w, 120, "label updates");
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "p-%04d", i);
		const struct fpd_kube_obj *o = fpd_kube_informer_get(inf, ns, name);
		ck_assert_ptr_nonnull(o);
		ck_assert_str_eq(fpd_kube_obj_namespace(o), ns);
		ck_assert(fpd_kube_obj_uid(o)[0] != '\0');
	}

	/* Deletes, guarded by each pod's UID. */
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "p-%04d", i);
		const struct fpd_kube_obj *o = fpd_kube_informer_get(inf, ns, name);
		struct fpd_kube_ref p = {&e2e_pods, ns, name, NULL};
		struct fpd_kube_delete_opts d = {.uid = fpd_kube_obj_uid(o),
		                                 .propagation = FPD_KUBE_PROPAGATE_BACKGROUND,
		                                 .grace_period_s = 0};
		ck_assert_int_eq(fpd_kube_delete(admin, &p, &d, batch_done, &b, &err), FPD_AGAIN);
		b.pending++;
	}
	run_batch(&b, "deleting 1000 pods");
	w.count = 0;
	w.step = -1;
	e2e_wait_for(loop, cache_is, &w, 120, "1000 deletes");

	for (int i = 0; i < N; i++) {
		struct podlog *l = &logs[i];
		ck_assert_msg(!l->error[0], "pod %d: %s", i, l->error);
		ck_assert_msg(l->adds == 1 && l->deletes == 1 && l->updates >= 2,
		              "pod %d: adds %d updates %d deletes %d", i, l->adds, l->updates,
		              l->deletes);
		ck_assert_msg(!l->inferred_delete, "pod %d: delete came from a relist", i);
		ck_assert_msg(
		    strcmp(l->final_phase, "Running") == 0 && strcmp(l->final_step, "1") == 0,
		    "pod %d: final state phase=%s step=%s", i, l->final_phase, l->final_step);
	}
	ck_assert_msg(foreign == 0, "%zu events for objects outside the selector", foreign);
	struct fpd_kube_informer_stats st;
	fpd_kube_informer_get_stats(inf, &st);
	/* Under this burst the server may close a watch it finds unresponsive (even at once,
	 * which counts as a failed watch, as in client-go); the informer must resume from its
	 * last resourceVersion, never needing a relist. */
	ck_assert_msg(st.lists == 1 && st.relists_gone == 0, "lists %llu (after 410: %llu)",
	              (unsigned long long)st.lists, (unsigned long long)st.relists_gone);
	ck_assert_uint_eq(st.adds, N);
	ck_assert_uint_eq(st.deletes, N);
	struct fpd_kube_http_stats hs;
	fpd_kube_http_get_stats(fpd_kube_client_http(admin), &hs);
	fprintf(stderr,
	        "informer: %llu events (%llu updates, %llu bookmarks), %llu watches; "
	        "transport: %llu requests, %llu retried after 429/Retry-After, %llu connections\n",
	        (unsigned long long)(st.adds + st.updates + st.deletes),
	        (unsigned long long)st.updates, (unsigned long long)st.bookmarks,
	        (unsigned long long)st.watches, (unsigned long long)hs.started,
	        (unsigned long long)hs.retries, (unsigned long long)hs.connects);
	e2e_call_reset(&call);
}
END_TEST

static bool failed_three_times(void *ud)
{
	struct fpd_kube_informer_stats st;
	fpd_kube_informer_get_stats(ud, &st);
	return st.failures >= 3;
}

static int count_lines(const char *text, const char *a, const char *b)
{
	int n = 0;
	for (const char *line = text; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char buf[1024];
		snprintf(buf, sizeof(buf), "%.*s", (int)(len < sizeof(buf) ? len : sizeof(buf) - 1),
		         line);
		if (strstr(buf, a) && strstr(buf, b))
			n++;
		line = end ? end + 1 : NULL;
	}
	return n;
}

/* A resource the server does not have (an operator whose CRD is missing): the informer keeps
 * trying, and says so once at WARN, the repeats at debug level only. */
START_TEST(missing_resource_warned_once)
{
	char *text = NULL;
	size_t size = 0;
	FILE *log = open_memstream(&text, &size);
	ck_assert_ptr_nonnull(log);
	fpd_log_setup(FPD_LOG_DEBUG, FPD_LOG_TEXT, log);
	struct fpd_kube_informer_opts io = {
	    .gvr = {"nosuch.flyteplugd.example", "v1", "nosuchthings", "NoSuchThing", true},
	    .namespace_ = ns,
	};
	struct fpd_kube_informer *inf;
	struct fpd_error err;
	ck_assert_int_eq(fpd_kube_informer_new(admin, &io, &inf, &err), FPD_OK);
	current = inf;
	fpd_kube_informer_start(inf);
	e2e_wait_for(loop, failed_three_times, inf, 60, "three failed lists");
	fflush(log);
	int warns = count_lines(text, "WARN", "nosuchthings");
	int debugs = count_lines(text, "DEBUG", "list of nosuchthings");
	fpd_log_setup(FPD_LOG_INFO, FPD_LOG_TEXT, stderr);
	fclose(log);
	ck_assert_msg(warns == 1 && debugs >= 2, "%d WARN and %d DEBUG lines:\n%s", warns, debugs,
	              text);
	free(text);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("e2e_kube_informer");
	TCase *tc = tcase_create("all");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, thousand_pods_every_event_in_order);
	tcase_add_test(tc, missing_resource_warned_once);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
