/* Backoff arithmetic and the token bucket (kube/backoff.h, kube/ratelimit.h). */
#include "kube/backoff.h"
#include "kube/ratelimit.h"
#include "fpd_test.h"

START_TEST(backoff_doubles_with_jitter_and_caps)
{
	struct fpd_kube_backoff b;
	fpd_kube_backoff_init(&b, 800, 30000, 120000, 42);
	int64_t base = 800, now = 0;
	for (int i = 0; i < 12; i++) {
		int64_t d = fpd_kube_backoff_next(&b, now);
		int64_t hi = base * 2 > 30000 ? 30000 : base * 2;
		ck_assert_msg(d >= base && d <= hi, "step %d: delay %lld not in [%lld, %lld]", i,
		              (long long)d, (long long)base, (long long)hi);
		base = base * 2 > 30000 ? 30000 : base * 2;
		now += d;
	}
	/* At the cap the delay stays at the cap (jitter cannot pass it). */
	ck_assert_int_eq(fpd_kube_backoff_next(&b, now), 30000);
}
END_TEST

START_TEST(backoff_resets_after_quiet_period)
{
	struct fpd_kube_backoff b;
	fpd_kube_backoff_init(&b, 100, 10000, 5000, 7);
	int64_t now = 0;
	for (int i = 0; i < 5; i++)
		now += fpd_kube_backoff_next(&b, now);
	int64_t late = fpd_kube_backoff_next(&b, now + 5001);
	ck_assert_msg(late >= 100 && late <= 200,
	              "after a quiet period expected 100..200, got %lld", (long long)late);
	/* Without the quiet period it keeps growing. */
	int64_t next = fpd_kube_backoff_next(&b, now + 5002);
	ck_assert_msg(next >= 200, "expected >= 200, got %lld", (long long)next);
}
END_TEST

START_TEST(backoff_defaults_and_rand_range)
{
	struct fpd_kube_backoff b;
	fpd_kube_backoff_init(&b, 0, 0, 0, 0);
	ck_assert_int_eq(b.initial_ms, FPD_KUBE_BACKOFF_INITIAL_MS);
	ck_assert_int_eq(b.max_ms, FPD_KUBE_BACKOFF_MAX_MS);
	int seen_lo = 0, seen_hi = 0;
	for (int i = 0; i < 2000; i++) {
		int64_t r = fpd_kube_backoff_rand(&b, 300, 600);
		ck_assert(r >= 300 && r <= 600);
		seen_lo |= r < 350;
		seen_hi |= r > 550;
	}
	ck_assert_msg(seen_lo && seen_hi, "random watch timeouts should cover the whole range");
	ck_assert_int_eq(fpd_kube_backoff_rand(&b, 5, 5), 5);
}
END_TEST

START_TEST(ratelimit_burst_then_qps)
{
	struct fpd_kube_ratelimit rl;
	fpd_kube_ratelimit_init(&rl, 5, 10, 1000);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(fpd_kube_ratelimit_take(&rl, 1000), 0);
	/* Bucket empty: one token every 200 ms at 5 qps. */
	ck_assert_int_eq(fpd_kube_ratelimit_take(&rl, 1000), 200);
	ck_assert_int_eq(fpd_kube_ratelimit_take(&rl, 1100), 100);
	ck_assert_int_eq(fpd_kube_ratelimit_take(&rl, 1200), 0);
	ck_assert_int_gt(fpd_kube_ratelimit_take(&rl, 1200), 0);
	/* A long pause refills only up to the burst. */
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(fpd_kube_ratelimit_take(&rl, 100000), 0);
	ck_assert_int_gt(fpd_kube_ratelimit_take(&rl, 100000), 0);
}
END_TEST

START_TEST(ratelimit_disabled)
{
	struct fpd_kube_ratelimit rl;
	fpd_kube_ratelimit_init(&rl, 0, 1, 0);
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(fpd_kube_ratelimit_take(&rl, 0), 0);
}
END_TEST

/* A 429 pauses the bucket until Retry-After, then it refills from empty at half the rate:
 * the requests that waited come back slower, not as a burst; the rate grows back to qps. */
START_TEST(ratelimit_pause_then_empty_bucket)
{
	struct fpd_kube_ratelimit rl;
	fpd_kube_ratelimit_init(&rl, 10, 50, 0);
	ck_assert_int_eq(fpd_kube_ratelimit_take(&rl, 0), 0);
	fpd_kube_ratelimit_pause(&rl, 0, 1000);
	ck_assert_int_eq(fpd_kube_ratelimit_wait(&rl, 0), 1000);
	ck_assert_int_eq(fpd_kube_ratelimit_take(&rl, 400), 600);
	/* An earlier pause does not shorten it; a later one extends it without halving again. */
	fpd_kube_ratelimit_pause(&rl, 400, 500);
	ck_assert_int_eq(fpd_kube_ratelimit_wait(&rl, 400), 600);
	fpd_kube_ratelimit_pause(&rl, 400, 2000);
	ck_assert_int_eq(fpd_kube_ratelimit_wait(&rl, 1000), 1000);
	/* At the end of the pause the bucket is empty and refills at 5/s, not 10. */
	ck_assert_int_eq(fpd_kube_ratelimit_take(&rl, 2000), 200);
	ck_assert_int_eq(fpd_kube_ratelimit_take(&rl, 2200), 0);
	int64_t w = fpd_kube_ratelimit_take(&rl, 2200);
	ck_assert_msg(w > 150 && w < 200, "one token per ~198 ms at ~5/s, saw %lld", (long long)w);
	/* wait never takes. */
	ck_assert_int_eq(fpd_kube_ratelimit_wait(&rl, 2500), 0);
	ck_assert_int_eq(fpd_kube_ratelimit_wait(&rl, 2500), 0);
	ck_assert_int_eq(fpd_kube_ratelimit_take(&rl, 2500), 0);
	/* A new episode halves again: ~2.7/s. */
	fpd_kube_ratelimit_pause(&rl, 3000, 4000);
	w = fpd_kube_ratelimit_take(&rl, 4000);
	ck_assert_msg(w > 300 && w < 400, "one token per ~375 ms at ~2.7/s, saw %lld",
	              (long long)w);
	/* 30 s later the rate is back at qps and the bucket full: 50 at once, then 100 ms. */
	for (int i = 0; i < 50; i++)
		ck_assert_int_eq(fpd_kube_ratelimit_take(&rl, 40000), 0);
	ck_assert_int_eq(fpd_kube_ratelimit_take(&rl, 40000), 100);
}
END_TEST

/* An unlimited bucket (a budget with no qps of its own) still honours the server's pause. */
START_TEST(ratelimit_unlimited_pauses)
{
	struct fpd_kube_ratelimit rl;
	fpd_kube_ratelimit_init(&rl, 0, 1, 0);
	fpd_kube_ratelimit_pause(&rl, 0, 1000);
	ck_assert_int_eq(fpd_kube_ratelimit_take(&rl, 10), 990);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(fpd_kube_ratelimit_take(&rl, 1000), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kube_backoff");
	TCase *tc = tcase_create("all");
	tcase_add_test(tc, backoff_doubles_with_jitter_and_caps);
	tcase_add_test(tc, backoff_resets_after_quiet_period);
	tcase_add_test(tc, backoff_defaults_and_rand_range);
	tcase_add_test(tc, ratelimit_burst_then_qps);
	tcase_add_test(tc, ratelimit_disabled);
	tcase_add_test(tc, ratelimit_pause_then_empty_bucket);
	tcase_add_test(tc, ratelimit_unlimited_pauses);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
