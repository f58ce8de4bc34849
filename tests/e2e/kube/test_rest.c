/* REST verbs and typed API errors against the real API server: pods, configmaps and a custom
 * resource; merge, JSON and apply patches; status subresource; UID preconditions; 404, 409,
 * 422 and 403. */
#include "e2e.h"

#include <flyteplugd/mem.h>

static struct ev_loop *loop;
static struct fpd_kube_client *admin;
static char *ns;

static const char *meta(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

static const char *label(json_t *obj, const char *key)
{
	return json_string_value(
	    json_object_get(json_object_get(json_object_get(obj, "metadata"), "labels"), key));
}

static void expect_api_error(const struct e2e_call *call, int code, enum fpd_kube_reason reason,
                             long http)
{
	ck_assert_msg(call->code == code && call->status.reason == reason &&
	                  call->status.http == http,
	              "expected %s/%s/HTTP %ld, got %s/%s/HTTP %ld: %s", fpd_strerror(code),
	              fpd_kube_reason_name(reason), http, fpd_strerror(call->code),
	              call->status.reason_text, call->status.http, call->err.text);
	ck_assert_msg(call->status.message[0], "API errors carry the server's message");
}

static void setup(void)
{
	loop = ev_default_loop(0);
	admin = e2e_client(loop, NULL);
	ns = e2e_namespace(loop, admin, "kube-rest");
}

static void teardown(void)
{
	struct e2e_call call = {0};
	struct fpd_kube_ref ref = {&e2e_namespaces, NULL, ns, NULL};
	E2E_CALL(loop, &call, fpd_kube_delete(admin, &ref, NULL, e2e_done, &call, &e2e_err));
	e2e_call_reset(&call);
	free(ns);
	fpd_kube_client_free(admin);
}

START_TEST(pods_crud_patches_and_preconditions)
{
	struct e2e_call call = {0};
	struct fpd_kube_ref coll = {&e2e_pods, ns, NULL, NULL};
	for (int i = 0; i < 5; i++) {
		char name[32];
		snprintf(name, sizeof(name), "p%d", i);
		json_t *pod = e2e_pod(name, "group", i < 3 ? "a" : "b");
		E2E_CALL(loop, &call,
		         fpd_kube_create(admin, &coll, pod, NULL, e2e_done, &call, &e2e_err));
		json_decref(pod);
		E2E_OK(&call);
		ck_assert_int_eq(call.status.http, 201);
	}
	/* get */
	struct fpd_kube_ref p0 = {&e2e_pods, ns, "p0", NULL};
	E2E_CALL(loop, &call, fpd_kube_get(admin, &p0, e2e_done, &call, &e2e_err));
	E2E_OK(&call);
	char *uid = fpd_strdup(meta(call.obj, "uid"));
	char *rv0 = fpd_strdup(meta(call.obj, "resourceVersion"));

	/* list with a selector, two per page */
	struct fpd_kube_list_opts lo = {.label_selector = "group=a", .limit = 2};
	size_t seen = 0, pages = 0;
	char *cont = NULL;
	do {
		lo.continue_token = cont;
		E2E_CALL(loop, &call, fpd_kube_list(admin, &coll, &lo, e2e_done, &call, &e2e_err));
		E2E_OK(&call);
		seen += json_array_size(json_object_get(call.obj, "items"));
		pages++;
		free(cont);
		const char *next = meta(call.obj, "continue");
		cont = next && *next ? fpd_strdup(next) : NULL;
	} while (cont);
	ck_assert_uint_eq(seen, 3);
	ck_assert_uint_eq(pages, 2);

	/* merge patch */
	json_t *merge = json_pack("{s:{s:{s:s}}}", "metadata", "labels", "patched", "merge");
	E2E_CALL(loop, &call,
	         fpd_kube_patch(admin, &p0, FPD_KUBE_PATCH_MERGE, merge, NULL, e2e_done, &call,
	                        &e2e_err));
	json_decref(merge);
	E2E_OK(&call);
	ck_assert_str_eq(label(call.obj, "patched"), "merge");

	/* JSON patch with a test op: the second one fails the test → 422 */
	json_t *jp = json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}]", "op", "test", "path",
	                       "/metadata/labels/patched", "value", "merge", "op", "replace",
	                       "path", "/metadata/labels/patched", "value", "json");
	E2E_CALL(
	    loop, &call,
	    fpd_kube_patch(admin, &p0, FPD_KUBE_PATCH_JSON, jp, NULL, e2e_done, &call, &e2e_err));
	E2E_OK(&call);
	ck_assert_str_eq(label(call.obj, "patched"), "json");
	E2E_CALL(
	    loop, &call,
	    fpd_kube_patch(admin, &p0, FPD_KUBE_PATCH_JSON, jp, NULL, e2e_done, &call, &e2e_err));
	json_decref(jp);
	expect_api_error(&call, FPD_EINVAL, FPD_KUBE_INVALID, 422);

	/* server-side apply of a label, owned by our field manager */
	json_t *apply = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}}", "apiVersion", "v1", "kind", "Pod",
	                          "metadata", "name", "p0", "labels", "applied", "yes");
	struct fpd_kube_write_opts wo = {.field_manager = "flyteplugd-e2e", .force = true};
	E2E_CALL(loop, &call,
	         fpd_kube_patch(admin, &p0, FPD_KUBE_PATCH_APPLY, apply, &wo, e2e_done, &call,
	                        &e2e_err));
	json_decref(apply);
	E2E_OK(&call);
	ck_assert_str_eq(label(call.obj, "applied"), "yes");
	ck_assert_str_eq(label(call.obj, "patched"), "json"); /* other fields kept */

	/* status subresource: what a kubelet would write */
	struct fpd_kube_ref p0s = {&e2e_pods, ns, "p0", "status"};
	json_t *st = json_pack("{s:{s:s, s:s}}", "status", "phase", "Running", "message", "up");
	E2E_CALL(
	    loop, &call,
	    fpd_kube_patch(admin, &p0s, FPD_KUBE_PATCH_MERGE, st, NULL, e2e_done, &call, &e2e_err));
	json_decref(st);
	E2E_OK(&call);
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(call.obj, "status"), "phase")),
	    "Running");

	/* PUT with the stale resourceVersion loses the race: 409 Conflict */
	E2E_CALL(loop, &call, fpd_kube_get(admin, &p0, e2e_done, &call, &e2e_err));
	json_t *stale = json_deep_copy(call.obj);
	json_object_set_new(json_object_get(stale, "metadata"), "resourceVersion",
	                    json_string(rv0));
	E2E_CALL(loop, &call, fpd_kube_update(admin, &p0, stale, NULL, e2e_done, &call, &e2e_err));
	json_decref(stale);
	expect_api_error(&call, FPD_ERR, FPD_KUBE_CONFLICT, 409);

	/* delete with the wrong UID is refused; with the right one it goes */
	struct fpd_kube_delete_opts bad = {.uid = "00000000-0000-0000-0000-000000000000",
	                                   .propagation = FPD_KUBE_PROPAGATE_BACKGROUND,
	                                   .grace_period_s = -1};
	E2E_CALL(loop, &call, fpd_kube_delete(admin, &p0, &bad, e2e_done, &call, &e2e_err));
	expect_api_error(&call, FPD_ERR, FPD_KUBE_CONFLICT, 409);
	ck_assert_msg(strstr(call.status.message, "recondition") != NULL, "%s",
	              call.status.message);
	struct fpd_kube_delete_opts good = {
	    .uid = uid, .propagation = FPD_KUBE_PROPAGATE_BACKGROUND, .grace_period_s = 0};
	E2E_CALL(loop, &call, fpd_kube_delete(admin, &p0, &good, e2e_done, &call, &e2e_err));
	E2E_OK(&call);

	/* 404 on get and on a second delete */
	E2E_CALL(loop, &call, fpd_kube_get(admin, &p0, e2e_done, &call, &e2e_err));
	expect_api_error(&call, FPD_ENOENT, FPD_KUBE_NOT_FOUND, 404);
	ck_assert_ptr_nonnull(strstr(call.err.text, "NotFound (HTTP 404)"));
	E2E_CALL(loop, &call, fpd_kube_delete(admin, &p0, &good, e2e_done, &call, &e2e_err));
	expect_api_error(&call, FPD_ENOENT, FPD_KUBE_NOT_FOUND, 404);

	free(cont);
	free(uid);
	free(rv0);
	e2e_call_reset(&call);
}
END_TEST

START_TEST(configmaps_conflicts_and_validation)
{
	struct e2e_call call = {0};
	struct fpd_kube_ref coll = {&e2e_configmaps, ns, NULL, NULL};
	json_t *cm = json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion", "v1", "kind",
	                       "ConfigMap", "metadata", "name", "cm1", "data", "k", "v");
	E2E_CALL(loop, &call, fpd_kube_create(admin, &coll, cm, NULL, e2e_done, &call, &e2e_err));
	E2E_OK(&call);
	/* Creating it again: 409 AlreadyExists, which callers see as FPD_EEXIST. */
	E2E_CALL(loop, &call, fpd_kube_create(admin, &coll, cm, NULL, e2e_done, &call, &e2e_err));
	expect_api_error(&call, FPD_EEXIST, FPD_KUBE_ALREADY_EXISTS, 409);
	json_decref(cm);

	/* An invalid name: 422 Invalid with the field in the message. */
	json_t *bad = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
	                        "metadata", "name", "Not_Valid");
	E2E_CALL(loop, &call, fpd_kube_create(admin, &coll, bad, NULL, e2e_done, &call, &e2e_err));
	json_decref(bad);
	expect_api_error(&call, FPD_EINVAL, FPD_KUBE_INVALID, 422);
	ck_assert_ptr_nonnull(strstr(call.status.message, "metadata.name"));

	/* Server-side apply creates; a second manager changing the same field conflicts unless
	 * it forces. */
	struct fpd_kube_ref cm2 = {&e2e_configmaps, ns, "cm2", NULL};
	json_t *a1 = json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion", "v1", "kind",
	                       "ConfigMap", "metadata", "name", "cm2", "data", "owner", "one");
	struct fpd_kube_write_opts one = {.field_manager = "manager-one"};
	E2E_CALL(
	    loop, &call,
	    fpd_kube_patch(admin, &cm2, FPD_KUBE_PATCH_APPLY, a1, &one, e2e_done, &call, &e2e_err));
	E2E_OK(&call);
	ck_assert_int_eq(call.status.http, 201);
	json_object_set_new(json_object_get(a1, "data"), "owner", json_string("two"));
	struct fpd_kube_write_opts two = {.field_manager = "manager-two"};
	E2E_CALL(
	    loop, &call,
	    fpd_kube_patch(admin, &cm2, FPD_KUBE_PATCH_APPLY, a1, &two, e2e_done, &call, &e2e_err));
	expect_api_error(&call, FPD_ERR, FPD_KUBE_CONFLICT, 409);
	two.force = true;
	E2E_CALL(
	    loop, &call,
	    fpd_kube_patch(admin, &cm2, FPD_KUBE_PATCH_APPLY, a1, &two, e2e_done, &call, &e2e_err));
	E2E_OK(&call);
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(call.obj, "data"), "owner")), "two");
	json_decref(a1);

	/* Apply refuses locally what the server would refuse. */
	struct fpd_error err;
	json_t *p = json_object();
	ck_assert_int_eq(
	    fpd_kube_patch(admin, &cm2, FPD_KUBE_PATCH_APPLY, p, NULL, e2e_done, &call, &err),
	    FPD_EINVAL);
	ck_assert_int_eq(
	    fpd_kube_patch(admin, &cm2, FPD_KUBE_PATCH_JSON, p, NULL, e2e_done, &call, &err),
	    FPD_EINVAL);
	json_decref(p);

	/* dry run: validated, not stored */
	json_t *dry = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
	                        "metadata", "name", "dry");
	struct fpd_kube_write_opts dr = {.dry_run = true};
	E2E_CALL(loop, &call, fpd_kube_create(admin, &coll, dry, &dr, e2e_done, &call, &e2e_err));
	json_decref(dry);
	E2E_OK(&call);
	struct fpd_kube_ref dref = {&e2e_configmaps, ns, "dry", NULL};
	E2E_CALL(loop, &call, fpd_kube_get(admin, &dref, e2e_done, &call, &e2e_err));
	expect_api_error(&call, FPD_ENOENT, FPD_KUBE_NOT_FOUND, 404);

	struct fpd_kube_list_opts lo = {.field_selector = "metadata.name=cm2"};
	E2E_CALL(loop, &call, fpd_kube_list(admin, &coll, &lo, e2e_done, &call, &e2e_err));
	E2E_OK(&call);
	ck_assert_uint_eq(json_array_size(json_object_get(call.obj, "items")), 1);
	e2e_call_reset(&call);

	/* metadata only: the created object's identity and version, nothing of its content */
	json_t *meta = json_pack("{s:s, s:s, s:{s:s, s:{s:s}, s:{s:s}}, s:{s:s}}", "apiVersion",
	                         "v1", "kind", "ConfigMap", "metadata", "name", "meta", "labels",
	                         "a", "b", "annotations", "c", "d", "data", "k", "v");
	struct fpd_kube_write_opts mo = {.metadata_only = true};
	E2E_CALL(loop, &call, fpd_kube_create(admin, &coll, meta, &mo, e2e_done, &call, &e2e_err));
	json_decref(meta);
	E2E_OK(&call);
	ck_assert_str_eq(json_string_value(json_object_get(call.obj, "kind")),
	                 "PartialObjectMetadata");
	json_t *m = json_object_get(call.obj, "metadata");
	ck_assert_str_eq(json_string_value(json_object_get(m, "name")), "meta");
	ck_assert_str_eq(json_string_value(json_object_get(m, "namespace")), ns);
	ck_assert_uint_gt(json_string_length(json_object_get(m, "uid")), 0);
	ck_assert_uint_gt(json_string_length(json_object_get(m, "resourceVersion")), 0);
	ck_assert_uint_gt(json_string_length(json_object_get(m, "creationTimestamp")), 0);
	ck_assert_ptr_null(json_object_get(m, "labels"));
	ck_assert_ptr_null(json_object_get(m, "annotations"));
	ck_assert_ptr_null(json_object_get(m, "managedFields"));
	ck_assert_ptr_null(json_object_get(call.obj, "data"));
	e2e_call_reset(&call);
}
END_TEST

static struct fpd_kube_gvr crd_gvr = {"apiextensions.k8s.io", "v1", "customresourcedefinitions",
                                      "CustomResourceDefinition", false};
static struct fpd_kube_gvr widgets = {"e2e.flyteplugd.io", "v1", "widgets", "Widget", true};

static const char *crd_json =
    "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
    "\"metadata\":{\"name\":\"widgets.e2e.flyteplugd.io\"},"
    "\"spec\":{\"group\":\"e2e.flyteplugd.io\",\"scope\":\"Namespaced\","
    "\"names\":{\"plural\":\"widgets\",\"singular\":\"widget\",\"kind\":\"Widget\"},"
    "\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true,"
    "\"subresources\":{\"status\":{}},"
    "\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\",\"properties\":{"
    "\"spec\":{\"type\":\"object\",\"properties\":{\"size\":{\"type\":\"integer\"}}},"
    "\"status\":{\"type\":\"object\",\"properties\":{\"state\":{\"type\":\"string\"}}}}}}}]}}";

/* Creates (or keeps) the Widget CRD and waits until its endpoint answers. Also used by other
 * tests through copy; kept here for one reader. */
static void install_crd(void)
{
	struct e2e_call call = {0};
	json_t *crd = json_loads(crd_json, 0, NULL);
	ck_assert_ptr_nonnull(crd);
	struct fpd_kube_ref coll = {&crd_gvr, NULL, NULL, NULL};
	E2E_CALL(loop, &call, fpd_kube_create(admin, &coll, crd, NULL, e2e_done, &call, &e2e_err));
	json_decref(crd);
	ck_assert_msg(call.code == FPD_OK || call.code == FPD_EEXIST, "CRD: %s", call.err.text);
	struct fpd_kube_ref list = {&widgets, ns, NULL, NULL};
	for (int i = 0; i < 300; i++) {
		E2E_CALL(loop, &call, fpd_kube_list(admin, &list, NULL, e2e_done, &call, &e2e_err));
		if (call.code == FPD_OK)
			break;
		e2e_run_for(loop, 0.1);
	}
	E2E_OK(&call);
	e2e_call_reset(&call);
}

START_TEST(custom_resource_with_status)
{
	install_crd();
	struct e2e_call call = {0};
	struct fpd_kube_ref coll = {&widgets, ns, NULL, NULL};
	json_t *w = json_pack("{s:s, s:s, s:{s:s}, s:{s:i}}", "apiVersion", "e2e.flyteplugd.io/v1",
	                      "kind", "Widget", "metadata", "name", "w1", "spec", "size", 3);
	E2E_CALL(loop, &call, fpd_kube_create(admin, &coll, w, NULL, e2e_done, &call, &e2e_err));
	json_decref(w);
	E2E_OK(&call);
	char *uid = fpd_strdup(meta(call.obj, "uid"));

	/* Status through the subresource, as the operator would; the main resource ignores it. */
	struct fpd_kube_ref ws = {&widgets, ns, "w1", "status"};
	json_t *st = json_pack("{s:{s:s}}", "status", "state", "Running");
	E2E_CALL(
	    loop, &call,
	    fpd_kube_patch(admin, &ws, FPD_KUBE_PATCH_MERGE, st, NULL, e2e_done, &call, &e2e_err));
	json_decref(st);
	E2E_OK(&call);
	struct fpd_kube_ref w1 = {&widgets, ns, "w1", NULL};
	json_t *ignored =
	    json_pack("{s:{s:s}, s:{s:i}}", "status", "state", "Hacked", "spec", "size", 4);
	E2E_CALL(loop, &call,
	         fpd_kube_patch(admin, &w1, FPD_KUBE_PATCH_MERGE, ignored, NULL, e2e_done, &call,
	                        &e2e_err));
	json_decref(ignored);
	E2E_OK(&call);
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(call.obj, "status"), "state")),
	    "Running");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(json_object_get(call.obj, "spec"), "size")), 4);

	/* Status by server-side apply and by PUT on the subresource. */
	json_t *ap =
	    json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion", "e2e.flyteplugd.io/v1", "kind",
	              "Widget", "metadata", "name", "w1", "status", "state", "Succeeded");
	struct fpd_kube_write_opts wo = {.field_manager = "fake-operator", .force = true};
	E2E_CALL(
	    loop, &call,
	    fpd_kube_patch(admin, &ws, FPD_KUBE_PATCH_APPLY, ap, &wo, e2e_done, &call, &e2e_err));
	json_decref(ap);
	E2E_OK(&call);
	json_t *obj = json_incref(call.obj);
	json_object_set_new(json_object_get(obj, "status"), "state", json_string("Done"));
	E2E_CALL(loop, &call, fpd_kube_update(admin, &ws, obj, NULL, e2e_done, &call, &e2e_err));
	json_decref(obj);
	E2E_OK(&call);
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(call.obj, "status"), "state")),
	    "Done");

	E2E_CALL(loop, &call, fpd_kube_list(admin, &coll, NULL, e2e_done, &call, &e2e_err));
	E2E_OK(&call);
	ck_assert_uint_eq(json_array_size(json_object_get(call.obj, "items")), 1);

	/* A CR rejected by its schema: 422 */
	json_t *bad =
	    json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion", "e2e.flyteplugd.io/v1", "kind",
	              "Widget", "metadata", "name", "w2", "spec", "size", "big");
	E2E_CALL(loop, &call, fpd_kube_create(admin, &coll, bad, NULL, e2e_done, &call, &e2e_err));
	json_decref(bad);
	expect_api_error(&call, FPD_EINVAL, FPD_KUBE_INVALID, 422);

	/* Metadata only, as the engine creates: a custom resource's answer too (in protobuf when
	 * the client reads protobuf: the API server converts it to a meta.k8s.io object), and
	 * its refusal with the schema's message. */
	struct fpd_kube_write_opts mo = {.metadata_only = true};
	json_t *mw = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:i}}", "apiVersion",
	                       "e2e.flyteplugd.io/v1", "kind", "Widget", "metadata", "name", "w3",
	                       "labels", "a", "b", "spec", "size", 1);
	E2E_CALL(loop, &call, fpd_kube_create(admin, &coll, mw, &mo, e2e_done, &call, &e2e_err));
	E2E_OK(&call);
	ck_assert_str_eq(json_string_value(json_object_get(call.obj, "kind")),
	                 "PartialObjectMetadata");
	ck_assert_str_eq(meta(call.obj, "name"), "w3");
	ck_assert_uint_gt(strlen(meta(call.obj, "uid")), 0);
	ck_assert_ptr_null(json_object_get(json_object_get(call.obj, "metadata"), "labels"));
	ck_assert_ptr_null(json_object_get(call.obj, "spec"));
	json_object_set_new(json_object_get(mw, "metadata"), "name", json_string("w4"));
	json_object_set_new(json_object_get(mw, "spec"), "size", json_string("big"));
	E2E_CALL(loop, &call, fpd_kube_create(admin, &coll, mw, &mo, e2e_done, &call, &e2e_err));
	json_decref(mw);
	expect_api_error(&call, FPD_EINVAL, FPD_KUBE_INVALID, 422);
	ck_assert_msg(strstr(call.status.message, "spec.size"), "%s", call.status.message);

	struct fpd_kube_delete_opts d = {
	    .uid = uid, .propagation = FPD_KUBE_PROPAGATE_FOREGROUND, .grace_period_s = -1};
	E2E_CALL(loop, &call, fpd_kube_delete(admin, &w1, &d, e2e_done, &call, &e2e_err));
	E2E_OK(&call);
	free(uid);
	e2e_call_reset(&call);
}
END_TEST

/* A client authenticated as ServiceAccount sa of ns through a TokenRequest token. */
static struct fpd_kube_client *sa_client(const char *sa)
{
	char *token = e2e_sa_token(loop, admin, ns, sa);
	struct fpd_kube_creds creds;
	e2e_admin_creds(&creds);
	/* Same server and CA, no client certificate: only the token speaks for us. */
	free(creds.cert.data);
	free(creds.key.data);
	creds.cert.data = creds.key.data = NULL;
	creds.cert.len = creds.key.len = 0;
	free(creds.token);
	creds.token = token;
	struct fpd_kube_client *c;
	struct fpd_error err;
	ck_assert_int_eq(fpd_kube_client_new(loop, &creds, NULL, &c, &err), FPD_OK);
	fpd_kube_creds_free(&creds);
	return c;
}

START_TEST(forbidden_by_rbac)
{
	struct fpd_kube_client *c = sa_client("nobody");
	struct e2e_call call = {0};
	struct fpd_kube_ref coll = {&e2e_pods, ns, NULL, NULL};
	E2E_CALL(loop, &call, fpd_kube_list(c, &coll, NULL, e2e_done, &call, &e2e_err));
	expect_api_error(&call, FPD_EPERM, FPD_KUBE_FORBIDDEN, 403);
	ck_assert_msg(strstr(call.status.message, "system:serviceaccount:") != NULL,
	              "the message names who was refused: %s", call.status.message);
	json_t *pod = e2e_pod("forbidden", NULL, NULL);
	E2E_CALL(loop, &call, fpd_kube_create(c, &coll, pod, NULL, e2e_done, &call, &e2e_err));
	json_decref(pod);
	expect_api_error(&call, FPD_EPERM, FPD_KUBE_FORBIDDEN, 403);
	e2e_call_reset(&call);
	fpd_kube_client_free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("e2e_kube_rest");
	TCase *tc = tcase_create("all");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, pods_crud_patches_and_preconditions);
	tcase_add_test(tc, configmaps_conflicts_and_validation);
	tcase_add_test(tc, custom_resource_with_status);
	tcase_add_test(tc, forbidden_by_rbac);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
