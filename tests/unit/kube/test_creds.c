/* kubeconfig and in-cluster loading (kube/creds.h) with fixture files. */
#include "kube/creds.h"
#include <flyteplugd/mem.h>
#include "fpd_test.h"

#include <flyteplugd/base64.h>

#include <sys/stat.h>
#include <unistd.h>

static int load(const char *rel, const char *context, struct fpd_kube_creds *c,
                struct fpd_error *err)
{
	fpd_error_clear(err);
	char path[4096];
	snprintf(path, sizeof(path), "%s", fpd_fixture(rel));
	return fpd_kube_creds_from_kubeconfig(path, context, c, err);
}

START_TEST(current_context_with_token_and_ca_file)
{
	struct fpd_kube_creds c;
	struct fpd_error err;
	ck_assert_msg(load("kube/kubeconfig/basic.yaml", NULL, &c, &err) == FPD_OK, "%s", err.text);
	ck_assert_str_eq(c.server, "https://127.0.0.1:6443"); /* trailing slash dropped */
	ck_assert_str_eq(c.token, "inline-token");
	ck_assert_str_eq(c.namespace_, "flyte");
	/* Relative to the kubeconfig's directory. */
	ck_assert_str_eq(c.ca_file, fpd_fixture("kube/kubeconfig/ca.crt"));
	ck_assert(!c.insecure);
	ck_assert_ptr_nonnull(strstr(c.source, "context dev"));
	fpd_kube_creds_free(&c);
}
END_TEST

START_TEST(named_context_token_file_insecure)
{
	struct fpd_kube_creds c;
	struct fpd_error err;
	ck_assert_msg(load("kube/kubeconfig/basic.yaml", "prod", &c, &err) == FPD_OK, "%s",
	              err.text);
	ck_assert_str_eq(c.server, "https://prod.example.com");
	ck_assert(c.insecure);
	ck_assert_str_eq(c.tls_server_name, "kubernetes");
	/* tokenFile wins over token, whitespace trimmed. */
	ck_assert_str_eq(c.token, "fixture-token-from-file");
	ck_assert_str_eq(c.token_file, fpd_fixture("kube/kubeconfig/token.txt"));
	ck_assert_str_eq(c.namespace_, "default");
	struct fpd_kube_creds copy;
	fpd_kube_creds_copy(&copy, &c);
	ck_assert_str_eq(copy.token, c.token);
	ck_assert_ptr_ne(copy.token, c.token);
	fpd_kube_creds_free(&copy);
	fpd_kube_creds_free(&c);
}
END_TEST

START_TEST(inline_data)
{
	struct fpd_kube_creds c;
	struct fpd_error err;
	ck_assert_msg(load("kube/kubeconfig/data.yaml", "", &c, &err) == FPD_OK, "%s", err.text);
	ck_assert_uint_eq(c.ca.len, 6);
	ck_assert_mem_eq(c.ca.data, "PEM-CA", 6);
	ck_assert_mem_eq(c.cert.data, "PEM-CERT", 8);
	ck_assert_mem_eq(c.key.data, "PEM-KEY", 7);
	ck_assert_str_eq(c.ca_file, "");
	ck_assert_str_eq(c.token, "");
	fpd_kube_creds_free(&c);
}
END_TEST

START_TEST(merge_first_file_wins)
{
	char paths[8192];
	snprintf(paths, sizeof(paths), "%s:", fpd_fixture("kube/kubeconfig/merge-a.yaml"));
	/* fpd_fixture returns a static buffer: one call per snprintf. */
	snprintf(paths + strlen(paths), sizeof(paths) - strlen(paths),
	         "%s:", fpd_fixture("kube/kubeconfig/does-not-exist.yaml"));
	snprintf(paths + strlen(paths), sizeof(paths) - strlen(paths), "%s",
	         fpd_fixture("kube/kubeconfig/merge-b.yaml"));
	struct fpd_kube_creds c;
	struct fpd_error err;
	ck_assert_msg(fpd_kube_creds_from_kubeconfig(paths, NULL, &c, &err) == FPD_OK, "%s",
	              err.text);
	/* current-context from a; cluster "shared" from a. */
	ck_assert_str_eq(c.server, "https://a.example:1");
	ck_assert_str_eq(c.token, "token-a");
	fpd_kube_creds_free(&c);
	/* b's context, b-only cluster, user "ua" still a's. */
	ck_assert_int_eq(fpd_kube_creds_from_kubeconfig(paths, "from-b", &c, &err), FPD_OK);
	ck_assert_str_eq(c.server, "https://only-b.example:3");
	ck_assert_str_eq(c.token, "token-a");
	fpd_kube_creds_free(&c);
}
END_TEST

/* Loads rel expecting failure with code, a message containing text, and a location. */
static void expect_error(const char *rel, const char *context, int code, const char *text, int line)
{
	struct fpd_kube_creds c;
	struct fpd_error err;
	int rc = load(rel, context, &c, &err);
	char where[1200];
	fpd_error_format(&err, where, sizeof(where));
	ck_assert_msg(rc == code, "%s: expected %s, got %s (%s)", rel, fpd_strerror(code),
	              fpd_strerror(rc), where);
	ck_assert_msg(strstr(err.text, text) != NULL, "%s: expected \"%s\" in \"%s\"", rel, text,
	              err.text);
	ck_assert_msg(strstr(err.file, rel) != NULL, "%s: error names file \"%s\"", rel, err.file);
	if (line)
		ck_assert_msg(err.line == line, "%s: expected line %d, got %s", rel, line, where);
	ck_assert_ptr_null(c.server);
}

START_TEST(clear_errors)
{
	expect_error("kube/kubeconfig/malformed.yaml", NULL, FPD_EINVAL, "", 0);
	expect_error("kube/kubeconfig/wrongtype.yaml", NULL, FPD_EINVAL,
	             "clusters must be a sequence, not a mapping", 4);
	expect_error("kube/kubeconfig/no-current.yaml", NULL, FPD_EINVAL, "no current-context", 0);
	expect_error("kube/kubeconfig/basic.yaml", "staging", FPD_ENOENT,
	             "context \"staging\" not found (contexts: dev, prod)", 0);
	expect_error("kube/kubeconfig/missing-cluster.yaml", NULL, FPD_ENOENT,
	             "cluster \"nope\", which is not defined (clusters: k)", 9);
	expect_error("kube/kubeconfig/exec.yaml", NULL, FPD_EINVAL, "by exec are not supported",
	             12);
	expect_error("kube/kubeconfig/missing-file.yaml", NULL, FPD_ENOENT,
	             "cannot read certificate-authority", 7);
	expect_error("kube/kubeconfig/bad-base64.yaml", NULL, FPD_EINVAL,
	             "certificate-authority-data is not valid base64", 7);
	expect_error("kube/kubeconfig/bad-server.yaml", NULL, FPD_EINVAL,
	             "must start with https:// or http://", 6);
	expect_error("kube/kubeconfig/half-cert.yaml", NULL, FPD_EINVAL,
	             "client certificate but no client key", 0);
	expect_error("kube/kubeconfig/nonexistent.yaml", NULL, FPD_ENOENT, "cannot open", 0);
}
END_TEST

START_TEST(malformed_has_position)
{
	struct fpd_kube_creds c;
	struct fpd_error err;
	ck_assert_int_eq(load("kube/kubeconfig/malformed.yaml", NULL, &c, &err), FPD_EINVAL);
	ck_assert_msg(err.line >= 5 && err.column > 0, "expected a line:col, got %d:%d (%s)",
	              err.line, err.column, err.text);
}
END_TEST

static char *make_sa_dir(const char *token, bool with_ca)
{
	char *dir = fpd_strdup("/tmp/fpd-kube-sa-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char path[512];
	snprintf(path, sizeof(path), "%s/token", dir);
	FILE *f = fopen(path, "w");
	fputs(token, f);
	fclose(f);
	if (with_ca) {
		snprintf(path, sizeof(path), "%s/ca.crt", dir);
		f = fopen(path, "w");
		fputs("pem", f);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/namespace", dir);
	f = fopen(path, "w");
	fputs("flyte-ns\n", f);
	fclose(f);
	return dir;
}

static void rm_sa_dir(char *dir)
{
	const char *names[] = {"token", "ca.crt", "namespace"};
	char path[512];
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
	free(dir);
}

START_TEST(in_cluster)
{
	char *dir = make_sa_dir("sa-token\n", true);
	struct fpd_kube_creds c;
	struct fpd_error err;
	unsetenv("POD_NAMESPACE");
	unsetenv("KUBERNETES_SERVICE_HOST");
	ck_assert_int_eq(fpd_kube_creds_in_cluster(dir, &c, &err), FPD_ENOENT);
	ck_assert_ptr_nonnull(strstr(err.text, "KUBERNETES_SERVICE_HOST"));

	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	ck_assert_msg(fpd_kube_creds_in_cluster(dir, &c, &err) == FPD_OK, "%s", err.text);
	ck_assert_str_eq(c.server, "https://[fd00::1]:443");
	ck_assert_str_eq(c.token, "sa-token");
	ck_assert_str_eq(c.namespace_, "flyte-ns");
	ck_assert_ptr_nonnull(strstr(c.token_file, "/token"));
	ck_assert_ptr_nonnull(strstr(c.ca_file, "/ca.crt"));
	fpd_kube_creds_free(&c);

	/* The daemon configuration can force it. */
	struct fpd_config_kube cfg = {.kubeconfig = "", .context = "", .in_cluster = true};
	setenv("POD_NAMESPACE", "from-env", 1);
	ck_assert_int_eq(fpd_kube_creds_load(&cfg, &c, &err), FPD_ENOENT); /* default SA dir */
	unsetenv("POD_NAMESPACE");
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	rm_sa_dir(dir);

	dir = make_sa_dir("  \n", false);
	setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	ck_assert_int_eq(fpd_kube_creds_in_cluster(dir, &c, &err), FPD_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.text, "is empty"));
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	rm_sa_dir(dir);
}
END_TEST

START_TEST(load_prefers_config_then_env)
{
	struct fpd_kube_creds c;
	struct fpd_error err;
	char path[4096];
	snprintf(path, sizeof(path), "%s", fpd_fixture("kube/kubeconfig/data.yaml"));
	setenv("KUBECONFIG", path, 1);
	struct fpd_config_kube cfg = {.kubeconfig = "", .context = ""};
	ck_assert_int_eq(fpd_kube_creds_load(&cfg, &c, &err), FPD_OK);
	ck_assert_str_eq(c.server, "https://10.0.0.1:443");
	fpd_kube_creds_free(&c);
	char other[4096];
	snprintf(other, sizeof(other), "%s", fpd_fixture("kube/kubeconfig/basic.yaml"));
	cfg.kubeconfig = other;
	cfg.context = "prod";
	ck_assert_int_eq(fpd_kube_creds_load(&cfg, &c, &err), FPD_OK);
	ck_assert_str_eq(c.server, "https://prod.example.com");
	fpd_kube_creds_free(&c);
	unsetenv("KUBECONFIG");
}
END_TEST

/* kubeconfig data as data_field() decodes it (libflyteplugd's codec). */
#define KUBE_BASE64 (FPD_BASE64_NOPAD | FPD_BASE64_SPACE)

START_TEST(base64)
{
	uint8_t *out;
	size_t n;
	ck_assert_int_eq(fpd_base64_decode("aGVs\nbG8=", 9, KUBE_BASE64, &out, &n), FPD_OK);
	ck_assert_uint_eq(n, 5);
	ck_assert_mem_eq(out, "hello", 5);
	free(out);
	/* no padding */
	ck_assert_int_eq(fpd_base64_decode("aGVsbG8", 7, KUBE_BASE64, &out, &n), FPD_OK);
	ck_assert_uint_eq(n, 5);
	free(out);
	ck_assert_int_eq(fpd_base64_decode("aGV$", 4, KUBE_BASE64, &out, &n), FPD_EINVAL);
	ck_assert_int_eq(fpd_base64_decode("aGVsb", 5, KUBE_BASE64, &out, &n), FPD_EINVAL);
	ck_assert_int_eq(fpd_base64_decode("aG==Vs", 6, KUBE_BASE64, &out, &n), FPD_EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kube_creds");
	TCase *tc = tcase_create("all");
	tcase_add_test(tc, current_context_with_token_and_ca_file);
	tcase_add_test(tc, named_context_token_file_insecure);
	tcase_add_test(tc, inline_data);
	tcase_add_test(tc, merge_first_file_wins);
	tcase_add_test(tc, clear_errors);
	tcase_add_test(tc, malformed_has_position);
	tcase_add_test(tc, in_cluster);
	tcase_add_test(tc, load_prefers_config_then_env);
	tcase_add_test(tc, base64);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
