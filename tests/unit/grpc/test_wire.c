/* Unit tests for daemon/grpc/wire.c: framing and reassembly, grpc-timeout, percent-encoding,
 * content types and status names. */
#include "fpd_test.h"
#include "grpc/wire.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

static size_t make_message(uint8_t *out, const char *body, size_t len, uint8_t flag)
{
	out[0] = flag;
	out[1] = (uint8_t)(len >> 24);
	out[2] = (uint8_t)(len >> 16);
	out[3] = (uint8_t)(len >> 8);
	out[4] = (uint8_t)len;
	memcpy(out + 5, body, len);
	return len + 5;
}

START_TEST(framer_whole_message)
{
	uint8_t wire[64];
	size_t n = make_message(wire, "hello", 5, 0), used;
	struct fpd_grpc_framer f;
	fpd_grpc_framer_init(&f, 1024);
	ck_assert_int_eq(fpd_grpc_framer_feed(&f, wire, n, &used), FPD_OK);
	ck_assert_uint_eq(used, n);
	ck_assert_uint_eq(f.msg.len, 5);
	ck_assert_mem_eq(f.msg.data, "hello", 5);
	ck_assert(!f.compressed);
	fpd_grpc_framer_free(&f);
}
END_TEST

/* A message declared large gets a buffer that grows with what arrives, at most one 256 KiB
 * step ahead, never the declared length up front; footprint_after predicts every step. */
START_TEST(framer_grows_in_steps)
{
	struct fpd_grpc_framer f;
	fpd_grpc_framer_init(&f, 16 * 1024 * 1024);
	uint8_t prefix[FPD_GRPC_PREFIX_LEN] = {0, 0x01, 0, 0, 0}; /* declares 16 MiB */
	static uint8_t chunk[16000];
	size_t used;
	ck_assert_uint_eq(fpd_grpc_framer_footprint_after(&f, prefix, sizeof(prefix)), 0);
	ck_assert_int_eq(fpd_grpc_framer_feed(&f, prefix, sizeof(prefix), &used), FPD_AGAIN);
	ck_assert_uint_eq(f.msg.cap, 0);
	while (f.msg.len < 1024 * 1024) {
		size_t want = fpd_grpc_framer_footprint_after(&f, chunk, sizeof(chunk));
		ck_assert_int_eq(fpd_grpc_framer_feed(&f, chunk, sizeof(chunk), &used), FPD_AGAIN);
		ck_assert_uint_eq(fpd_grpc_framer_footprint(&f), want);
		ck_assert_msg(f.msg.cap <= 2 * f.msg.len + 4096 &&
		                  f.msg.cap <= f.msg.len + 256 * 1024 + 4096,
		              "%zu bytes received, buffer of %zu", f.msg.len, f.msg.cap);
		ck_assert_uint_ge(fpd_grpc_framer_footprint(&f), f.msg.cap);
	}
	ck_assert_uint_lt(f.msg.cap, 2 * 1024 * 1024);
	fpd_grpc_framer_free(&f);

	/* A complete message ends in a buffer of its length plus the terminator: whole pages
	 * when large (the framer maps those itself), malloc's block when small. */
	fpd_grpc_framer_init(&f, 1024 * 1024);
	static uint8_t wire[FPD_GRPC_PREFIX_LEN + 300000];
	fpd_grpc_prefix_write(wire, 300000);
	ck_assert_uint_eq(fpd_grpc_framer_footprint_after(&f, wire, sizeof(wire)), 303104);
	ck_assert_int_eq(fpd_grpc_framer_feed(&f, wire, sizeof(wire), &used), FPD_OK);
	ck_assert_uint_eq(f.msg.cap, 303104);
	ck_assert_uint_eq(fpd_grpc_framer_footprint(&f), 303104);
	fpd_grpc_framer_next(&f);
	fpd_grpc_prefix_write(wire, 1000);
	ck_assert_int_eq(fpd_grpc_framer_feed(&f, wire, FPD_GRPC_PREFIX_LEN + 1000, &used), FPD_OK);
	ck_assert_uint_eq(f.msg.cap, 303104); /* the next message reuses the buffer */
	fpd_grpc_framer_free(&f);
	fpd_grpc_framer_init(&f, 1024 * 1024);
	ck_assert_int_eq(fpd_grpc_framer_feed(&f, wire, FPD_GRPC_PREFIX_LEN + 1000, &used), FPD_OK);
	ck_assert_uint_eq(f.msg.cap, 1001);
	ck_assert_uint_eq(fpd_grpc_framer_footprint(&f), fpd_grpc_alloc_footprint(1001));
	/* glibc's mapped blocks are whole pages; small ones a header and 16-byte alignment. */
	ck_assert_uint_eq(fpd_grpc_alloc_footprint(300001), 303104);
	ck_assert_uint_eq(fpd_grpc_alloc_footprint(100), 112);
	ck_assert_uint_eq(fpd_grpc_alloc_footprint(0), 0);
	fpd_grpc_framer_free(&f);
}
END_TEST

/* Every split point of two messages fed as two chunks, and one byte at a time. */
START_TEST(framer_any_split)
{
	uint8_t wire[128];
	size_t n = make_message(wire, "first message", 13, 0);
	n += make_message(wire + n, "2nd", 3, 0);
	for (size_t split = 0; split <= n; split++) {
		struct fpd_grpc_framer f;
		fpd_grpc_framer_init(&f, 1024);
		const char *want[] = {"first message", "2nd"};
		size_t got = 0;
		size_t chunks[2][2] = {{0, split}, {split, n - split}};
		for (int c = 0; c < 2; c++) {
			const uint8_t *p = wire + chunks[c][0];
			size_t left = chunks[c][1];
			while (left) {
				size_t used;
				int rc = fpd_grpc_framer_feed(&f, p, left, &used);
				p += used;
				left -= used;
				if (rc == FPD_OK) {
					ck_assert_uint_lt(got, 2);
					ck_assert_uint_eq(f.msg.len, strlen(want[got]));
					ck_assert_mem_eq(f.msg.data, want[got], f.msg.len);
					got++;
					fpd_grpc_framer_next(&f);
				} else {
					ck_assert_int_eq(rc, FPD_AGAIN);
					ck_assert_uint_eq(left, 0);
				}
			}
		}
		ck_assert_msg(got == 2, "split at %zu: expected 2 messages, got %zu", split, got);
		ck_assert(fpd_grpc_framer_idle(&f));
		fpd_grpc_framer_free(&f);
	}
	struct fpd_grpc_framer f;
	fpd_grpc_framer_init(&f, 1024);
	size_t got = 0;
	for (size_t i = 0; i < n; i++) {
		size_t used;
		int rc = fpd_grpc_framer_feed(&f, wire + i, 1, &used);
		ck_assert_uint_eq(used, 1);
		if (rc == FPD_OK) {
			got++;
			fpd_grpc_framer_next(&f);
		}
	}
	ck_assert_uint_eq(got, 2);
	fpd_grpc_framer_free(&f);
}
END_TEST

START_TEST(framer_empty_and_compressed)
{
	uint8_t wire[16];
	size_t n = make_message(wire, "", 0, 0), used;
	struct fpd_grpc_framer f;
	fpd_grpc_framer_init(&f, 16);
	ck_assert_int_eq(fpd_grpc_framer_feed(&f, wire, n, &used), FPD_OK);
	ck_assert_uint_eq(f.msg.len, 0);
	fpd_grpc_framer_next(&f);
	n = make_message(wire, "zz", 2, 1);
	ck_assert_int_eq(fpd_grpc_framer_feed(&f, wire, n, &used), FPD_OK);
	ck_assert(f.compressed);
	fpd_grpc_framer_free(&f);
}
END_TEST

START_TEST(framer_too_large_is_refused_before_buffering)
{
	uint8_t prefix[5] = {0, 0, 0, 0x10, 0x01}; /* 4097 bytes declared */
	struct fpd_grpc_framer f;
	size_t used;
	fpd_grpc_framer_init(&f, 4096);
	ck_assert_int_eq(fpd_grpc_framer_feed(&f, prefix, 3, &used), FPD_AGAIN);
	ck_assert_int_eq(fpd_grpc_framer_feed(&f, prefix + 3, 2, &used), FPD_ERANGE);
	ck_assert_uint_eq(f.msg_len, 4097);
	ck_assert_ptr_null(f.msg.data); /* nothing allocated for it */
	ck_assert_int_eq(fpd_grpc_framer_feed(&f, (const uint8_t *)"x", 1, &used), FPD_ERANGE);
	fpd_grpc_framer_free(&f);

	uint8_t exact[5] = {0, 0, 0, 0x10, 0x00};
	fpd_grpc_framer_init(&f, 4096);
	ck_assert_int_eq(fpd_grpc_framer_feed(&f, exact, 5, &used), FPD_AGAIN);
	fpd_grpc_framer_free(&f);
}
END_TEST

/* Leaves the process 16 KiB of address space beyond what it maps now: the next mapping of a
 * body buffer fails as it would at vm.max_map_count or a memory limit. */
static void limit_address_space(void)
{
	char text[64] = "";
	int fd = open("/proc/self/statm", O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_gt(read(fd, text, sizeof(text) - 1), 0);
	close(fd);
	unsigned long pages = strtoul(text, NULL, 10);
	struct rlimit rl;
	getrlimit(RLIMIT_AS, &rl);
	rl.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + 16 * 1024;
	ck_assert_int_eq(setrlimit(RLIMIT_AS, &rl), 0);
}

/* A buffer the kernel will not map is an error for that message, with what was received kept
 * (and freed by fpd_grpc_framer_free), never the end of the process. */
START_TEST(framer_map_failure)
{
#if defined(__SANITIZE_ADDRESS__)
	return; /* ASan's own mappings need the address space this test takes away */
#endif
	struct fpd_grpc_framer f;
	fpd_grpc_framer_init(&f, 1024 * 1024);
	static uint8_t wire[FPD_GRPC_PREFIX_LEN + 200000];
	fpd_grpc_prefix_write(wire, 200000);
	for (size_t i = FPD_GRPC_PREFIX_LEN; i < sizeof(wire); i++)
		wire[i] = (uint8_t)i;
	const uint8_t *body = wire + FPD_GRPC_PREFIX_LEN;
	size_t used;
	struct rlimit old;
	getrlimit(RLIMIT_AS, &old);
	/* 30,000 bytes in malloc's block; 40,000 more need a mapping (mmap). */
	ck_assert_int_eq(fpd_grpc_framer_feed(&f, wire, FPD_GRPC_PREFIX_LEN + 30000, &used),
	                 FPD_AGAIN);
	limit_address_space();
	int rc = fpd_grpc_framer_feed(&f, body + 30000, 40000, &used);
	setrlimit(RLIMIT_AS, &old);
	ck_assert_int_eq(rc, FPD_ERR);
	ck_assert_uint_eq(used, 0);
	ck_assert_uint_eq(f.msg.len, 30000);
	ck_assert_int_eq(fpd_grpc_framer_feed(&f, body + 30000, 40000, &used), FPD_AGAIN);
	/* A mapped buffer that cannot grow (mremap). */
	limit_address_space();
	rc = fpd_grpc_framer_feed(&f, body + 70000, 100000, &used);
	setrlimit(RLIMIT_AS, &old);
	ck_assert_int_eq(rc, FPD_ERR);
	ck_assert_uint_eq(f.msg.len, 70000);
	ck_assert_int_eq(fpd_grpc_framer_feed(&f, body + 70000, 130000, &used), FPD_OK);
	ck_assert_mem_eq(f.msg.data, body, 200000);
	fpd_grpc_framer_free(&f);
}
END_TEST

START_TEST(framer_bad_flag)
{
	uint8_t wire[8] = {2, 0, 0, 0, 1, 'x'};
	struct fpd_grpc_framer f;
	size_t used;
	fpd_grpc_framer_init(&f, 16);
	ck_assert_int_eq(fpd_grpc_framer_feed(&f, wire, 6, &used), FPD_EINVAL);
	fpd_grpc_framer_free(&f);
}
END_TEST

START_TEST(prefix_roundtrip)
{
	uint8_t p[5];
	fpd_grpc_prefix_write(p, 0x01020304);
	uint8_t want[5] = {0, 1, 2, 3, 4};
	ck_assert_mem_eq(p, want, 5);
}
END_TEST

static int64_t timeout_ms(const char *s)
{
	int64_t ms = -99;
	if (fpd_grpc_timeout_parse(s, strlen(s), &ms))
		return -1;
	return ms;
}

START_TEST(timeout_units)
{
	ck_assert_int_eq(timeout_ms("1H"), 3600000);
	ck_assert_int_eq(timeout_ms("2M"), 120000);
	ck_assert_int_eq(timeout_ms("3S"), 3000);
	ck_assert_int_eq(timeout_ms("250m"), 250);
	ck_assert_int_eq(timeout_ms("1500u"), 2); /* rounded up */
	ck_assert_int_eq(timeout_ms("1n"), 1);    /* positive never becomes 0 */
	ck_assert_int_eq(timeout_ms("0m"), 0);
	ck_assert_int_eq(timeout_ms("99999999H"), 99999999LL * 3600000);
}
END_TEST

START_TEST(timeout_malformed)
{
	const char *bad[] = {"", "S", "10", "10s", "10 S", "-1S", "123456789S", "1.5S", "S1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(timeout_ms(bad[i]) == -1, "\"%s\" should be rejected", bad[i]);
}
END_TEST

START_TEST(percent_encoding)
{
	char out[64];
	ck_assert_uint_eq(fpd_grpc_percent_encode("plain text", out, sizeof(out)), 10);
	ck_assert_str_eq(out, "plain text");
	fpd_grpc_percent_encode("100% done\nnext", out, sizeof(out));
	ck_assert_str_eq(out, "100%25 done%0Anext");
	fpd_grpc_percent_encode("caf\xc3\xa9", out, sizeof(out));
	ck_assert_str_eq(out, "caf%C3%A9");
	/* Truncation never splits an escape. */
	fpd_grpc_percent_encode("ab\n", out, 5);
	ck_assert_str_eq(out, "ab");
	char back[64];
	const char *enc = "100%25 done%0Anext%zz";
	fpd_grpc_percent_decode(enc, strlen(enc), back, sizeof(back));
	ck_assert_str_eq(back, "100% done\nnext%zz");
}
END_TEST

START_TEST(content_types)
{
	const char *ok[] = {"application/grpc", "application/grpc+proto", "application/grpc;x=y"};
	const char *bad[] = {"application/json", "application/grpcx", "application/grp", "",
	                     "text/plain"};
	for (size_t i = 0; i < 3; i++)
		ck_assert(fpd_grpc_content_type_ok(ok[i], strlen(ok[i])));
	for (size_t i = 0; i < 5; i++)
		ck_assert_msg(!fpd_grpc_content_type_ok(bad[i], strlen(bad[i])), "%s", bad[i]);
}
END_TEST

START_TEST(code_names)
{
	ck_assert_str_eq(fpd_grpc_code_name(FPD_GRPC_OK), "OK");
	ck_assert_str_eq(fpd_grpc_code_name(FPD_GRPC_DEADLINE_EXCEEDED), "DEADLINE_EXCEEDED");
	ck_assert_str_eq(fpd_grpc_code_name(FPD_GRPC_RESOURCE_EXHAUSTED), "RESOURCE_EXHAUSTED");
	ck_assert_str_eq(fpd_grpc_code_name(FPD_GRPC_UNIMPLEMENTED), "UNIMPLEMENTED");
	ck_assert_str_eq(fpd_grpc_code_name(FPD_GRPC_UNAUTHENTICATED), "UNAUTHENTICATED");
	ck_assert_str_eq(fpd_grpc_code_name(17), "UNKNOWN_CODE");
	ck_assert_str_eq(fpd_grpc_code_name(-1), "UNKNOWN_CODE");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("grpc_wire");
	TCase *tc = tcase_create("wire");
	tcase_add_test(tc, framer_whole_message);
	tcase_add_test(tc, framer_any_split);
	tcase_add_test(tc, framer_grows_in_steps);
	tcase_add_test(tc, framer_empty_and_compressed);
	tcase_add_test(tc, framer_too_large_is_refused_before_buffering);
	tcase_add_test(tc, framer_map_failure);
	tcase_add_test(tc, framer_bad_flag);
	tcase_add_test(tc, prefix_roundtrip);
	tcase_add_test(tc, timeout_units);
	tcase_add_test(tc, timeout_malformed);
	tcase_add_test(tc, percent_encoding);
	tcase_add_test(tc, content_types);
	tcase_add_test(tc, code_names);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
