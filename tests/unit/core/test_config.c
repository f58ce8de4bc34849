#include "core/config.h"
#include "core/log.h"
#include "fpd_test.h"

START_TEST(defaults)
{
	struct fpd_config cfg;
	fpd_config_defaults(&cfg);
	ck_assert_str_eq(cfg.grpc.listen, "0.0.0.0:8000");
	ck_assert_int_eq(cfg.grpc.max_recv_message_bytes, 16 << 20);
	ck_assert_str_eq(cfg.admin.listen, "0.0.0.0:10254");
	ck_assert(cfg.admin.enabled);
	ck_assert_int_eq(cfg.log.level, FPD_LOG_INFO);
	ck_assert_str_eq(cfg.namespaces.default_namespace, "default");
	ck_assert_uint_eq(cfg.namespaces.watch.count, 0);
	ck_assert_ptr_null(cfg.plugins.settings);
	ck_assert_int_eq(cfg.kubernetes.call_protocol, FPD_CALLS_HTTP1);
	ck_assert_int_eq(cfg.kubernetes.call_connections, 64);
	ck_assert_int_eq(cfg.engine.operator_timeout_ms, 10 * 60 * 1000);
	ck_assert_int_eq(cfg.engine.unlisted_wait_ms, 0);
	ck_assert_int_eq(cfg.kubernetes.list_page_size, 500);
	ck_assert(cfg.kubernetes.protobuf_creates);
	fpd_config_free(&cfg);
}
END_TEST

START_TEST(custom_values)
{
	struct fpd_config cfg;
	struct fpd_error err;
	int rc = fpd_config_load(fpd_fixture("config/good/custom.yaml"), &cfg, &err);
	ck_assert_msg(rc == FPD_OK, "%s", err.text);
	ck_assert_int_eq(cfg.log.level, FPD_LOG_DEBUG);
	ck_assert_int_eq(cfg.log.format, FPD_LOG_JSON);
	ck_assert_str_eq(cfg.grpc.listen, "[::1]:9000");
	ck_assert_int_eq(cfg.grpc.max_recv_message_bytes, 1048576);
	ck_assert_int_eq(cfg.grpc.max_buffered_request_bytes, 1314816);
	ck_assert_int_eq(cfg.grpc.idle_timeout_ms, 90 * 60 * 1000);
	ck_assert_int_eq(cfg.grpc.drain_timeout_ms, 0);
	ck_assert_double_eq(cfg.kubernetes.qps, 12.5);
	ck_assert_int_eq(cfg.kubernetes.request_timeout_ms, 250);
	ck_assert_int_eq(cfg.kubernetes.burst, 100); /* default kept */
	ck_assert_int_eq(cfg.kubernetes.call_protocol, FPD_CALLS_HTTP2);
	ck_assert_int_eq(cfg.kubernetes.call_connections, 4);
	ck_assert_int_eq(cfg.engine.operator_timeout_ms, 90 * 1000);
	ck_assert_int_eq(cfg.engine.unlisted_wait_ms, 0);
	ck_assert_int_eq(cfg.kubernetes.list_page_size, 50);
	ck_assert(!cfg.kubernetes.protobuf_creates);
	ck_assert_uint_eq(cfg.namespaces.watch.count, 2);
	ck_assert_str_eq(cfg.namespaces.watch.items[1], "flytesnacks-staging");
	ck_assert_uint_eq(cfg.plugins.enabled.count, 1);
	ck_assert_ptr_null(cfg.plugins.settings);
	fpd_config_free(&cfg);
}
END_TEST

START_TEST(copilot_storage_logger_defaults)
{
	struct fpd_config cfg;
	fpd_config_defaults(&cfg);
	const struct fpd_copilot_settings *cp = &cfg.settings.k8s.co_pilot;
	ck_assert_str_eq(cp->name, "flyte-copilot-");
	ck_assert_str_eq(cp->image, "cr.flyte.org/flyteorg/flytecopilot:v0.0.15");
	ck_assert_str_eq(cp->default_input_path, "/var/flyte/inputs");
	ck_assert_str_eq(cp->default_output_path, "/var/flyte/outputs");
	ck_assert_str_eq(cp->input_vol_name, "flyte-inputs");
	ck_assert_str_eq(cp->output_vol_name, "flyte-outputs");
	ck_assert_int_eq(cp->start_timeout_ms, 0);
	ck_assert_int_eq(cp->timeout_ms, 60 * 60 * 1000);
	ck_assert_str_eq(cp->cpu, "500m");
	ck_assert_str_eq(cp->memory, "128Mi");
	ck_assert_str_eq(cp->storage, "");
	const struct fpd_storage_settings *st = &cfg.settings.storage;
	ck_assert_str_eq(st->type, "s3");
	ck_assert_str_eq(st->container, "");
	ck_assert(!st->enable_multicontainer);
	ck_assert_str_eq(st->connection.auth_type, "iam");
	ck_assert_str_eq(st->connection.region, "us-east-1");
	ck_assert_str_eq(st->connection.endpoint, "");
	ck_assert_str_eq(st->stow.kind, "");
	ck_assert_ptr_null(st->stow.config);
	ck_assert_int_eq(cfg.settings.logger.level, 3);
	fpd_config_free(&cfg);
}
END_TEST

START_TEST(propeller_copilot_storage_logger)
{
	struct fpd_config cfg;
	struct fpd_error err;
	int rc = fpd_config_load(fpd_fixture("config/good/propeller-copilot.yaml"), &cfg, &err);
	ck_assert_msg(rc == FPD_OK, "%s", err.text);
	const struct fpd_copilot_settings *cp = &cfg.settings.k8s.co_pilot;
	ck_assert_str_eq(cp->image, "cr.flyte.org/flyteorg/flytecopilot:v1.16.8");
	ck_assert_int_eq(cp->start_timeout_ms, 30 * 1000);
	ck_assert_int_eq(cp->timeout_ms, 2 * 60 * 60 * 1000);
	ck_assert_str_eq(cp->cpu, "250m");
	ck_assert_str_eq(cp->storage, "1Gi");
	ck_assert_str_eq(cp->default_input_path, "/var/flyte/inputs"); /* default kept */
	const struct fpd_storage_settings *st = &cfg.settings.storage;
	ck_assert_str_eq(st->type, "minio");
	ck_assert_str_eq(st->container, "my-s3-bucket");
	ck_assert_str_eq(st->connection.secret_key, "miniostorage");
	ck_assert_str_eq(st->connection.endpoint, "http://minio.flyte.svc.cluster.local:9000");
	ck_assert(st->connection.disable_ssl);
	ck_assert_str_eq(st->stow.kind, "s3");
	ck_assert_int_eq(json_integer_value(json_object_get(st->stow.config, "max_retries")), 3);
	ck_assert_int_eq(cfg.settings.logger.level, 5);
	fpd_config_free(&cfg);
}
END_TEST

static void loads(const char *name, void *ud)
{
	char rel[512];
	snprintf(rel, sizeof(rel), "config/good/%s", name);
	struct fpd_config cfg;
	struct fpd_error err;
	int rc = fpd_config_load(fpd_fixture(rel), &cfg, &err);
	ck_assert_msg(rc == FPD_OK, "%s rejected: %s (%d:%d)", name, err.text, err.line,
	              err.column);
	fpd_config_free(&cfg);
}

START_TEST(queueing)
{
	struct fpd_config cfg;
	struct fpd_error err;
	fpd_config_defaults(&cfg);
	/* Off by default. */
	ck_assert(!cfg.settings.queueing.volcano.enabled);
	ck_assert_ptr_null(cfg.settings.queueing.volcano.queue);
	fpd_config_free(&cfg);
	int rc = fpd_config_load(fpd_fixture("config/good/queueing.yaml"), &cfg, &err);
	ck_assert_msg(rc == FPD_OK, "%s", err.text);
	const struct fpd_volcano_settings *v = &cfg.settings.queueing.volcano;
	ck_assert(v->enabled);
	ck_assert_uint_eq(v->namespaces.count, 2);
	ck_assert_str_eq(v->namespaces.items[1], "ml");
	ck_assert_str_eq(v->queue, "research");
	ck_assert_ptr_null(v->scheduler_name);
	ck_assert_str_eq(
	    json_string_value(json_object_get(cfg.settings.queueing.kueue.queues, "team-*")),
	    "team-a");
	fpd_config_free(&cfg);
}
END_TEST

/* Every file in config/good must load. */
START_TEST(good_fixtures_load)
{
	ck_assert_uint_ge(fpd_fixture_each("config/good", ".yaml", NULL, loads, NULL), 3);
}
END_TEST

/* Loads a configuration alone (fpd_check_bad_fixtures' load). */
static int load_config(const char *path, struct fpd_error *err)
{
	struct fpd_config cfg;
	int rc = fpd_config_load(path, &cfg, err);
	if (rc == FPD_OK)
		fpd_config_free(&cfg);
	return rc;
}

/* Every file in config/bad starts with "# expect: LINE:COL fragment" and must be rejected
 * there, with the fragment in the message. */
START_TEST(bad_fixtures_rejected_at_location)
{
	ck_assert_int_ge(fpd_check_bad_fixtures("config/bad", load_config), 10);
}
END_TEST

START_TEST(missing_file)
{
	struct fpd_config cfg;
	struct fpd_error err;
	ck_assert_int_eq(fpd_config_load("/no/such/flyteplugd.yaml", &cfg, &err), FPD_ENOENT);
	ck_assert_str_eq(err.file, "/no/such/flyteplugd.yaml");
}
END_TEST

START_TEST(addresses)
{
	char host[64];
	int port;
	ck_assert_int_eq(fpd_config_split_address("127.0.0.1:80", host, sizeof(host), &port),
	                 FPD_OK);
	ck_assert_str_eq(host, "127.0.0.1");
	ck_assert_int_eq(port, 80);
	ck_assert_int_eq(fpd_config_split_address("[::]:8000", host, sizeof(host), &port), FPD_OK);
	ck_assert_str_eq(host, "::");
	ck_assert_int_eq(port, 8000);
	const char *bad[] = {"localhost", ":80",    "h:",      "h:65536",
	                     "h:-1",      "::1:80", "[::1]80", "h:8x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(fpd_config_split_address(bad[i], host, sizeof(host), &port) != FPD_OK,
		              "accepted %s", bad[i]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("core/config");
	TCase *tc = tcase_create("config");
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, custom_values);
	tcase_add_test(tc, copilot_storage_logger_defaults);
	tcase_add_test(tc, propeller_copilot_storage_logger);
	tcase_add_test(tc, good_fixtures_load);
	tcase_add_test(tc, queueing);
	tcase_add_test(tc, bad_fixtures_rejected_at_location);
	tcase_add_test(tc, missing_file);
	tcase_add_test(tc, addresses);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
