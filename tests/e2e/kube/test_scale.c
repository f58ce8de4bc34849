/* The client at scale against the real API server: the streaming list (WatchList) and its
 * paged fallback, waiting for an object through the informer instead of a GET, and the
 * server's 429 pushback absorbed by the rate-limit budgets. */
#include "e2e.h"

#include "core/config.h"
#include <flyteplugd/mem.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { NPODS = 300 };

static struct ev_loop *loop;
static struct fpd_kube_client *admin;
static char *ns;
static struct fpd_kube_informer *current; /* freed by teardown even when a check fails */

static void setup(void)
{
	loop = ev_loop_new(EVFLAG_AUTO);
	admin = e2e_client(loop, NULL);
	ns = e2e_namespace(loop, admin, "kube-scale");
}

static void teardown(void)
{
	fpd_kube_informer_free(current);
	current = NULL;
	fpd_kube_client_free(admin);
	ev_loop_destroy(loop);
	free(ns);
}

struct bulk {
	int pending, failed;
	char first[FPD_ERROR_TEXT];
};

static void bulk_done(void *ud, const struct fpd_kube_result *res)
{
	struct bulk *b = ud;
	b->pending--;
	if (res->code != FPD_OK && b->failed++ == 0)
		snprintf(b->first, sizeof(b->first), "%s", res->err.text);
}

static bool bulk_drained(void *ud)
{
	return ((struct bulk *)ud)->pending == 0;
}

/* Creates pods p-<from>..p-<to-1> in ns through c, inflight at a time. */
static void create_pods(struct fpd_kube_client *c, const char *in, int from, int to, int inflight,
                        const char *what)
{
	struct bulk b = {0};
	struct fpd_kube_ref coll = {&e2e_pods, in, NULL, NULL};
	for (int i = from; i < to; i++) {
		char name[32];
		snprintf(name, sizeof(name), "p-%04d", i);
		json_t *pod = e2e_pod(name, "app", "scale-e2e");
		struct fpd_error err;
		int rc = fpd_kube_create(c, &coll, pod, NULL, bulk_done, &b, &err);
		json_decref(pod);
		ck_assert_msg(rc == FPD_AGAIN, "create %s did not start: %s", name, err.text);
		b.pending++;
		while (b.pending >= inflight)
			ev_run(loop, EVRUN_ONCE);
	}
	e2e_wait_for(loop, bulk_drained, &b, 300, what);
	ck_assert_msg(b.failed == 0, "%s: %d creates failed, the first: %s", what, b.failed,
	              b.first);
}

/* ---- streaming list and its fallback ---- */

struct seen {
	struct fpd_kube_informer **inf;
	int adds, adds_before_sync, adds_when_synced, synced;
	bool add_after_sync_seen_unsynced;
	uint64_t bookmarks_at_sync;
};

static void seen_add(void *ud, const struct fpd_kube_obj *o)
{
	struct seen *s = ud;
	s->adds++;
	if (!fpd_kube_informer_synced(*s->inf))
		s->adds_before_sync++;
}

static void seen_synced(void *ud)
{
	struct seen *s = ud;
	s->synced++;
	s->adds_when_synced = s->adds;
	struct fpd_kube_informer_stats st;
	fpd_kube_informer_get_stats(*s->inf, &st);
	s->bookmarks_at_sync = st.bookmarks;
}

static struct fpd_kube_informer *informer(struct seen *s,
                                          const struct fpd_kube_informer_opts *extra)
{
	struct fpd_kube_informer_opts o = {0};
	if (extra)
		o = *extra;
	o.gvr = e2e_pods;
	o.namespace_ = ns;
	o.label_selector = "app=scale-e2e";
	o.on_add = seen_add;
	o.on_synced = seen_synced;
	o.ud = s;
	struct fpd_error err;
	ck_assert_msg(fpd_kube_informer_new(admin, &o, &current, &err) == FPD_OK, "%s", err.text);
	s->inf = &current;
	return current;
}

static bool synced(void *ud)
{
	return fpd_kube_informer_synced(ud);
}

static bool count_is(struct fpd_kube_informer *inf, size_t n)
{
	return fpd_kube_informer_count(inf) == n;
}

static bool has_301(void *ud)
{
	return count_is(ud, NPODS + 1);
}

/* Synced only at the end bookmark, after every object of the list; then the same stream
 * goes on as the watch. */
START_TEST(watch_list_synced_at_end_bookmark)
{
	create_pods(admin, ns, 0, NPODS, 64, "setup creates");
	struct seen s = {0};
	struct fpd_kube_informer *inf = informer(&s, NULL);
	fpd_kube_informer_start(inf);
	e2e_wait_for(loop, synced, inf, 60, "the streaming list");
	struct fpd_kube_informer_stats st;
	fpd_kube_informer_get_stats(inf, &st);
	ck_assert_msg(st.watch_lists == 1 && st.list_pages == 0 && st.watch_list_fallbacks == 0,
	              "expected one streaming list and no pages, saw %llu streamed, %llu pages, "
	              "%llu fallbacks",
	              (unsigned long long)st.watch_lists, (unsigned long long)st.list_pages,
	              (unsigned long long)st.watch_list_fallbacks);
	ck_assert_int_eq(s.synced, 1);
	ck_assert_int_eq(s.adds_when_synced, NPODS);
	ck_assert_int_eq(s.adds_before_sync, NPODS);
	ck_assert_msg(s.bookmarks_at_sync >= 1, "synced before any bookmark");
	ck_assert_uint_eq(fpd_kube_informer_count(inf), NPODS);
	ck_assert_str_ne(fpd_kube_informer_resource_version(inf), "");

	create_pods(admin, ns, NPODS, NPODS + 1, 1, "one more");
	e2e_wait_for(loop, has_301, inf, 30, "the pod created after the list");
	fpd_kube_informer_get_stats(inf, &st);
	ck_assert_msg(st.watches == 1, "the watch should go on in the list's stream; %llu watches",
	              (unsigned long long)st.watches);
	ck_assert_int_eq(s.synced, 1);
}
END_TEST

/* Paged lists forced by the option: pages of page_size, then a separate watch. */
START_TEST(paged_list_when_watch_list_off)
{
	create_pods(admin, ns, 0, NPODS, 64, "setup creates");
	struct seen s = {0};
	struct fpd_kube_informer *inf =
	    informer(&s, &(struct fpd_kube_informer_opts){.no_watch_list = true, .page_size = 50});
	fpd_kube_informer_start(inf);
	e2e_wait_for(loop, synced, inf, 60, "the paged list");
	struct fpd_kube_informer_stats st;
	fpd_kube_informer_get_stats(inf, &st);
	ck_assert_msg(st.list_pages == NPODS / 50 && st.watch_lists == 0,
	              "expected %d pages and no streaming list, saw %llu pages, %llu streamed",
	              NPODS / 50, (unsigned long long)st.list_pages,
	              (unsigned long long)st.watch_lists);
	ck_assert_int_eq(s.adds_when_synced, NPODS);
	ck_assert_uint_eq(fpd_kube_informer_count(inf), NPODS);
	create_pods(admin, ns, NPODS, NPODS + 1, 1, "one more");
	e2e_wait_for(loop, has_301, inf, 30, "the pod created after the list");
}
END_TEST

/* No end bookmark in time (here: an idle limit shorter than the server's first answer) →
 * paged lists, and the cache still ends up complete. */
START_TEST(missing_end_bookmark_falls_back_to_pages)
{
	create_pods(admin, ns, 0, NPODS, 64, "setup creates");
	struct seen s = {0};
	struct fpd_kube_informer *inf = informer(
	    &s, &(struct fpd_kube_informer_opts){.watch_list_idle_ms = 1, .page_size = 100});
	fpd_kube_informer_start(inf);
	e2e_wait_for(loop, synced, inf, 60, "the list after the fallback");
	struct fpd_kube_informer_stats st;
	fpd_kube_informer_get_stats(inf, &st);
	ck_assert_msg(st.watch_list_fallbacks == 1 && st.watch_lists == 0 &&
	                  st.list_pages == NPODS / 100,
	              "expected a fallback to %d pages, saw %llu fallbacks, %llu streamed, %llu "
	              "pages",
	              NPODS / 100, (unsigned long long)st.watch_list_fallbacks,
	              (unsigned long long)st.watch_lists, (unsigned long long)st.list_pages);
	ck_assert_uint_eq(fpd_kube_informer_count(inf), NPODS);
	ck_assert_int_eq(s.synced, 1);
}
END_TEST

/* ---- waiting for an object ---- */

struct waited {
	bool called, synced_then;
	char name[64], uid[64];
	bool null;
};

static void waited_cb(void *ud, const struct fpd_kube_obj *o)
{
	struct waited *w = ud;
	ck_assert_msg(!w->called, "a wait answered twice");
	w->called = true;
	w->null = o == NULL;
	w->synced_then = fpd_kube_informer_synced(current);
	if (o) {
		snprintf(w->name, sizeof(w->name), "%s", fpd_kube_obj_name(o));
		snprintf(w->uid, sizeof(w->uid), "%s", fpd_kube_obj_uid(o));
	}
}

/* Waits registered before the first list: the object in the list answers its waiter from
 * the list, before the informer is synced; the one not there hears so when the list
 * completes. Both list kinds. */
static void waits_before_list(bool paged)
{
	create_pods(admin, ns, 0, NPODS, 64, "setup creates");
	struct seen s = {0};
	struct fpd_kube_informer *inf =
	    informer(&s, &(struct fpd_kube_informer_opts){.no_watch_list = paged});
	struct waited there = {0}, absent = {0};
	struct fpd_error err;
	ck_assert_int_eq(fpd_kube_informer_wait(inf, ns, "p-0150", 0, waited_cb, &there, &err),
	                 FPD_AGAIN);
	ck_assert_int_eq(fpd_kube_informer_wait(inf, ns, "p-9999", 0, waited_cb, &absent, &err),
	                 FPD_AGAIN);
	ck_assert_uint_eq(fpd_kube_informer_waiting(inf), 2);
	fpd_kube_informer_start(inf);
	e2e_wait(loop, &absent.called, 60, "the answer for the absent pod");
	ck_assert_msg(there.called && !there.null && strcmp(there.name, "p-0150") == 0,
	              "the listed pod's waiter: called %d, null %d, name %s", there.called,
	              there.null, there.name);
	ck_assert_msg(!there.synced_then, "the listed pod should reach its waiter from the list");
	ck_assert_msg(absent.null && absent.synced_then,
	              "the absent pod's waiter: null %d, synced %d", absent.null,
	              absent.synced_then);
	ck_assert_uint_eq(fpd_kube_informer_waiting(inf), 0);
	/* Cached now: no wait. */
	ck_assert_int_eq(fpd_kube_informer_wait(inf, ns, "p-0150", 0, waited_cb, &there, &err),
	                 FPD_OK);
}

START_TEST(wait_registered_before_streaming_list)
{
	waits_before_list(false);
}
END_TEST

START_TEST(wait_registered_before_paged_list)
{
	waits_before_list(true);
}
END_TEST

/* A GET misses; the object created afterwards reaches the waiter through the watch. A wait
 * on a synced informer with a timeout and nothing coming answers NULL; a cancelled one never
 * answers. */
START_TEST(wait_delivers_object_created_after_get_miss)
{
	struct seen s = {0};
	struct fpd_kube_informer *inf = informer(&s, NULL);
	fpd_kube_informer_start(inf);
	e2e_wait_for(loop, synced, inf, 60, "the first list");

	struct e2e_call call = {0};
	struct fpd_kube_ref ref = {&e2e_pods, ns, "late", NULL};
	E2E_CALL(loop, &call, fpd_kube_get(admin, &ref, e2e_done, &call, &e2e_err));
	ck_assert_msg(call.code == FPD_ENOENT, "expected a miss, got %s", fpd_strerror(call.code));

	struct waited late = {0}, never = {0}, cancelled = {0};
	struct fpd_error err;
	ck_assert_int_eq(fpd_kube_informer_wait(inf, ns, "late", 60000, waited_cb, &late, &err),
	                 FPD_AGAIN);
	ck_assert_int_eq(fpd_kube_informer_wait(inf, ns, "never", 300, waited_cb, &never, &err),
	                 FPD_AGAIN);
	ck_assert_int_eq(fpd_kube_informer_wait(inf, ns, "late", 0, waited_cb, &cancelled, &err),
	                 FPD_AGAIN);
	fpd_kube_informer_wait_cancel(inf, &cancelled);
	ck_assert_uint_eq(fpd_kube_informer_waiting(inf), 2);
	ck_assert_int_eq(fpd_kube_informer_wait(inf, ns, "", 0, waited_cb, &never, &err),
	                 FPD_EINVAL);

	json_t *pod = e2e_pod("late", "app", "scale-e2e");
	struct fpd_kube_ref coll = {&e2e_pods, ns, NULL, NULL};
	E2E_CALL(loop, &call, fpd_kube_create(admin, &coll, pod, NULL, e2e_done, &call, &e2e_err));
	json_decref(pod);
	E2E_OK(&call);
	const char *uid =
	    json_string_value(json_object_get(json_object_get(call.obj, "metadata"), "uid"));
	e2e_wait(loop, &late.called, 30, "the waiter of the pod created after the miss");
	ck_assert_msg(!late.null && strcmp(late.name, "late") == 0 && strcmp(late.uid, uid) == 0,
	              "expected pod late uid %s, got null %d name %s uid %s", uid, late.null,
	              late.name, late.uid);
	e2e_wait(loop, &never.called, 10, "the timeout of the wait for a pod never created");
	ck_assert(never.null);
	ck_assert(!cancelled.called);
	ck_assert_uint_eq(fpd_kube_informer_waiting(inf), 0);
	e2e_call_reset(&call);
}
END_TEST

/* ---- 429 from the real API server ---- */

static void cluster_cmd(const char *args)
{
	const char *py = getenv("FPD_E2E_PYTHON");
	const char *script = getenv("FPD_E2E_CLUSTER_PY");
	ck_assert_msg(script != NULL, "FPD_E2E_CLUSTER_PY not set");
	char cmd[8192];
	snprintf(cmd, sizeof(cmd), "'%s' '%s' %s >&2", py ? py : "python3", script, args);
	int rc = system(cmd);
	ck_assert_msg(rc == 0, "`%s` failed with %d", cmd, rc);
}

static char tight_dir[512];

static void tight_down(void)
{
	if (!tight_dir[0])
		return;
	char args[1024];
	snprintf(args, sizeof(args), "down --dir '%s'", tight_dir);
	cluster_cmd(args);
	tight_dir[0] = '\0';
}

/* Starts a cluster of its own with the extra `cluster.py up` options and returns an admin
 * client for it (new); tight_down() stops it. */
static struct fpd_kube_client *own_cluster(const char *options)
{
	snprintf(tight_dir, sizeof(tight_dir), "%s-tight", getenv("FPD_E2E_CLUSTER_DIR"));
	char args[1024];
	snprintf(args, sizeof(args), "up --dir '%s' %s", tight_dir, options);
	cluster_cmd(args);
	char kubeconfig[600];
	snprintf(kubeconfig, sizeof(kubeconfig), "%s/kubeconfig", tight_dir);
	struct fpd_kube_creds creds;
	struct fpd_error err;
	ck_assert_msg(fpd_kube_creds_from_kubeconfig(kubeconfig, NULL, &creds, &err) == FPD_OK,
	              "%s", err.text);
	struct fpd_kube_client *c;
	struct fpd_kube_client_opts ao = {
	    .qps = 500, .burst = 1000, .request_timeout_ms = 30000, .protobuf = e2e_protobuf()};
	ck_assert_int_eq(fpd_kube_client_new(loop, &creds, &ao, &c, &err), FPD_OK);
	fpd_kube_creds_free(&creds);
	return c;
}

/* A server without streaming lists (the WatchList feature gate off) answers the watch 422
 * Invalid: the informer lists in pages instead, and keeps doing so. */
START_TEST(server_without_watch_list_gets_pages)
{
	struct fpd_kube_client *c = own_cluster("--apiserver-arg=--feature-gates=WatchList=false");
	char *tns = e2e_namespace(loop, c, "kube-nowl");
	create_pods(c, tns, 0, 120, 32, "setup creates");
	struct seen s = {0};
	struct fpd_kube_informer_opts o = {
	    .gvr = e2e_pods,
	    .namespace_ = tns,
	    .label_selector = "app=scale-e2e",
	    .page_size = 50,
	    .on_add = seen_add,
	    .on_synced = seen_synced,
	    .ud = &s,
	};
	struct fpd_error err;
	struct fpd_kube_informer *inf;
	ck_assert_msg(fpd_kube_informer_new(c, &o, &inf, &err) == FPD_OK, "%s", err.text);
	s.inf = &inf;
	fpd_kube_informer_start(inf);
	e2e_wait_for(loop, synced, inf, 60, "the list after the server refused the stream");
	struct fpd_kube_informer_stats st;
	fpd_kube_informer_get_stats(inf, &st);
	ck_assert_msg(st.watch_list_fallbacks == 1 && st.watch_lists == 0 && st.list_pages == 3,
	              "expected one fallback to 3 pages, saw %llu fallbacks, %llu streamed, %llu "
	              "pages",
	              (unsigned long long)st.watch_list_fallbacks,
	              (unsigned long long)st.watch_lists, (unsigned long long)st.list_pages);
	ck_assert_int_eq(s.adds_when_synced, 120);
	ck_assert_uint_eq(fpd_kube_informer_count(inf), 120);
	fpd_kube_informer_free(inf);
	fpd_kube_client_free(c);
	free(tns);
	tight_down();
}
END_TEST

/* Grants ServiceAccount sa of ns create on pods (Role + RoleBinding). */
static void allow_pod_creates(struct fpd_kube_client *c, const char *in, const char *sa)
{
	static struct fpd_kube_gvr roles = {"rbac.authorization.k8s.io", "v1", "roles", "Role",
	                                    true};
	static struct fpd_kube_gvr bindings = {"rbac.authorization.k8s.io", "v1", "rolebindings",
	                                       "RoleBinding", true};
	struct e2e_call call = {0};
	json_t *role = json_pack("{s:s, s:s, s:{s:s}, s:[{s:[s], s:[s], s:[s]}]}", "apiVersion",
	                         "rbac.authorization.k8s.io/v1", "kind", "Role", "metadata", "name",
	                         "pod-creator", "rules", "apiGroups", "", "resources", "pods",
	                         "verbs", "create");
	struct fpd_kube_ref rref = {&roles, in, NULL, NULL};
	E2E_CALL(loop, &call, fpd_kube_create(c, &rref, role, NULL, e2e_done, &call, &e2e_err));
	json_decref(role);
	E2E_OK(&call);
	json_t *rb = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:s}, s:[{s:s, s:s, s:s}]}",
	                       "apiVersion", "rbac.authorization.k8s.io/v1", "kind", "RoleBinding",
	                       "metadata", "name", sa, "roleRef", "apiGroup",
	                       "rbac.authorization.k8s.io", "kind", "Role", "name", "pod-creator",
	                       "subjects", "kind", "ServiceAccount", "name", sa, "namespace", in);
	struct fpd_kube_ref bref = {&bindings, in, NULL, NULL};
	E2E_CALL(loop, &call, fpd_kube_create(c, &bref, rb, NULL, e2e_done, &call, &e2e_err));
	json_decref(rb);
	E2E_OK(&call);
	e2e_call_reset(&call);
}

/* Makes ServiceAccount sa of ns a flow of its own in API Priority and Fairness: a priority
 * level of about half the server's seats that rejects (429) instead of queueing, no borrowing. */
static void apf_reject_level(struct fpd_kube_client *c, const char *in, const char *sa)
{
	static struct fpd_kube_gvr levels = {"flowcontrol.apiserver.k8s.io", "v1",
	                                     "prioritylevelconfigurations",
	                                     "PriorityLevelConfiguration", false};
	static struct fpd_kube_gvr schemas = {"flowcontrol.apiserver.k8s.io", "v1", "flowschemas",
	                                      "FlowSchema", false};
	struct e2e_call call = {0};
	json_t *pl =
	    json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:{s:i, s:i, s:i, s:{s:s}}}}", "apiVersion",
	              "flowcontrol.apiserver.k8s.io/v1", "kind", "PriorityLevelConfiguration",
	              "metadata", "name", "fpd-tight", "spec", "type", "Limited", "limited",
	              "nominalConcurrencyShares", 245, "lendablePercent", 0,
	              "borrowingLimitPercent", 0, "limitResponse", "type", "Reject");
	struct fpd_kube_ref lref = {&levels, NULL, NULL, NULL};
	E2E_CALL(loop, &call, fpd_kube_create(c, &lref, pl, NULL, e2e_done, &call, &e2e_err));
	json_decref(pl);
	E2E_OK(&call);
	json_t *fs = json_pack(
	    "{s:s, s:s, s:{s:s}, s:{s:{s:s}, s:i, s:{s:s}, s:[{s:[{s:s, s:{s:s, s:s}}], "
	    "s:[{s:[s], s:[s], s:[s], s:[s]}]}]}}",
	    "apiVersion", "flowcontrol.apiserver.k8s.io/v1", "kind", "FlowSchema", "metadata",
	    "name", "fpd-tight", "spec", "priorityLevelConfiguration", "name", "fpd-tight",
	    "matchingPrecedence", 200, "distinguisherMethod", "type", "ByUser", "rules", "subjects",
	    "kind", "ServiceAccount", "serviceAccount", "name", sa, "namespace", in,
	    "resourceRules", "verbs", "*", "apiGroups", "*", "resources", "*", "namespaces", "*");
	struct fpd_kube_ref fref = {&schemas, NULL, NULL, NULL};
	E2E_CALL(loop, &call, fpd_kube_create(c, &fref, fs, NULL, e2e_done, &call, &e2e_err));
	json_decref(fs);
	E2E_OK(&call);
	e2e_call_reset(&call);
	e2e_run_for(loop, 3); /* the APF configuration controller picks them up */
}

/* A cluster of its own admitting 8 requests at a time (4 mutating without APF; with APF a
 * rejecting priority level of 4 seats for the creator); a service account (system:masters is
 * exempt from both) creates n pods with 64 in flight under the default configuration's
 * limits: every create succeeds, the server said 429, and the create budget paused for it. */
static void overload(bool apf, int n)
{
	struct fpd_kube_client *tadmin =
	    own_cluster(apf ? "--max-requests-inflight 4 --max-mutating-requests-inflight 4 "
	                      "--apiserver-arg=--enable-priority-and-fairness=true"
	                    : "--max-requests-inflight 4 --max-mutating-requests-inflight 4");
	char kubeconfig[600];
	snprintf(kubeconfig, sizeof(kubeconfig), "%s/kubeconfig", tight_dir);
	struct fpd_kube_creds creds;
	struct fpd_error err;
	ck_assert_msg(fpd_kube_creds_from_kubeconfig(kubeconfig, NULL, &creds, &err) == FPD_OK,
	              "%s", err.text);
	char *tns = e2e_namespace(loop, tadmin, "kube-429");
	char *token = e2e_sa_token(loop, tadmin, tns, "creator");
	allow_pod_creates(tadmin, tns, "creator");
	if (apf)
		apf_reject_level(tadmin, tns, "creator");

	free(creds.cert.data);
	free(creds.key.data);
	creds.cert.data = creds.key.data = NULL;
	creds.cert.len = creds.key.len = 0;
	free(creds.token);
	creds.token = token;
	struct fpd_config dc;
	fpd_config_defaults(&dc);
	struct fpd_kube_client_opts o;
	fpd_kube_client_opts_from_config(&dc.kubernetes, &o);
	fpd_config_free(&dc);
	struct fpd_kube_client *c;
	ck_assert_int_eq(fpd_kube_client_new(loop, &creds, &o, &c, &err), FPD_OK);
	fpd_kube_creds_free(&creds);

	create_pods(c, tns, 0, n, 64, "creates against a server admitting few at a time");
	struct fpd_kube_http_stats st;
	fpd_kube_http_get_stats(fpd_kube_client_http(c), &st);
	fprintf(stderr,
	        "%s: %d creates, 429: %llu answers (%llu from APF), %llu retries, create budget "
	        "paused %llu times\n",
	        apf ? "APF" : "max-in-flight", n, (unsigned long long)st.too_many_requests,
	        (unsigned long long)st.apf_rejections, (unsigned long long)st.retries,
	        (unsigned long long)st.budget_pauses[FPD_KUBE_BUDGET_CREATE]);
	ck_assert_msg(st.too_many_requests > 0, "the server never said 429: nothing was tested");
	if (apf)
		ck_assert_msg(st.apf_rejections == st.too_many_requests,
		              "every 429 came from APF: %llu of %llu counted",
		              (unsigned long long)st.apf_rejections,
		              (unsigned long long)st.too_many_requests);
	else
		ck_assert_uint_eq(st.apf_rejections, 0);
	ck_assert_msg(st.retries >= st.too_many_requests, "every 429 should have been retried");
	ck_assert_msg(st.budget_pauses[FPD_KUBE_BUDGET_CREATE] > 0,
	              "the create budget never paused");
	ck_assert_uint_eq(st.budget_pauses[FPD_KUBE_BUDGET_READ], 0);
	fpd_kube_client_free(c);
	fpd_kube_client_free(tadmin);
	free(tns);
	tight_down();
}

START_TEST(too_many_requests_absorbed)
{
	overload(false, 400);
}
END_TEST

START_TEST(apf_rejections_absorbed_and_counted)
{
	overload(true, 200);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("e2e_kube_scale");
	TCase *tc = tcase_create("all");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, watch_list_synced_at_end_bookmark);
	tcase_add_test(tc, paged_list_when_watch_list_off);
	tcase_add_test(tc, missing_end_bookmark_falls_back_to_pages);
	tcase_add_test(tc, wait_registered_before_streaming_list);
	tcase_add_test(tc, wait_registered_before_paged_list);
	tcase_add_test(tc, wait_delivers_object_created_after_get_miss);
	tcase_add_test(tc, server_without_watch_list_gets_pages);
	tcase_add_test(tc, too_many_requests_absorbed);
	tcase_add_test(tc, apf_rejections_absorbed_and_counted);
	suite_add_tcase(s, tc);
	int rc = fpd_run_suite(s);
	tight_down(); /* when a check failed before the test's own cleanup */
	return rc;
}
