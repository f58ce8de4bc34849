/* TLS against the real API server, on the one HTTP client (libcurl): the right configuration
 * passes; a wrong server name, a wrong CA, an IP that is not in the certificate, a certificate
 * whose only name is its subject CN, an expired certificate and a refused connection each fail
 * with an error that says why and a WARN line in the log; a replaced CA file is used from the
 * next connection on. The apiserver serves the CN-only and the expired certificates to clients
 * asking for cn-only.test and expired.test (SNI, tests/cluster/cluster.py SNI_CERTS);
 * other-ca.crt signed neither. */
#include "e2e.h"

#include "core/log.h"
#include <flyteplugd/mem.h>
#include "kube/http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static struct ev_loop *loop;
static FILE *log_file;

struct outcome {
	bool done;
	int code;
	long status;
	struct fpd_error err;
};

static void on_done(void *ud, const struct fpd_kube_http_result *r)
{
	struct outcome *o = ud;
	o->done = true;
	o->code = r->code;
	o->status = r->status;
	o->err = r->err;
}

static char *pki(const char *file)
{
	return fpd_asprintf("%s/pki/%s", e2e_env("FPD_TEST_CLUSTER_DIR"), file);
}

/* Credentials with CA, certificate and key as files, verifying name (NULL: the URL's host). */
static void file_creds(struct fpd_kube_creds *c, const char *name)
{
	struct fpd_error err;
	int rc =
	    fpd_kube_creds_from_kubeconfig(e2e_env("FPD_TEST_KUBECONFIG_PATHS"), NULL, c, &err);
	ck_assert_msg(rc == FPD_OK, "kubeconfig: %s", err.text);
	free(c->tls_server_name);
	c->tls_server_name = fpd_strdup(name ? name : "");
}

static void log_start(void)
{
	log_file = tmpfile();
	ck_assert_ptr_nonnull(log_file);
	fpd_log_setup(FPD_LOG_INFO, FPD_LOG_TEXT, log_file);
}

/* What was logged since log_start (new string). */
static char *log_end(void)
{
	fflush(log_file);
	long n = ftell(log_file);
	char *text = fpd_malloc((size_t)n + 1);
	rewind(log_file);
	size_t got = fread(text, 1, (size_t)n, log_file);
	text[got] = '\0';
	fclose(log_file);
	fpd_log_setup(FPD_LOG_INFO, FPD_LOG_TEXT, NULL);
	fputs(text, stderr);
	return text;
}

/* GET path with creds over calls of either protocol; the outcome of the first. */
static void get(const struct fpd_kube_creds *creds, bool http1, const char *path, struct outcome *o)
{
	struct fpd_kube_http_opts opts = {.calls_http1 = http1, .connect_timeout_ms = 5000};
	struct fpd_kube_http *h;
	struct fpd_error err;
	ck_assert_int_eq(fpd_kube_http_new(loop, creds, &opts, &h, &err), FPD_OK);
	memset(o, 0, sizeof(*o));
	struct fpd_kube_http_spec spec = {
	    .method = "GET", .path = path, .timeout_ms = 10000, .on_done = on_done, .ud = o};
	ck_assert_int_eq(fpd_kube_http_start(h, &spec, NULL, &err), FPD_OK);
	e2e_wait(loop, &o->done, 30, path);
	fpd_kube_http_free(h);
}

/* Both protocols fail with FPD_EIO, the error naming want and the log a WARN line with it. */
static void expect_refused(const struct fpd_kube_creds *creds, const char *want,
                           const char *want_log)
{
	for (int http1 = 1; http1 >= 0; http1--) {
		log_start();
		struct outcome o;
		get(creds, http1, "/version", &o);
		char *logged = log_end();
		ck_assert_msg(o.code == FPD_EIO && o.status == 0,
		              "expected a refused connection (%s), got %s, HTTP %ld: %s", want,
		              fpd_strerror(o.code), o.status, o.err.text);
		ck_assert_msg(strstr(o.err.text, want), "error does not say \"%s\": %s", want,
		              o.err.text);
		ck_assert_msg(strstr(logged, "WARN") && strstr(logged, want_log),
		              "no WARN line with \"%s\" in the log:\n%s", want_log, logged);
		free(logged);
	}
}

START_TEST(right_configuration_passes)
{
	struct fpd_kube_creds c;
	for (int files = 0; files < 2; files++) {
		if (files)
			file_creds(&c, "kubernetes");
		else
			e2e_admin_creds(&c);
		for (int http1 = 1; http1 >= 0; http1--) {
			log_start();
			struct outcome o;
			get(&c, http1, "/version", &o);
			char *logged = log_end();
			ck_assert_msg(o.code == FPD_OK && o.status == 200, "%s (HTTP %ld)",
			              o.err.text, o.status);
			ck_assert_msg(!strstr(logged, "WARN"), "unexpected warning: %s", logged);
			free(logged);
		}
		fpd_kube_creds_free(&c);
	}
}
END_TEST

START_TEST(wrong_server_name)
{
	struct fpd_kube_creds c;
	file_creds(&c, "not-in-the-cert.example");
	expect_refused(&c, "not-in-the-cert.example", "TLS with the API server");
	fpd_kube_creds_free(&c);
}
END_TEST

START_TEST(wrong_ca)
{
	struct fpd_kube_creds c;
	file_creds(&c, NULL);
	free(c.ca_file);
	c.ca_file = pki("other-ca.crt");
	expect_refused(&c, "unable to get local issuer certificate", "verify result 20");
	fpd_kube_creds_free(&c);
}
END_TEST

/* The certificate names IP:127.0.0.1 and IP:10.0.0.1; verified as 10.9.9.9 it must fail. */
START_TEST(ip_mismatch)
{
	struct fpd_kube_creds c;
	file_creds(&c, "10.9.9.9");
	expect_refused(&c, "10.9.9.9", "TLS with the API server");
	fpd_kube_creds_free(&c);
}
END_TEST

START_TEST(expired_certificate)
{
	struct fpd_kube_creds c;
	file_creds(&c, "expired.test");
	expect_refused(&c, "certificate has expired", "verify result 10");
	fpd_kube_creds_free(&c);
}
END_TEST

/* libcurl alone accepts the CN-only certificate (it falls back to the CN when there is no
 * subjectAltName): proof that the refusal below is ours. */
static long plain_libcurl_status(const struct fpd_kube_creds *c)
{
	CURL *e = curl_easy_init();
	const char *port = strrchr(c->server, ':') + 1;
	char *url = fpd_asprintf("https://cn-only.test:%s/version", port);
	char *to = fpd_asprintf("cn-only.test:%s:127.0.0.1:%s", port, port);
	struct curl_slist *connect_to = curl_slist_append(NULL, to);
	FILE *sink = fopen("/dev/null", "w");
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CONNECT_TO, connect_to);
	curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
	curl_easy_setopt(e, CURLOPT_SSLCERT, c->cert_file);
	curl_easy_setopt(e, CURLOPT_SSLKEY, c->key_file);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, sink);
	CURLcode cc = curl_easy_perform(e);
	long status = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	ck_assert_msg(cc == CURLE_OK, "plain libcurl: %s", curl_easy_strerror(cc));
	fclose(sink);
	curl_slist_free_all(connect_to);
	free(to);
	free(url);
	curl_easy_cleanup(e);
	return status;
}

START_TEST(cn_only_certificate_refused)
{
	struct fpd_kube_creds c;
	file_creds(&c, "cn-only.test");
	ck_assert_int_eq(plain_libcurl_status(&c), 200);
	expect_refused(&c, "no DNS or IP subjectAltName", "verify result 50");

	/* A create through the client fails the same way, and leaves its line in the log. */
	struct fpd_kube_client *kc;
	struct fpd_error err;
	struct fpd_kube_client_opts opts = {.qps = 100, .burst = 100, .request_timeout_ms = 10000};
	ck_assert_int_eq(fpd_kube_client_new(loop, &c, &opts, &kc, &err), FPD_OK);
	log_start();
	struct e2e_call call = {0};
	json_t *cm = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
	                       "metadata", "name", "tls-refused");
	struct fpd_kube_ref ref = {&e2e_configmaps, "default", NULL, NULL};
	E2E_CALL(loop, &call, fpd_kube_create(kc, &ref, cm, NULL, e2e_done, &call, &e2e_err));
	char *logged = log_end();
	ck_assert_msg(call.code == FPD_EIO && strstr(call.err.text, "subjectAltName"),
	              "create: expected FPD_EIO naming subjectAltName, got %s: %s",
	              fpd_strerror(call.code), call.err.text);
	ck_assert_msg(strstr(logged, "WARN") && strstr(logged, "POST") &&
	                  strstr(logged, "subjectAltName"),
	              "no WARN line for the create:\n%s", logged);
	free(logged);
	e2e_call_reset(&call);
	json_decref(cm);
	fpd_kube_client_free(kc);
	fpd_kube_creds_free(&c);
}
END_TEST

START_TEST(connection_refused)
{
	struct fpd_kube_creds c;
	e2e_admin_creds(&c);
	free(c.server);
	c.server = fpd_strdup("https://127.0.0.1:1"); /* nothing listens on port 1 */
	expect_refused(&c, "cannot connect to the API server https://127.0.0.1:1",
	               "cannot connect to the API server https://127.0.0.1:1");
	fpd_kube_creds_free(&c);
}
END_TEST

static void copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	ck_assert_msg(in && out, "copying %s to %s", from, to);
	char buf[8192];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
	fclose(in);
	fclose(out);
}

/* The CA file is read again for a new connection: a client that started with the wrong CA
 * trusts the server once the file holds the right one, without a restart. */
START_TEST(rotated_ca_file_is_used)
{
	struct fpd_kube_creds c;
	file_creds(&c, NULL);
	char *other = pki("other-ca.crt"), *right = pki("ca.crt");
	char path[] = "/tmp/fpd-e2e-ca-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	copy_file(other, path);
	free(c.ca_file);
	c.ca_file = fpd_strdup(path);
	struct fpd_kube_http_opts opts = {.calls_http1 = true};
	struct fpd_kube_http *h;
	struct fpd_error err;
	ck_assert_int_eq(fpd_kube_http_new(loop, &c, &opts, &h, &err), FPD_OK);
	for (int round = 0; round < 2; round++) {
		struct outcome o = {0};
		struct fpd_kube_http_spec spec = {
		    .method = "GET", .path = "/version", .on_done = on_done, .ud = &o};
		ck_assert_int_eq(fpd_kube_http_start(h, &spec, NULL, &err), FPD_OK);
		e2e_wait(loop, &o.done, 30, "GET /version");
		if (round == 0) {
			ck_assert_msg(o.code == FPD_EIO && strstr(o.err.text, "verify result 20"),
			              "with the wrong CA: %s", o.err.text);
			copy_file(right, path);
		} else {
			ck_assert_msg(o.code == FPD_OK && o.status == 200,
			              "after the CA file was replaced: %s", o.err.text);
		}
	}
	fpd_kube_http_free(h);
	unlink(path);
	free(other);
	free(right);
	fpd_kube_creds_free(&c);
}
END_TEST

START_TEST(insecure_skip_tls_verify_warns)
{
	struct fpd_kube_creds c;
	file_creds(&c, "not-in-the-cert.example");
	c.insecure = true;
	log_start();
	struct outcome o;
	get(&c, true, "/version", &o);
	char *logged = log_end();
	ck_assert_msg(o.code == FPD_OK && o.status == 200, "%s", o.err.text);
	ck_assert_msg(strstr(logged, "WARN") && strstr(logged, "insecure-skip-tls-verify"),
	              "no WARN about insecure-skip-tls-verify:\n%s", logged);
	free(logged);
	fpd_kube_creds_free(&c);
}
END_TEST

int main(void)
{
	loop = ev_default_loop(0);
	Suite *s = suite_create("e2e_kube_tls");
	TCase *tc = tcase_create("all");
	tcase_add_test(tc, right_configuration_passes);
	tcase_add_test(tc, wrong_server_name);
	tcase_add_test(tc, wrong_ca);
	tcase_add_test(tc, ip_mismatch);
	tcase_add_test(tc, expired_certificate);
	tcase_add_test(tc, cn_only_certificate_refused);
	tcase_add_test(tc, connection_refused);
	tcase_add_test(tc, rotated_ca_file_is_used);
	tcase_add_test(tc, insecure_skip_tls_verify_warns);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
