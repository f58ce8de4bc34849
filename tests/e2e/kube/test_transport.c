/* The transport against the real API server: watches and calls each multiplexed on one HTTP/2
 * connection of their own, or calls over kept-alive HTTP/1.1 connections, the client-side rate
 * limit (and watches exempt from it), timeouts, bounded responses, cancellation,
 * tls-server-name and file-based credentials. */
#include "e2e.h"

#include "core/clock.h"
#include <flyteplugd/mem.h>
#include "kube/http.h"

#include <curl/curl.h>

static struct ev_loop *loop;

struct result {
	bool done;
	int code;
	long status;
	long http_version;
	int64_t at_ms;
	size_t data_bytes;
	bool cancel_on_data;
	struct fpd_kube_http *h;
	struct fpd_kube_http_req *req;
	struct fpd_error err;
};

static void on_done(void *ud, const struct fpd_kube_http_result *r)
{
	struct result *res = ud;
	res->done = true;
	res->code = r->code;
	res->status = r->status;
	res->http_version = r->http_version;
	res->at_ms = fpd_clock_mono_ms();
	res->err = r->err;
}

static int on_data(void *ud, const char *data, size_t len)
{
	struct result *res = ud;
	res->data_bytes += len;
	if (res->cancel_on_data)
		fpd_kube_http_cancel(res->h, res->req);
	return 0;
}

static int stop_on_data(void *ud, const char *data, size_t len)
{
	return 1;
}

static struct fpd_kube_http *http_opts(const struct fpd_kube_http_opts *o)
{
	struct fpd_kube_creds creds;
	e2e_admin_creds(&creds);
	struct fpd_kube_http *h;
	struct fpd_error err;
	ck_assert_int_eq(fpd_kube_http_new(loop, &creds, o, &h, &err), FPD_OK);
	fpd_kube_creds_free(&creds);
	return h;
}

/* Calls over HTTP/1.1 as the daemon makes them by default. */
static struct fpd_kube_http *http_with(double qps, int64_t burst)
{
	struct fpd_kube_http_opts o = {.qps = qps, .burst = burst, .calls_http1 = true};
	return http_opts(&o);
}

static void start(struct fpd_kube_http *h, const char *path, struct result *res, bool watch,
                  int64_t timeout_ms)
{
	memset(res, 0, sizeof(*res));
	res->h = h;
	struct fpd_kube_http_spec spec = {
	    .method = "GET",
	    .path = path,
	    .stream = watch,
	    .unlimited = watch,
	    .no_retry = watch,
	    .timeout_ms = timeout_ms,
	    .on_data = on_data,
	    .on_done = on_done,
	    .ud = res,
	};
	struct fpd_error err;
	ck_assert_msg(fpd_kube_http_start(h, &spec, &res->req, &err) == FPD_OK, "%s", err.text);
}

static bool all_done(void *ud)
{
	struct result *r = ud;
	for (; r->h; r++)
		if (!r->done)
			return false;
	return true;
}

struct batch {
	struct result *res;
	size_t n;
};

static bool all_done_n(void *ud)
{
	const struct batch *b = ud;
	for (size_t i = 0; i < b->n; i++)
		if (!b->res[i].done)
			return false;
	return true;
}

/* Two watches and 38 calls at once: each lane multiplexes over one connection. */
START_TEST(multiplexed_on_one_connection_per_lane)
{
	struct fpd_kube_http *h = http_opts(&(struct fpd_kube_http_opts){.burst = 1});
	enum { N = 40 };
	struct result res[N + 3];
	memset(res, 0, sizeof(res));
	start(h, "/api/v1/namespaces/default/pods?watch=1&timeoutSeconds=2", &res[0], true, 10000);
	start(h, "/api/v1/namespaces?watch=1&timeoutSeconds=2", &res[1], true, 10000);
	for (int i = 2; i < N; i++)
		start(h, i % 2 ? "/api/v1/namespaces/default" : "/version", &res[i], false, 0);
	e2e_wait_for(loop, all_done, res, 60, "all requests");
	for (int i = 0; i < N; i++) {
		ck_assert_msg(res[i].code == FPD_OK && res[i].status == 200, "request %d: %s (%ld)",
		              i, res[i].err.text, res[i].status);
		ck_assert_msg(res[i].http_version == CURL_HTTP_VERSION_2_0,
		              "request %d used HTTP version %ld, not 2", i, res[i].http_version);
	}
	struct fpd_kube_http_stats st;
	fpd_kube_http_get_stats(h, &st);
	ck_assert_msg(st.connects == 2,
	              "expected two connections (watches, calls) for %d "
	              "requests, saw %llu",
	              N, (unsigned long long)st.connects);
	ck_assert_uint_eq(st.active, 0);
	fpd_kube_http_free(h);
}
END_TEST

/* calls_http1: calls over HTTP/1.1, never more connections than max_call_connections, kept
 * alive for the next calls; watches still over HTTP/2. */
START_TEST(calls_over_http1)
{
	struct fpd_kube_http_opts o = {.calls_http1 = true, .max_call_connections = 3};
	struct fpd_kube_http *h = http_opts(&o);
	enum { N = 30 };
	struct result res[N];
	start(h, "/api/v1/namespaces/default/pods?watch=1&timeoutSeconds=2", &res[0], true, 10000);
	for (int i = 1; i < N; i++)
		start(h, i % 2 ? "/api/v1/namespaces/default" : "/version", &res[i], false, 0);
	e2e_wait_for(loop, all_done_n, &(struct batch){res, N}, 60, "all requests");
	ck_assert_msg(res[0].code == FPD_OK && res[0].http_version == CURL_HTTP_VERSION_2_0,
	              "watch: %s, HTTP version %ld", res[0].err.text, res[0].http_version);
	for (int i = 1; i < N; i++) {
		ck_assert_msg(res[i].code == FPD_OK && res[i].status == 200, "call %d: %s (%ld)", i,
		              res[i].err.text, res[i].status);
		ck_assert_msg(res[i].http_version == CURL_HTTP_VERSION_1_1,
		              "call %d used HTTP version %ld, not 1.1", i, res[i].http_version);
	}
	struct fpd_kube_http_stats st;
	fpd_kube_http_get_stats(h, &st);
	ck_assert_msg(st.connects >= 2 && st.connects <= 4,
	              "expected 1 watch connection + 1..3 call connections, saw %llu",
	              (unsigned long long)st.connects);
	/* The connections stay open: another batch of calls opens none. */
	uint64_t before = st.connects;
	for (int i = 1; i < N; i++)
		start(h, "/version", &res[i], false, 0);
	e2e_wait_for(loop, all_done_n, &(struct batch){res + 1, N - 1}, 60, "second batch");
	fpd_kube_http_get_stats(h, &st);
	ck_assert_msg(st.connects == before, "a second batch opened %llu more connections",
	              (unsigned long long)(st.connects - before));
	fpd_kube_http_free(h);
}
END_TEST

START_TEST(rate_limited_but_watches_exempt)
{
	/* 5 qps, burst 1: 11 GETs need about 2 s; a watch started after them is not queued. */
	struct fpd_kube_http *h = http_with(5, 1);
	enum { N = 11 };
	struct result res[N + 2];
	memset(res, 0, sizeof(res));
	int64_t t0 = fpd_clock_mono_ms();
	for (int i = 0; i < N; i++)
		start(h, "/version", &res[i], false, 0);
	start(h, "/api/v1/namespaces?watch=1&timeoutSeconds=1", &res[N], true, 10000);
	e2e_wait_for(loop, all_done, res, 60, "rate-limited requests");
	int64_t last = 0;
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(res[i].status, 200);
		last = res[i].at_ms > last ? res[i].at_ms : last;
	}
	ck_assert_msg(last - t0 >= 1800, "11 requests at 5 qps/burst 1 finished in %lld ms",
	              (long long)(last - t0));
	ck_assert_msg(
	    res[N].at_ms < last,
	    "the watch (1 s) should finish before the rate-limited requests (%lld vs %lld)",
	    (long long)(res[N].at_ms - t0), (long long)(last - t0));
	struct fpd_kube_http_stats st;
	fpd_kube_http_get_stats(h, &st);
	ck_assert_uint_gt(st.throttled, 0);
	fpd_kube_http_free(h);
}
END_TEST

START_TEST(timeouts_bounds_and_stopping)
{
	struct fpd_kube_http *h = http_with(0, 1);
	struct result r[2];
	memset(r, 0, sizeof(r));
	/* The server would hold this watch for 60 s; our 700 ms deadline ends it. */
	int64_t t0 = fpd_clock_mono_ms();
	start(h, "/api/v1/namespaces?watch=1&timeoutSeconds=60&resourceVersion=0", &r[0], true,
	      700);
	e2e_wait_for(loop, all_done, r, 30, "timed-out watch");
	ck_assert_msg(r[0].code == FPD_ETIMEDOUT, "expected ETIMEDOUT, got %s: %s",
	              fpd_strerror(r[0].code), r[0].err.text);
	ck_assert_int_lt(fpd_clock_mono_ms() - t0, 5000);
	ck_assert_ptr_nonnull(strstr(r[0].err.text, "within 700 ms"));

	/* A body past the bound is refused, not truncated. */
	struct result big[2];
	memset(big, 0, sizeof(big));
	big[0].h = h;
	struct fpd_kube_http_spec spec = {.method = "GET",
	                                  .path = "/api/v1/namespaces",
	                                  .max_response = 100,
	                                  .on_done = on_done,
	                                  .ud = &big[0]};
	ck_assert_int_eq(fpd_kube_http_start(h, &spec, NULL, NULL), FPD_OK);
	e2e_wait_for(loop, all_done, big, 30, "bounded response");
	ck_assert_int_eq(big[0].code, FPD_ERANGE);
	ck_assert_ptr_nonnull(strstr(big[0].err.text, "larger than 100 bytes"));

	/* on_data can stop a stream. */
	memset(big, 0, sizeof(big));
	big[0].h = h;
	struct fpd_kube_http_spec w = {.method = "GET",
	                               .path = "/api/v1/namespaces?watch=1&timeoutSeconds=30",
	                               .stream = true,
	                               .unlimited = true,
	                               .on_data = stop_on_data,
	                               .on_done = on_done,
	                               .ud = &big[0]};
	ck_assert_int_eq(fpd_kube_http_start(h, &w, NULL, NULL), FPD_OK);
	e2e_wait_for(loop, all_done, big, 30, "stopped stream");
	ck_assert_int_eq(big[0].code, FPD_ERR);
	ck_assert_ptr_nonnull(strstr(big[0].err.text, "stopped by the caller"));
	fpd_kube_http_free(h);
}
END_TEST

START_TEST(cancel_and_close)
{
	struct fpd_kube_http *h = http_with(0, 1);
	struct result a, b, c[2];
	/* Cancelled before it starts, and from inside its own on_data: no callback. */
	start(h, "/version", &a, false, 0);
	fpd_kube_http_cancel(h, a.req);
	start(h, "/api/v1/namespaces?watch=1&timeoutSeconds=30", &b, true, 60000);
	b.cancel_on_data = true;
	memset(c, 0, sizeof(c));
	start(h, "/version", &c[0], false, 0);
	c[0].h = h;
	e2e_wait_for(loop, all_done, c, 30, "request after cancels");
	e2e_run_for(loop, 0.5);
	ck_assert(!a.done);
	ck_assert_msg(b.data_bytes > 0 && !b.done, "a watch cancelled in on_data must stay silent");
	struct fpd_kube_http_stats st;
	fpd_kube_http_get_stats(h, &st);
	ck_assert_uint_eq(st.active, 0);

	/* Closing with a request in flight completes it with "client closed". */
	struct result d;
	start(h, "/api/v1/namespaces?watch=1&timeoutSeconds=30", &d, true, 60000);
	e2e_run_for(loop, 0.2);
	fpd_kube_http_free(h);
	ck_assert(d.done);
	ck_assert_int_eq(d.code, FPD_EIO);
	ck_assert_ptr_nonnull(strstr(d.err.text, "client closed"));
}
END_TEST

START_TEST(tls_server_name_and_files)
{
	/* The paths kubeconfig: CA, certificate and key as files. */
	struct fpd_kube_creds creds;
	struct fpd_error err;
	ck_assert_int_eq(fpd_kube_creds_from_kubeconfig(e2e_env("FPD_TEST_KUBECONFIG_PATHS"), NULL,
	                                                &creds, &err),
	                 FPD_OK);
	ck_assert(creds.ca_file[0] && creds.cert_file[0] && creds.key_file[0]);
	/* The serving certificate has DNS:kubernetes, not the name we connect to. */
	free(creds.tls_server_name);
	creds.tls_server_name = fpd_strdup("kubernetes");
	for (int http1 = 1; http1 >= 0; http1--) {
		struct fpd_kube_http_opts o = {.calls_http1 = http1};
		struct fpd_kube_http *h;
		free(creds.tls_server_name);
		creds.tls_server_name = fpd_strdup("kubernetes");
		ck_assert_int_eq(fpd_kube_http_new(loop, &creds, &o, &h, &err), FPD_OK);
		struct result r[2];
		memset(r, 0, sizeof(r));
		start(h, "/api/v1/namespaces/default", &r[0], false, 0);
		e2e_wait_for(loop, all_done, r, 30, "GET via tls-server-name");
		ck_assert_msg(r[0].status == 200, "%s", r[0].err.text);
		fpd_kube_http_free(h);

		free(creds.tls_server_name);
		creds.tls_server_name = fpd_strdup("not-in-the-cert.example");
		ck_assert_int_eq(fpd_kube_http_new(loop, &creds, &o, &h, &err), FPD_OK);
		start(h, "/version", &r[0], false, 0);
		e2e_wait_for(loop, all_done, r, 30, "GET with a wrong tls-server-name");
		ck_assert_msg(r[0].code == FPD_EIO &&
		                  strstr(r[0].err.text, "not-in-the-cert.example"),
		              "expected a certificate name error, got %s: %s",
		              fpd_strerror(r[0].code), r[0].err.text);
		fpd_kube_http_free(h);
	}
	fpd_kube_creds_free(&creds);
}
END_TEST

/* The calls lane over kept-alive HTTP/1.1 and over HTTP/2: the same answers, errors and
 * limits either way. */
START_TEST(calls_either_protocol)
{
	for (int http1 = 1; http1 >= 0; http1--) {
		struct fpd_kube_http_opts o = {.calls_http1 = http1};
		struct fpd_kube_http *h = http_opts(&o);
		struct result r[2];
		const char *which = http1 ? "h1" : "h2";

		/* A chunked answer: a watch asked for as a plain call, over in 1 s. */
		start(h, "/api/v1/namespaces?watch=1&timeoutSeconds=1", &r[0], false, 10000);
		r[1].h = NULL;
		e2e_wait_for(loop, all_done, r, 30, "chunked call");
		ck_assert_msg(r[0].code == FPD_OK && r[0].status == 200, "%s: %s", which,
		              r[0].err.text);
		ck_assert_int_eq(r[0].http_version,
		                 http1 ? CURL_HTTP_VERSION_1_1 : CURL_HTTP_VERSION_2_0);

		/* Held by the server: the call's own deadline ends it. */
		int64_t t0 = fpd_clock_mono_ms();
		start(h, "/api/v1/namespaces?watch=1&timeoutSeconds=60", &r[0], false, 700);
		e2e_wait_for(loop, all_done, r, 30, "held call");
		ck_assert_msg(r[0].code == FPD_ETIMEDOUT && strstr(r[0].err.text, "within 700 ms"),
		              "%s: expected ETIMEDOUT, got %s: %s", which, fpd_strerror(r[0].code),
		              r[0].err.text);
		ck_assert_int_lt(fpd_clock_mono_ms() - t0, 5000);

		/* Cancelled while the server holds it: no callback, and the next call works. */
		struct result held;
		start(h, "/api/v1/namespaces?watch=1&timeoutSeconds=60", &held, false, 60000);
		e2e_run_for(loop, 0.3);
		fpd_kube_http_cancel(h, held.req);
		start(h, "/api/v1/namespaces/kube-system", &r[0], false, 0);
		e2e_wait_for(loop, all_done, r, 30, "call after a cancel");
		ck_assert_msg(r[0].status == 200, "%s: %s", which, r[0].err.text);
		ck_assert(!held.done);

		/* A 404 with its Status body, a POST with a 201 answer, a DELETE with a body. */
		start(h, "/api/v1/namespaces/no-such-namespace-here", &r[0], false, 0);
		e2e_wait_for(loop, all_done, r, 30, "404");
		ck_assert_msg(r[0].code == FPD_OK && r[0].status == 404, "%s: %s (%ld)", which,
		              r[0].err.text, r[0].status);
		char name[64], body[256], path[128];
		snprintf(name, sizeof(name), "calls-%s-%lld", which,
		         (long long)fpd_clock_wall_ms());
		snprintf(
		    body, sizeof(body),
		    "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\"},"
		    "\"data\":{\"k\":\"v\"}}",
		    name);
		const char *methods[] = {"POST", "DELETE"};
		long want[] = {201, 200};
		for (int m = 0; m < 2; m++) {
			memset(r, 0, sizeof(r));
			r[0].h = h;
			snprintf(path, sizeof(path), "/api/v1/namespaces/default/configmaps%s%s",
			         m ? "/" : "", m ? name : "");
			const char *del = "{\"propagationPolicy\":\"Background\"}";
			struct fpd_kube_http_spec spec = {.method = methods[m],
			                                  .path = path,
			                                  .content_type = "application/json",
			                                  .body = m ? del : body,
			                                  .body_len = strlen(m ? del : body),
			                                  .on_done = on_done,
			                                  .ud = &r[0]};
			struct fpd_error err;
			ck_assert_int_eq(fpd_kube_http_start(h, &spec, NULL, &err), FPD_OK);
			e2e_wait_for(loop, all_done, r, 30, methods[m]);
			ck_assert_msg(r[0].code == FPD_OK && r[0].status == want[m],
			              "%s %s: %s (%ld)", which, methods[m], r[0].err.text,
			              r[0].status);
		}
		struct fpd_kube_http_stats st;
		fpd_kube_http_get_stats(h, &st);
		ck_assert_uint_eq(st.active, 0);
		ck_assert_uint_gt(st.bytes_in, 0);
		fpd_kube_http_free(h);
	}
	/* A path that would break the request line is refused before anything is sent. */
	struct fpd_kube_http *h = http_with(0, 1);
	struct fpd_kube_http_spec bad = {
	    .method = "GET", .path = "/version HTTP/1.1\r\nX: y", .on_done = on_done};
	struct fpd_error err;
	ck_assert_int_eq(fpd_kube_http_start(h, &bad, NULL, &err), FPD_EINVAL);
	fpd_kube_http_free(h);
}
END_TEST

/* One call connection held by the server: a call that waits for it past its deadline fails
 * without ever being sent (the ConfigMap it would have created does not exist). */
START_TEST(waiting_past_the_deadline_is_never_sent)
{
	struct fpd_kube_http_opts o = {.calls_http1 = true, .max_call_connections = 1};
	struct fpd_kube_http *h = http_opts(&o);
	struct result held, r[2];
	memset(r, 0, sizeof(r));
	start(h, "/api/v1/namespaces?watch=1&timeoutSeconds=60", &held, false, 60000);
	e2e_run_for(loop, 0.3);
	char name[64], body[256], path[160];
	snprintf(name, sizeof(name), "never-sent-%lld", (long long)fpd_clock_wall_ms());
	snprintf(body, sizeof(body),
	         "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\"}}",
	         name);
	r[0].h = h;
	struct fpd_kube_http_spec post = {.method = "POST",
	                                  .path = "/api/v1/namespaces/default/configmaps",
	                                  .content_type = "application/json",
	                                  .body = body,
	                                  .body_len = strlen(body),
	                                  .timeout_ms = 500,
	                                  .on_done = on_done,
	                                  .ud = &r[0]};
	struct fpd_error err;
	int64_t t0 = fpd_clock_mono_ms();
	ck_assert_int_eq(fpd_kube_http_start(h, &post, NULL, &err), FPD_OK);
	e2e_wait_for(loop, all_done, r, 30, "queued POST");
	ck_assert_msg(r[0].code == FPD_ETIMEDOUT && strstr(r[0].err.text, "no connection free"),
	              "expected ETIMEDOUT while waiting, got %s: %s", fpd_strerror(r[0].code),
	              r[0].err.text);
	ck_assert_int_lt(fpd_clock_mono_ms() - t0, 3000);
	/* The connection is free again: the ConfigMap was never created. */
	fpd_kube_http_cancel(h, held.req);
	snprintf(path, sizeof(path), "/api/v1/namespaces/default/configmaps/%s", name);
	start(h, path, &r[0], false, 0);
	e2e_wait_for(loop, all_done, r, 30, "GET of the unsent ConfigMap");
	ck_assert_msg(r[0].code == FPD_OK && r[0].status == 404, "%s (%ld)", r[0].err.text,
	              r[0].status);
	fpd_kube_http_free(h);
}
END_TEST

/* The API server restarts while the call connections sit idle: the calls sent on them find them
 * dead, are tried once more on new connections, and every call (also those that waited for a
 * connection) is answered. */
START_TEST(idle_connections_lost_in_a_restart)
{
	struct fpd_kube_http_opts o = {.calls_http1 = true, .max_call_connections = 2};
	struct fpd_kube_http *h = http_opts(&o);
	enum { N = 6 };
	struct result r[N + 1];
	memset(r, 0, sizeof(r));
	for (int i = 0; i < 2; i++)
		start(h, "/api/v1/namespaces?watch=1&timeoutSeconds=1", &r[i], false, 10000);
	e2e_wait_for(loop, all_done_n, &(struct batch){r, 2}, 30, "two connections");
	struct fpd_kube_http_stats st;
	fpd_kube_http_get_stats(h, &st);
	ck_assert_uint_eq(st.connects, 2);
	/* The loop does not run meanwhile: both connections are still idle, and dead. */
	e2e_cluster("kill-apiserver");
	e2e_cluster("start-apiserver");
	for (int i = 0; i < N; i++)
		start(h, "/api/v1/namespaces/default", &r[i], false, 20000);
	e2e_wait_for(loop, all_done_n, &(struct batch){r, N}, 60, "calls after the restart");
	for (int i = 0; i < N; i++)
		ck_assert_msg(r[i].code == FPD_OK && r[i].status == 200, "call %d: %s (%ld)", i,
		              r[i].err.text, r[i].status);
	fpd_kube_http_get_stats(h, &st);
	ck_assert_uint_eq(st.active, 0);
	ck_assert_msg(st.connects >= 4, "%llu connections", (unsigned long long)st.connects);
	fpd_kube_http_free(h);
}
END_TEST

int main(void)
{
	loop = ev_default_loop(0);
	Suite *s = suite_create("e2e_kube_transport");
	TCase *tc = tcase_create("all");
	tcase_add_test(tc, multiplexed_on_one_connection_per_lane);
	tcase_add_test(tc, calls_over_http1);
	tcase_add_test(tc, rate_limited_but_watches_exempt);
	tcase_add_test(tc, timeouts_bounds_and_stopping);
	tcase_add_test(tc, cancel_and_close);
	tcase_add_test(tc, tls_server_name_and_files);
	tcase_add_test(tc, calls_either_protocol);
	tcase_add_test(tc, waiting_past_the_deadline_is_never_sent);
	tcase_add_test(tc, idle_connections_lost_in_a_restart);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
