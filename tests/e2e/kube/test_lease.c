/* Leader election against the real API server: two electors in one process (two clients)
 * elect exactly one leader; a leader that stops renewing (a crash) is replaced after the lease
 * duration and not before; a released Lease is taken over at once; a leader whose renewal
 * meets a 409 because someone else wrote the Lease learns it lost. */
#include "e2e.h"

#include "core/clock.h"
#include "kube/lease.h"

static struct ev_loop *loop;
static struct fpd_kube_client *admin;
static char *ns;
static struct fpd_kube_gvr leases = {"coordination.k8s.io", "v1", "leases", "Lease", true};

struct elector {
	struct fpd_kube_client *c;
	struct fpd_lease *l;
	int started, stopped;
	char holder[256];
};

static void on_started(void *ud)
{
	((struct elector *)ud)->started++;
}

static void on_stopped(void *ud)
{
	((struct elector *)ud)->stopped++;
}

static void on_new_leader(void *ud, const char *holder)
{
	snprintf(((struct elector *)ud)->holder, sizeof(((struct elector *)ud)->holder), "%s",
	         holder);
}

static void elector_start(struct elector *e, const char *id, int64_t lease_ms, int64_t deadline_ms,
                          int64_t retry_ms)
{
	memset(e, 0, sizeof(*e));
	e->c = e2e_client(loop, NULL);
	struct fpd_lease_opts o = {.namespace_ = ns,
	                           .name = "flyteplugd",
	                           .identity = id,
	                           .lease_duration_ms = lease_ms,
	                           .renew_deadline_ms = deadline_ms,
	                           .retry_period_ms = retry_ms,
	                           .on_started_leading = on_started,
	                           .on_stopped_leading = on_stopped,
	                           .on_new_leader = on_new_leader,
	                           .ud = e};
	struct fpd_error err;
	ck_assert_msg(fpd_lease_new(loop, e->c, &o, &e->l, &err) == FPD_OK, "%s", err.text);
	ck_assert_str_eq(fpd_lease_identity(e->l), id);
	fpd_lease_start(e->l);
}

static void elector_free(struct elector *e)
{
	fpd_lease_free(e->l);
	fpd_kube_client_free(e->c);
	e->l = NULL;
	e->c = NULL;
}

static struct elector *pair[2];

static bool one_leads(void *ud)
{
	(void)ud;
	return fpd_lease_is_leader(pair[0]->l) || fpd_lease_is_leader(pair[1]->l);
}

static bool leads(void *ud)
{
	return fpd_lease_is_leader(((struct elector *)ud)->l);
}

static bool lost(void *ud)
{
	return ((struct elector *)ud)->stopped > 0;
}

/* Starts a and b, waits for a leader; returns it (the other in *other). */
static struct elector *elect(struct elector *a, struct elector *b, struct elector **other)
{
	pair[0] = a;
	pair[1] = b;
	e2e_wait_for(loop, one_leads, NULL, 30, "a leader");
	ck_assert_msg(!(fpd_lease_is_leader(a->l) && fpd_lease_is_leader(b->l)), "two leaders");
	struct elector *leader = fpd_lease_is_leader(a->l) ? a : b;
	*other = leader == a ? b : a;
	return leader;
}

static json_t *get_lease(void)
{
	struct e2e_call call = {0};
	struct fpd_kube_ref ref = {&leases, ns, "flyteplugd", NULL};
	E2E_CALL(loop, &call, fpd_kube_get(admin, &ref, e2e_done, &call, &e2e_err));
	E2E_OK(&call);
	json_t *obj = json_incref(call.obj);
	e2e_call_reset(&call);
	return obj;
}

static const char *spec_holder(json_t *lease)
{
	return json_string_value(json_object_get(json_object_get(lease, "spec"), "holderIdentity"));
}

static void setup(void)
{
	loop = ev_default_loop(0);
	admin = e2e_client(loop, NULL);
	ns = e2e_namespace(loop, admin, "kube-lease");
}

static void teardown(void)
{
	struct e2e_call call = {0};
	struct fpd_kube_ref ref = {&e2e_namespaces, NULL, ns, NULL};
	E2E_CALL(loop, &call, fpd_kube_delete(admin, &ref, NULL, e2e_done, &call, &e2e_err));
	e2e_call_reset(&call);
	free(ns);
	fpd_kube_client_free(admin);
}

START_TEST(exactly_one_leads)
{
	struct elector a, b, *follower;
	elector_start(&a, "replica-a", 3000, 2000, 500);
	elector_start(&b, "replica-b", 3000, 2000, 500);
	struct elector *leader = elect(&a, &b, &follower);
	/* several renewal periods: the leader keeps it, the follower never takes it */
	for (int i = 0; i < 12; i++) {
		e2e_run_for(loop, 0.5);
		ck_assert_msg(fpd_lease_is_leader(leader->l) && !fpd_lease_is_leader(follower->l),
		              "leadership changed hands while the leader renewed (round %d)", i);
	}
	ck_assert_int_eq(leader->started, 1);
	ck_assert_int_eq(leader->stopped + follower->started + follower->stopped, 0);
	const char *id = fpd_lease_identity(leader->l);
	ck_assert_str_eq(fpd_lease_holder(leader->l), id);
	ck_assert_str_eq(fpd_lease_holder(follower->l), id);
	ck_assert_str_eq(follower->holder, id);
	json_t *lease = get_lease();
	ck_assert_str_eq(spec_holder(lease), id);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(lease, "spec"),
	                                                    "leaseDurationSeconds")),
	                 3);
	json_decref(lease);
	elector_free(&a);
	elector_free(&b);
}
END_TEST

START_TEST(crashed_leader_replaced_after_lease_duration)
{
	struct elector a, b, *follower;
	elector_start(&a, "replica-a", 4000, 3000, 500);
	elector_start(&b, "replica-b", 4000, 3000, 500);
	struct elector *leader = elect(&a, &b, &follower);
	e2e_run_for(loop, 1.0); /* the follower has seen a few renewals */
	char gone[64];
	snprintf(gone, sizeof(gone), "%s", fpd_lease_identity(leader->l));
	elector_free(leader); /* no release: a crash */
	int64_t t0 = fpd_clock_mono_ms();

	/* The follower last saw a change at most ~1.1 s (its polling) before the crash, so the
	 * lease cannot look expired before ~2.9 s; and by ~5.1 s it must. */
	e2e_run_for(loop, 2.0);
	ck_assert_msg(!fpd_lease_is_leader(follower->l),
	              "took over %.1f s after the crash, before the lease duration (4 s)",
	              (double)(fpd_clock_mono_ms() - t0) / 1000);
	ck_assert_str_eq(fpd_lease_holder(follower->l), gone);
	e2e_wait_for(loop, leads, follower, 10, "take-over after the lease expired");
	double took = (double)(fpd_clock_mono_ms() - t0) / 1000;
	ck_assert_msg(took < 8, "took %.1f s to take over a 4 s lease", took);
	ck_assert_int_eq(follower->started, 1);
	ck_assert_str_eq(fpd_lease_holder(follower->l), fpd_lease_identity(follower->l));
	json_t *lease = get_lease();
	ck_assert_str_eq(spec_holder(lease), fpd_lease_identity(follower->l));
	ck_assert_int_ge(
	    json_integer_value(json_object_get(json_object_get(lease, "spec"), "leaseTransitions")),
	    1);
	json_decref(lease);
	elector_free(follower);
}
END_TEST

static bool released;
static void on_released(void *ud)
{
	(void)ud;
	released = true;
}

START_TEST(release_hands_over_at_once)
{
	/* A 15 s lease: a successor within 8 s can only come from the release (the lease itself
	 * would keep the follower out for 15 s). The bound leaves room for a loaded machine. */
	struct elector a, b, *follower;
	elector_start(&a, "replica-a", 15000, 10000, 500);
	elector_start(&b, "replica-b", 15000, 10000, 500);
	struct elector *leader = elect(&a, &b, &follower);
	e2e_run_for(loop, 1.0);
	released = false;
	int64_t t0 = fpd_clock_mono_ms();
	ck_assert_int_eq(fpd_lease_release(leader->l, on_released, NULL), FPD_AGAIN);
	e2e_wait(loop, &released, 10, "release written");
	ck_assert_int_eq(leader->stopped, 1);
	ck_assert(!fpd_lease_is_leader(leader->l));
	e2e_wait_for(loop, leads, follower, 8, "hand-over after release");
	ck_assert_msg(fpd_clock_mono_ms() - t0 < 8000, "hand-over took %lld ms",
	              (long long)(fpd_clock_mono_ms() - t0));
	/* the released elector stays out */
	e2e_run_for(loop, 1.5);
	ck_assert_int_eq(leader->started, 1);
	ck_assert(!fpd_lease_is_leader(leader->l));
	/* releasing a non-leader does nothing and says so */
	ck_assert_int_eq(fpd_lease_release(leader->l, on_released, NULL), FPD_OK);
	elector_free(&a);
	elector_free(&b);
}
END_TEST

START_TEST(conflict_on_renew_loses_leadership)
{
	struct elector a;
	elector_start(&a, "replica-a", 15000, 10000, 500);
	e2e_wait_for(loop, leads, &a, 30, "leadership");
	/* someone else writes the Lease behind the leader's back */
	json_t *lease = get_lease();
	json_t *spec = json_object_get(lease, "spec");
	json_object_set_new(spec, "holderIdentity", json_string("intruder"));
	struct e2e_call call = {0};
	struct fpd_kube_ref ref = {&leases, ns, "flyteplugd", NULL};
	E2E_CALL(loop, &call, fpd_kube_update(admin, &ref, lease, NULL, e2e_done, &call, &e2e_err));
	E2E_OK(&call);
	e2e_call_reset(&call);
	json_decref(lease);
	int64_t t0 = fpd_clock_mono_ms();
	/* the next renewal (0.5 s) meets 409; well before the 10 s renew deadline */
	e2e_wait_for(loop, lost, &a, 5, "lost leadership after a 409");
	ck_assert_msg(fpd_clock_mono_ms() - t0 < 3000, "noticed after %lld ms",
	              (long long)(fpd_clock_mono_ms() - t0));
	ck_assert(!fpd_lease_is_leader(a.l));
	ck_assert_str_eq(fpd_lease_holder(a.l), "intruder");
	ck_assert_str_eq(a.holder, "intruder");
	/* and it does not take the Lease back while the intruder's record is fresh */
	e2e_run_for(loop, 2.0);
	ck_assert_int_eq(a.started, 1);
	lease = get_lease();
	ck_assert_str_eq(spec_holder(lease), "intruder");
	json_decref(lease);
	elector_free(&a);
}
END_TEST

/* A leader whose renewals get no answer stops leading at the renew deadline, although its
 * request is still pending: here the client's rate limit (one call per 20 s after a burst of 2,
 * spent on the GET and the create) holds the first renewal back. */
START_TEST(no_renewal_within_deadline_loses)
{
	struct elector a;
	memset(&a, 0, sizeof(a));
	struct fpd_kube_client_opts co = {.qps = 0.05, .burst = 2, .request_timeout_ms = 60000};
	a.c = e2e_client(loop, &co);
	struct fpd_lease_opts o = {.namespace_ = ns,
	                           .name = "flyteplugd",
	                           .identity = "replica-slow",
	                           .lease_duration_ms = 4000,
	                           .renew_deadline_ms = 2000,
	                           .retry_period_ms = 500,
	                           .on_started_leading = on_started,
	                           .on_stopped_leading = on_stopped,
	                           .ud = &a};
	struct fpd_error err;
	ck_assert_msg(fpd_lease_new(loop, a.c, &o, &a.l, &err) == FPD_OK, "%s", err.text);
	fpd_lease_start(a.l);
	e2e_wait_for(loop, leads, &a, 30, "leadership");
	int64_t t0 = fpd_clock_mono_ms();
	e2e_wait_for(loop, lost, &a, 10, "leadership lost at the renew deadline");
	int64_t took = fpd_clock_mono_ms() - t0;
	ck_assert_msg(took >= 1900 && took < 4000,
	              "lost %lld ms after winning; the renew deadline is 2000 ms", (long long)took);
	ck_assert(!fpd_lease_is_leader(a.l));
	ck_assert_msg(fpd_kube_pending(a.c) == 0, "the held-back renewal is abandoned, %zu pending",
	              fpd_kube_pending(a.c));
	elector_free(&a);
}
END_TEST

START_TEST(options_checked)
{
	struct fpd_lease *l = NULL;
	struct fpd_error err;
	struct fpd_lease_opts o = {.name = "x",
	                           .lease_duration_ms = 10000,
	                           .renew_deadline_ms = 10000,
	                           .retry_period_ms = 2000};
	ck_assert_int_eq(fpd_lease_new(loop, admin, &o, &l, &err), FPD_EINVAL);
	ck_assert_msg(strstr(err.text, "renew_deadline"), "%s", err.text);
	o.renew_deadline_ms = 2000; /* not above 1.2 * retry */
	ck_assert_int_eq(fpd_lease_new(loop, admin, &o, &l, &err), FPD_EINVAL);
	ck_assert_ptr_null(l);

	char id[256];
	setenv("POD_NAME", "flyteplugd-7c9d-abcde", 1);
	ck_assert_int_eq(fpd_lease_default_identity(id, sizeof(id), &err), FPD_OK);
	ck_assert_str_eq(id, "flyteplugd-7c9d-abcde");
	unsetenv("POD_NAME");
	char id2[256];
	ck_assert_int_eq(fpd_lease_default_identity(id, sizeof(id), &err), FPD_OK);
	ck_assert_int_eq(fpd_lease_default_identity(id2, sizeof(id2), &err), FPD_OK);
	ck_assert_msg(strchr(id, '_') && strcmp(id, id2) != 0,
	              "without POD_NAME: hostname and a random suffix, got %s and %s", id, id2);
	o = (struct fpd_lease_opts){.name = "x"}; /* client-go's defaults are valid */
	struct fpd_config cfg;
	fpd_config_defaults(&cfg);
	fpd_lease_opts_from_config(&cfg.leader_election, &o);
	ck_assert_str_eq(o.name, "flyteplugd");
	ck_assert_int_eq(o.lease_duration_ms, 15000);
	ck_assert_int_eq(o.retry_period_ms, 2000);
	ck_assert_int_eq(fpd_lease_new(loop, admin, &o, &l, &err), FPD_OK);
	ck_assert(!fpd_lease_is_leader(l));
	ck_assert_str_eq(fpd_lease_holder(l), "");
	ck_assert_msg(strchr(fpd_lease_identity(l), '_'), "no identity given: the default, got %s",
	              fpd_lease_identity(l));
	fpd_lease_free(l);
	fpd_config_free(&cfg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kube_lease");
	TCase *tc = tcase_create("lease");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, exactly_one_leads);
	tcase_add_test(tc, crashed_leader_replaced_after_lease_duration);
	tcase_add_test(tc, release_hands_over_at_once);
	tcase_add_test(tc, conflict_on_renew_loses_leadership);
	tcase_add_test(tc, no_renewal_within_deadline_loses);
	tcase_add_test(tc, options_checked);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
