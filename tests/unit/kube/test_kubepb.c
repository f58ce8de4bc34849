/* Kubernetes' protobuf into pruned JSON (kube/kubepb.h): each special type as the API server's
 * JSON writes it, the omission rules, pruning, and malformed or hostile input refused with a
 * clear error. Messages are built with the generated protobuf-c code and packed here; equality
 * with the API server's own JSON is tested against a real server in tests/e2e/kube. */
#include <flyteplugd/mem.h>
#include "core/map.h"
#include "kube/kubepb.h"
#include "fpd_test.h"

#include "k8s.io/api/core/v1/generated.pb-c.h"
#include "k8s.io/apimachinery/pkg/apis/meta/v1/generated.pb-c.h"
#include "k8s.io/apimachinery/pkg/runtime/generated.pb-c.h"
#include "kubepb_fields.h"

typedef K8s__Io__Api__Core__V1__Pod Pod;
typedef K8s__Io__Apimachinery__Pkg__Apis__Meta__V1__ObjectMeta ObjectMeta;
typedef K8s__Io__Apimachinery__Pkg__Apis__Meta__V1__Time Time;

/* msg in its envelope: "k8s\0" + Unknown{typeMeta{v1, kind}, raw} (new, for free()). */
static uint8_t *envelope(const ProtobufCMessage *msg, const char *kind, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	uint8_t *raw = malloc(n + 1);
	protobuf_c_message_pack(msg, raw);
	K8s__Io__Apimachinery__Pkg__Runtime__TypeMeta tm =
	    K8S__IO__APIMACHINERY__PKG__RUNTIME__TYPE_META__INIT;
	tm.apiversion = "v1";
	tm.kind = (char *)kind;
	K8s__Io__Apimachinery__Pkg__Runtime__Unknown u =
	    K8S__IO__APIMACHINERY__PKG__RUNTIME__UNKNOWN__INIT;
	u.typemeta = &tm;
	u.has_raw = true;
	u.raw.data = raw;
	u.raw.len = n;
	u.contentencoding = "";
	u.contenttype = "";
	size_t un = protobuf_c_message_get_packed_size(&u.base);
	uint8_t *out = malloc(un + 4);
	memcpy(out, "k8s", 4);
	protobuf_c_message_pack(&u.base, out + 4);
	free(raw);
	*len = un + 4;
	return out;
}

static struct fpd_kubepb *decoder(const char *kind, const char *const *ptrs, size_t n,
                                  struct fpd_kube_prune **p)
{
	*p = fpd_kube_prune_new();
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(fpd_kube_prune_add(*p, ptrs[i], NULL), FPD_OK);
	struct fpd_kubepb *pb;
	struct fpd_error err;
	ck_assert_msg(fpd_kubepb_new(kind, n ? fpd_kube_prune_root(*p) : NULL, &pb, &err) == FPD_OK,
	              "%s", err.text);
	return pb;
}

static void expect_json(json_t *got, const char *want)
{
	json_error_t jerr;
	json_t *w = json_loads(want, 0, &jerr);
	ck_assert_msg(w != NULL, "bad expectation %s: %s", want, jerr.text);
	char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_msg(json_equal(got, w), "got %s, want %s", g, want);
	free(g);
	json_decref(w);
	json_decref(got);
}

/* Decodes msg (as kind, in its envelope) keeping ptrs (none: everything). */
static json_t *decode(const ProtobufCMessage *msg, const char *kind, const char *const *ptrs,
                      size_t n)
{
	struct fpd_kube_prune *p;
	struct fpd_kubepb *pb = decoder(kind, ptrs, n, &p);
	size_t len;
	uint8_t *data = envelope(msg, kind, &len);
	json_t *out;
	struct fpd_error err;
	ck_assert_msg(fpd_kubepb_object(pb, data, len, &out, &err) == FPD_OK, "%s", err.text);
	free(data);
	fpd_kubepb_free(pb);
	fpd_kube_prune_free(p);
	return out;
}

START_TEST(times_quantities_intorstring_maps_and_omission)
{
	Pod pod = K8S__IO__API__CORE__V1__POD__INIT;
	ObjectMeta meta = K8S__IO__APIMACHINERY__PKG__APIS__META__V1__OBJECT_META__INIT;
	Time created = K8S__IO__APIMACHINERY__PKG__APIS__META__V1__TIME__INIT;
	created.has_seconds = created.has_nanos = true;
	created.seconds = 1796594400; /* 2026-12-06T22:00:00Z */
	meta.name = "p";
	meta.namespace_ = "";
	meta.generatename = "";
	meta.creationtimestamp = &created;
	K8s__Io__Apimachinery__Pkg__Apis__Meta__V1__ObjectMeta__LabelsEntry l1 =
	    K8S__IO__APIMACHINERY__PKG__APIS__META__V1__OBJECT_META__LABELS_ENTRY__INIT;
	l1.key = "a/b";
	l1.value = "h\xc3\xa9";
	K8s__Io__Apimachinery__Pkg__Apis__Meta__V1__ObjectMeta__LabelsEntry *labels[] = {&l1};
	meta.n_labels = 1;
	meta.labels = labels;
	pod.metadata = &meta;

	K8s__Io__Api__Core__V1__PodSpec spec = K8S__IO__API__CORE__V1__POD_SPEC__INIT;
	K8s__Io__Api__Core__V1__Container c = K8S__IO__API__CORE__V1__CONTAINER__INIT;
	c.name = "main";
	c.image = "";
	K8s__Io__Api__Core__V1__ResourceRequirements rr =
	    K8S__IO__API__CORE__V1__RESOURCE_REQUIREMENTS__INIT;
	K8s__Io__Apimachinery__Pkg__Api__Resource__Quantity q =
	    K8S__IO__APIMACHINERY__PKG__API__RESOURCE__QUANTITY__INIT;
	q.string = "1Gi";
	K8s__Io__Api__Core__V1__ResourceRequirements__LimitsEntry le =
	    K8S__IO__API__CORE__V1__RESOURCE_REQUIREMENTS__LIMITS_ENTRY__INIT;
	le.key = "memory";
	le.value = &q;
	K8s__Io__Api__Core__V1__ResourceRequirements__LimitsEntry *limits[] = {&le};
	rr.n_limits = 1;
	rr.limits = limits;
	c.resources = &rr;
	K8s__Io__Api__Core__V1__Probe probe = K8S__IO__API__CORE__V1__PROBE__INIT;
	K8s__Io__Api__Core__V1__ProbeHandler handler = K8S__IO__API__CORE__V1__PROBE_HANDLER__INIT;
	K8s__Io__Api__Core__V1__HTTPGetAction get = K8S__IO__API__CORE__V1__HTTPGET_ACTION__INIT;
	K8s__Io__Apimachinery__Pkg__Util__Intstr__IntOrString port =
	    K8S__IO__APIMACHINERY__PKG__UTIL__INTSTR__INT_OR_STRING__INIT;
	port.has_type = true;
	port.type = 1;
	port.strval = "http";
	get.port = &port;
	handler.httpget = &get;
	probe.handler = &handler; /* inline: its members are the probe's */
	probe.has_periodseconds = true;
	probe.periodseconds = 0; /* omitempty, not a pointer: left out */
	c.livenessprobe = &probe;
	K8s__Io__Api__Core__V1__Container *containers[] = {&c};
	spec.n_containers = 1;
	spec.containers = containers;
	spec.has_activedeadlineseconds = true; /* a pointer: written even when 0 */
	spec.activedeadlineseconds = 0;
	pod.spec = &spec;

	K8s__Io__Api__Core__V1__PodStatus status = K8S__IO__API__CORE__V1__POD_STATUS__INIT;
	K8s__Io__Api__Core__V1__PodCondition cond = K8S__IO__API__CORE__V1__POD_CONDITION__INIT;
	Time zero = K8S__IO__APIMACHINERY__PKG__APIS__META__V1__TIME__INIT; /* a zero time */
	Time at = K8S__IO__APIMACHINERY__PKG__APIS__META__V1__TIME__INIT;
	at.has_seconds = true;
	at.seconds = 0; /* 1970: no seconds on the wire is still a time when nanos are */
	at.has_nanos = true;
	at.nanos = 5;
	cond.type = "Ready";
	cond.status = "False";
	cond.reason = "";
	cond.lastprobetime = &zero;
	cond.lasttransitiontime = &at;
	K8s__Io__Api__Core__V1__PodCondition *conds[] = {&cond};
	status.n_conditions = 1;
	status.conditions = conds;
	K8s__Io__Api__Core__V1__ContainerStatus cs = K8S__IO__API__CORE__V1__CONTAINER_STATUS__INIT;
	cs.name = "main";
	cs.image = "busybox";
	cs.imageid = "";       /* not omitempty: written */
	cs.containerid = "";   /* omitempty: left out */
	cs.has_ready = true;   /* not omitempty: written false */
	cs.has_started = true; /* a pointer: written false */
	K8s__Io__Api__Core__V1__ContainerState st = K8S__IO__API__CORE__V1__CONTAINER_STATE__INIT;
	K8s__Io__Api__Core__V1__ContainerStateTerminated term =
	    K8S__IO__API__CORE__V1__CONTAINER_STATE_TERMINATED__INIT;
	term.has_exitcode = true;
	term.exitcode = -1;
	term.message = "line1\nline2 \"q\"";
	term.startedat = &zero;
	st.terminated = &term;
	cs.state = &st;
	K8s__Io__Api__Core__V1__ContainerState empty =
	    K8S__IO__API__CORE__V1__CONTAINER_STATE__INIT;
	cs.laststate = &empty;
	K8s__Io__Api__Core__V1__ContainerStatus *css[] = {&cs};
	status.n_containerstatuses = 1;
	status.containerstatuses = css;
	pod.status = &status;

	expect_json(
	    decode(&pod.base, "Pod", NULL, 0),
	    "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"p\","
	    "\"creationTimestamp\":\"2026-12-06T22:00:00Z\",\"labels\":{\"a/b\":\"h\\u00e9\"}},"
	    "\"spec\":{\"containers\":[{\"name\":\"main\",\"resources\":{\"limits\":{"
	    "\"memory\":\"1Gi\"}},\"livenessProbe\":{\"httpGet\":{\"port\":\"http\"}}}],"
	    "\"activeDeadlineSeconds\":0},"
	    "\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\","
	    "\"lastProbeTime\":null,\"lastTransitionTime\":\"1970-01-01T00:00:00Z\"}],"
	    "\"containerStatuses\":[{\"name\":\"main\",\"image\":\"busybox\",\"imageID\":\"\","
	    "\"ready\":false,\"started\":false,\"restartCount\":0,\"state\":{\"terminated\":{"
	    "\"exitCode\":-1,\"message\":\"line1\\nline2 \\\"q\\\"\",\"startedAt\":null}},"
	    "\"lastState\":{}}]}}");

	/* Kept in part: an index, a map key, a scalar where the pointers go deeper, an integer
	 * port, the envelope's kind only. */
	port.type = 0;
	port.has_intval = true;
	port.intval = 8080;
	meta.creationtimestamp = &zero; /* omitzero: left out */
	const char *ptrs[] = {"/kind",
	                      "/metadata/labels/a~1b",
	                      "/metadata/creationTimestamp",
	                      "/spec/containers/0/livenessProbe/httpGet/port",
	                      "/spec/containers/1/name",
	                      "/status/conditions/*/type/deeper",
	                      "/status/containerStatuses/*/state/terminated/exitCode"};
	expect_json(decode(&pod.base, "Pod", ptrs, FPD_ARRAY_LEN(ptrs)),
	            "{\"kind\":\"Pod\",\"metadata\":{\"labels\":{\"a/b\":\"h\\u00e9\"}},"
	            "\"spec\":{\"containers\":[{\"livenessProbe\":{\"httpGet\":{\"port\":8080}}}]},"
	            "\"status\":{\"conditions\":[{}],\"containerStatuses\":[{\"state\":{"
	            "\"terminated\":{\"exitCode\":-1}}}]}}");
}
END_TEST

START_TEST(micro_time_and_bytes)
{
	K8s__Io__Api__Core__V1__Event ev = K8S__IO__API__CORE__V1__EVENT__INIT;
	K8s__Io__Apimachinery__Pkg__Apis__Meta__V1__MicroTime mt =
	    K8S__IO__APIMACHINERY__PKG__APIS__META__V1__MICRO_TIME__INIT;
	mt.has_seconds = mt.has_nanos = true;
	mt.seconds = 1796594400;
	mt.nanos = 123456789;
	ev.eventtime = &mt;
	ev.reason = "Started";
	ev.message = "bad \xff\xc3 UTF-8 \xc3\xa9"; /* Go writes U+FFFD for each bad byte */
	const char *ptrs[] = {"/eventTime", "/reason", "/message"};
	expect_json(decode(&ev.base, "Event", ptrs, 3),
	            "{\"eventTime\":\"2026-12-06T22:00:00.123456Z\",\"reason\":\"Started\","
	            "\"message\":\"bad \\ufffd\\ufffd UTF-8 \\u00e9\"}");

	K8s__Io__Api__Core__V1__ConfigMap cm = K8S__IO__API__CORE__V1__CONFIG_MAP__INIT;
	K8s__Io__Api__Core__V1__ConfigMap__BinaryDataEntry b =
	    K8S__IO__API__CORE__V1__CONFIG_MAP__BINARY_DATA_ENTRY__INIT;
	b.key = "k";
	b.has_value = true;
	b.value.data = (uint8_t *)"\x00\xff\x10";
	b.value.len = 3;
	K8s__Io__Api__Core__V1__ConfigMap__BinaryDataEntry *bs[] = {&b};
	cm.n_binarydata = 1;
	cm.binarydata = bs;
	const char *all[] = {"/binaryData", "/data"};
	expect_json(decode(&cm.base, "ConfigMap", all, 2), "{\"binaryData\":{\"k\":\"AP8Q\"}}");
}
END_TEST

/* A map key that is not UTF-8 (the API server's validation lets none in) is written as Go's
 * encoder writes it, each bad byte as U+FFFD, and the rest of the object is kept. */
START_TEST(map_key_not_utf8_replaced)
{
	Pod pod = K8S__IO__API__CORE__V1__POD__INIT;
	ObjectMeta meta = K8S__IO__APIMACHINERY__PKG__APIS__META__V1__OBJECT_META__INIT;
	meta.name = "p";
	K8s__Io__Apimachinery__Pkg__Apis__Meta__V1__ObjectMeta__LabelsEntry l1 =
	    K8S__IO__APIMACHINERY__PKG__APIS__META__V1__OBJECT_META__LABELS_ENTRY__INIT;
	K8s__Io__Apimachinery__Pkg__Apis__Meta__V1__ObjectMeta__LabelsEntry l2 =
	    K8S__IO__APIMACHINERY__PKG__APIS__META__V1__OBJECT_META__LABELS_ENTRY__INIT;
	l1.key = "a\xff\xc3" "b";
	l1.value = "v";
	l2.key = "ok";
	l2.value = "w";
	K8s__Io__Apimachinery__Pkg__Apis__Meta__V1__ObjectMeta__LabelsEntry *labels[] = {&l1, &l2};
	meta.n_labels = 2;
	meta.labels = labels;
	pod.metadata = &meta;
	const char *all[] = {"/metadata/name", "/metadata/labels"};
	expect_json(decode(&pod.base, "Pod", all, 2),
	            "{\"metadata\":{\"name\":\"p\",\"labels\":{\"a\\ufffd\\ufffdb\":\"v\","
	            "\"ok\":\"w\"}}}");
	/* Kept by its JSON spelling. */
	const char *one[] = {"/metadata/labels/a\xef\xbf\xbd\xef\xbf\xbd" "b"};
	expect_json(decode(&pod.base, "Pod", one, 1),
	            "{\"metadata\":{\"labels\":{\"a\\ufffd\\ufffdb\":\"v\"}}}");
}
END_TEST

START_TEST(managed_fields_hold_json)
{
	Pod pod = K8S__IO__API__CORE__V1__POD__INIT;
	ObjectMeta meta = K8S__IO__APIMACHINERY__PKG__APIS__META__V1__OBJECT_META__INIT;
	K8s__Io__Apimachinery__Pkg__Apis__Meta__V1__ManagedFieldsEntry mf =
	    K8S__IO__APIMACHINERY__PKG__APIS__META__V1__MANAGED_FIELDS_ENTRY__INIT;
	K8s__Io__Apimachinery__Pkg__Apis__Meta__V1__FieldsV1 f =
	    K8S__IO__APIMACHINERY__PKG__APIS__META__V1__FIELDS_V1__INIT;
	f.has_raw = true;
	f.raw.data = (uint8_t *)"{\"f:metadata\":{}}";
	f.raw.len = strlen((char *)f.raw.data);
	mf.fieldsv1 = &f;
	mf.manager = "m";
	K8s__Io__Apimachinery__Pkg__Apis__Meta__V1__ManagedFieldsEntry *mfs[] = {&mf};
	meta.n_managedfields = 1;
	meta.managedfields = mfs;
	pod.metadata = &meta;
	const char *ptrs[] = {"/metadata/managedFields"};
	expect_json(decode(&pod.base, "Pod", ptrs, 1),
	            "{\"metadata\":{\"managedFields\":[{\"manager\":\"m\",\"fieldsV1\":"
	            "{\"f:metadata\":{}}}]}}");
	f.raw.data = (uint8_t *)"{not json";
	f.raw.len = 9;
	struct fpd_kube_prune *p;
	struct fpd_kubepb *pb = decoder("Pod", ptrs, 1, &p);
	size_t len;
	uint8_t *data = envelope(&pod.base, "Pod", &len);
	json_t *out;
	struct fpd_error err;
	ck_assert_int_eq(fpd_kubepb_object(pb, data, len, &out, &err), FPD_EINVAL);
	ck_assert_ptr_null(out);
	ck_assert_msg(strstr(err.text, "raw JSON"), "%s", err.text);
	free(data);
	fpd_kubepb_free(pb);
	fpd_kube_prune_free(p);
}
END_TEST

static void expect_refused(struct fpd_kubepb *pb, const void *data, size_t len, const char *what)
{
	json_t *out;
	struct fpd_error err;
	ck_assert_int_eq(fpd_kubepb_object(pb, data, len, &out, &err), FPD_EINVAL);
	ck_assert_ptr_null(out);
	ck_assert_msg(strstr(err.text, what), "expected \"%s\" in: %s", what, err.text);
}

START_TEST(malformed_objects_refused)
{
	struct fpd_kube_prune *p;
	const char *ptrs[] = {"/metadata/name"};
	struct fpd_kubepb *pb = decoder("Pod", ptrs, 1, &p);
	Pod pod = K8S__IO__API__CORE__V1__POD__INIT;
	ObjectMeta meta = K8S__IO__APIMACHINERY__PKG__APIS__META__V1__OBJECT_META__INIT;
	meta.name = "p";
	pod.metadata = &meta;
	size_t len;
	uint8_t *good = envelope(&pod.base, "Pod", &len);
	expect_refused(pb, good, 3, "magic");
	expect_refused(pb, "{\"kind\":\"Pod\"}", 14, "magic");
	/* cut inside a field (a cut between two fields is valid protobuf) */
	const size_t cuts[] = {5, 6, 10, len - 5};
	for (size_t i = 0; i < FPD_ARRAY_LEN(cuts); i++)
		expect_refused(pb, good, cuts[i], "not a valid");
	uint8_t *cm = envelope(&pod.base, "ConfigMap", &len);
	expect_refused(pb, cm, len, "expected a Pod, got kind \"ConfigMap\"");
	/* a nested message whose length runs past its parent */
	uint8_t bad[] = {'k', '8', 's',  0,    0x0a, 0x05, 0x12, 0x03, 'P',
	                 'o', 'd', 0x12, 0x04, 0x0a, 0x7f, 0x0a, 0x01};
	expect_refused(pb, bad, sizeof(bad), "not a valid");
	/* an event without an object, and one that is not an event */
	json_t *out;
	struct fpd_error err;
	uint8_t no_object[] = {0x0a, 0x05, 'A', 'D', 'D', 'E', 'D'};
	ck_assert_int_eq(fpd_kubepb_event(pb, no_object, sizeof(no_object), &out, &err),
	                 FPD_EINVAL);
	ck_assert_msg(strstr(err.text, "without an object"), "%s", err.text);
	ck_assert_int_eq(fpd_kubepb_event(pb, "\xff\xff", 2, &out, &err), FPD_EINVAL);
	free(good);
	free(cm);
	fpd_kubepb_free(pb);
	fpd_kube_prune_free(p);
	ck_assert_int_eq(fpd_kubepb_new("Secret", NULL, &pb, &err), FPD_EINVAL);
	ck_assert_ptr_null(pb);
}
END_TEST

static int count_piece(void *ud, const char *data, size_t len)
{
	(*(size_t *)ud)++;
	return 0;
}

START_TEST(hostile_frames_refused_before_buffering)
{
	struct fpd_kubepb_frames f;
	fpd_kubepb_frames_init(&f, 1u << 20);
	size_t n = 0;
	struct fpd_error err;
	/* 2^31 announced, two bytes at a time: refused at the fourth byte, nothing kept */
	ck_assert_int_eq(fpd_kubepb_frames_feed(&f, "\x80\x00", 2, count_piece, &n, &err), FPD_OK);
	ck_assert_int_eq(fpd_kubepb_frames_feed(&f, "\x00\x00", 2, count_piece, &n, &err),
	                 FPD_ERANGE);
	ck_assert_msg(strstr(err.text, "2147483648"), "%s", err.text);
	ck_assert_uint_le(f.in.cap, 64);
	fpd_kubepb_frames_free(&f);
	/* whole frames, an empty one, and a cut one left pending */
	fpd_kubepb_frames_init(&f, 16);
	const char two[] = "\x00\x00\x00\x02"
	                   "hi\x00\x00\x00\x00\x00\x00\x00\x05"
	                   "abc";
	ck_assert_int_eq(fpd_kubepb_frames_feed(&f, two, sizeof(two) - 1, count_piece, &n, &err),
	                 FPD_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert(fpd_kubepb_frames_pending(&f));
	ck_assert_int_eq(fpd_kubepb_frames_feed(&f, "de", 2, count_piece, &n, &err), FPD_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert(!fpd_kubepb_frames_pending(&f));
	ck_assert_int_eq(fpd_kubepb_frames_feed(&f, "\x00\x00\x00\x11", 4, count_piece, &n, &err),
	                 FPD_ERANGE);
	fpd_kubepb_frames_free(&f);
}
END_TEST

static int list_feed_all(struct fpd_kubepb_list *l, const char *data, size_t len, size_t *n,
                         struct fpd_error *err)
{
	return fpd_kubepb_list_feed(l, data, len, count_piece, n, err);
}

START_TEST(hostile_lists_refused)
{
	struct fpd_kubepb_list l;
	size_t n = 0;
	struct fpd_error err;
	json_t *doc;
	/* not enveloped */
	fpd_kubepb_list_init(&l, 1024);
	ck_assert_int_eq(list_feed_all(&l, "{\"items\":[]}", 12, &n, &err), FPD_EINVAL);
	fpd_kubepb_list_free(&l);
	/* an item announcing 2^31 bytes: refused from its header */
	fpd_kubepb_list_init(&l, 1024);
	const char big[] = "k8s\0\x12\xff\xff\xff\xff\x0f\x12\x80\x80\x80\x80\x08";
	ck_assert_int_eq(list_feed_all(&l, big, sizeof(big) - 1, &n, &err), FPD_ERANGE);
	ck_assert_uint_le(l.in.cap, 64);
	fpd_kubepb_list_free(&l);
	/* an item that runs past the list */
	fpd_kubepb_list_init(&l, 1024);
	const char past[] = "k8s\0\x12\x03\x12\x05xyz";
	ck_assert_int_eq(list_feed_all(&l, past, sizeof(past) - 1, &n, &err), FPD_EINVAL);
	ck_assert_msg(strstr(err.text, "past the end"), "%s", err.text);
	fpd_kubepb_list_free(&l);
	/* complete, two items, but of another kind; then cut short */
	fpd_kubepb_list_init(&l, 1024);
	const char ok[] = "k8s\0\x0a\x0d\x0a\x02v1\x12\x07PodList\x12\x0a\x0a\x02\x12\x00\x12\x00"
	                  "\x12\x02\x0a\x00\x1a\x00\x22\x00";
	ck_assert_int_eq(list_feed_all(&l, ok, sizeof(ok) - 1, &n, &err), FPD_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(fpd_kubepb_list_finish(&l, "ConfigMapList", &doc, &err), FPD_EINVAL);
	ck_assert_msg(strstr(err.text, "expected a ConfigMapList"), "%s", err.text);
	ck_assert_int_eq(fpd_kubepb_list_finish(&l, "PodList", &doc, &err), FPD_OK);
	expect_json(doc, "{\"metadata\":{}}");
	fpd_kubepb_list_free(&l);
	fpd_kubepb_list_init(&l, 1024);
	ck_assert_int_eq(list_feed_all(&l, ok, sizeof(ok) - 10, &n, &err), FPD_OK);
	ck_assert_int_eq(fpd_kubepb_list_finish(&l, "PodList", &doc, &err), FPD_EINVAL);
	ck_assert_msg(strstr(err.text, "ended early"), "%s", err.text);
	fpd_kubepb_list_free(&l);
}
END_TEST

/* The raw Pod bytes unit repeated n times (new, for free()). */
static uint8_t *repeat(const uint8_t *unit, size_t ulen, size_t n, size_t *len)
{
	uint8_t *b = malloc(ulen * n + 1);
	for (size_t i = 0; i < n; i++)
		memcpy(b + i * ulen, unit, ulen);
	*len = ulen * n;
	return b;
}

START_TEST(amplification_refused)
{
	static const char *const keep[] = {"/metadata/name", "/metadata/finalizers", "/status"};
	struct fpd_kube_prune *p;
	struct fpd_kubepb *pb = decoder("Pod", keep, 3, &p);
	struct fpd_error err;
	json_t *out;
	size_t len;
	/* status{containerStatuses{}} 64000 times: protobuf-c merges each repeat of a singular
	 * message into a new array of its repeated members, ~1.6 GB for 64 KB */
	static const uint8_t merge[] = {0x1a, 0x02, 0x42, 0x00};
	uint8_t *raw = repeat(merge, sizeof(merge), 16000, &len);
	ck_assert_int_eq(fpd_kubepb_item(pb, raw, len, &out, &err), FPD_EINVAL);
	ck_assert_msg(strstr(err.text, "budget"), "%s", err.text);
	ck_assert_ptr_null(out);
	free(raw);
	/* 128000 empty containerStatuses in one status: a struct each for 2 bytes */
	uint8_t *one = malloc(256006);
	size_t n = 0;
	one[n++] = 0x1a;
	one[n++] = 0x80;
	one[n++] = 0xd0;
	one[n++] = 0x0f; /* 256000 */
	for (size_t i = 0; i < 128000; i++) {
		one[n++] = 0x42;
		one[n++] = 0x00;
	}
	ck_assert_int_eq(fpd_kubepb_item(pb, one, n, &out, &err), FPD_EINVAL);
	free(one);
	/* 3000 of them fit the arena, but each is written as an object of five members */
	one = malloc(6006);
	n = 0;
	one[n++] = 0x1a;
	one[n++] = 0xf0;
	one[n++] = 0x2e; /* 6000 */
	for (size_t i = 0; i < 3000; i++) {
		one[n++] = 0x42;
		one[n++] = 0x00;
	}
	ck_assert_int_eq(fpd_kubepb_item(pb, one, n, &out, &err), FPD_EINVAL);
	ck_assert_msg(strstr(err.text, "more JSON"), "%s", err.text);
	free(one);
	/* and the decoder still works */
	static const uint8_t small[] = {0x1a, 0x02, 0x42, 0x00};
	ck_assert_int_eq(fpd_kubepb_item(pb, small, sizeof(small), &out, &err), FPD_OK);
	json_decref(out);
	fpd_kubepb_free(pb);
	fpd_kube_prune_free(p);
}
END_TEST

START_TEST(empty_narrowed_message_and_tag_zero)
{
	/* spec is kept in part, but none of its kept fields exist: its narrowed descriptor would
	 * have no fields, and protobuf-c matched tag 0 (0x80 0x00) against the zeroed entry at
	 * fields[0], writing the varint over the message's descriptor pointer */
	static const char *const keep[] = {"/metadata/name", "/spec/notAField/x"};
	struct fpd_kube_prune *p;
	struct fpd_kubepb *pb = decoder("Pod", keep, 2, &p);
	static const uint8_t raw[] = {0x12, 0x07, 0x80, 0x00, 0xc1, 0x82, 0x85, 0x8a, 0x04,
	                              0x12, 0x07, 0x80, 0x00, 0xc1, 0x82, 0x85, 0x8a, 0x04};
	json_t *out;
	struct fpd_error err;
	int rc = fpd_kubepb_item(pb, raw, sizeof(raw), &out, &err);
	if (rc == FPD_OK)
		expect_json(out, "{\"spec\":{}}");
	else
		ck_assert_int_eq(rc, FPD_EINVAL);
	fpd_kubepb_free(pb);
	fpd_kube_prune_free(p);
}
END_TEST

START_TEST(list_length_overflow_refused)
{
	struct fpd_kubepb_list l;
	size_t n = 0;
	struct fpd_error err;
	/* a field in the list of 2^64 - 1 bytes: head + len wrapped to fit the list's 16 bytes */
	fpd_kubepb_list_init(&l, 1024);
	const char wrap[] = "k8s\0\x12\x10\x1a\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01xxxx";
	ck_assert_int_eq(list_feed_all(&l, wrap, sizeof(wrap) - 1, &n, &err), FPD_EINVAL);
	ck_assert_msg(strstr(err.text, "past the end"), "%s", err.text);
	fpd_kubepb_list_free(&l);
}
END_TEST

/* ---- every field a pod can hold has its JSON spelling ---- */

static int row_cmp(const void *key, const void *elem)
{
	const struct fpd_kubepb_field_json *a = key, *b = elem;
	int c = strcmp(a->message, b->message);
	return c ? c : strcmp(a->field, b->field);
}

/* The types the decoder writes by their own rules, not field by field. */
static bool written_whole(const char *name)
{
	static const char *const whole[] = {
	    "k8s.io.apimachinery.pkg.apis.meta.v1.Time",
	    "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime",
	    "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1",
	    "k8s.io.apimachinery.pkg.api.resource.Quantity",
	    "k8s.io.apimachinery.pkg.util.intstr.IntOrString",
	    "k8s.io.apimachinery.pkg.runtime.RawExtension",
	};
	for (size_t i = 0; i < sizeof(whole) / sizeof(whole[0]); i++)
		if (strcmp(name, whole[i]) == 0)
			return true;
	return false;
}

static bool map_entry(const ProtobufCMessageDescriptor *d)
{
	size_t len = strlen(d->name);
	return len > 5 && strcmp(d->name + len - 5, "Entry") == 0 && d->n_fields == 2;
}

/* Appends "Message.field" to missing for each field reachable from d without a row in the
 * generated table (the decoder would fall back to the protobuf name). */
static void walk_rows(const ProtobufCMessageDescriptor *d, struct fpd_map *seen,
                      struct fpd_buf *missing)
{
	if (fpd_map_get(seen, d->name) || written_whole(d->name))
		return;
	fpd_map_put(seen, d->name, (void *)d);
	bool entry = map_entry(d);
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		struct fpd_kubepb_field_json key = {d->name, f->name, NULL, 0};
		if (!entry && !bsearch(&key, fpd_kubepb_fields, fpd_kubepb_nfields, sizeof(key),
		                       row_cmp))
			fpd_buf_printf(missing, " %s.%s", d->name, f->name);
		if (f->type == PROTOBUF_C_TYPE_MESSAGE)
			walk_rows(f->descriptor, seen, missing);
	}
}

START_TEST(every_pod_field_has_a_json_row)
{
	struct fpd_map seen;
	fpd_map_init(&seen);
	struct fpd_buf missing;
	fpd_buf_init(&missing, 1 << 20);
	walk_rows(&k8s__io__api__core__v1__pod_list__descriptor, &seen, &missing);
	ck_assert_msg(seen.count > 100, "walked only %zu message types", seen.count);
	ck_assert_msg(missing.len == 0, "fields without a JSON row:%.*s", (int)missing.len,
	              missing.data ? missing.data : "");
	fpd_buf_free(&missing);
	fpd_map_free(&seen);

	/* An inlined member (EphemeralContainer's EphemeralContainerCommon, whose tag has no
	 * name=): its fields are the parent's, as in the API server's JSON. */
	Pod pod = K8S__IO__API__CORE__V1__POD__INIT;
	K8s__Io__Api__Core__V1__PodSpec spec = K8S__IO__API__CORE__V1__POD_SPEC__INIT;
	K8s__Io__Api__Core__V1__EphemeralContainerCommon common =
	    K8S__IO__API__CORE__V1__EPHEMERAL_CONTAINER_COMMON__INIT;
	common.name = "debug";
	common.image = "busybox";
	K8s__Io__Api__Core__V1__EphemeralContainer ec =
	    K8S__IO__API__CORE__V1__EPHEMERAL_CONTAINER__INIT;
	ec.ephemeralcontainercommon = &common;
	ec.targetcontainername = "main";
	K8s__Io__Api__Core__V1__EphemeralContainer *ecs[] = {&ec};
	spec.n_ephemeralcontainers = 1;
	spec.ephemeralcontainers = ecs;
	pod.spec = &spec;
	static const char *const keep[] = {"/spec/ephemeralContainers/*"};
	expect_json(decode(&pod.base, "Pod", keep, 1),
	            "{\"spec\": {\"ephemeralContainers\": [{\"name\": \"debug\", \"image\": "
	            "\"busybox\", \"targetContainerName\": \"main\"}]}}");
}
END_TEST

/* ---- encoding (fpd_kubepb_encode) ---- */

/* Every member of sent is in got with the same value, as the API server's JSON would have it
 * after reading sent: a null is a zero value or nothing, a zero value may be left out (where
 * JSON leaves it out), an integer quantity is its decimal string. */
static void expect_carried(const json_t *sent, const json_t *got, const char *path)
{
	if (json_is_null(sent))
		return;
	if (json_is_object(sent)) {
		ck_assert_msg(json_is_object(got), "%s: not an object after the round trip", path);
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)sent, k, v)
		{
			char sub[512];
			snprintf(sub, sizeof(sub), "%s/%s", path, k);
			json_t *g = json_object_get(got, k);
			bool zero = json_is_false(v) ||
			            (json_is_integer(v) && json_integer_value(v) == 0) ||
			            (json_is_string(v) && json_string_length(v) == 0) ||
			            (json_is_array(v) && json_array_size(v) == 0) ||
			            (json_is_object(v) && json_object_size(v) == 0);
			if (zero && !g)
				continue; /* a zero value JSON leaves out (omitempty) */
			if (!json_is_null(v))
				ck_assert_msg(g != NULL, "%s: missing after the round trip", sub);
			expect_carried(v, g, sub);
		}
		return;
	}
	if (json_is_array(sent)) {
		ck_assert_msg(json_is_array(got) && json_array_size(got) == json_array_size(sent),
		              "%s: array differs after the round trip", path);
		for (size_t i = 0; i < json_array_size(sent); i++) {
			char sub[512];
			snprintf(sub, sizeof(sub), "%s/%zu", path, i);
			expect_carried(json_array_get(sent, i), json_array_get(got, i), sub);
		}
		return;
	}
	if (json_is_integer(sent) && json_is_string(got)) {
		char num[32];
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(sent));
		ck_assert_msg(strcmp(num, json_string_value(got)) == 0, "%s: %s became %s", path,
		              num, json_string_value(got));
		return;
	}
	char *a = json_dumps(sent, JSON_ENCODE_ANY), *b = got ? json_dumps(got, JSON_ENCODE_ANY) : NULL;
	ck_assert_msg(json_equal(sent, got), "%s: %s became %s", path, a, b ? b : "nothing");
	free(a);
	free(b);
}

/* The JSON object text, encoded (FPD_OK expected) and decoded whole by a decoder of kind. */
static json_t *round_trip(const char *kind, const char *text)
{
	json_error_t jerr;
	json_t *obj = json_loads(text, 0, &jerr);
	ck_assert_msg(obj != NULL, "bad test object: %s", jerr.text);
	struct fpd_kubepb *pb;
	struct fpd_error err;
	ck_assert_int_eq(fpd_kubepb_new(kind, NULL, &pb, &err), FPD_OK);
	struct fpd_buf b;
	fpd_buf_init(&b, 1 << 20);
	ck_assert_msg(fpd_kubepb_encode(pb, obj, &b, &err) == FPD_OK, "%s", err.text);
	ck_assert(b.len > 4 && memcmp(b.data, "k8s", 4) == 0);
	json_t *got;
	ck_assert_msg(fpd_kubepb_object(pb, b.data, b.len, &got, &err) == FPD_OK, "%s", err.text);
	expect_carried(obj, got, "");
	/* the same again from what came back: the encoding is stable */
	struct fpd_buf b2;
	fpd_buf_init(&b2, 1 << 20);
	ck_assert_msg(fpd_kubepb_encode(pb, got, &b2, &err) == FPD_OK, "again: %s", err.text);
	json_t *again;
	ck_assert_int_eq(fpd_kubepb_object(pb, b2.data, b2.len, &again, &err), FPD_OK);
	ck_assert(json_equal(got, again));
	json_decref(again);
	fpd_buf_free(&b2);
	fpd_buf_free(&b);
	fpd_kubepb_free(pb);
	json_decref(obj);
	return got;
}

static const char TASK_POD[] =
    "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"f-a0-n0-0\", "
    "\"namespace\": \"flytesnacks-development\", \"creationTimestamp\": null, \"labels\": "
    "{\"app.kubernetes.io/managed-by\": \"flyteplugd\", \"execution-id\": \"a0\"}, "
    "\"annotations\": {\"flyteplugd.io/identity\": \"x\\u00e9y\", \"empty\": \"\"}, "
    "\"ownerReferences\": [{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"name\": \"o\", "
    "\"uid\": \"6f1c\", \"controller\": true, \"blockOwnerDeletion\": false}], "
    "\"finalizers\": [\"flyte/flytek8s\"]}, "
    "\"spec\": {\"restartPolicy\": \"Never\", \"activeDeadlineSeconds\": 0, "
    "\"hostNetwork\": false, \"nodeSelector\": {\"pool\": \"gpu\"}, "
    "\"terminationGracePeriodSeconds\": 30, \"schedulerName\": \"default-scheduler\", "
    "\"securityContext\": {\"runAsUser\": 1000, \"fsGroup\": 2000, \"supplementalGroups\": "
    "[1, 2, 4294967296]}, \"tolerations\": [{\"key\": \"gpu\", \"operator\": \"Exists\", "
    "\"effect\": \"NoSchedule\", \"tolerationSeconds\": -5}], "
    "\"affinity\": {\"nodeAffinity\": {\"requiredDuringSchedulingIgnoredDuringExecution\": "
    "{\"nodeSelectorTerms\": [{\"matchExpressions\": [{\"key\": \"zone\", \"operator\": "
    "\"In\", \"values\": [\"a\", \"b\"]}]}]}}}, "
    "\"initContainers\": [{\"name\": \"init\", \"image\": \"busybox\", \"command\": [\"true\"]}], "
    "\"containers\": [{\"name\": \"primary\", \"image\": \"ghcr.io/flyteorg/flytekit:py3.11\", "
    "\"args\": [\"pyflyte-execute\", \"--inputs\", \"s3://b/i\", \"\"], "
    "\"env\": [{\"name\": \"FLYTE_INTERNAL_EXECUTION_ID\", \"value\": \"a0\"}, "
    "{\"name\": \"POD\", \"valueFrom\": {\"fieldRef\": {\"fieldPath\": \"metadata.name\"}}}], "
    "\"resources\": {\"requests\": {\"cpu\": \"500m\", \"memory\": \"1Gi\"}, \"limits\": "
    "{\"cpu\": 2, \"nvidia.com/gpu\": \"1\", \"memory\": \"1.5e9\"}}, "
    "\"ports\": [{\"containerPort\": 8080, \"protocol\": \"TCP\"}], "
    "\"readinessProbe\": {\"httpGet\": {\"path\": \"/\", \"port\": 8080}, "
    "\"periodSeconds\": 5}, \"livenessProbe\": {\"tcpSocket\": {\"port\": \"http\"}}, "
    "\"volumeMounts\": [{\"name\": \"scratch\", \"mountPath\": \"/tmp\", \"readOnly\": true}], "
    "\"securityContext\": {\"allowPrivilegeEscalation\": false, \"capabilities\": "
    "{\"drop\": [\"ALL\"]}}, \"terminationMessagePolicy\": \"FallbackToLogsOnError\"}], "
    "\"ephemeralContainers\": [{\"name\": \"debug\", \"image\": \"busybox\", "
    "\"targetContainerName\": \"primary\"}], "
    "\"volumes\": [{\"name\": \"scratch\", \"emptyDir\": {\"medium\": \"Memory\", "
    "\"sizeLimit\": \"64Mi\"}}, {\"name\": \"cfg\", \"configMap\": {\"name\": \"c\", "
    "\"defaultMode\": 420, \"items\": [{\"key\": \"k\", \"path\": \"p\"}]}}, "
    "{\"name\": \"ephemeral\", \"ephemeral\": {\"volumeClaimTemplate\": {\"spec\": "
    "{\"accessModes\": [\"ReadWriteOnce\"], \"resources\": {\"requests\": "
    "{\"storage\": \"1Gi\"}}}}}}]}}";

START_TEST(encode_round_trips_a_task_pod)
{
	json_t *got = round_trip("Pod", TASK_POD);
	/* spot checks of what the generic comparison allows */
	json_t *c = json_array_get(json_object_get(json_object_get(got, "spec"), "containers"), 0);
	expect_json(json_incref(json_object_get(json_object_get(c, "resources"), "limits")),
	            "{\"cpu\": \"2\", \"nvidia.com/gpu\": \"1\", \"memory\": \"1.5e9\"}");
	ck_assert_int_eq(json_integer_value(json_object_get(
	                     json_object_get(json_object_get(c, "readinessProbe"), "httpGet"),
	                     "port")),
	                 8080);
	ck_assert_str_eq(json_string_value(json_object_get(
	                     json_object_get(json_object_get(c, "livenessProbe"), "tcpSocket"),
	                     "port")),
	                 "http");
	json_t *annotations = json_object_get(json_object_get(got, "metadata"), "annotations");
	ck_assert_str_eq(json_string_value(json_object_get(annotations, "flyteplugd.io/identity")),
	                 "x\xc3\xa9y");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(got, "spec"),
	                                                    "activeDeadlineSeconds")),
	                 0);
	json_decref(got);

	/* bytes: a ConfigMap's binaryData */
	json_decref(round_trip("ConfigMap",
	                       "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": "
	                       "{\"name\": \"c\"}, \"data\": {\"a\": \"b\"}, \"binaryData\": "
	                       "{\"bin\": \"AP8=\"}, \"immutable\": true}"));
}
END_TEST

/* obj_text refused by the encoder with a message containing want; out unchanged. */
static void expect_not_encoded(const char *obj_text, const char *want)
{
	json_error_t jerr;
	json_t *obj = json_loads(obj_text, JSON_ALLOW_NUL, &jerr);
	ck_assert_msg(obj != NULL, "bad test object: %s", jerr.text);
	struct fpd_kubepb *pb;
	struct fpd_error err;
	ck_assert_int_eq(fpd_kubepb_new("Pod", NULL, &pb, &err), FPD_OK);
	struct fpd_buf b;
	fpd_buf_init(&b, 1 << 20);
	fpd_buf_append_str(&b, "before");
	int rc = fpd_kubepb_encode(pb, obj, &b, &err);
	ck_assert_msg(rc == FPD_EINVAL, "%s: encoded (%d)", obj_text, rc);
	ck_assert_msg(strstr(err.text, want), "%s: error \"%s\" does not say \"%s\"", obj_text,
	              err.text, want);
	ck_assert_uint_eq(b.len, 6);
	ck_assert_str_eq(b.data, "before");
	fpd_buf_free(&b);
	fpd_kubepb_free(pb);
	json_decref(obj);
}

#define POD_WITH(spec) "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"spec\": " spec "}"
#define CONTAINER_WITH(member) \
	POD_WITH("{\"containers\": [{\"name\": \"c\", " member "}]}")

START_TEST(encode_refuses_what_json_reads_otherwise)
{
	expect_not_encoded("{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\"}", "kind v1/Pod");
	expect_not_encoded("{\"apiVersion\": \"v2\", \"kind\": \"Pod\"}", "kind v1/Pod");
	expect_not_encoded("{\"kind\": \"Pod\"}", "kind v1/Pod");
	expect_not_encoded("{\"apiVersion\": \"v1\\u0000x\", \"kind\": \"Pod\"}", "kind v1/Pod");
	expect_not_encoded("{\"apiVersion\": \"v1\", \"kind\": \"Pod\\u0000\"}", "kind v1/Pod");
	/* the daemon's decoder reads C strings: what it would cut goes as JSON */
	expect_not_encoded(POD_WITH("{\"nodeName\": \"a\\u0000b\"}"), "a string with a NUL");
	expect_not_encoded(
	    CONTAINER_WITH("\"livenessProbe\": {\"httpGet\": {\"port\": \"h\\u0000\"}}"),
	    "neither an integer nor a string without a NUL");
	expect_not_encoded(POD_WITH("{\"nodeName\": \"n\", \"futureField\": 1}"),
	                   "\"futureField\" is not a member of PodSpec");
	expect_not_encoded(POD_WITH("{\"NodeName\": \"n\"}"), "\"NodeName\" is not a member");
	expect_not_encoded(POD_WITH("{\"containers\": [{\"name\": \"c\"}], \"nodeName\": 1}"),
	                   "\"nodeName\": not a string");
	expect_not_encoded(POD_WITH("{\"hostNetwork\": 1}"), "not a boolean");
	expect_not_encoded(POD_WITH("{\"priority\": 2147483648}"), "out of int32's range");
	expect_not_encoded(POD_WITH("{\"priority\": 1.0}"), "not an integer");
	expect_not_encoded(POD_WITH("{\"containers\": []}"), "\"containers\": empty");
	expect_not_encoded(POD_WITH("{\"containers\": [null]}"), "a null element");
	expect_not_encoded(POD_WITH("{\"containers\": {}}"), "not an array");
	expect_not_encoded(POD_WITH("{\"nodeSelector\": {\"a\": null}}"), "a null value in a map");
	expect_not_encoded(POD_WITH("{\"nodeSelector\": []}"), "not an object");
	expect_not_encoded(POD_WITH("{\"securityContext\": 3}"), "not an object");
	expect_not_encoded(CONTAINER_WITH("\"resources\": {\"limits\": {\"cpu\": \" 1\"}}"),
	                   "quantity");
	expect_not_encoded(CONTAINER_WITH("\"resources\": {\"limits\": {\"cpu\": \"\"}}"),
	                   "quantity");
	expect_not_encoded(CONTAINER_WITH("\"resources\": {\"limits\": {\"cpu\": 0.5}}"),
	                   "quantity");
	expect_not_encoded(
	    CONTAINER_WITH("\"livenessProbe\": {\"httpGet\": {\"port\": 4294967296}}"),
	    "out of int32's range");
	expect_not_encoded(CONTAINER_WITH("\"livenessProbe\": {\"httpGet\": {\"port\": true}}"),
	                   "neither an integer nor a string");
	expect_not_encoded("{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": "
	                   "{\"creationTimestamp\": \"2026-12-07T00:00:00Z\"}}",
	                   "a time or raw JSON");
	/* a key with a NUL (jansson's parser makes none; json_object_setn does) would otherwise
	 * be looked up as its first part */
	json_t *obj = json_pack("{s:s, s:s, s:{}}", "apiVersion", "v1", "kind", "Pod", "spec");
	json_object_setn_new(json_object_get(obj, "spec"), "nodeName\0x", 10, json_string("n"));
	struct fpd_kubepb *pb;
	struct fpd_error err;
	ck_assert_int_eq(fpd_kubepb_new("Pod", NULL, &pb, &err), FPD_OK);
	struct fpd_buf b;
	fpd_buf_init(&b, 1 << 20);
	ck_assert_int_eq(fpd_kubepb_encode(pb, obj, &b, &err), FPD_EINVAL);
	ck_assert_msg(strstr(err.text, "\"nodeName\" is not a member of PodSpec"), "%s", err.text);
	ck_assert_uint_eq(b.len, 0);
	/* and a map key with one */
	json_object_clear(json_object_get(obj, "spec"));
	json_t *sel = json_object();
	json_object_setn_new(sel, "a\0b", 3, json_string("c"));
	json_object_set_new(json_object_get(obj, "spec"), "nodeSelector", sel);
	ck_assert_int_eq(fpd_kubepb_encode(pb, obj, &b, &err), FPD_EINVAL);
	ck_assert_msg(strstr(err.text, "a map key with a NUL"), "%s", err.text);
	ck_assert_uint_eq(b.len, 0);
	fpd_buf_free(&b);
	fpd_kubepb_free(pb);
	json_decref(obj);
}
END_TEST

START_TEST(encode_bounded_and_appends)
{
	json_t *obj = json_loads(TASK_POD, 0, NULL);
	ck_assert_ptr_nonnull(obj);
	struct fpd_kubepb *pb;
	struct fpd_error err;
	ck_assert_int_eq(fpd_kubepb_new("Pod", NULL, &pb, &err), FPD_OK);
	struct fpd_buf b;
	fpd_buf_init(&b, 1 << 20);
	ck_assert_int_eq(fpd_kubepb_encode(pb, obj, &b, &err), FPD_OK);
	size_t whole = b.len;
	/* short of room by one byte, whichever field it falls in: refused, out unchanged */
	for (size_t max = 0; max < whole; max += (max < 64 || max > whole - 64) ? 1 : 37) {
		struct fpd_buf small;
		fpd_buf_init(&small, max);
		ck_assert_int_eq(fpd_kubepb_encode(pb, obj, &small, &err), FPD_ERANGE);
		ck_assert_uint_eq(small.len, 0);
		fpd_buf_free(&small);
	}
	/* appended after what out holds */
	struct fpd_buf two;
	fpd_buf_init(&two, 1 << 20);
	fpd_buf_append_str(&two, "xy");
	ck_assert_int_eq(fpd_kubepb_encode(pb, obj, &two, &err), FPD_OK);
	ck_assert_uint_eq(two.len, whole + 2);
	ck_assert(memcmp(two.data + 2, b.data, whole) == 0);
	fpd_buf_free(&two);
	fpd_buf_free(&b);
	fpd_kubepb_free(pb);
	json_decref(obj);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kube_kubepb");
	TCase *tc = tcase_create("all");
	tcase_add_test(tc, times_quantities_intorstring_maps_and_omission);
	tcase_add_test(tc, micro_time_and_bytes);
	tcase_add_test(tc, managed_fields_hold_json);
	tcase_add_test(tc, map_key_not_utf8_replaced);
	tcase_add_test(tc, malformed_objects_refused);
	tcase_add_test(tc, hostile_frames_refused_before_buffering);
	tcase_add_test(tc, hostile_lists_refused);
	tcase_add_test(tc, amplification_refused);
	tcase_add_test(tc, empty_narrowed_message_and_tag_zero);
	tcase_add_test(tc, list_length_overflow_refused);
	tcase_add_test(tc, every_pod_field_has_a_json_row);
	tcase_add_test(tc, encode_round_trips_a_task_pod);
	tcase_add_test(tc, encode_refuses_what_json_reads_otherwise);
	tcase_add_test(tc, encode_bounded_and_appends);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
