/* Unit tests for daemon/grpc/health.c: the hand-written codec and the service's answers. */
#include "grpc/health.h"
#include "fpd_test.h"
#include "harness.h"

START_TEST(decode_request)
{
	char svc[FPD_HEALTH_SERVICE_MAX];
	const uint8_t empty[1] = {0};
	ck_assert_int_eq(fpd_health_decode_request(empty, 0, svc, sizeof(svc)), FPD_OK);
	ck_assert_str_eq(svc, "");
	const uint8_t named[] = {0x0a, 3, 'a', '.', 'B'};
	ck_assert_int_eq(fpd_health_decode_request(named, sizeof(named), svc, sizeof(svc)), 0);
	ck_assert_str_eq(svc, "a.B");
	/* Unknown fields of every wire type are skipped; the last service value wins. */
	const uint8_t mixed[] = {0x10, 0x96, 0x01,                         /* 2: varint 150 */
	                         0x19, 1,    2,    3,    4, 5,   6,  7, 8, /* 3: fixed64 */
	                         0x25, 1,    2,    3,    4,                /* 4: fixed32 */
	                         0x2a, 2,    'z',  'z',                    /* 5: bytes */
	                         0x0a, 1,    'x',  0x0a, 2, 'o', 'k'};     /* 1 twice */
	ck_assert_int_eq(fpd_health_decode_request(mixed, sizeof(mixed), svc, sizeof(svc)), 0);
	ck_assert_str_eq(svc, "ok");
}
END_TEST

START_TEST(decode_malformed)
{
	char svc[16];
	const uint8_t truncated[] = {0x0a, 5, 'a'};
	const uint8_t wrong_type[] = {0x08, 1}; /* field 1 as a varint */
	const uint8_t group[] = {0x0b};
	const uint8_t field0[] = {0x02, 0};
	const uint8_t long_varint[] = {0x10, 0xff, 0xff, 0xff, 0xff, 0xff,
	                               0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
	const uint8_t nul[] = {0x0a, 2, 'a', 0};
	const uint8_t *bad[] = {truncated, wrong_type, group, field0, long_varint, nul};
	size_t lens[] = {sizeof(truncated), sizeof(wrong_type),  sizeof(group),
	                 sizeof(field0),    sizeof(long_varint), sizeof(nul)};
	for (size_t i = 0; i < 6; i++)
		ck_assert_msg(fpd_health_decode_request(bad[i], lens[i], svc, sizeof(svc)) ==
		                  FPD_EINVAL,
		              "input %zu accepted", i);
	uint8_t toolong[2 + 16] = {0x0a, 16};
	memset(toolong + 2, 'a', 16);
	ck_assert_int_eq(fpd_health_decode_request(toolong, sizeof(toolong), svc, sizeof(svc)),
	                 FPD_ERANGE);
}
END_TEST

START_TEST(encode_response)
{
	uint8_t out[FPD_HEALTH_RESPONSE_MAX];
	ck_assert_uint_eq(fpd_health_encode_response(FPD_HEALTH_UNKNOWN, out), 0);
	ck_assert_uint_eq(fpd_health_encode_response(FPD_HEALTH_SERVING, out), 2);
	ck_assert_uint_eq(out[0], 0x08);
	ck_assert_uint_eq(out[1], 1);
	ck_assert_uint_eq(fpd_health_encode_response(FPD_HEALTH_SERVICE_UNKNOWN, out), 2);
	ck_assert_uint_eq(out[1], 3);
}
END_TEST

static struct h2h h;
static struct fpd_health *health;

static void noop(struct fpd_grpc_call *call, const uint8_t *req, size_t len, void *ud)
{
	fpd_grpc_call_reply(call, NULL, 0);
}

static void setup(void)
{
	struct fpd_error err;
	h2h_init(&h, 4096);
	health = fpd_health_new(h.srv, &err);
	ck_assert_ptr_nonnull(health);
	ck_assert_int_eq(
	    fpd_grpc_server_add_method(h.srv, "/pkg.Thing/Do", FPD_GRPC_UNARY, noop, NULL, &err),
	    0);
	h2h_connect(&h);
}

static void teardown(void)
{
	h2h_free(&h);
	fpd_health_free(health);
}

static struct h2h_stream *health_call(const char *method, const char *service)
{
	uint8_t req[64] = {0x0a, (uint8_t)strlen(service)};
	memcpy(req + 2, service, strlen(service));
	size_t len;
	const uint8_t *body = h2h_frame(req, service[0] ? 2 + strlen(service) : 0, &len);
	char path[64];
	snprintf(path, sizeof(path), "/grpc.health.v1.Health/%s", method);
	return h2h_request(&h, path, NULL, NULL, NULL, body, len, 0, false);
}

static int status_in(const struct h2h_stream *s, size_t n)
{
	size_t len;
	const uint8_t *m = h2h_message(s, n, &len);
	if (!m)
		return -1;
	return len == 0 ? 0 : m[1];
}

START_TEST(check_known_and_unknown)
{
	const char *known[] = {"", "pkg.Thing", "grpc.health.v1.Health"};
	for (size_t i = 0; i < 3; i++) {
		struct h2h_stream *s = health_call("Check", known[i]);
		ck_assert_msg(s->grpc_status == 0, "%s: status %d", known[i], s->grpc_status);
		ck_assert_int_eq(status_in(s, 0), FPD_HEALTH_SERVING);
	}
	struct h2h_stream *s = health_call("Check", "pkg.Other");
	ck_assert_int_eq(s->grpc_status, FPD_GRPC_NOT_FOUND);
	ck_assert_str_eq(s->grpc_message, "unknown service pkg.Other");
	uint8_t junk[] = {0x0a, 9, 'x'};
	size_t len;
	const uint8_t *body = h2h_frame(junk, sizeof(junk), &len);
	s = h2h_request(&h, "/grpc.health.v1.Health/Check", NULL, NULL, NULL, body, len, 0, false);
	ck_assert_int_eq(s->grpc_status, FPD_GRPC_INVALID_ARGUMENT);
}
END_TEST

START_TEST(watch_then_drain)
{
	struct h2h_stream *w = health_call("Watch", "pkg.Thing");
	struct h2h_stream *u = health_call("Watch", "pkg.Nope");
	ck_assert_int_eq(status_in(w, 0), FPD_HEALTH_SERVING);
	ck_assert_int_eq(status_in(u, 0), FPD_HEALTH_SERVICE_UNKNOWN);
	ck_assert_int_eq(w->grpc_status, -1); /* still open */
	ck_assert_int_eq(u->grpc_status, -1);
	fpd_health_drain(health);
	h2h_pump(&h);
	ck_assert_int_eq(status_in(w, 1), FPD_HEALTH_NOT_SERVING);
	ck_assert_int_eq(w->grpc_status, FPD_GRPC_UNAVAILABLE);
	ck_assert_int_eq(status_in(u, 1), -1); /* unknown stays unknown */
	ck_assert_int_eq(u->grpc_status, FPD_GRPC_UNAVAILABLE);
	struct h2h_stream *s = health_call("Check", "");
	ck_assert_int_eq(status_in(s, 0), FPD_HEALTH_NOT_SERVING);
}
END_TEST

START_TEST(watch_cancelled_by_client)
{
	struct h2h_stream *w = health_call("Watch", "");
	ck_assert_int_eq(status_in(w, 0), FPD_HEALTH_SERVING);
	h2h_reset(&h, w);
	struct fpd_grpc_stats st;
	fpd_grpc_server_stats(h.srv, &st);
	ck_assert_uint_eq(st.calls_active, 0);
	fpd_health_drain(health); /* must not touch the cancelled watcher */
	h2h_pump(&h);
}
END_TEST

START_TEST(watch_deadline)
{
	uint8_t req[2] = {0};
	size_t len;
	const uint8_t *body = h2h_frame(req, 0, &len);
	struct h2h_stream *w =
	    h2h_request(&h, "/grpc.health.v1.Health/Watch", NULL, "30m", NULL, body, len, 0, false);
	ck_assert_int_eq(status_in(w, 0), FPD_HEALTH_SERVING);
	h2h_run_timers(&h, 0.12);
	ck_assert_int_eq(w->grpc_status, FPD_GRPC_DEADLINE_EXCEEDED);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("agent_health");
	TCase *codec = tcase_create("codec");
	tcase_add_test(codec, decode_request);
	tcase_add_test(codec, decode_malformed);
	tcase_add_test(codec, encode_response);
	suite_add_tcase(s, codec);
	TCase *svc = tcase_create("service");
	tcase_add_checked_fixture(svc, setup, teardown);
	tcase_add_test(svc, check_known_and_unknown);
	tcase_add_test(svc, watch_then_drain);
	tcase_add_test(svc, watch_cancelled_by_client);
	tcase_add_test(svc, watch_deadline);
	suite_add_tcase(s, svc);
	return fpd_run_suite(s);
}
