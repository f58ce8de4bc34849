/*
 * fpd_children_fail_fast: a pod of any role stuck past its grace period, or OOMKilled, fails
 * the task naming the pod and the container; pods the filter leaves out and pods still within
 * their grace period do not (the latter set the re-check time).
 */
#include <flyteplugd/object.h>

#include "children.h"
#include "fpd_test.h"
#include "task_fixture.h"

#define SINCE "2026-12-01T10:00:00Z"

/* A pending pod of cluster c whose container waits for reason why since SINCE. */
static json_t *waiting_pod(const char *name, const char *c, const char *why)
{
	return json_pack("{s:{s:s,s:{s:s}},s:{s:s,s:[{s:s,s:s,s:s,s:s,s:s}],s:[{s:s,s:b,s:i,"
	                 "s:{s:{s:s,s:s}}}]}}",
	                 "metadata", "name", name, "labels", "cluster", c, "status", "phase",
	                 "Pending", "conditions", "type", "Ready", "status", "False", "reason",
	                 "ContainersNotReady", "message", "not ready", "lastTransitionTime", SINCE,
	                 "containerStatuses", "name", "worker", "ready", 0, "restartCount", 0,
	                 "state", "waiting", "reason", why, "message", "Back-off pulling image");
}

static struct fpd_test_task task;

static void setup(void)
{
	json_t *fx = json_pack("{s:{s:s}}", "template", "type", "pytorch");
	fpd_test_task_load(&task, fx);
	json_decref(fx);
}

static void teardown(void)
{
	fpd_test_task_free(&task);
}

static bool run(const json_t *const *pods, size_t n, const char *cluster, const char *now,
                struct fpd_phase_info *out)
{
	struct fpd_children_filter f = {"cluster", cluster};
	return fpd_children_fail_fast(pods, n, f, &task.task.settings->k8s, fpd_time_parse(now),
	                              out);
}

START_TEST(past_grace_fails_naming_pod_and_container)
{
	json_t *a = waiting_pod("job-worker-3", "mine", "ImagePullBackOff");
	const json_t *pods[] = {a};
	struct fpd_phase_info out = {0};
	fpd_phase_set(&out, FPD_PHASE_RUNNING, NULL, "running");
	/* The default grace period is 3m. */
	ck_assert(run(pods, 1, "mine", "2026-12-01T10:03:00Z", &out));
	ck_assert_int_eq(out.phase, FPD_PHASE_RETRYABLE_FAILED);
	ck_assert_str_eq(out.code, "ContainersNotReady|ImagePullBackOff");
	ck_assert_msg(!strcmp(out.message,
	                      "pod job-worker-3 container worker: "
	                      "ContainersNotReady|ImagePullBackOff: Grace period [3m0s] "
	                      "exceeded|not ready|Back-off pulling image"),
	              "got [%s]", out.message);
	ck_assert(out.cleanup);
	fpd_phase_info_clear(&out);
	json_decref(a);
}
END_TEST

START_TEST(within_grace_keeps_the_phase_and_sets_the_recheck)
{
	json_t *a = waiting_pod("job-worker-3", "mine", "ImagePullBackOff");
	const json_t *pods[] = {a};
	struct fpd_phase_info out = {0};
	fpd_phase_set(&out, FPD_PHASE_RUNNING, NULL, "running");
	ck_assert(!run(pods, 1, "mine", "2026-12-01T10:01:00Z", &out));
	ck_assert_int_eq(out.phase, FPD_PHASE_RUNNING);
	ck_assert_str_eq(out.message, "running");
	ck_assert_int_eq(out.recheck_at_ms, fpd_time_parse("2026-12-01T10:03:00Z"));
	fpd_phase_info_clear(&out);
	json_decref(a);
}
END_TEST

START_TEST(filtered_out_pods_are_not_read)
{
	json_t *a = waiting_pod("other-worker-0", "other", "InvalidImageName");
	json_t *b = waiting_pod("mine-worker-0", "mine", "ContainerCreating");
	const json_t *pods[] = {a, b};
	struct fpd_phase_info out = {0};
	fpd_phase_set(&out, FPD_PHASE_RUNNING, NULL, "running");
	ck_assert(!run(pods, 2, "mine", "2026-12-01T10:05:00Z", &out));
	ck_assert_int_eq(out.phase, FPD_PHASE_RUNNING);
	/* Unfiltered, the other cluster's pod fails at once. */
	ck_assert(run(pods, 2, NULL, "2026-12-01T10:05:00Z", &out) == false);
	struct fpd_children_filter all = {NULL, NULL};
	ck_assert(fpd_children_fail_fast(pods, 2, all, &task.task.settings->k8s,
	                                 fpd_time_parse("2026-12-01T10:05:00Z"), &out));
	ck_assert_int_eq(out.phase, FPD_PHASE_FAILED);
	ck_assert_msg(strstr(out.message, "pod other-worker-0 container worker: ") == out.message,
	              "got [%s]", out.message);
	fpd_phase_info_clear(&out);
	json_decref(a);
	json_decref(b);
}
END_TEST

START_TEST(oom_killed_fails)
{
	json_t *a =
	    json_pack("{s:{s:s,s:{s:s}},s:{s:s,s:[{s:s,s:b,s:i,s:{s:{s:i,s:s}}}]}}", "metadata",
	              "name", "job-master-0", "labels", "cluster", "mine", "status", "phase",
	              "Failed", "containerStatuses", "name", "trainer", "ready", 0, "restartCount",
	              0, "state", "terminated", "exitCode", 137, "reason", "OOMKilled");
	const json_t *pods[] = {a};
	struct fpd_phase_info out = {0};
	fpd_phase_set(&out, FPD_PHASE_RUNNING, NULL, "running");
	ck_assert(run(pods, 1, "mine", "2026-12-01T10:05:00Z", &out));
	ck_assert(fpd_phase_is_failure(out.phase));
	ck_assert_msg(strstr(out.message, "pod job-master-0 container trainer: OOMKilled") ==
	                  out.message,
	              "got [%s]", out.message);
	fpd_phase_info_clear(&out);
	json_decref(a);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("plugins/children");
	TCase *tc = tcase_create("children");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, past_grace_fails_naming_pod_and_container);
	tcase_add_test(tc, within_grace_keeps_the_phase_and_sets_the_recheck);
	tcase_add_test(tc, filtered_out_pods_are_not_read);
	tcase_add_test(tc, oom_killed_fails);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
