/* Pods read in Kubernetes' protobuf give the same pruned JSON as the same pods read in JSON, for
 * the engine's keep set and whole: single objects, list pages split at every byte, watch frames,
 * and informers (streaming list, paged list, watch) with protobuf on and off. Pods in many states,
 * their statuses written as a kubelet would, all from the real API server. Pods created with
 * protobuf bodies are stored as the same pods created from JSON, managedFields included. */
#include "e2e.h"

#include <flyteplugd/mem.h>
#include "core/json_text.h"
#include "kube/http.h"
#include "kube/kubepb.h"
#include "kube/prune.h"
#include "kube/stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static struct ev_loop *loop;
static struct fpd_kube_client *admin;
static char *ns;

/* What the engine keeps of a pod (exec.c exec_kept_always, the pod plugin's keep,
 * exec_related_pod_keep) and what an informer always adds. */
static const char *const engine_keep[] = {
    "/apiVersion",
    "/kind",
    "/metadata/name",
    "/metadata/namespace",
    "/metadata/uid",
    "/metadata/resourceVersion",
    "/metadata/labels",
    "/metadata/annotations",
    "/metadata/creationTimestamp",
    "/metadata/deletionTimestamp",
    "/metadata/finalizers",
    "/metadata/ownerReferences",
    "/status",
    "/spec/containers/*/name",
    "/spec/initContainers/*/name",
    "/spec/hostname",
    "/spec/nodeName",
    "/spec/schedulingGates",
    "/metadata/labels/flyteplugd.flyte.org~1owner",
};

/* Pointers that reach into arrays by index, maps by key and scalars too deep. */
static const char *const odd_keep[] = {
    "/metadata/name",
    "/metadata/annotations/flyteplugd.flyte.org~1note",
    "/spec/containers/1/image",
    "/spec/containers/0/ports/0/containerPort",
    "/status/containerStatuses/*/state/terminated/exitCode",
    "/status/phase/deeper",
    "/spec/volumes/*/emptyDir",
    "/spec/volumes/*/configMap/name",
    "/spec/containers/*/livenessProbe/httpGet/port",
    "/spec/containers/*/resources/limits/memory",
};

static const char *const whole_keep[] = {""};

static struct fpd_kube_prune *prune_of(const char *const *ptrs, size_t n)
{
	struct fpd_kube_prune *p = fpd_kube_prune_new();
	struct fpd_error err;
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(fpd_kube_prune_add(p, ptrs[i], &err) == FPD_OK, "%s", err.text);
	return p;
}

/* ---- raw GETs ---- */

struct raw {
	bool done;
	long status;
	char ct[128];
	struct fpd_buf body;
	struct fpd_kube_http_req *req;
};

static int raw_data(void *ud, const char *data, size_t len)
{
	struct raw *r = ud;
	if (!r->ct[0])
		snprintf(r->ct, sizeof(r->ct), "%s", fpd_kube_http_content_type(r->req));
	return fpd_buf_append(&r->body, data, len);
}

static void raw_done(void *ud, const struct fpd_kube_http_result *res)
{
	struct raw *r = ud;
	r->status = res->code == FPD_OK ? res->status : -1;
	r->done = true;
}

/* method on path with accept (and a JSON body, or NULL); the answer's body in r->body (the
 * caller frees it), its status checked against want. */
static void raw_request(const char *method, const char *path, const char *accept,
                        const char *json, long want, struct raw *r)
{
	memset(r, 0, sizeof(*r));
	fpd_buf_init(&r->body, 256u << 20);
	struct fpd_kube_http_spec spec = {
	    .method = method,
	    .path = path,
	    .content_type = json ? "application/json" : NULL,
	    .body = json,
	    .body_len = json ? strlen(json) : 0,
	    .stream = true,
	    .unlimited = true,
	    .accept = accept,
	    .on_data = raw_data,
	    .on_done = raw_done,
	    .ud = r,
	};
	struct fpd_error err;
	ck_assert_msg(fpd_kube_http_start(fpd_kube_client_http(admin), &spec, &r->req, &err) ==
	                  FPD_OK,
	              "%s", err.text);
	e2e_wait(loop, &r->done, 60, path);
	ck_assert_msg(r->status == want, "%s %s: HTTP %ld", method, path, r->status);
}

/* GET path with accept; the body in r->body (the caller frees it). */
static void raw_get(const char *path, const char *accept, struct raw *r)
{
	raw_request("GET", path, accept, NULL, 200, r);
}

/* Writes bytes as a fuzzing seed when FPD_KUBEPB_SEEDS names a directory. */
static void seed(const char *name, const void *data, size_t len)
{
	const char *dir = getenv("FPD_KUBEPB_SEEDS");
	if (!dir)
		return;
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	fwrite(data, 1, len, f);
	fclose(f);
}

/* ---- pods ---- */

static void create(const char *json)
{
	json_error_t jerr;
	json_t *pod = json_loads(json, 0, &jerr);
	ck_assert_msg(pod != NULL, "%s: %s", jerr.text, json);
	struct fpd_kube_ref ref = {&e2e_pods, ns, NULL, NULL};
	struct e2e_call call = {0};
	E2E_CALL(loop, &call, fpd_kube_create(admin, &ref, pod, NULL, e2e_done, &call, &e2e_err));
	E2E_OK(&call);
	e2e_call_reset(&call);
	json_decref(pod);
}

/* Merge-patches the status subresource, as a kubelet writes it. */
static void set_status(const char *name, const char *json)
{
	json_error_t jerr;
	json_t *patch = json_loads(json, 0, &jerr);
	ck_assert_msg(patch != NULL, "%s: %s", jerr.text, json);
	struct fpd_kube_ref ref = {&e2e_pods, ns, name, "status"};
	struct e2e_call call = {0};
	E2E_CALL(loop, &call,
	         fpd_kube_patch(admin, &ref, FPD_KUBE_PATCH_MERGE, patch, NULL, e2e_done, &call,
	                        &e2e_err));
	E2E_OK(&call);
	e2e_call_reset(&call);
	json_decref(patch);
}

static void delete_pod(const char *name)
{
	struct fpd_kube_ref ref = {&e2e_pods, ns, name, NULL};
	struct e2e_call call = {0};
	E2E_CALL(loop, &call, fpd_kube_delete(admin, &ref, NULL, e2e_done, &call, &e2e_err));
	E2E_OK(&call);
	e2e_call_reset(&call);
}

#define SPEC1 "\"spec\":{\"containers\":[{\"name\":\"main\",\"image\":\"busybox\"}]}"

static void make_pods(void)
{
	/* pending, with unicode, escapes and odd characters in labels and annotations */
	create("{\"metadata\":{\"name\":\"pending\",\"labels\":{\"flyteplugd.flyte.org/owner\":"
	       "\"o-1\",\"app\":\"x\"},\"annotations\":{\"flyteplugd.flyte.org/note\":"
	       "\"h\\u00e9llo \\\"quoted\\\" \\\\ back\\nnew\\tline \\u2713 \\ud83d\\ude00 <&>\","
	       "\"empty\":\"\"}}," SPEC1 "}");
	/* running: init containers done, two containers, ports, probes with both kinds of port,
	 * resources, volumes, a scheduling gate removed */
	create(
	    "{\"metadata\":{\"name\":\"running\",\"generateName\":\"run-\"},\"spec\":{"
	    "\"hostname\":\"h1\",\"nodeName\":\"n1\",\"initContainers\":[{\"name\":\"init\","
	    "\"image\":\"busybox\"}],"
	    "\"containers\":[{\"name\":\"main\",\"image\":\"busybox:1\",\"ports\":[{"
	    "\"containerPort\":8080,\"name\":\"http\"}],\"livenessProbe\":{\"httpGet\":{"
	    "\"port\":\"http\",\"path\":\"/\"},\"periodSeconds\":7},\"readinessProbe\":{"
	    "\"httpGet\":{\"port\":8080}},\"resources\":{\"limits\":{\"memory\":\"1Gi\","
	    "\"cpu\":\"500m\"},\"requests\":{\"cpu\":\"0.25\"}},\"env\":[{\"name\":\"A\","
	    "\"value\":\"\"}]},{\"name\":\"side\",\"image\":\"nginx\"}],\"volumes\":[{\"name\":"
	    "\"v\",\"emptyDir\":{\"sizeLimit\":\"1Mi\"}},{\"name\":\"cm\",\"configMap\":{\"name\":"
	    "\"c\",\"optional\":false}}],\"activeDeadlineSeconds\":600,"
	    "\"terminationGracePeriodSeconds\":0}}");
	set_status(
	    "running",
	    "{\"status\":{\"phase\":\"Running\",\"hostIP\":\"10.0.0.1\",\"podIP\":\"10.1.0.5\","
	    "\"podIPs\":[{\"ip\":\"10.1.0.5\"}],\"startTime\":\"2026-01-02T03:04:05Z\","
	    "\"qosClass\":\"Burstable\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\","
	    "\"lastProbeTime\":null,\"lastTransitionTime\":\"2026-01-02T03:04:09Z\"},{\"type\":"
	    "\"PodScheduled\",\"status\":\"True\",\"lastTransitionTime\":"
	    "\"2026-01-02T03:04:05Z\",\"reason\":\"\",\"message\":\"\"}],"
	    "\"initContainerStatuses\":[{\"name\":\"init\",\"ready\":true,\"restartCount\":0,"
	    "\"image\":\"busybox\",\"imageID\":\"docker.io/busybox@sha256:ab\",\"containerID\":"
	    "\"containerd://1\",\"state\":{\"terminated\":{\"exitCode\":0,\"reason\":"
	    "\"Completed\",\"startedAt\":\"2026-01-02T03:04:06Z\",\"finishedAt\":"
	    "\"2026-01-02T03:04:07Z\",\"containerID\":\"containerd://1\"}},\"lastState\":{}}],"
	    "\"containerStatuses\":[{\"name\":\"main\",\"ready\":true,\"started\":true,"
	    "\"restartCount\":2,\"image\":\"busybox:1\",\"imageID\":\"\",\"state\":{"
	    "\"running\":{\"startedAt\":\"2026-01-02T03:04:08Z\"}},\"lastState\":{"
	    "\"terminated\":{\"exitCode\":137,\"signal\":9,\"reason\":\"OOMKilled\","
	    "\"message\":\"out of memory: \\u00fc\",\"startedAt\":null,\"finishedAt\":"
	    "\"2026-01-02T03:04:07Z\"}},\"allocatedResources\":{\"cpu\":\"250m\"},"
	    "\"resources\":{\"limits\":{\"memory\":\"1Gi\"}}},{\"name\":\"side\","
	    "\"ready\":false,\"started\":false,\"restartCount\":0,\"image\":\"nginx\","
	    "\"imageID\":\"\",\"state\":{\"waiting\":{\"reason\":\"ContainerCreating\"}},"
	    "\"lastState\":{}}]}}");
	/* failed: exit codes and messages */
	create("{\"metadata\":{\"name\":\"failed\"}," SPEC1 "}");
	set_status(
	    "failed",
	    "{\"status\":{\"phase\":\"Failed\",\"reason\":\"Error\",\"message\":\"it failed\","
	    "\"containerStatuses\":[{\"name\":\"main\",\"ready\":false,\"restartCount\":0,"
	    "\"image\":\"busybox\",\"imageID\":\"x\",\"state\":{\"terminated\":{\"exitCode\":1,"
	    "\"reason\":\"Error\",\"message\":\"line1\\nline2\",\"startedAt\":"
	    "\"2026-01-02T03:04:06Z\",\"finishedAt\":\"2026-01-02T03:04:07Z\"}},"
	    "\"lastState\":{}}]}}");
	/* owned, with finalizers, then deleted: a deletionTimestamp while the finalizer holds it */
	create(
	    "{\"metadata\":{\"name\":\"deleting\",\"finalizers\":[\"flyteplugd.flyte.org/f\","
	    "\"example.com/x\"],\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":"
	    "\"ConfigMap\",\"name\":\"owner\",\"uid\":\"6b1c2a9e-1111-2222-3333-444455556666\","
	    "\"controller\":true,\"blockOwnerDeletion\":false}]},\"spec\":{"
	    "\"schedulingGates\":[{\"name\":\"g\"}],\"containers\":[{\"name\":\"main\",\"image\":"
	    "\"busybox\"}]}}");
	delete_pod("deleting");
	/* succeeded, no container statuses at all */
	create("{\"metadata\":{\"name\":\"done\"}," SPEC1 "}");
	set_status("done", "{\"status\":{\"phase\":\"Succeeded\"}}");
}

/* ---- comparisons ---- */

static char *text(const json_t *v)
{
	return json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
}

static void expect_same(const char *what, const json_t *want, const json_t *got)
{
	if (json_equal((json_t *)want, (json_t *)got))
		return;
	char *w = text(want), *g = text(got);
	fprintf(stderr, "%s:\n JSON:     %s\n protobuf: %s\n", what, w, g);
	ck_abort_msg("%s: protobuf and JSON differ (both on stderr)", what);
}

static json_t *items_by_name(json_t *items)
{
	json_t *by = json_object();
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
	{
		const char *name =
		    json_string_value(json_object_get(json_object_get(it, "metadata"), "name"));
		ck_assert_ptr_nonnull(name);
		json_object_set(by, name, it);
	}
	return by;
}

struct collect {
	struct fpd_kubepb *pb;
	json_t *items;
	size_t calls;
};

static int collect_item(void *ud, const char *data, size_t len)
{
	struct collect *c = ud;
	json_t *v;
	struct fpd_error err;
	ck_assert_msg(fpd_kubepb_item(c->pb, data, len, &v, &err) == FPD_OK, "%s", err.text);
	json_array_append_new(c->items, v);
	return 0;
}

/* The protobuf list body fed in pieces of step bytes. */
static json_t *pb_list(struct fpd_kubepb *pb, const struct fpd_buf *body, size_t step, char rv[64])
{
	struct fpd_kubepb_list l;
	fpd_kubepb_list_init(&l, 1u << 20);
	struct collect c = {pb, json_array(), 0};
	struct fpd_error err;
	for (size_t off = 0; off < body->len; off += step) {
		size_t n = body->len - off < step ? body->len - off : step;
		ck_assert_msg(
		    fpd_kubepb_list_feed(&l, body->data + off, n, collect_item, &c, &err) == FPD_OK,
		    "step %zu at %zu: %s", step, off, err.text);
	}
	json_t *doc;
	ck_assert_msg(fpd_kubepb_list_finish(&l, "PodList", &doc, &err) == FPD_OK, "%s", err.text);
	snprintf(rv, 64, "%s",
	         json_string_value(
	             json_object_get(json_object_get(doc, "metadata"), "resourceVersion")));
	json_decref(doc);
	fpd_kubepb_list_free(&l);
	json_t *by = items_by_name(c.items);
	json_decref(c.items);
	return by;
}

static json_t *json_list(const struct fpd_kube_prune *p, const struct fpd_buf *body, char rv[64])
{
	json_error_t jerr;
	json_t *doc = json_loadb(body->data, body->len, 0, &jerr);
	ck_assert_ptr_nonnull(doc);
	json_t *items = json_array();
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(doc, "items"), i, it)
	{
		char *t = json_dumps(it, JSON_COMPACT);
		json_t *v;
		struct fpd_error err;
		ck_assert_msg(fpd_kube_prune_parse(p, t, strlen(t), &v, &err) == FPD_OK, "%s",
		              err.text);
		json_array_append_new(items, v);
		free(t);
	}
	snprintf(rv, 64, "%s",
	         json_string_value(
	             json_object_get(json_object_get(doc, "metadata"), "resourceVersion")));
	json_decref(doc);
	json_t *by = items_by_name(items);
	json_decref(items);
	return by;
}

static void compare_keep(const char *label, const char *const *ptrs, size_t n)
{
	struct fpd_kube_prune *p = prune_of(ptrs, n);
	struct fpd_kubepb *pb;
	struct fpd_error err;
	ck_assert_msg(fpd_kubepb_new("Pod", fpd_kube_prune_root(p), &pb, &err) == FPD_OK, "%s",
	              err.text);
	char path[512], rvj[64], rvp[64];
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods", ns);
	struct raw rj, rp;
	raw_get(path, "application/json", &rj);
	raw_get(path, FPD_KUBEPB_MEDIA ", application/json", &rp);
	ck_assert_msg(strncmp(rp.ct, FPD_KUBEPB_MEDIA, strlen(FPD_KUBEPB_MEDIA)) == 0,
	              "content type %s", rp.ct);
	seed("list.pb", rp.body.data, rp.body.len);
	json_t *want = json_list(p, &rj.body, rvj);
	ck_assert_int_eq(json_object_size(want), 5);
	/* whole, then in pieces that split every header and item */
	static const size_t steps[] = {1u << 30, 1, 3, 7, 64, 1000};
	for (size_t s = 0; s < FPD_ARRAY_LEN(steps); s++) {
		json_t *got = pb_list(pb, &rp.body, steps[s], rvp);
		char what[128];
		snprintf(what, sizeof(what), "%s: list in pieces of %zu", label, steps[s]);
		expect_same(what, want, got);
		ck_assert_str_eq(rvp, rvj);
		json_decref(got);
	}
	/* each pod alone, in its envelope (apiVersion and kind from it) */
	const char *name;
	json_t *unused;
	json_object_foreach(want, name, unused)
	{
		char one[600];
		snprintf(one, sizeof(one), "%s/%s", path, name);
		struct raw oj, op;
		raw_get(one, "application/json", &oj);
		raw_get(one, FPD_KUBEPB_MEDIA, &op);
		json_t *w, *g;
		ck_assert_msg(fpd_kube_prune_parse(p, oj.body.data, oj.body.len, &w, &err) ==
		                  FPD_OK,
		              "%s", err.text);
		ck_assert_msg(fpd_kubepb_object(pb, op.body.data, op.body.len, &g, &err) == FPD_OK,
		              "%s: %s", name, err.text);
		char what[256];
		snprintf(what, sizeof(what), "%s: pod %s", label, name);
		expect_same(what, w, g);
		char sname[128];
		snprintf(sname, sizeof(sname), "pod-%s.pb", name);
		seed(sname, op.body.data, op.body.len);
		json_decref(w);
		json_decref(g);
		fpd_buf_free(&oj.body);
		fpd_buf_free(&op.body);
	}
	json_decref(want);
	fpd_buf_free(&rj.body);
	fpd_buf_free(&rp.body);
	fpd_kubepb_free(pb);
	fpd_kube_prune_free(p);
}

static void setup(void)
{
	loop = ev_loop_new(EVFLAG_AUTO);
	struct fpd_kube_client_opts o = {.qps = 500, .burst = 1000, .request_timeout_ms = 30000};
	admin = e2e_client(loop, &o);
	ns = e2e_namespace(loop, admin, "pb");
	make_pods();
}

static void teardown(void)
{
	fpd_kube_client_free(admin);
	ev_loop_destroy(loop);
	free(ns);
}

START_TEST(objects_and_lists_match_json)
{
	compare_keep("engine keep", engine_keep, FPD_ARRAY_LEN(engine_keep));
	compare_keep("odd pointers", odd_keep, FPD_ARRAY_LEN(odd_keep));
	compare_keep("whole", whole_keep, FPD_ARRAY_LEN(whole_keep));
}
END_TEST

/* ---- watches and informers ---- */

struct watched {
	struct fpd_kubepb_frames frames;
	struct fpd_kubepb *pb;
	struct fpd_kube_prune *events;
	json_t *got;  /* name -> last object from protobuf frames */
	json_t *want; /* name -> last object from JSON lines */
	struct fpd_kube_lines lines;
	bool pb_side;
	size_t nframes;
};

static int on_frame(void *ud, const char *data, size_t len)
{
	struct watched *w = ud;
	json_t *ev;
	struct fpd_error err;
	ck_assert_msg(fpd_kubepb_event(w->pb, data, len, &ev, &err) == FPD_OK, "%s", err.text);
	char sname[64];
	snprintf(sname, sizeof(sname), "event-%zu.pb", w->nframes++);
	seed(sname, data, len);
	json_t *obj = json_object_get(ev, "object");
	const char *name =
	    json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
	json_object_set(w->got, name, ev);
	json_decref(ev);
	return 0;
}

static int on_line(void *ud, const char *data, size_t len)
{
	struct watched *w = ud;
	json_t *ev;
	struct fpd_error err;
	ck_assert_msg(fpd_kube_prune_parse(w->events, data, len, &ev, &err) == FPD_OK, "%s",
	              err.text);
	json_t *obj = json_object_get(ev, "object");
	const char *name =
	    json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
	json_object_set(w->want, name, ev);
	json_decref(ev);
	return 0;
}

START_TEST(watch_frames_match_json_lines)
{
	/* The watch from resourceVersion 0 of the namespace: an ADDED event per pod, then
	 * whatever changes, until timeoutSeconds. */
	struct watched w = {0};
	const char *ptrs[FPD_ARRAY_LEN(engine_keep) + 1];
	for (size_t i = 0; i < FPD_ARRAY_LEN(engine_keep); i++) {
		static char buf[FPD_ARRAY_LEN(engine_keep)][128];
		snprintf(buf[i], sizeof(buf[i]), "/object%s", engine_keep[i]);
		ptrs[i] = buf[i];
	}
	ptrs[FPD_ARRAY_LEN(engine_keep)] = "/type";
	w.events = prune_of(ptrs, FPD_ARRAY_LEN(ptrs));
	struct fpd_error err;
	ck_assert_msg(
	    fpd_kubepb_new("Pod", fpd_kube_prune_child(fpd_kube_prune_root(w.events), "object", 6),
	                   &w.pb, &err) == FPD_OK,
	    "%s", err.text);
	w.got = json_object();
	w.want = json_object();
	char path[512];
	snprintf(path, sizeof(path),
	         "/api/v1/namespaces/%s/pods?watch=1&resourceVersion=0&timeoutSeconds=2", ns);
	struct raw rj, rp;
	raw_get(path, "application/json", &rj);
	raw_get(path, FPD_KUBEPB_MEDIA ";stream=watch", &rp);
	ck_assert_str_eq(rp.ct, FPD_KUBEPB_MEDIA ";stream=watch");
	fpd_kube_lines_init(&w.lines, 1u << 20);
	ck_assert_int_eq(
	    fpd_kube_lines_feed(&w.lines, rj.body.data, rj.body.len, on_line, &w, &err), FPD_OK);
	/* frames in pieces of 5 bytes: every length prefix is split somewhere */
	fpd_kubepb_frames_init(&w.frames, 1u << 20);
	for (size_t off = 0; off < rp.body.len; off += 5) {
		size_t n = rp.body.len - off < 5 ? rp.body.len - off : 5;
		ck_assert_msg(fpd_kubepb_frames_feed(&w.frames, rp.body.data + off, n, on_frame, &w,
		                                     &err) == FPD_OK,
		              "%s", err.text);
	}
	ck_assert(!fpd_kubepb_frames_pending(&w.frames));
	ck_assert_int_eq(json_object_size(w.want), 5);
	expect_same("watch events", w.want, w.got);
	fpd_kube_lines_free(&w.lines);
	fpd_kubepb_frames_free(&w.frames);
	json_decref(w.got);
	json_decref(w.want);
	fpd_buf_free(&rj.body);
	fpd_buf_free(&rp.body);
	fpd_kubepb_free(w.pb);
	fpd_kube_prune_free(w.events);
}
END_TEST

struct cache {
	json_t *objs; /* name -> the pruned object the informer built */
	bool synced;
	struct fpd_kube_informer *inf;
};

static void project(void *ud, json_t *obj, struct fpd_kube_proj *p)
{
	struct cache *c = ud;
	const char *name =
	    json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
	json_object_set_new(c->objs, name, json_deep_copy(obj));
}

static void synced(void *ud)
{
	((struct cache *)ud)->synced = true;
}

static struct fpd_kube_informer *informer(struct fpd_kube_client *c, bool paged,
                                          struct cache *cache)
{
	struct fpd_kube_informer_opts o = {
	    .gvr = e2e_pods,
	    .namespace_ = ns,
	    .project = project,
	    .on_synced = synced,
	    .ud = cache,
	    .keep = engine_keep,
	    .nkeep = FPD_ARRAY_LEN(engine_keep),
	    .no_watch_list = paged,
	    .page_size = 2,
	};
	struct fpd_kube_informer *inf;
	struct fpd_error err;
	ck_assert_msg(fpd_kube_informer_new(c, &o, &inf, &err) == FPD_OK, "%s", err.text);
	fpd_kube_informer_start(inf);
	return inf;
}

static bool all_synced(void *ud)
{
	struct cache *c = ud;
	for (int i = 0; i < 4; i++)
		if (!c[i].synced)
			return false;
	return true;
}

/* Every cache has the changes below, and the three agree. */
static bool caches_agree(void *ud)
{
	struct cache *c = ud;
	for (int i = 0; i < 4; i++) {
		json_t *failed = json_object_get(c[i].objs, "failed");
		const char *msg = json_string_value(
		    json_object_get(json_object_get(failed, "status"), "message"));
		if (!json_object_get(c[i].objs, "late") || !msg || strcmp(msg, "changed") != 0 ||
		    fpd_kube_informer_get(c[i].inf, ns, "done") ||
		    fpd_kube_informer_count(c[i].inf) != 5)
			return false;
	}
	for (int i = 0; i < 4; i++)
		json_object_del(c[i].objs, "done");
	return true;
}

START_TEST(informers_match_with_protobuf_on_and_off)
{
	struct fpd_kube_client_opts on = {
	    .qps = 500, .burst = 1000, .request_timeout_ms = 30000, .protobuf = true};
	struct fpd_kube_client_opts off = on;
	off.protobuf = false;
	struct fpd_kube_client *cj = e2e_client(loop, &off), *cp = e2e_client(loop, &on);
	/* JSON and protobuf, each by streaming list and by paged list (whose items, unlike
	 * events, have no apiVersion and kind in either encoding) */
	struct cache c[4];
	struct fpd_kube_informer *inf[4];
	for (int i = 0; i < 4; i++) {
		c[i] = (struct cache){json_object(), false, NULL};
		inf[i] = c[i].inf = informer(i % 2 ? cp : cj, i >= 2, &c[i]);
	}
	e2e_wait_for(loop, all_synced, c, 60, "four informers synced");
	/* changes seen by the watches: a new pod, a status, a deletion */
	create("{\"metadata\":{\"name\":\"late\",\"annotations\":{\"k\":\"\\u00e4\"}}," SPEC1 "}");
	set_status("failed", "{\"status\":{\"message\":\"changed\"}}");
	delete_pod("done");
	e2e_wait_for(loop, caches_agree, c, 30, "the changes in every cache");
	expect_same("informer caches, streaming list", c[0].objs, c[1].objs);
	expect_same("informer caches, paged list", c[2].objs, c[3].objs);
	struct fpd_kube_informer_stats st;
	fpd_kube_informer_get_stats(inf[1], &st);
	ck_assert_uint_ge(st.watch_lists, 1);
	fpd_kube_informer_get_stats(inf[3], &st);
	ck_assert_uint_ge(st.list_pages, 3);
	for (int i = 0; i < 4; i++) {
		fpd_kube_informer_free(inf[i]);
		json_decref(c[i].objs);
	}
	fpd_kube_client_free(cj);
	fpd_kube_client_free(cp);
}
END_TEST

/* Answers to writes that ask for the object's metadata only: in protobuf when the client reads
 * protobuf, in JSON when not, the same document either way; error answers read as well. */
static void metadata_create(struct fpd_kube_client *c, const char *name, struct e2e_call *call)
{
	json_t *pod = json_pack("{s:s, s:s, s:{s:s, s:{s:s}, s:{s:s}}, s:{s:[{s:s, s:s}]}}",
	                        "apiVersion", "v1", "kind", "Pod", "metadata", "name", name,
	                        "labels", "a", "b", "annotations", "c", "d", "spec", "containers",
	                        "name", "main", "image", "busybox");
	struct fpd_kube_ref ref = {&e2e_pods, ns, NULL, NULL};
	struct fpd_kube_write_opts mo = {.metadata_only = true};
	E2E_CALL(loop, call, fpd_kube_create(c, &ref, pod, &mo, e2e_done, call, &e2e_err));
	json_decref(pod);
}

START_TEST(metadata_answers_match_json)
{
	struct fpd_kube_client_opts on = {
	    .qps = 500, .burst = 1000, .request_timeout_ms = 30000, .protobuf = true};
	struct fpd_kube_client_opts off = on;
	off.protobuf = false;
	struct fpd_kube_client *cj = e2e_client(loop, &off), *cp = e2e_client(loop, &on);
	struct e2e_call j = {0}, p = {0};
	metadata_create(cj, "meta-j", &j);
	metadata_create(cp, "meta-p", &p);
	E2E_OK(&j);
	E2E_OK(&p);
	ck_assert(!j.protobuf);
	ck_assert(p.protobuf);
	/* the same document but for the name, uid, version and time */
	json_t *want = json_deep_copy(j.obj), *got = json_deep_copy(p.obj);
	const char *vary[] = {"name", "uid", "resourceVersion", "creationTimestamp"};
	for (size_t i = 0; i < FPD_ARRAY_LEN(vary); i++) {
		ck_assert_msg(json_string_length(json_object_get(json_object_get(got, "metadata"),
		                                                 vary[i])) > 0,
		              "%s missing", vary[i]);
		json_object_del(json_object_get(want, "metadata"), vary[i]);
		json_object_del(json_object_get(got, "metadata"), vary[i]);
	}
	expect_same("metadata answer", want, got);
	ck_assert_str_eq(json_string_value(json_object_get(p.obj, "kind")), "PartialObjectMetadata");
	ck_assert_str_eq(json_string_value(json_object_get(p.obj, "apiVersion")), "meta.k8s.io/v1");
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(p.obj, "metadata"), "namespace")), ns);
	json_decref(want);
	json_decref(got);
	/* errors: an object that exists, a name the API server refuses */
	metadata_create(cp, "meta-p", &p);
	ck_assert_int_eq(p.code, FPD_EEXIST);
	ck_assert_str_eq(p.status.reason_text, "AlreadyExists");
	ck_assert_msg(strstr(p.status.message, "meta-p"), "%s", p.status.message);
	metadata_create(cp, "Not_A_Name", &p);
	metadata_create(cj, "Not_A_Name", &j);
	ck_assert_int_eq(p.code, FPD_EINVAL);
	ck_assert_int_eq(p.status.http, 422);
	ck_assert_str_eq(p.status.message, j.status.message);
	ck_assert_msg(strstr(p.status.message, "Not_A_Name"), "%s", p.status.message);
	e2e_call_reset(&j);
	e2e_call_reset(&p);
	fpd_kube_client_free(cj);
	fpd_kube_client_free(cp);

	/* The bytes themselves: the answer holds managedFields, which the client's decoder skips
	 * (a seed for fuzz_kubepb). */
	struct raw r;
	char path[512];
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods", ns);
	raw_request("POST", path,
	            FPD_KUBEPB_MEDIA ";as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
	            "{\"metadata\":{\"name\":\"meta-raw\",\"labels\":{\"a\":\"b\"}}," SPEC1 "}",
	            201, &r);
	ck_assert_msg(strncmp(r.ct, FPD_KUBEPB_MEDIA, strlen(FPD_KUBEPB_MEDIA)) == 0, "%s", r.ct);
	seed("partial-object-metadata.pb", r.body.data, r.body.len);
	struct fpd_kubepb *all;
	struct fpd_error err;
	ck_assert_int_eq(fpd_kubepb_new("PartialObjectMetadata", NULL, &all, &err), FPD_OK);
	json_t *whole;
	ck_assert_msg(fpd_kubepb_object(all, r.body.data, r.body.len, &whole, &err) == FPD_OK, "%s",
	              err.text);
	json_t *m = json_object_get(whole, "metadata");
	ck_assert_str_eq(json_string_value(json_object_get(m, "name")), "meta-raw");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(m, "labels"), "a")), "b");
	ck_assert_uint_ge(json_array_size(json_object_get(m, "managedFields")), 1);
	json_decref(whole);
	fpd_kubepb_free(all);
	fpd_buf_free(&r.body);
}
END_TEST

/* ---- pods sent in protobuf ---- */

/* Pods as the engine sends them, and odd ones: each created once from JSON and once with the
 * protobuf body fpd_kube_encode_create makes (as the engine sends it), then read back whole in
 * JSON. */
static const char *const body_pods[] = {
    /* a flytekit container task's pod, most of what the pod plugin writes */
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"NAME\","
    "\"creationTimestamp\":null,\"labels\":{\"app.kubernetes.io/managed-by\":\"flyteplugd\","
    "\"execution-id\":\"a0\",\"interruptible\":\"false\"},\"annotations\":{"
    "\"cluster-autoscaler.kubernetes.io/safe-to-evict\":\"false\","
    "\"uni\":\"h\\u00e9 \\ud83d\\ude00\",\"empty\":\"\"},\"finalizers\":[\"flyte/flytek8s\"]},"
    "\"spec\":{\"restartPolicy\":\"Never\",\"activeDeadlineSeconds\":3600,"
    "\"terminationGracePeriodSeconds\":0,\"hostNetwork\":false,\"enableServiceLinks\":false,"
    "\"nodeSelector\":{\"pool\":\"cpu\"},\"securityContext\":{\"runAsUser\":1000,"
    "\"runAsNonRoot\":true,\"fsGroup\":2000,\"supplementalGroups\":[1,2147483647],"
    "\"seccompProfile\":{\"type\":\"RuntimeDefault\"}},\"tolerations\":[{\"key\":\"gpu\","
    "\"operator\":\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":0}],"
    "\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":{"
    "\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\","
    "\"values\":[\"a\",\"b\"]}]}]}},\"podAntiAffinity\":{"
    "\"preferredDuringSchedulingIgnoredDuringExecution\":[{\"weight\":10,"
    "\"podAffinityTerm\":{\"topologyKey\":\"kubernetes.io/hostname\",\"labelSelector\":{"
    "\"matchLabels\":{\"app\":\"x\"}}}}]}},\"initContainers\":[{\"name\":\"init\","
    "\"image\":\"busybox\",\"command\":[\"true\"],\"resources\":{}}],"
    "\"containers\":[{\"name\":\"primary\",\"image\":\"ghcr.io/flyteorg/flytekit:py3.11\","
    "\"args\":[\"pyflyte-execute\",\"--inputs\",\"s3://b/i\",\"\"],\"env\":[{\"name\":"
    "\"FLYTE_INTERNAL_EXECUTION_ID\",\"value\":\"a0\"},{\"name\":\"E\",\"value\":\"\"},"
    "{\"name\":\"POD\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}},"
    "{\"name\":\"MEM\",\"valueFrom\":{\"resourceFieldRef\":{\"resource\":\"limits.memory\","
    "\"divisor\":\"1Mi\"}}}],\"resources\":{\"requests\":{\"cpu\":\"500m\",\"memory\":"
    "\"1Gi\",\"ephemeral-storage\":\"100M\"},\"limits\":{\"cpu\":2,\"memory\":\"1.5e9\"}},"
    "\"ports\":[{\"containerPort\":8080,\"name\":\"http\",\"protocol\":\"TCP\"}],"
    "\"readinessProbe\":{\"httpGet\":{\"path\":\"/\",\"port\":8080,\"httpHeaders\":[{"
    "\"name\":\"A\",\"value\":\"b\"}]},\"periodSeconds\":5},\"livenessProbe\":{"
    "\"tcpSocket\":{\"port\":\"http\"}},\"lifecycle\":{\"preStop\":{\"exec\":{\"command\":"
    "[\"sleep\",\"1\"]}}},\"volumeMounts\":[{\"name\":\"scratch\",\"mountPath\":\"/tmp\","
    "\"readOnly\":true},{\"name\":\"cfg\",\"mountPath\":\"/etc/c\"}],\"securityContext\":{"
    "\"allowPrivilegeEscalation\":false,\"capabilities\":{\"drop\":[\"ALL\"]},"
    "\"privileged\":false},\"terminationMessagePolicy\":\"FallbackToLogsOnError\","
    "\"imagePullPolicy\":\"IfNotPresent\",\"stdin\":false}],\"volumes\":[{\"name\":"
    "\"scratch\",\"emptyDir\":{\"medium\":\"Memory\",\"sizeLimit\":\"64Mi\"}},{\"name\":"
    "\"cfg\",\"configMap\":{\"name\":\"c\",\"defaultMode\":420,\"optional\":true,\"items\":"
    "[{\"key\":\"k\",\"path\":\"p\",\"mode\":256}]}},{\"name\":\"eph\",\"ephemeral\":{"
    "\"volumeClaimTemplate\":{\"metadata\":{\"labels\":{\"a\":\"b\"}},\"spec\":{"
    "\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{\"requests\":{\"storage\":"
    "\"1Gi\"}}}}}},{\"name\":\"proj\",\"projected\":{\"sources\":[{"
    "\"serviceAccountToken\":{\"path\":\"t\",\"expirationSeconds\":3600,\"audience\":"
    "\"x\"}},{\"downwardAPI\":{\"items\":[{\"path\":\"l\",\"fieldRef\":{\"fieldPath\":"
    "\"metadata.labels\"}}]}}]}}],\"topologySpreadConstraints\":[{\"maxSkew\":1,"
    "\"topologyKey\":\"zone\",\"whenUnsatisfiable\":\"ScheduleAnyway\"}],"
    "\"priorityClassName\":\"\",\"dnsConfig\":{\"options\":[{\"name\":\"ndots\",\"value\":"
    "\"2\"}]},\"hostAliases\":[{\"ip\":\"10.0.0.1\",\"hostnames\":[\"h\"]}],"
    "\"readinessGates\":[{\"conditionType\":\"x.io/ready\"}],\"overhead\":null,"
    "\"schedulingGates\":[]}}",
    /* left to JSON by the encoder: a member no version of the type has */
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"NAME\"},\"spec\":{"
    "\"futureField\":true,\"containers\":[{\"name\":\"main\",\"image\":\"busybox\"}]}}",
    /* left to JSON too: a string with a NUL, which the daemon's decoder would cut */
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"NAME\","
    "\"annotations\":{\"nul\":\"x\\u0000y\"}},\"spec\":{\"containers\":[{\"name\":"
    "\"main\",\"image\":\"busybox\"}]}}",
    /* refused by the API server both ways: its validation, and a quantity it cannot parse */
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"NAME\"},\"spec\":{"
    "\"containers\":[{\"name\":\"Bad_Name\",\"image\":\"busybox\"}]}}",
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"NAME\"},\"spec\":{"
    "\"containers\":[{\"name\":\"main\",\"image\":\"busybox\",\"resources\":{\"limits\":{"
    "\"cpu\":\"1x\"}}}]}}",
};

/* pod (text with NAME for its name) created as name by c as the engine creates it: in
 * protobuf where the client encodes it (*pb set), else in JSON. */
static void body_create(struct fpd_kube_client *c, const char *pod, const char *name,
                        struct e2e_call *call, bool *pb)
{
	struct fpd_buf t;
	fpd_buf_init(&t, 1 << 20);
	const char *at = strstr(pod, "\"NAME\"");
	ck_assert_ptr_nonnull(at);
	fpd_buf_append(&t, pod, (size_t)(at - pod));
	fpd_buf_printf(&t, "\"%s\"%s", name, at + 6);
	json_error_t jerr;
	json_t *obj = json_loadb(t.data, t.len, JSON_ALLOW_NUL, &jerr);
	ck_assert_msg(obj != NULL, "%s", jerr.text);
	struct fpd_kube_ref ref = {&e2e_pods, ns, NULL, NULL};
	struct fpd_kube_write_opts mo = {.metadata_only = true};
	char *body;
	size_t len;
	struct fpd_error err;
	int rc = fpd_kube_encode_create(c, &ref, obj, 3u << 20, &body, &len, &err);
	ck_assert_msg(rc == FPD_OK || rc == FPD_EINVAL || rc == FPD_ENOENT, "%s", err.text);
	*pb = rc == FPD_OK;
	if (*pb) {
		/* what the engine reads back from it, when it judges the object as sent */
		json_t *back;
		ck_assert_int_eq(fpd_kube_decode_created(c, body, len, &back, &err), FPD_OK);
		ck_assert_str_eq(json_string_value(json_object_get(json_object_get(back, "metadata"),
		                                                   "name")),
		                 name);
		json_decref(back);
		E2E_CALL(loop, call,
		         fpd_kube_create_protobuf(c, &ref, body, len, &mo, e2e_done, call, &e2e_err));
		free(body);
	} else {
		E2E_CALL(loop, call,
		         fpd_kube_create_text(c, &ref, t.data, t.len, &mo, e2e_done, call, &e2e_err));
	}
	json_decref(obj);
	fpd_buf_free(&t);
}

/* The pod name as the API server has it, for comparison: what differs between two creates
 * removed (identity, times), the name replaced. */
static json_t *read_back(const char *name)
{
	/* raw: the client's JSON reader refuses a NUL in a string, which one pod holds */
	char path[512];
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s", ns, name);
	struct raw r;
	raw_get(path, "application/json", &r);
	json_error_t jerr;
	json_t *pod = json_loadb(r.body.data, r.body.len, JSON_ALLOW_NUL, &jerr);
	ck_assert_msg(pod != NULL, "%s", jerr.text);
	fpd_buf_free(&r.body);
	json_t *meta = json_object_get(pod, "metadata");
	const char *vary[] = {"uid", "resourceVersion", "creationTimestamp"};
	for (size_t i = 0; i < FPD_ARRAY_LEN(vary); i++) {
		ck_assert_ptr_nonnull(json_object_get(meta, vary[i]));
		json_object_del(meta, vary[i]);
	}
	ck_assert_str_eq(json_string_value(json_object_get(meta, "name")), name);
	json_object_set_new(meta, "name", json_string("NAME"));
	size_t i;
	json_t *mf;
	json_array_foreach(json_object_get(meta, "managedFields"), i, mf)
	    json_object_del(mf, "time");
	/* the service account admission's volume, named at random */
	size_t n;
	char *t = fpd_json_text(pod, true, &n), *at = t;
	json_decref(pod);
	while ((at = strstr(at, "kube-api-access-"))) {
		at += strlen("kube-api-access-");
		for (; (*at >= 'a' && *at <= 'z') || (*at >= '0' && *at <= '9'); at++)
			*at = 'x';
	}
	pod = json_loadb(t, n, JSON_ALLOW_NUL, NULL);
	ck_assert_ptr_nonnull(pod);
	free(t);
	return pod;
}

START_TEST(pod_bodies_match_json)
{
	struct fpd_kube_client_opts on = {
	    .qps = 500, .burst = 1000, .request_timeout_ms = 30000, .protobuf_creates = true};
	struct fpd_kube_client_opts off = on;
	off.protobuf_creates = false;
	struct fpd_kube_client *cj = e2e_client(loop, &off), *cp = e2e_client(loop, &on);
	for (size_t i = 0; i < FPD_ARRAY_LEN(body_pods); i++) {
		char nj[32], np[32];
		snprintf(nj, sizeof(nj), "body-j-%zu", i);
		snprintf(np, sizeof(np), "body-p-%zu", i);
		struct e2e_call j = {0}, p = {0};
		bool jpb, ppb;
		body_create(cj, body_pods[i], nj, &j, &jpb);
		body_create(cp, body_pods[i], np, &p, &ppb);
		/* which encoding went: JSON with protobuf_creates off, and for the pods with a
		 * member or a string the encoder refuses */
		ck_assert(!jpb);
		ck_assert_int_eq(ppb, i != 1 && i != 2);
		ck_assert_msg(j.code == p.code, "pod %zu: JSON %d, protobuf %d (%s)", i, j.code,
		              p.code, p.code ? p.err.text : j.err.text);
		/* the first three are valid pods */
		ck_assert_msg(i >= 3 || j.code == FPD_OK, "pod %zu: %s", i, j.err.text);
		if (j.code == FPD_OK) {
			json_t *want = read_back(nj), *got = read_back(np);
			expect_same(body_pods[i], want, got);
			json_decref(want);
			json_decref(got);
		} else {
			/* the same refusal, named for its pod */
			ck_assert_int_eq(j.status.http, p.status.http);
			ck_assert_str_eq(j.status.reason_text, p.status.reason_text);
			char *pm = fpd_strdup(p.status.message), *at;
			while ((at = strstr(pm, np)))
				memcpy(at, nj, strlen(nj));
			if (strstr(j.status.message, "quantities must match"))
				ck_assert_msg(strstr(pm, "quantities must match"), "%s", pm);
			else
				ck_assert_str_eq(pm, j.status.message);
			free(pm);
		}
		e2e_call_reset(&j);
		e2e_call_reset(&p);
	}
	fpd_kube_client_free(cj);
	fpd_kube_client_free(cp);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("e2e_kube_protobuf");
	TCase *tc = tcase_create("all");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, objects_and_lists_match_json);
	tcase_add_test(tc, watch_frames_match_json_lines);
	tcase_add_test(tc, informers_match_with_protobuf_on_and_off);
	tcase_add_test(tc, metadata_answers_match_json);
	tcase_add_test(tc, pod_bodies_match_json);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
