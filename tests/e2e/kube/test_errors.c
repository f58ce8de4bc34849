/* Clear errors, and retrying instead of giving up: an unreachable server, an API server that
 * goes away before the informer starts, an invalid bearer token (then a valid one written to
 * the token file, picked up without a restart), and in-cluster credentials with token
 * rotation — all against the real API server. (Malformed kubeconfigs are covered with fixtures
 * in tests/unit/kube/test_creds.c.) */
#include "e2e.h"

#include <flyteplugd/mem.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static struct ev_loop *loop;
static struct fpd_kube_client *admin;
static char *ns;
static char tmpdir[64];
static struct fpd_kube_informer *current;

struct errors {
	int count;
	int64_t delays[64];
	char last[FPD_ERROR_TEXT];
};

static void on_error(void *ud, const struct fpd_error *err, int64_t retry_ms)
{
	struct errors *e = ud;
	if (e->count < 64)
		e->delays[e->count] = retry_ms;
	e->count++;
	snprintf(e->last, sizeof(e->last), "%s", err->text);
}

static struct fpd_kube_informer *pod_informer(struct fpd_kube_client *c, struct errors *e)
{
	struct fpd_kube_informer_opts io = {
	    .gvr = e2e_pods,
	    .namespace_ = ns,
	    .on_error = on_error,
	    .ud = e,
	    .backoff_initial_ms = 100,
	    .backoff_max_ms = 800,
	};
	struct fpd_kube_informer *inf;
	struct fpd_error err;
	ck_assert_int_eq(fpd_kube_informer_new(c, &io, &inf, &err), FPD_OK);
	fpd_kube_informer_start(inf);
	current = inf;
	return inf;
}

static void drop_informer(void)
{
	fpd_kube_informer_free(current);
	current = NULL;
}

static bool errors_at_least(void *ud)
{
	return ((struct errors *)ud)->count >= 5;
}

static struct fpd_kube_client *client_for(struct fpd_kube_creds *creds)
{
	struct fpd_kube_client *c;
	struct fpd_error err;
	struct fpd_kube_client_opts o = {
	    .qps = 50, .burst = 100, .request_timeout_ms = 5000, .token_reload_ms = 300};
	ck_assert_msg(fpd_kube_client_new(loop, creds, &o, &c, &err) == FPD_OK, "%s", err.text);
	return c;
}

static void token_only(struct fpd_kube_creds *creds)
{
	free(creds->cert.data);
	free(creds->key.data);
	creds->cert.data = creds->key.data = NULL;
	creds->cert.len = creds->key.len = 0;
}

static void write_file(const char *path, const char *text)
{
	char tmp[512];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(rename(tmp, path), 0); /* atomically, as the kubelet does */
}

static void setup(void)
{
	loop = ev_default_loop(0);
	admin = e2e_client(loop, NULL);
	ns = e2e_namespace(loop, admin, "kube-errors");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fpd-kube-e2e-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	drop_informer();
	struct e2e_call call = {0};
	struct fpd_kube_ref ref = {&e2e_namespaces, NULL, ns, NULL};
	E2E_CALL(loop, &call, fpd_kube_delete(admin, &ref, NULL, e2e_done, &call, &e2e_err));
	e2e_call_reset(&call);
	free(ns);
	fpd_kube_client_free(admin);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(unreachable_server)
{
	struct fpd_kube_creds creds;
	e2e_admin_creds(&creds);
	free(creds.server);
	creds.server = fpd_strdup("https://127.0.0.1:1"); /* nothing listens on port 1 */
	struct fpd_kube_client *c = client_for(&creds);
	fpd_kube_creds_free(&creds);

	struct e2e_call call = {0};
	struct fpd_kube_ref p = {&e2e_pods, ns, "x", NULL};
	E2E_CALL(loop, &call, fpd_kube_get(c, &p, e2e_done, &call, &e2e_err));
	ck_assert_int_eq(call.code, FPD_EIO);
	ck_assert_int_eq(call.status.http, 0);
	ck_assert_msg(strstr(call.err.text, "https://127.0.0.1:1/api/v1/namespaces/") &&
	                  strstr(call.err.text, "onnect"),
	              "the error names the server and the failure: %s", call.err.text);

	/* The informer keeps trying, backing off, and says why each time. */
	struct errors e = {0};
	pod_informer(c, &e);
	e2e_wait_for(loop, errors_at_least, &e, 30, "five failed attempts");
	ck_assert(!fpd_kube_informer_synced(current));
	ck_assert_ptr_nonnull(strstr(e.last, "127.0.0.1:1"));
	ck_assert_msg(e.delays[0] >= 100 && e.delays[0] <= 200, "first delay %lld",
	              (long long)e.delays[0]);
	for (int i = 0; i < 5; i++)
		ck_assert_msg(e.delays[i] >= 100 && e.delays[i] <= 800, "delay %d: %lld ms", i,
		              (long long)e.delays[i]);
	ck_assert_msg(e.delays[3] > e.delays[0], "delays should grow: %lld then %lld",
	              (long long)e.delays[0], (long long)e.delays[3]);
	drop_informer();
	e2e_call_reset(&call);
	fpd_kube_client_free(c);
}
END_TEST

START_TEST(server_down_at_start_then_up)
{
	/* The apiserver is gone when the informer starts; it retries until it comes back. */
	e2e_cluster("kill-apiserver");
	struct fpd_kube_client *c = e2e_client(loop, NULL);
	struct errors e = {0};
	struct fpd_kube_informer *inf = pod_informer(c, &e);
	e2e_wait_for(loop, errors_at_least, &e, 30, "failures while the server is down");
	e2e_cluster("start-apiserver");
	e2e_wait_for(loop, (bool (*)(void *))fpd_kube_informer_synced, inf, 120,
	             "sync after the server came back");
	drop_informer();
	fpd_kube_client_free(c);
}
END_TEST

START_TEST(invalid_token_then_valid_token_file)
{
	e2e_allow_pod_reads(loop, admin, ns, "reader");
	char *good = e2e_sa_token(loop, admin, ns, "reader");
	char path[128];
	snprintf(path, sizeof(path), "%s/token", tmpdir);
	/* A token of the right shape signed by nobody the server trusts. */
	write_file(path, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJub2JvZHkifQ.c2lnbmF0dXJl\n");

	struct fpd_kube_creds creds;
	e2e_admin_creds(&creds);
	token_only(&creds);
	free(creds.token_file);
	creds.token_file = fpd_strdup(path);
	free(creds.token);
	creds.token = fpd_strdup("not-a-token");
	struct fpd_kube_client *c = client_for(&creds);
	fpd_kube_creds_free(&creds);

	struct e2e_call call = {0};
	struct fpd_kube_ref coll = {&e2e_pods, ns, NULL, NULL};
	E2E_CALL(loop, &call, fpd_kube_list(c, &coll, NULL, e2e_done, &call, &e2e_err));
	ck_assert_msg(call.code == FPD_EPERM && call.status.reason == FPD_KUBE_UNAUTHORIZED &&
	                  call.status.http == 401,
	              "expected 401 Unauthorized, got %s", call.err.text);
	ck_assert_ptr_nonnull(strstr(call.err.text, "Unauthorized (HTTP 401)"));

	struct errors e = {0};
	struct fpd_kube_informer *inf = pod_informer(c, &e);
	e2e_wait_for(loop, errors_at_least, &e, 30, "401s");
	ck_assert_ptr_nonnull(strstr(e.last, "Unauthorized (HTTP 401)"));
	ck_assert(!fpd_kube_informer_synced(inf));

	/* The token is rotated in the file: the informer recovers by itself. */
	write_file(path, good);
	e2e_wait_for(loop, (bool (*)(void *))fpd_kube_informer_synced, inf, 60,
	             "sync with the rotated token");
	struct fpd_kube_http_stats hs;
	fpd_kube_http_get_stats(fpd_kube_client_http(c), &hs);
	ck_assert_uint_ge(hs.token_reloads, 1);
	drop_informer();
	e2e_call_reset(&call);
	fpd_kube_client_free(c);
	free(good);
}
END_TEST

START_TEST(in_cluster_service_account)
{
	e2e_allow_pod_reads(loop, admin, ns, "incluster");
	char *token = e2e_sa_token(loop, admin, ns, "incluster");
	char path[160], cmd[512];
	snprintf(path, sizeof(path), "%s/token", tmpdir);
	write_file(path, token);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s/ca.crt'", e2e_env("FPD_TEST_KUBE_CA_FILE"), tmpdir);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/namespace", tmpdir);
	write_file(path, ns);
	/* What the kubelet puts in a pod's environment. */
	const char *server = e2e_env("FPD_TEST_KUBE_SERVER"); /* https://127.0.0.1:PORT */
	const char *colon = strrchr(server, ':');
	setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", colon + 1, 1);
	struct fpd_kube_creds creds;
	struct fpd_error err;
	ck_assert_msg(fpd_kube_creds_in_cluster(tmpdir, &creds, &err) == FPD_OK, "%s", err.text);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	ck_assert_str_eq(creds.namespace_, ns);
	struct fpd_kube_client *c = client_for(&creds);
	fpd_kube_creds_free(&creds);
	ck_assert_str_eq(fpd_kube_client_namespace(c), ns);

	struct e2e_call call = {0};
	struct fpd_kube_ref coll = {&e2e_pods, ns, NULL, NULL};
	E2E_CALL(loop, &call, fpd_kube_list(c, &coll, NULL, e2e_done, &call, &e2e_err));
	E2E_OK(&call);
	/* The service account may read pods, not configmaps: RBAC says so, with a 403. */
	struct fpd_kube_ref cms = {&e2e_configmaps, ns, NULL, NULL};
	E2E_CALL(loop, &call, fpd_kube_list(c, &cms, NULL, e2e_done, &call, &e2e_err));
	ck_assert_int_eq(call.status.http, 403);

	/* The kubelet rotates the projected token: the client re-reads it on its timer. */
	char *fresh = e2e_sa_token(loop, admin, ns, "incluster");
	snprintf(path, sizeof(path), "%s/token", tmpdir);
	write_file(path, fresh);
	e2e_run_for(loop, 1.0);
	struct fpd_kube_http_stats hs;
	fpd_kube_http_get_stats(fpd_kube_client_http(c), &hs);
	ck_assert_uint_ge(hs.token_reloads, 1);
	E2E_CALL(loop, &call, fpd_kube_list(c, &coll, NULL, e2e_done, &call, &e2e_err));
	E2E_OK(&call);
	e2e_call_reset(&call);
	fpd_kube_client_free(c);
	free(token);
	free(fresh);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("e2e_kube_errors");
	TCase *tc = tcase_create("all");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, unreachable_server);
	tcase_add_test(tc, server_down_at_start_then_up);
	tcase_add_test(tc, invalid_token_then_valid_token_file);
	tcase_add_test(tc, in_cluster_service_account);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
