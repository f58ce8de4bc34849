/* kube e2e helpers: see e2e.h. */
#include "e2e.h"

#include <flyteplugd/mem.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fpd_kube_gvr e2e_pods = {"", "v1", "pods", "Pod", true};
struct fpd_kube_gvr e2e_configmaps = {"", "v1", "configmaps", "ConfigMap", true};
struct fpd_kube_gvr e2e_namespaces = {"", "v1", "namespaces", "Namespace", false};
struct fpd_kube_gvr e2e_serviceaccounts = {"", "v1", "serviceaccounts", "ServiceAccount", true};

#define MAX_ENV 64
static char *env_keys[MAX_ENV], *env_values[MAX_ENV];
static size_t env_count;

static void load_env(void)
{
	const char *dir = getenv("FPD_E2E_CLUSTER_DIR");
	ck_assert_msg(dir != NULL, "FPD_E2E_CLUSTER_DIR is not set: run through ctest -L e2e");
	char path[4096];
	snprintf(path, sizeof(path), "%s/env", dir);
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "no cluster env file %s (did e2e_cluster_up run?)", path);
	char line[4096];
	while (env_count < MAX_ENV && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		char *v = eq + 1;
		size_t n = strlen(v);
		/* shlex.quote wraps values with special characters in single quotes */
		if (n >= 2 && v[0] == '\'' && v[n - 1] == '\'') {
			v[n - 1] = '\0';
			v++;
		}
		env_keys[env_count] = fpd_strdup(line);
		env_values[env_count] = fpd_strdup(v);
		env_count++;
	}
	fclose(f);
}

const char *e2e_env(const char *key)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < env_count; i++)
			if (strcmp(env_keys[i], key) == 0)
				return env_values[i];
		if (pass == 0) {
			/* The file changes (state) after kill/start: read it again. */
			for (size_t i = 0; i < env_count; i++) {
				free(env_keys[i]);
				free(env_values[i]);
			}
			env_count = 0;
			load_env();
		}
	}
	ck_abort_msg("cluster env has no %s", key);
	return NULL;
}

void e2e_cluster(const char *verb)
{
	const char *py = getenv("FPD_E2E_PYTHON");
	const char *script = getenv("FPD_E2E_CLUSTER_PY");
	const char *dir = getenv("FPD_E2E_CLUSTER_DIR");
	ck_assert_msg(script && dir, "FPD_E2E_CLUSTER_PY/DIR not set");
	char cmd[8192];
	snprintf(cmd, sizeof(cmd), "'%s' '%s' %s --dir '%s' >&2", py ? py : "python3", script, verb,
	         dir);
	int rc = system(cmd);
	ck_assert_msg(rc == 0, "`%s` failed with %d", cmd, rc);
}

void e2e_admin_creds(struct fpd_kube_creds *c)
{
	struct fpd_error err;
	int rc = fpd_kube_creds_from_kubeconfig(e2e_env("KUBECONFIG"), NULL, c, &err);
	ck_assert_msg(rc == FPD_OK, "kubeconfig: %s", err.text);
}

bool e2e_protobuf(void)
{
	const char *json = getenv("FPD_E2E_JSON");
	return !json || strcmp(json, "1") != 0;
}

struct fpd_kube_client *e2e_client(struct ev_loop *loop, const struct fpd_kube_client_opts *opts)
{
	struct fpd_kube_creds creds;
	e2e_admin_creds(&creds);
	struct fpd_kube_client_opts def = {
	    .qps = 500, .burst = 1000, .request_timeout_ms = 30000, .protobuf = e2e_protobuf()};
	struct fpd_kube_client *c;
	struct fpd_error err;
	int rc = fpd_kube_client_new(loop, &creds, opts ? opts : &def, &c, &err);
	fpd_kube_creds_free(&creds);
	ck_assert_msg(rc == FPD_OK, "client: %s", err.text);
	return c;
}

void e2e_call_reset(struct e2e_call *c)
{
	json_decref(c->obj);
	memset(c, 0, sizeof(*c));
}

void e2e_done(void *ud, const struct fpd_kube_result *res)
{
	struct e2e_call *c = ud;
	json_decref(c->obj);
	c->done = true;
	c->code = res->code;
	c->status = res->status;
	c->obj = json_incref(res->object);
	c->err = res->err;
	c->protobuf = res->protobuf;
}

struct deadline {
	ev_timer timer;
	bool expired;
};

static void deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct deadline *d = fpd_container_of(w, struct deadline, timer);
	d->expired = true;
}

void e2e_wait_for(struct ev_loop *loop, bool (*pred)(void *ud), void *ud, double timeout_s,
                  const char *what)
{
	struct deadline d = {.expired = false};
	ev_timer_init(&d.timer, deadline_cb, timeout_s, 0.);
	ev_timer_start(loop, &d.timer);
	while (!pred(ud) && !d.expired)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &d.timer);
	ck_assert_msg(pred(ud), "timed out after %.0f s waiting for %s", timeout_s, what);
}

static bool flag_set(void *ud)
{
	return *(const bool *)ud;
}

void e2e_wait(struct ev_loop *loop, const bool *flag, double timeout_s, const char *what)
{
	e2e_wait_for(loop, flag_set, (void *)flag, timeout_s, what);
}

void e2e_run_for(struct ev_loop *loop, double seconds)
{
	struct deadline d = {.expired = false};
	ev_timer_init(&d.timer, deadline_cb, seconds, 0.);
	ev_timer_start(loop, &d.timer);
	while (!d.expired)
		ev_run(loop, EVRUN_ONCE);
}

char *e2e_namespace(struct ev_loop *loop, struct fpd_kube_client *c, const char *prefix)
{
	struct e2e_call call = {0};
	char gen[80];
	snprintf(gen, sizeof(gen), "%s-", prefix);
	json_t *ns = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}}", "apiVersion", "v1", "kind",
	                       "Namespace", "metadata", "generateName", gen, "labels",
	                       "flyteplugd.test/kube-e2e", "true");
	struct fpd_kube_ref ref = {&e2e_namespaces, NULL, NULL, NULL};
	E2E_CALL(loop, &call, fpd_kube_create(c, &ref, ns, NULL, e2e_done, &call, &e2e_err));
	json_decref(ns);
	E2E_OK(&call);
	char *name = fpd_strdup(
	    json_string_value(json_object_get(json_object_get(call.obj, "metadata"), "name")));
	/* What kube-controller-manager would do: pods need the default ServiceAccount. */
	json_t *sa = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "ServiceAccount",
	                       "metadata", "name", "default");
	struct fpd_kube_ref sref = {&e2e_serviceaccounts, name, NULL, NULL};
	E2E_CALL(loop, &call, fpd_kube_create(c, &sref, sa, NULL, e2e_done, &call, &e2e_err));
	json_decref(sa);
	E2E_OK(&call);
	e2e_call_reset(&call);
	return name;
}

json_t *e2e_pod(const char *name, const char *label_key, const char *label_value)
{
	json_t *pod =
	    json_pack("{s:s, s:s, s:{s:s, s:{}}, s:{s:[{s:s, s:s}], s:b}}", "apiVersion", "v1",
	              "kind", "Pod", "metadata", "name", name, "labels", "spec", "containers",
	              "name", "main", "image", "busybox:1.36", "automountServiceAccountToken", 0);
	ck_assert_ptr_nonnull(pod);
	if (label_key)
		json_object_set_new(json_object_get(json_object_get(pod, "metadata"), "labels"),
		                    label_key, json_string(label_value));
	return pod;
}

char *e2e_sa_token(struct ev_loop *loop, struct fpd_kube_client *c, const char *ns, const char *sa)
{
	struct e2e_call call = {0};
	json_t *obj = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "ServiceAccount",
	                        "metadata", "name", sa);
	struct fpd_kube_ref coll = {&e2e_serviceaccounts, ns, NULL, NULL};
	E2E_CALL(loop, &call, fpd_kube_create(c, &coll, obj, NULL, e2e_done, &call, &e2e_err));
	json_decref(obj);
	ck_assert_msg(call.code == FPD_OK || call.code == FPD_EEXIST, "%s", call.err.text);
	/* TokenRequest: a POST to the serviceaccount's token subresource. */
	char path[512];
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/serviceaccounts/%s/token", ns, sa);
	json_t *tr = json_pack("{s:s, s:s, s:{s:i}}", "apiVersion", "authentication.k8s.io/v1",
	                       "kind", "TokenRequest", "spec", "expirationSeconds", 3600);
	E2E_CALL(loop, &call,
	         fpd_kube_request(c, "POST", path, tr, NULL, e2e_done, &call, &e2e_err));
	json_decref(tr);
	E2E_OK(&call);
	const char *token =
	    json_string_value(json_object_get(json_object_get(call.obj, "status"), "token"));
	ck_assert_ptr_nonnull(token);
	char *out = fpd_strdup(token);
	e2e_call_reset(&call);
	return out;
}

void e2e_allow_pod_reads(struct ev_loop *loop, struct fpd_kube_client *c, const char *ns,
                         const char *sa)
{
	static struct fpd_kube_gvr roles = {"rbac.authorization.k8s.io", "v1", "roles", "Role",
	                                    true};
	static struct fpd_kube_gvr bindings = {"rbac.authorization.k8s.io", "v1", "rolebindings",
	                                       "RoleBinding", true};
	struct e2e_call call = {0};
	json_t *role = json_pack("{s:s, s:s, s:{s:s}, s:[{s:[s], s:[s], s:[s, s, s]}]}",
	                         "apiVersion", "rbac.authorization.k8s.io/v1", "kind", "Role",
	                         "metadata", "name", "pod-reader", "rules", "apiGroups", "",
	                         "resources", "pods", "verbs", "get", "list", "watch");
	struct fpd_kube_ref rref = {&roles, ns, NULL, NULL};
	E2E_CALL(loop, &call, fpd_kube_create(c, &rref, role, NULL, e2e_done, &call, &e2e_err));
	json_decref(role);
	ck_assert_msg(call.code == FPD_OK || call.code == FPD_EEXIST, "%s", call.err.text);
	json_t *rb = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:s}, s:[{s:s, s:s, s:s}]}",
	                       "apiVersion", "rbac.authorization.k8s.io/v1", "kind", "RoleBinding",
	                       "metadata", "name", sa, "roleRef", "apiGroup",
	                       "rbac.authorization.k8s.io", "kind", "Role", "name", "pod-reader",
	                       "subjects", "kind", "ServiceAccount", "name", sa, "namespace", ns);
	struct fpd_kube_ref bref = {&bindings, ns, NULL, NULL};
	E2E_CALL(loop, &call, fpd_kube_create(c, &bref, rb, NULL, e2e_done, &call, &e2e_err));
	json_decref(rb);
	ck_assert_msg(call.code == FPD_OK || call.code == FPD_EEXIST, "%s", call.err.text);
	e2e_call_reset(&call);
}
