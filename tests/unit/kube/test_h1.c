/* The HTTP/1.1 response parser of the calls lane (kube/h1.h): framing by Content-Length, chunked
 * coding and connection close, interim responses, keep-alive rules, Retry-After, every split of
 * the bytes across reads, and the malformed answers it must refuse. Exchanges themselves run
 * against a real API server in tests/e2e/kube/test_transport.c. */
#include "kube/h1.h"
#include "fpd_test.h"

#include <string.h>

struct parsed {
	enum fpd_h1_parse r;
	size_t used;
	int status;
	bool keep_alive;
	int64_t retry_after_ms;
	char body[4096];
	size_t body_len;
	char why[128];
};

/* Feeds text in pieces of `step` bytes (0: all at once); eof afterwards when asked. */
static struct parsed parse_in_steps(const char *text, size_t len, size_t step, bool eof,
                                    size_t max_body)
{
	struct parsed out;
	memset(&out, 0, sizeof(out));
	struct fpd_buf body;
	fpd_buf_init(&body, max_body);
	struct fpd_h1_parser p;
	fpd_h1_parser_init(&p, &body);
	size_t at = 0;
	out.r = FPD_H1_MORE;
	while (at < len && out.r == FPD_H1_MORE) {
		size_t n = step && len - at > step ? step : len - at;
		size_t used = 0;
		out.r = fpd_h1_parser_feed(&p, text + at, n, &used);
		if (out.r == FPD_H1_DONE)
			out.used = at + used;
		at += n;
	}
	if (out.r == FPD_H1_MORE && eof)
		out.r = fpd_h1_parser_eof(&p);
	out.status = p.status;
	out.keep_alive = p.keep_alive;
	out.retry_after_ms = p.retry_after_ms;
	out.body_len = body.len;
	if (body.len)
		memcpy(out.body, body.data,
		       body.len < sizeof(out.body) ? body.len : sizeof(out.body));
	snprintf(out.why, sizeof(out.why), "%s", p.why);
	fpd_h1_parser_free(&p);
	fpd_buf_free(&body);
	return out;
}

static struct parsed parse(const char *text, bool eof)
{
	return parse_in_steps(text, strlen(text), 0, eof, 1 << 20);
}

/* The same answer split at every possible point gives the same result. */
static void check_every_split(const char *text, int status, const char *body, bool keep_alive)
{
	size_t len = strlen(text);
	for (size_t step = 1; step <= len; step++) {
		struct parsed r = parse_in_steps(text, len, step, false, 1 << 20);
		ck_assert_msg(r.r == FPD_H1_DONE, "step %zu: result %d (%s)", step, r.r, r.why);
		ck_assert_int_eq(r.status, status);
		ck_assert_uint_eq(r.body_len, strlen(body));
		ck_assert_msg(memcmp(r.body, body, r.body_len) == 0, "step %zu: body %.*s", step,
		              (int)r.body_len, r.body);
		ck_assert_int_eq(r.keep_alive, keep_alive);
		ck_assert_uint_eq(r.used, len);
	}
}

START_TEST(content_length)
{
	check_every_split("HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
	                  "Content-Length: 14\r\n\r\n{\"kind\":\"Pod\"}",
	                  201, "{\"kind\":\"Pod\"}", true);
	/* Bytes after the answer are not taken. */
	const char *two = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n";
	struct parsed r = parse(two, false);
	ck_assert_int_eq(r.r, FPD_H1_DONE);
	ck_assert_uint_eq(r.used, strlen("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
}
END_TEST

START_TEST(chunked)
{
	check_every_split("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	                  "5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\n"
	                  "X-Trailer: t\r\n\r\n",
	                  200, "hello 0123456789", true);
	/* Upper-case hex, bare LF line ends. */
	check_every_split(
	    "HTTP/1.1 200 OK\nTransfer-Encoding: Chunked\n\n1A\nabcdefghijklmnopqrstuvwxyz\n0\n\n",
	    200, "abcdefghijklmnopqrstuvwxyz", true);
}
END_TEST

START_TEST(no_body_and_close_delimited)
{
	check_every_split("HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n", 204, "", true);
	check_every_split("HTTP/1.1 304 Not Modified\r\n\r\n", 304, "", true);
	check_every_split("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 200, "", true);
	/* Neither length nor chunked: the body ends with the connection. */
	struct parsed r = parse("HTTP/1.1 200 OK\r\n\r\nall of it", true);
	ck_assert_int_eq(r.r, FPD_H1_DONE);
	ck_assert_str_eq(r.body, "all of it");
	ck_assert(!r.keep_alive);
	/* A connection that closes early is an error, not an answer. */
	r = parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", true);
	ck_assert_int_eq(r.r, FPD_H1_BAD);
	ck_assert_str_eq(r.why, "connection closed mid-answer");
	r = parse("", true);
	ck_assert_int_eq(r.r, FPD_H1_BAD);
	ck_assert_str_eq(r.why, "connection closed before an answer");
}
END_TEST

START_TEST(keep_alive_rules)
{
	check_every_split("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", 200,
	                  "x", false);
	check_every_split("HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\n"
	                  "Content-Length: 1\r\n\r\nx",
	                  200, "x", false);
	check_every_split("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", 200, "x", false);
	check_every_split("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
	                  200, "x", true);
}
END_TEST

START_TEST(interim_and_retry_after)
{
	check_every_split("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Too Many Requests\r\n"
	                  "Retry-After: 3\r\nContent-Length: 2\r\n\r\n{}",
	                  429, "{}", true);
	struct parsed r = parse("HTTP/1.1 503 Service Unavailable\r\nretry-after:  7 \r\n"
	                        "Content-Length: 0\r\n\r\n",
	                        false);
	ck_assert_int_eq(r.r, FPD_H1_DONE);
	ck_assert_int_eq(r.retry_after_ms, 7000);
	r = parse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false);
	ck_assert_int_eq(r.retry_after_ms, -1);
	/* An interim response's headers are not the final one's. */
	r = parse("HTTP/1.1 103 Early Hints\r\nRetry-After: 5\r\n\r\n"
	          "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
	          false);
	ck_assert_int_eq(r.r, FPD_H1_DONE);
	ck_assert_int_eq(r.status, 503);
	ck_assert_int_eq(r.retry_after_ms, -1);
}
END_TEST

static void check_bad(const char *text, const char *why)
{
	struct parsed r = parse(text, false);
	ck_assert_msg(r.r == FPD_H1_BAD, "%s: result %d", text, r.r);
	ck_assert_str_eq(r.why, why);
}

START_TEST(malformed)
{
	check_bad("HTTP/2 200\r\n\r\n", "not an HTTP/1.x status line");
	check_bad("SSH-2.0-OpenSSH\r\n", "not an HTTP/1.x status line");
	check_bad("HTTP/1.1 2x0 OK\r\n\r\n", "bad status code");
	check_bad("HTTP/1.1 2000 OK\r\n\r\n", "bad status code");
	check_bad("HTTP/1.1 099 Low\r\n\r\n", "bad status code");
	check_bad("HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "bad header line");
	check_bad("HTTP/1.1 200 OK\r\n: empty name\r\n\r\n", "bad header line");
	check_bad("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "bad header name");
	check_bad("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "bad Content-Length");
	check_bad("HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n", "bad Content-Length");
	check_bad("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
	          "bad Content-Length");
	check_bad("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
	          "conflicting Content-Length headers");
	check_bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	          "unsupported Transfer-Encoding");
	check_bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size");
	check_bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
	          "chunk size too large");
	check_bad("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
	          "chunk data longer than its size");
	check_bad("HTTP/1.1 101 Switching Protocols\r\n\r\n", "unexpected 101 Switching Protocols");
	/* Bounds: a line, and the number of header lines. */
	static char huge[20000];
	memcpy(huge, "HTTP/1.1 200 OK\r\nX: ", 20);
	memset(huge + 20, 'a', sizeof(huge) - 21);
	check_bad(huge, "line too long");
	static char many[300 * 6 + 64];
	strcpy(many, "HTTP/1.1 200 OK\r\n");
	for (int i = 0; i < 300; i++)
		strcat(many, "A: b\r\n");
	check_bad(many, "too many header lines");
}
END_TEST

START_TEST(body_bound)
{
	const char *text = "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n01234567890123456789";
	struct parsed r = parse_in_steps(text, strlen(text), 0, false, 19);
	ck_assert_int_eq(r.r, FPD_H1_TOO_BIG);
	r = parse_in_steps(text, strlen(text), 0, false, 20);
	ck_assert_int_eq(r.r, FPD_H1_DONE);
	const char *text2 = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	                    "a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n";
	r = parse_in_steps(text2, strlen(text2), 3, false, 15);
	ck_assert_int_eq(r.r, FPD_H1_TOO_BIG);
}
END_TEST

START_TEST(ip_literals)
{
	char out[64];
	ck_assert(fpd_h1_ip_literal("127.0.0.1", out, sizeof(out)));
	ck_assert_str_eq(out, "127.0.0.1");
	ck_assert(fpd_h1_ip_literal("[::1]", out, sizeof(out)));
	ck_assert_str_eq(out, "::1");
	ck_assert(fpd_h1_ip_literal("fd00::10", out, sizeof(out)));
	ck_assert(!fpd_h1_ip_literal("kubernetes.default.svc", out, sizeof(out)));
	ck_assert(!fpd_h1_ip_literal("localhost", out, sizeof(out)));
	ck_assert(!fpd_h1_ip_literal("[fe80::1%eth0]", out, sizeof(out)));
	ck_assert(!fpd_h1_ip_literal("", out, sizeof(out)));
	ck_assert(!fpd_h1_ip_literal("10.0.0.1", out, 4));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kube_h1");
	TCase *tc = tcase_create("all");
	tcase_add_test(tc, content_length);
	tcase_add_test(tc, chunked);
	tcase_add_test(tc, no_body_and_close_delimited);
	tcase_add_test(tc, keep_alive_rules);
	tcase_add_test(tc, interim_and_retry_after);
	tcase_add_test(tc, malformed);
	tcase_add_test(tc, body_bound);
	tcase_add_test(tc, ip_literals);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
