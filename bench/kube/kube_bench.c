/*
 * kube_bench: memory and list speed of the flyteplugd informer on many pods.
 *
 *   kube_bench create   --namespace NS --count N     pods shaped like a running task's, with
 *                                                    the status a kubelet would write
 *   kube_bench informer --namespace NS [--repeat K] [--hold SECONDS] [--list stream|paged]
 *                                                    stream: the streaming list (WatchList,
 *                                                    the default); paged: pages of 500
 *   kube_bench touch    --namespace NS --count N     relabel the first N pods (watch events)
 *   kube_bench calls    --namespace NS --count N --protocol http/1.1|http/2
 *   kube_bench creates  --namespace NS --count N --limits bare|old|default [--inflight K]
 *                                                    N pod creates with K (64) in flight
 *                                                    under the client's rate limits: none
 *                                                    (bare POSTs), the old defaults (qps 50,
 *                                                    burst 100) or today's configuration
 *                                                    defaults
 *                                                    N pod creates one at a time, then N more
 *                                                    with 32 in flight: the calls of CreateTask
 *
 * `informer` prints one JSON line: objects, RSS before and after the first list (after
 * malloc_trim, and raw), RSS per cached object, cache bytes per object, peak RSS, and the list
 * time of the first and of K more full lists. `calls` prints one JSON line: the protocol, the
 * latency of a sequential create (min, median, p90, p99, in microseconds), the rate with 32 in
 * flight, and the connections opened. Credentials: $KUBECONFIG.
 */
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include <flyteplugd/mem.h>
#include "kube/client.h"
#include "kube/informer.h"

#include <ev.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static struct ev_loop *loop;
static struct fpd_kube_client *client;
static const struct fpd_kube_gvr pods = {"", "v1", "pods", "Pod", true};
static const struct fpd_kube_gvr namespaces = {"", "v1", "namespaces", "Namespace", false};
static const struct fpd_kube_gvr serviceaccounts = {"", "v1", "serviceaccounts", "", true};

static long status_kb(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	size_t n = strlen(field);
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, field, n) == 0 && line[n] == ':')
			kb = strtol(line + n + 1, NULL, 10);
	if (f)
		fclose(f);
	return kb;
}

struct wait {
	int pending, failed;
	char first[FPD_ERROR_TEXT];
};

static void done_cb(void *ud, const struct fpd_kube_result *r)
{
	struct wait *w = ud;
	w->pending--;
	if (r->code != FPD_OK && r->code != FPD_EEXIST && w->failed++ == 0)
		snprintf(w->first, sizeof(w->first), "%s", r->err.text);
}

static void drain(struct wait *w, const char *what)
{
	while (w->pending > 0)
		ev_run(loop, EVRUN_ONCE);
	if (w->failed)
		fpd_die("%s: %d failed, first: %s", what, w->failed, w->first);
}

static void start_or_die(int rc, const struct fpd_error *err, struct wait *w)
{
	if (rc != FPD_AGAIN)
		fpd_die("cannot start a request: %s", err->text);
	w->pending++;
}

static json_t *bench_pod(const char *name, int i)
{
	char exec_id[64];
	snprintf(exec_id, sizeof(exec_id), "a%07x-n0-%d", (unsigned)(i * 2654435761u), i % 3);
	json_t *pod =
	    json_pack("{s:s, s:s,"
	              " s:{s:s, s:{s:s, s:s, s:s, s:s, s:s},"
	              "    s:{s:s, s:s}},"
	              " s:{s:b, s:s, s:[{s:s, s:s, s:[s, s, s],"
	              "                  s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}],"
	              "                  s:{s:{s:s, s:s}, s:{s:s, s:s}}}]}}",
	              "apiVersion", "v1", "kind", "Pod", "metadata", "name", name, "labels",
	              "bench", "kube", "app.kubernetes.io/managed-by", "flyteplugd", "execution-id",
	              exec_id, "project", "flytesnacks", "domain", "development", "annotations",
	              "flyte.org/task", "workflows.example.train", "flyte.org/attempt", "0", "spec",
	              "automountServiceAccountToken", 0, "restartPolicy", "Never", "containers",
	              "name", "primary", "image", "ghcr.io/flyteorg/flytekit:py3.11-1.13.0", "args",
	              "pyflyte-execute", "--task-module", "workflows.example", "env", "name",
	              "FLYTE_INTERNAL_EXECUTION_ID", "value", exec_id, "name",
	              "FLYTE_INTERNAL_PROJECT", "value", "flytesnacks", "name",
	              "FLYTE_INTERNAL_DOMAIN", "value", "development", "resources", "requests",
	              "cpu", "500m", "memory", "1Gi", "limits", "cpu", "1", "memory", "2Gi");
	if (!pod)
		fpd_die("pod template");
	return pod;
}

static json_t *running_status(int i)
{
	char ip[32], cid[96];
	snprintf(ip, sizeof(ip), "10.%d.%d.%d", 1 + i / 65536, (i / 256) % 256, i % 256);
	snprintf(cid, sizeof(cid), "containerd://%064x", (unsigned)(i * 40503u));
	const char *t = "2026-01-02T03:04:05Z";
	return json_pack(
	    "{s:{s:s, s:s, s:s, s:[{s:s}], s:s, s:s, s:[{s:s, s:s, s:s}, {s:s, s:s, s:s},"
	    " {s:s, s:s, s:s}, {s:s, s:s, s:s}], s:[{s:s, s:b, s:i, s:b, s:s, s:s, s:s,"
	    " s:{s:{s:s}}}]}}",
	    "status", "phase", "Running", "hostIP", "10.0.0.7", "podIP", ip, "podIPs", "ip", ip,
	    "startTime", t, "qosClass", "Burstable", "conditions", "type", "Initialized", "status",
	    "True", "lastTransitionTime", t, "type", "Ready", "status", "True",
	    "lastTransitionTime", t, "type", "ContainersReady", "status", "True",
	    "lastTransitionTime", t, "type", "PodScheduled", "status", "True", "lastTransitionTime",
	    t, "containerStatuses", "name", "primary", "ready", 1, "restartCount", 0, "started", 1,
	    "image", "ghcr.io/flyteorg/flytekit:py3.11-1.13.0", "imageID",
	    "ghcr.io/flyteorg/flytekit@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123"
	    "456789abcdef",
	    "containerID", cid, "state", "running", "startedAt", t);
}

static void create(const char *ns, int count)
{
	struct wait w = {0};
	struct fpd_error err;
	json_t *nsobj = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
	                          "metadata", "name", ns);
	struct fpd_kube_ref nref = {&namespaces, NULL, NULL, NULL};
	start_or_die(fpd_kube_create(client, &nref, nsobj, NULL, done_cb, &w, &err), &err, &w);
	drain(&w, "namespace");
	json_t *sa = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "ServiceAccount",
	                       "metadata", "name", "default");
	struct fpd_kube_ref sref = {&serviceaccounts, ns, NULL, NULL};
	start_or_die(fpd_kube_create(client, &sref, sa, NULL, done_cb, &w, &err), &err, &w);
	drain(&w, "service account");
	json_decref(nsobj);
	json_decref(sa);

	int64_t t0 = fpd_clock_mono_ms();
	struct fpd_kube_ref coll = {&pods, ns, NULL, NULL};
	for (int i = 0; i < count; i++) {
		char name[32];
		snprintf(name, sizeof(name), "bench-%05d", i);
		json_t *pod = bench_pod(name, i);
		start_or_die(fpd_kube_create(client, &coll, pod, NULL, done_cb, &w, &err), &err,
		             &w);
		json_decref(pod);
		/* Keep a bounded number in flight: the loop stays responsive. */
		while (w.pending >= 400)
			ev_run(loop, EVRUN_ONCE);
	}
	drain(&w, "creating pods");
	for (int i = 0; i < count; i++) {
		char name[32];
		snprintf(name, sizeof(name), "bench-%05d", i);
		struct fpd_kube_ref ps = {&pods, ns, name, "status"};
		json_t *st = running_status(i);
		start_or_die(
		    fpd_kube_patch(client, &ps, FPD_KUBE_PATCH_MERGE, st, NULL, done_cb, &w, &err),
		    &err, &w);
		json_decref(st);
		while (w.pending >= 400)
			ev_run(loop, EVRUN_ONCE);
	}
	drain(&w, "writing pod status");
	fprintf(stderr, "created %d running pods in %s in %.1f s\n", count, ns,
	        (double)(fpd_clock_mono_ms() - t0) / 1000.0);
}

static void touch(const char *ns, int count)
{
	struct wait w = {0};
	struct fpd_error err;
	char stamp[32];
	snprintf(stamp, sizeof(stamp), "%lld", (long long)fpd_clock_wall_ms());
	json_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "labels", "touched", stamp);
	for (int i = 0; i < count; i++) {
		char name[32];
		snprintf(name, sizeof(name), "bench-%05d", i);
		struct fpd_kube_ref p = {&pods, ns, name, NULL};
		start_or_die(fpd_kube_patch(client, &p, FPD_KUBE_PATCH_MERGE, patch, NULL, done_cb,
		                            &w, &err),
		             &err, &w);
		while (w.pending >= 200)
			ev_run(loop, EVRUN_ONCE);
	}
	drain(&w, "touching pods");
	json_decref(patch);
}

/* What a Flyte engine keeps of a pod: its phase, the execution it belongs to, why it is in
 * that phase, when it started. */
static const struct fpd_kube_field fields[] = {
    {"/status/phase", true},
    {"/metadata/labels/execution-id", false},
    {"/status/reason", true},
    {"/status/startTime", true},
};

static bool paged_lists; /* --list paged */

static struct fpd_kube_informer *start_informer(const char *ns, const char *selector)
{
	struct fpd_kube_informer_opts io = {
	    .no_watch_list = paged_lists,
	    .gvr = pods,
	    .namespace_ = ns,
	    .label_selector = selector,
	    .fields = fields,
	    .nfields = FPD_ARRAY_LEN(fields),
	};
	struct fpd_kube_informer *inf;
	struct fpd_error err;
	if (fpd_kube_informer_new(client, &io, &inf, &err))
		fpd_die("informer: %s", err.text);
	fpd_kube_informer_start(inf);
	return inf;
}

static int64_t sync_ms(struct fpd_kube_informer *inf)
{
	int64_t t0 = fpd_clock_mono_ms();
	while (!fpd_kube_informer_synced(inf))
		ev_run(loop, EVRUN_ONCE);
	return fpd_clock_mono_ms() - t0;
}

static int64_t cpu_ms(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

struct timed {
	int pending, failed;
	int64_t us; /* of the last completed call */
	char first[FPD_ERROR_TEXT];
};

static void timed_cb(void *ud, const struct fpd_kube_result *r)
{
	struct timed *t = ud;
	t->pending--;
	if (r->code != FPD_OK && t->failed++ == 0)
		snprintf(t->first, sizeof(t->first), "%s", r->err.text);
}

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void create_pod(const char *ns, const char *tag, int i, struct timed *t)
{
	char name[64];
	snprintf(name, sizeof(name), "call-%s-%07d", tag, i);
	json_t *pod = bench_pod(name, i);
	struct fpd_kube_ref coll = {&pods, ns, NULL, NULL};
	struct fpd_error err;
	if (fpd_kube_create(client, &coll, pod, NULL, timed_cb, t, &err) != FPD_AGAIN)
		fpd_die("cannot start a create: %s", err.text);
	t->pending++;
	json_decref(pod);
}

/* The calls of CreateTask: one pod create at a time (latency), then many in flight (rate). */
static void calls(const char *ns, int count, const char *protocol)
{
	struct wait w = {0};
	struct fpd_error err;
	json_t *nsobj = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
	                          "metadata", "name", ns);
	struct fpd_kube_ref nref = {&namespaces, NULL, NULL, NULL};
	start_or_die(fpd_kube_create(client, &nref, nsobj, NULL, done_cb, &w, &err), &err, &w);
	drain(&w, "namespace");
	json_decref(nsobj);
	json_t *sa = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "ServiceAccount",
	                       "metadata", "name", "default");
	struct fpd_kube_ref sref = {&serviceaccounts, ns, NULL, NULL};
	start_or_die(fpd_kube_create(client, &sref, sa, NULL, done_cb, &w, &err), &err, &w);
	drain(&w, "service account");
	json_decref(sa);

	char tag[32];
	snprintf(tag, sizeof(tag), "%lld", (long long)(fpd_clock_wall_ms() % 100000000));
	struct timed t = {0};
	/* Every connection the lane may open is up, caches warm. */
	for (int i = 0; i < 100; i++) {
		create_pod(ns, tag, 1000000 + i, &t);
		while (t.pending >= 32)
			ev_run(loop, EVRUN_ONCE);
	}
	while (t.pending)
		ev_run(loop, EVRUN_ONCE);
	for (int i = 0; i < 20; i++) {
		create_pod(ns, tag, i, &t);
		while (t.pending)
			ev_run(loop, EVRUN_ONCE);
	}
	int64_t *lat = fpd_calloc((size_t)count, sizeof(*lat));
	for (int i = 0; i < count; i++) {
		int64_t t0 = now_us();
		create_pod(ns, tag, 20 + i, &t);
		while (t.pending)
			ev_run(loop, EVRUN_ONCE);
		lat[i] = now_us() - t0;
	}
	qsort(lat, (size_t)count, sizeof(*lat), cmp64);
	int64_t c0 = now_us();
	for (int i = 0; i < count; i++) {
		create_pod(ns, tag, 20 + count + i, &t);
		while (t.pending >= 32)
			ev_run(loop, EVRUN_ONCE);
	}
	while (t.pending)
		ev_run(loop, EVRUN_ONCE);
	double rate = (double)count * 1e6 / (double)(now_us() - c0);
	if (t.failed)
		fpd_die("calls: %d failed, first: %s", t.failed, t.first);
	struct fpd_kube_http_stats st;
	fpd_kube_http_get_stats(fpd_kube_client_http(client), &st);
	printf(
	    "{\"protocol\": \"%s\", \"count\": %d, \"seq_us_min\": %lld, \"seq_us_median\": %lld, "
	    "\"seq_us_p90\": %lld, \"seq_us_p99\": %lld, \"concurrent32_per_s\": %.0f, "
	    "\"connects\": %llu}\n",
	    protocol, count, (long long)lat[0], (long long)lat[count / 2],
	    (long long)lat[count * 9 / 10], (long long)lat[count * 99 / 100], rate,
	    (unsigned long long)st.connects);
	fflush(stdout);
	free(lat);
}

/* Creates with inflight in flight, warm: the rate CreateTask can reach under the limits. */
static void creates(const char *ns, int count, int inflight, const char *limits)
{
	struct wait w = {0};
	struct fpd_error err;
	json_t *nsobj = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
	                          "metadata", "name", ns);
	struct fpd_kube_ref nref = {&namespaces, NULL, NULL, NULL};
	start_or_die(fpd_kube_create(client, &nref, nsobj, NULL, done_cb, &w, &err), &err, &w);
	drain(&w, "namespace");
	json_decref(nsobj);
	json_t *sa = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "ServiceAccount",
	                       "metadata", "name", "default");
	struct fpd_kube_ref sref = {&serviceaccounts, ns, NULL, NULL};
	start_or_die(fpd_kube_create(client, &sref, sa, NULL, done_cb, &w, &err), &err, &w);
	drain(&w, "service account");
	json_decref(sa);
	char tag[32];
	snprintf(tag, sizeof(tag), "%s-%lld", limits, (long long)(fpd_clock_wall_ms() % 100000000));
	struct timed t = {0};
	int64_t c0 = now_us();
	for (int i = 0; i < count; i++) {
		create_pod(ns, tag, i, &t);
		while (t.pending >= inflight)
			ev_run(loop, EVRUN_ONCE);
	}
	while (t.pending)
		ev_run(loop, EVRUN_ONCE);
	double rate = (double)count * 1e6 / (double)(now_us() - c0);
	if (t.failed)
		fpd_die("creates: %d failed, first: %s", t.failed, t.first);
	struct fpd_kube_http_stats st;
	fpd_kube_http_get_stats(fpd_kube_client_http(client), &st);
	printf("{\"limits\": \"%s\", \"count\": %d, \"inflight\": %d, \"creates_per_s\": %.0f, "
	       "\"throttled\": %llu, \"too_many_requests\": %llu}\n",
	       limits, count, inflight, rate, (unsigned long long)st.throttled,
	       (unsigned long long)st.too_many_requests);
	fflush(stdout);
}

static void hold_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	ev_break(l, EVBREAK_ONE);
}

static void informer(const char *ns, const char *selector, int repeat, double hold_s)
{
	/* Baseline after the client has connected: TLS and HTTP/2 state are not the cache's. */
	struct wait w = {0};
	struct fpd_error err;
	start_or_die(fpd_kube_request(client, "GET", "/version", NULL, NULL, done_cb, &w, &err),
	             &err, &w);
	drain(&w, "GET /version");
	malloc_trim(0);
	long rss0 = status_kb("VmRSS");

	int64_t t0 = fpd_clock_mono_ms();
	struct fpd_kube_informer *inf = start_informer(ns, selector);
	int64_t first_ms = sync_ms(inf);
	size_t n = fpd_kube_informer_count(inf);
	long rss_raw = status_kb("VmRSS");
	malloc_trim(0);
	long rss = status_kb("VmRSS");
	long hwm = status_kb("VmHWM");
	size_t store = fpd_kube_informer_bytes(inf);
	(void)t0;

	if (hold_s > 0) {
		/* Keep watching (events from the driver script are applied meanwhile). */
		ev_timer t;
		ev_timer_init(&t, hold_cb, hold_s, 0.);
		ev_timer_start(loop, &t);
		ev_run(loop, 0);
		ev_timer_stop(loop, &t);
	}
	long rss_held = status_kb("VmRSS");

	int64_t times[64];
	int k = repeat < 64 ? repeat : 64;
	int64_t cpu0 = cpu_ms();
	for (int i = 0; i < k; i++) {
		struct fpd_kube_informer *again = start_informer(ns, selector);
		times[i] = sync_ms(again);
		fpd_kube_informer_free(again);
	}
	int64_t cpu_per_list = k ? (cpu_ms() - cpu0) / k : -1;
	qsort(times, (size_t)k, sizeof(times[0]), cmp64);
	struct fpd_kube_informer_stats st;
	fpd_kube_informer_get_stats(inf, &st);
	printf("{\"client\":\"flyteplugd\",\"list\":\"%s\",\"objects\":%zu,\"rss_before_kb\":%ld,"
	       "\"rss_after_kb\":%ld,\"rss_after_untrimmed_kb\":%ld,\"rss_after_hold_kb\":%ld,"
	       "\"peak_rss_kb\":%ld,\"rss_per_object_bytes\":%.0f,\"cache_bytes_per_object\":%.0f,"
	       "\"first_list_ms\":%lld,\"list_ms_min\":%lld,\"list_ms_median\":%lld,"
	       "\"list_cpu_ms\":%lld,\"events_after_sync\":%llu,\"lists\":%llu,"
	       "\"relists_after_410\":%llu,\"watches\":%llu}\n",
	       paged_lists ? "paged" : "stream", n, rss0, rss, rss_raw, rss_held, hwm,
	       n ? (double)(rss - rss0) * 1024.0 / (double)n : 0, n ? (double)store / (double)n : 0,
	       (long long)first_ms, (long long)(k ? times[0] : -1),
	       (long long)(k ? times[k / 2] : -1), (long long)cpu_per_list,
	       (unsigned long long)(st.updates + st.deletes + st.adds - n),
	       (unsigned long long)st.lists, (unsigned long long)st.relists_gone,
	       (unsigned long long)st.watches);
	fflush(stdout);
	fpd_kube_informer_free(inf);
}

static const char *arg(int argc, char **argv, const char *name, const char *def)
{
	for (int i = 2; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return def;
}

int main(int argc, char **argv)
{
	if (argc < 2 ||
	    (strcmp(argv[1], "create") && strcmp(argv[1], "informer") && strcmp(argv[1], "touch") &&
	     strcmp(argv[1], "calls") && strcmp(argv[1], "creates"))) {
		fprintf(stderr,
		        "usage: %s create --namespace NS --count N\n"
		        "       %s informer --namespace NS [--selector S] [--repeat K] "
		        "[--hold SECONDS] [--list stream|paged]\n"
		        "       %s touch --namespace NS --count N\n"
		        "       %s calls --namespace NS --count N --protocol http/1.1|http/2\n"
		        "       %s creates --namespace NS --count N --limits bare|old|default "
		        "[--inflight K]\n",
		        argv[0], argv[0], argv[0], argv[0], argv[0]);
		return 2;
	}
	fpd_log_setup(FPD_LOG_WARN, FPD_LOG_TEXT, NULL);
	loop = ev_default_loop(0);
	struct fpd_kube_creds creds;
	struct fpd_error err;
	struct fpd_config_kube cfg = {.kubeconfig = "", .context = ""};
	if (fpd_kube_creds_load(&cfg, &creds, &err))
		fpd_die("credentials: %s", err.text);
	struct fpd_kube_client_opts o = {.qps = 0, .burst = 1, .request_timeout_ms = 120000};
	const char *protocol = arg(argc, argv, "--protocol", "http/1.1");
	if (strcmp(protocol, "http/1.1") && strcmp(protocol, "http/2"))
		fpd_die("--protocol: expected http/1.1 or http/2");
	o.calls_http1 = strcmp(protocol, "http/1.1") == 0;
	const char *limits = arg(argc, argv, "--limits", "bare");
	if (strcmp(limits, "old") == 0) {
		o.qps = 50;
		o.burst = 100;
	} else if (strcmp(limits, "default") == 0) {
		struct fpd_config dc;
		fpd_config_defaults(&dc);
		fpd_kube_client_opts_from_config(&dc.kubernetes, &o);
		fpd_config_free(&dc);
		o.request_timeout_ms = 120000;
	} else if (strcmp(limits, "bare") != 0) {
		fpd_die("--limits: expected bare, old or default");
	}
	if (fpd_kube_client_new(loop, &creds, &o, &client, &err))
		fpd_die("client: %s", err.text);
	fpd_kube_creds_free(&creds);
	const char *ns = arg(argc, argv, "--namespace", "bench");
	char *end;
	if (strcmp(argv[1], "calls") == 0) {
		long count = strtol(arg(argc, argv, "--count", "500"), &end, 10);
		if (*end || count <= 0 || count > 100000)
			fpd_die("--count: expected a number of calls");
		calls(ns, (int)count, protocol);
	} else if (strcmp(argv[1], "creates") == 0) {
		long count = strtol(arg(argc, argv, "--count", "2000"), &end, 10);
		if (*end || count <= 0 || count > 1000000)
			fpd_die("--count: expected a number of creates");
		long inflight = strtol(arg(argc, argv, "--inflight", "64"), &end, 10);
		if (*end || inflight <= 0 || inflight > 4096)
			fpd_die("--inflight: expected 1 to 4096");
		creates(ns, (int)count, (int)inflight, limits);
	} else if (strcmp(argv[1], "create") == 0 || strcmp(argv[1], "touch") == 0) {
		long count = strtol(arg(argc, argv, "--count", "10000"), &end, 10);
		if (*end || count <= 0 || count > 1000000)
			fpd_die("--count: expected a number of pods");
		if (argv[1][0] == 'c')
			create(ns, (int)count);
		else
			touch(ns, (int)count);
	} else {
		long repeat = strtol(arg(argc, argv, "--repeat", "5"), &end, 10);
		if (*end || repeat < 0)
			fpd_die("--repeat: expected a number");
		const char *list = arg(argc, argv, "--list", "stream");
		if (strcmp(list, "stream") && strcmp(list, "paged"))
			fpd_die("--list: expected stream or paged");
		paged_lists = list[0] == 'p';
		double hold = strtod(arg(argc, argv, "--hold", "0"), &end);
		if (*end || hold < 0)
			fpd_die("--hold: expected seconds");
		informer(ns, arg(argc, argv, "--selector", "bench=kube"), (int)repeat, hold);
	}
	fpd_kube_client_free(client);
	return 0;
}
