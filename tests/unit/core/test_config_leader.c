/* The leader_election section and the engine.signing_key_* keys: defaults (client-go's), values,
 * and the cross-field rules (their refusals are fixtures under config/bad). */
#include "core/config.h"
#include "fpd_test.h"

START_TEST(defaults_are_client_go_s)
{
	struct fpd_config cfg;
	fpd_config_defaults(&cfg);
	ck_assert(cfg.leader_election.enabled);
	ck_assert_str_eq(cfg.leader_election.lease_name, "flyteplugd");
	ck_assert_str_eq(cfg.leader_election.namespace_, "");
	ck_assert_int_eq(cfg.leader_election.lease_duration_ms, 15000);
	ck_assert_int_eq(cfg.leader_election.renew_deadline_ms, 10000);
	ck_assert_int_eq(cfg.leader_election.retry_period_ms, 2000);
	ck_assert_str_eq(cfg.engine.signing_key_secret, "");
	ck_assert_uint_eq(cfg.engine.signing_key_previous_files.count, 0);
	fpd_config_free(&cfg);
}
END_TEST

START_TEST(values)
{
	struct fpd_config cfg;
	struct fpd_error err;
	int rc =
	    fpd_config_load(fpd_fixture("config/good/leader-election-and-keys.yaml"), &cfg, &err);
	ck_assert_msg(rc == FPD_OK, "%s", err.text);
	ck_assert_str_eq(cfg.leader_election.lease_name, "flyteplugd-cleanup");
	ck_assert_str_eq(cfg.leader_election.namespace_, "flyte");
	ck_assert_int_eq(cfg.leader_election.lease_duration_ms, 30000);
	ck_assert_int_eq(cfg.leader_election.renew_deadline_ms, 20000);
	ck_assert_int_eq(cfg.leader_election.retry_period_ms, 4000);
	ck_assert_uint_eq(cfg.engine.signing_key_previous_files.count, 1);
	ck_assert_str_eq(cfg.engine.signing_key_previous_files.items[0],
	                 "/etc/flyteplugd/key/signing-key.previous");
	fpd_config_free(&cfg);
}
END_TEST

static int load_text(const char *text, struct fpd_error *err)
{
	struct fpd_config cfg;
	int rc = fpd_config_load_text(text, strlen(text), "t.yaml", &cfg, err);
	if (!rc)
		fpd_config_free(&cfg);
	return rc;
}

START_TEST(rules)
{
	struct fpd_error err;
	ck_assert_int_eq(load_text("leader_election:\n  enabled: false\n", &err), FPD_OK);
	ck_assert_int_eq(load_text("engine:\n  signing_key_secret: k\n", &err), FPD_OK);
	/* 1.2 * retry must stay below the deadline: 2.4 s < 2.5 s passes, 2.5 s does not */
	ck_assert_int_eq(load_text("leader_election:\n  lease_duration: 3s\n  renew_deadline: "
	                           "2500ms\n  retry_period: 2s\n",
	                           &err),
	                 FPD_OK);
	ck_assert_int_eq(load_text("leader_election:\n  lease_duration: 3s\n  renew_deadline: "
	                           "2400ms\n  retry_period: 2s\n",
	                           &err),
	                 FPD_EINVAL);
	ck_assert_msg(strstr(err.text, "1.2 times") && err.line == 4, "%s (line %d)", err.text,
	              err.line);
	ck_assert_int_eq(load_text("leader_election:\n  lease_name: \"\"\n", &err), FPD_EINVAL);
	ck_assert_int_eq(load_text("engine:\n  signing_key_file: /k\n  signing_key_previous_files: "
	                           "[a, b, c, d, e, f, g, h]\n",
	                           &err),
	                 FPD_EINVAL);
	ck_assert_msg(strstr(err.text, "at most 7"), "%s", err.text);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("core_config_leader");
	TCase *tc = tcase_create("leader_election");
	tcase_add_test(tc, defaults_are_client_go_s);
	tcase_add_test(tc, values);
	tcase_add_test(tc, rules);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
