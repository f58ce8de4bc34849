/*
 * The crd plugin: the example declarations compile and build what they say, bad declarations
 * are refused with the field and the line/column, status rules map observed objects to the
 * expected phases, messages, outputs and links, and the jq safety scan refuses unbounded
 * programs.
 */
#include "core/schema.h"
#include "core/yaml.h"
#include "crd/internal.h"
#include "fpd_test.h"
#include "task_fixture.h"

#include <flyteplugd/object.h>
#include <flyteplugd/phase.h>
#include <flyteplugd/structpb.h>

static json_t *yaml_file_json(const char *path)
{
	struct fpd_yaml_node *root = NULL;
	struct fpd_error err = {0};
	ck_assert_msg(fpd_yaml_parse_file(path, &root, &err) == 0, "%s: %s", path, err.text);
	json_t *j = fpd_yaml_to_json(root);
	fpd_yaml_free(root);
	return j;
}

static json_t *example(const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", getenv("FPD_EXAMPLES"), name);
	return yaml_file_json(path);
}

/* The descriptor declare() made last: its hooks serve every declared type (they look the
 * rules up by the task's type), and it stays valid until fpd_crd_shutdown. */
static const struct fpd_plugin *last;

static void run_status(const struct fpd_status_ctx *ctx, struct fpd_phase_info *pi)
{
	last->status(ctx, pi);
}

/* Compiles and activates an example; returns its descriptor. */
static const struct fpd_plugin *declare(const char *name)
{
	json_t *decl = example(name);
	struct fpd_crd_type *t = NULL;
	struct fpd_error err = {0};
	int rc = fpd_crd_type_compile(decl, &t, &err);
	ck_assert_msg(rc == 0, "%s: %s", name, err.text);
	json_decref(decl);
	fpd_crd_activate(t);
	return last = fpd_crd_type_plugin(t);
}

START_TEST(examples_compile_into_descriptors)
{
	const struct fpd_plugin *job = declare("batch-job.yaml");
	ck_assert_str_eq(job->name, "batch-job");
	ck_assert_str_eq(job->task_types[0].name, "batch-job");
	ck_assert_int_eq(job->task_types[0].version, 0);
	ck_assert_str_eq(job->kind->api_version, "batch/v1");
	ck_assert_str_eq(job->kind->plural, "jobs");
	ck_assert_str_eq(job->pod_owner_label, "batch.kubernetes.io/job-name");
	ck_assert_ptr_nonnull(job->build);
	const struct fpd_plugin *js = declare("jobset.yaml");
	ck_assert_str_eq(js->kind->kind, "JobSet");
	ck_assert_str_eq(js->keep[0], "spec.replicatedJobs[].replicas");
	/* kueue: {suspend: spec.suspend} keeps what the Kueue status reads. */
	ck_assert_str_eq(js->keep[1], "metadata.generation");
	ck_assert_str_eq(js->keep[2], "spec.suspend");
	ck_assert_ptr_null(js->keep[3]);
	ck_assert_ptr_null(job->keep);
	const struct fpd_plugin *tj = declare("trainjob.yaml");
	ck_assert_str_eq(tj->kind->api_version, "trainer.kubeflow.org/v1alpha1");
	/* Re-declaring keeps the old descriptor valid and serves with the new rules. */
	const struct fpd_plugin *again = declare("batch-job.yaml");
	ck_assert_ptr_ne(again, job);
	ck_assert_str_eq(job->name, "batch-job");
	ck_assert_ptr_eq(fpd_crd_type_plugin(fpd_crd_active("batch-job")), again);
	ck_assert(fpd_crd_withdraw("jobset"));
	ck_assert_ptr_null(fpd_crd_active("jobset"));
	ck_assert(!fpd_crd_withdraw("jobset"));
	fpd_crd_shutdown();
}
END_TEST

static json_t *build_job(struct fpd_test_task *t, const char *fixture, int want_rc,
                         struct fpd_error *err)
{
	const struct fpd_plugin *p = declare("batch-job.yaml");
	json_t *fx = fpd_test_json_fixture(fixture);
	fpd_test_task_load(t, fx);
	json_decref(fx);
	json_t *out = NULL;
	int rc = p->build(&t->task, &out, err);
	ck_assert_msg(rc == want_rc, "build returned %d, expected %d: %s", rc, want_rc, err->text);
	return out;
}

START_TEST(job_manifest_renders_typed_values)
{
	struct fpd_test_task t;
	struct fpd_error err = {0};
	json_t *job = build_job(&t, "crd/job-task.json", 0, &err);
	ck_assert_str_eq(fpd_json_str(job, "apiVersion"), "batch/v1");
	ck_assert_str_eq(fpd_json_str(job, "kind"), "Job");
	ck_assert_ptr_null(fpd_json_get(job, "metadata.name"));
	/* A plain scalar that is one placeholder takes the value's type. */
	json_t *limit = fpd_json_get(job, "spec.backoffLimit");
	ck_assert_msg(json_is_integer(limit) && json_integer_value(limit) == 3,
	              "backoffLimit: expected the integer 3");
	json_t *c = json_array_get(fpd_json_get(job, "spec.template.spec.containers"), 0);
	ck_assert_str_eq(fpd_json_str(c, "image"), "ghcr.io/flyteorg/flytekit:py3.11-1.16.31");
	/* Flyte's variables in the container's args are rendered as the Pod plugin does. */
	json_t *args = json_object_get(c, "args");
	ck_assert_str_eq(json_string_value(json_array_get(args, 2)),
	                 "s3://meta/f8a4b2c1d0/n0/inputs.pb");
	ck_assert_str_eq(json_string_value(json_array_get(args, 4)), "s3://meta/f8a4b2c1d0/n0/0");
	json_t *env = json_object_get(c, "env");
	ck_assert_uint_eq(json_array_size(env), 2);
	ck_assert_str_eq(fpd_json_str(json_array_get(env, 0), "name"), "MODE");
	ck_assert_str_eq(fpd_json_str(json_array_get(env, 1), "name"),
	                 "FLYTE_INTERNAL_EXECUTION_ID");
	ck_assert_str_eq(fpd_json_str(c, "resources.requests.cpu"), "500m");
	ck_assert_str_eq(fpd_json_str(c, "resources.limits.memory"), "1Gi");
	json_t *ann = fpd_json_get(job, "metadata.annotations");
	ck_assert_str_eq(json_string_value(json_object_get(ann, FPD_CRD_OUTPUT_TYPES_ANNOTATION)),
	                 "{\"succeeded_pods\":\"integer\"}");
	json_decref(job);
	fpd_test_task_free(&t);
	fpd_crd_shutdown();
}
END_TEST

START_TEST(variables_render_with_their_types)
{
	static const char manifest[] = "spec:\n"
	                               "  count: {{ .inputs.n }}\n"     /* the integer input */
	                               "  label: \"{{ .inputs.n }}\"\n" /* quoted: a string */
	                               "  name: run-{{ .inputs.n }}-{{.execution.name}}\n"
	                               "  ns: {{ .Namespace }}\n" /* Flyte's names, any case */
	                               "  out: {{.outputPrefix}}\n"
	                               "  attempt: {{ .RetryAttempt }}\n"
	                               "  whole: {{ .custom }}\n"
	                               "  task: {{ .task.name }}@{{ .task.version }}\n"
	                               "  plain: [1, 2.5, true, null, x]\n";
	json_t *tmpl = NULL;
	struct fpd_error err = {0};
	ck_assert_msg(fpd_crd_manifest_parse(manifest, "m", &tmpl, &err) == 0, "%s", err.text);
	struct fpd_test_task t;
	json_t *fx = fpd_test_json_fixture("crd/job-task.json");
	fpd_test_task_load(&t, fx);
	json_decref(fx);
	json_t *out = NULL;
	ck_assert_msg(fpd_crd_manifest_render(tmpl, &t.task, &out, &err) == 0, "%s", err.text);
	json_t *want = json_loads(
	    "{\"spec\": {\"count\": 7, \"label\": \"7\", \"name\": \"run-7-f8a4b2c1d0\", "
	    "\"ns\": \"flytesnacks-development\", \"out\": \"s3://meta/f8a4b2c1d0/n0/0\", "
	    "\"attempt\": 0, \"whole\": {\"backoffLimit\": 3}, \"task\": "
	    "\"workflows.hello.say_hello@v1\", "
	    "\"plain\": [1, 2.5, true, null, \"x\"]}}",
	    0, NULL);
	ck_assert_ptr_nonnull(want);
	fpd_test_assert_json_eq(want, out, "rendered manifest");
	json_decref(want);
	json_decref(out);
	json_decref(tmpl);
	fpd_test_task_free(&t);
}
END_TEST

START_TEST(build_names_a_missing_custom_field)
{
	struct fpd_test_task t;
	struct fpd_error err = {0};
	const struct fpd_plugin *p = declare("batch-job.yaml");
	json_t *fx = fpd_test_json_fixture("crd/job-task.json");
	json_object_set_new(json_object_get(fx, "template"), "custom", json_object());
	fpd_test_task_load(&t, fx);
	json_decref(fx);
	json_t *out = NULL;
	ck_assert_int_eq(p->build(&t.task, &out, &err), FPD_EINVAL);
	ck_assert_msg(strstr(err.text, "spec: backoffLimit: {{ .custom.backoffLimit }}"),
	              "unexpected error: %s", err.text);
	fpd_test_task_free(&t);
	fpd_crd_shutdown();
}
END_TEST

/* Each case: a change to the batch-job example's spec and the text the refusal must hold. */
static const struct {
	const char *field, *value, *expect;
} bad[] = {
    {"manifest", "spec:\n  a: 1\n  b: {{ .nope }}\n",
     "spec.manifest: line 3 column 6: unknown variable {{ .nope }}"},
    {"manifest", "spec:\n  a: [1\n", "spec.manifest: line 3 column 1"},
    {"manifest", "apiVersion: v1\n", "apiVersion and kind come from spec.resource"},
    {"manifest", "metadata:\n  name: x\n", "metadata.name is Flyte's per-attempt name"},
    {"manifest", "- a\n", "the manifest must be a mapping"},
    {"manifest", "a: &x [1, *x]\n", "spec.manifest"},
    {"status.failed", "def f: f; f", "spec.status.failed: column 1: def is not allowed"},
    {"status.failed", ".a | while(true; .)", "spec.status.failed: column 6: while is not allowed"},
    {"status.failed", "[..]", "(recurse) is not allowed"},
    {"status.failed", "range(1e18)", "range is not allowed"},
    {"status.failed", "\"x\" * 1000000000", "* is not allowed"},
    {"status.failed", "test(\"a+\")", "test is not allowed"},
    {"status.failed", "split(\"a\"; \"g\")", "regular expression"},
    {"status.failed", "\"\\(input)\"", "input is not allowed"},
    {"status.failed", "$ENV.HOME", "$ENV is refused"},
    {"status.failed", ".a | tojson | tojson | tojson | tojson | tojson", "grow values"},
    {"status.failed", ".[] | .[] | .[] | .[] | .[]", "5 iterations, at most 4"},
    {"status.failed", ".status | select(", "spec.status.failed: "},
    {"status.failed", ".a\001", "spec.status.failed: column 3: control character"},
    {"status.succeeded", "null", NULL},
    {"status.timeout", "ten minutes", "spec.status.timeout"},
    {"status.failureKind", "operator", "spec.status.failureKind: expected user or system"},
    {"resource.plural", "", "spec.resource.plural: expected a non-empty string"},
    {"resource.apiVersion", "a/b/c", "is not group/version"},
    {"taskType.name", "Batch Job", "must be 1-63 characters"},
    {"logLinks", "[{\"name\": \"x\", \"uri\": \"{{ .pod }}\"}]",
     "spec.logLinks[0].uri: unknown variable"},
    {"extra", "1", "spec.extra: unknown field"},
    {"keep", "[\"spec.a b\"]", "spec.keep[0]: expected a dotted path"},
    {"outputs", "{\"n\": \"until(false; .)\"}", "spec.outputs.n: column 1: until is not allowed"},
};

START_TEST(refuses_bad_declarations_with_locations)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *decl = example("batch-job.yaml");
		json_t *spec = json_object_get(decl, "spec");
		char parent[64];
		snprintf(parent, sizeof(parent), "%s", bad[i].field);
		char *dot = strchr(parent, '.');
		json_t *obj = spec;
		const char *key = parent;
		if (dot) {
			*dot = '\0';
			obj = json_object_get(spec, parent);
			key = dot + 1;
		}
		json_t *v = NULL;
		if (bad[i].value && (bad[i].value[0] == '[' || bad[i].value[0] == '{') &&
		    strcmp(bad[i].field, "manifest") && strncmp(bad[i].field, "status", 6))
			v = json_loads(bad[i].value, 0, NULL);
		else if (!strcmp(bad[i].field, "extra"))
			v = json_integer(1);
		else
			v = bad[i].value && strcmp(bad[i].value, "null") ? json_string(bad[i].value)
			                                                 : json_null();
		ck_assert_ptr_nonnull(v);
		json_object_set_new(obj, key, v);
		struct fpd_crd_type *t = NULL;
		struct fpd_error err = {0};
		int rc = fpd_crd_type_compile(decl, &t, &err);
		ck_assert_msg(rc == FPD_EINVAL, "case %zu (%s = %s): accepted", i, bad[i].field,
		              bad[i].value);
		const char *expect =
		    bad[i].expect ? bad[i].expect : "succeeded and failed are required";
		ck_assert_msg(strstr(err.text, expect), "case %zu (%s): expected \"%s\" in \"%s\"",
		              i, bad[i].field, expect, err.text);
		json_decref(decl);
	}
}
END_TEST

START_TEST(scan_accepts_ordinary_rules)
{
	static const char *const ok[] = {
	    ".status.conditions[]? | select(.type == \"Complete\" and .status == \"True\")",
	    "(.status.active // 0) > 0",
	    "if .a then \"\\(.a) pods\" else empty end",
	    "[.status.jobsStatus[]? | .active] | add",
	    ".metadata.labels[\"app.kubernetes.io/name\"] // \"x\"",
	    "{phase: .status.phase, n: (.spec.replicas | tostring)}",
	    "# a comment with while and range\n.status",
	    ".status.message | ascii_downcase | startswith(\"oom\")",
	    ".a as $x | $x + 1",
	    "first(.items[]? | select(.ok))",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct fpd_error err = {0};
		struct fpd_crd_jq *q = NULL;
		ck_assert_msg(fpd_crd_jq_compile(ok[i], "rule", &q, &err) == 0, "%s: %s", ok[i],
		              err.text);
		fpd_crd_jq_free(q);
	}
}
END_TEST

/* ---- status ----------------------------------------------------------------------------- */

struct status_env {
	struct fpd_test_task t;
	struct fpd_status_ctx ctx;
	json_t *obj;
};

static void status_env(struct status_env *e, const char *type, const char *obj_json)
{
	memset(e, 0, sizeof(*e));
	json_t *fx = fpd_test_json_fixture("crd/job-task.json");
	json_object_set_new(json_object_get(fx, "template"), "type", json_string(type));
	fpd_test_task_load(&e->t, fx);
	json_decref(fx);
	json_error_t jerr;
	e->obj = json_loads(obj_json, 0, &jerr);
	ck_assert_msg(e->obj != NULL, "object: %s", jerr.text);
	e->ctx = (struct fpd_status_ctx){.ref = &e->t.task.ref,
	                                 .object = e->obj,
	                                 .settings = e->t.task.settings,
	                                 .now_ms = fpd_time_parse("2026-12-06T10:05:00Z")};
}

static void status_env_free(struct status_env *e)
{
	json_decref(e->obj);
	fpd_test_task_free(&e->t);
}

#define JOB_META                                                                                 \
	"\"metadata\": {\"name\": \"f8a4b2c1d0-n0-0\", \"namespace\": \"ns\", \"uid\": \"u1\", " \
	"\"creationTimestamp\": \"2026-12-06T10:00:00Z\", \"annotations\": "                     \
	"{\"flyteplugd.flyte.org/output-types\": \"{\\\"succeeded_pods\\\":\\\"integer\\\"}\"}}"

static const struct {
	const char *status;
	enum fpd_phase phase;
	const char *message;
} job_steps[] = {
    {"{}", FPD_PHASE_QUEUED, NULL},
    {"{\"startTime\": \"2026-12-06T10:00:01Z\", \"active\": 2}", FPD_PHASE_RUNNING,
     "2 pod(s) active"},
    {"{\"startTime\": \"2026-12-06T10:00:01Z\", \"failed\": 4, \"conditions\": [{\"type\": "
     "\"Failed\", \"status\": \"True\", \"reason\": \"BackoffLimitExceeded\", \"message\": "
     "\"Job has reached the specified backoff limit\"}]}",
     FPD_PHASE_FAILED, "Job has reached the specified backoff limit"},
    {"{\"startTime\": \"2026-12-06T10:00:01Z\", \"succeeded\": 1, \"conditions\": [{\"type\": "
     "\"Complete\", \"status\": \"True\"}]}",
     FPD_PHASE_SUCCEEDED, NULL},
};

START_TEST(job_status_sequence)
{
	declare("batch-job.yaml");
	for (size_t i = 0; i < sizeof(job_steps) / sizeof(job_steps[0]); i++) {
		char text[2048];
		snprintf(text, sizeof(text), "{" JOB_META ", \"status\": %s}", job_steps[i].status);
		struct status_env e;
		status_env(&e, "batch-job", text);
		struct fpd_phase_info pi = {0};
		run_status(&e.ctx, &pi);
		ck_assert_msg(pi.phase == job_steps[i].phase, "step %zu: expected %s, got %s (%s)",
		              i, fpd_phase_name(job_steps[i].phase), fpd_phase_name(pi.phase),
		              pi.message ? pi.message : "");
		if (job_steps[i].message)
			ck_assert_msg(pi.message && !strcmp(pi.message, job_steps[i].message),
			              "step %zu: message %s", i,
			              pi.message ? pi.message : "(none)");
		if (pi.phase == FPD_PHASE_FAILED)
			ck_assert_int_eq(pi.kind, FPD_KIND_USER);
		ck_assert_uint_eq(pi.log_count, 1);
		ck_assert_str_eq(pi.logs[0].uri,
		                 "https://console.example.com/ns/jobs/f8a4b2c1d0-n0-0");
		if (pi.phase == FPD_PHASE_SUCCEEDED) {
			json_t *want =
			    json_loads("{\"literals\": {\"succeeded_pods\": {\"scalar\": "
			               "{\"primitive\": {\"integer\": \"1\"}}}}}",
			               0, NULL);
			fpd_test_assert_json_eq(want, pi.outputs, "outputs");
			json_decref(want);
			/* What the engine does with them: a LiteralMap by proto3 JSON rules. */
			ProtobufCMessage *msg = NULL;
			struct fpd_error err = {0};
			ck_assert_msg(fpd_json_to_message(pi.outputs,
			                                  &flyteidl__core__literal_map__descriptor,
			                                  &msg, &err) == 0,
			              "outputs as a LiteralMap: %s", err.text);
			const Flyteidl__Core__LiteralMap *lm =
			    (const Flyteidl__Core__LiteralMap *)msg;
			ck_assert_uint_eq(lm->n_literals, 1);
			ck_assert_str_eq(lm->literals[0]->key, "succeeded_pods");
			ck_assert_int_eq(lm->literals[0]->value->scalar->primitive->integer, 1);
			protobuf_c_message_free_unpacked(msg, NULL);
		} else {
			ck_assert_ptr_null(pi.outputs);
		}
		fpd_phase_info_clear(&pi);
		status_env_free(&e);
	}
	fpd_crd_shutdown();
}
END_TEST

START_TEST(trainjob_loss_output_is_a_float)
{
	declare("trainjob.yaml");
	struct status_env e;
	status_env(&e, "trainjob",
	           "{\"metadata\": {\"name\": \"x\", \"annotations\": "
	           "{\"flyteplugd.flyte.org/output-types\": \"{\\\"loss\\\":\\\"float\\\"}\"}}, "
	           "\"status\": {\"conditions\": [{\"type\": \"Complete\", \"status\": \"True\"}], "
	           "\"trainerStatus\": {\"metrics\": [{\"name\": \"acc\", \"value\": \"0.9\"}, "
	           "{\"name\": \"loss\", \"value\": \"0.125\"}]}}}");
	struct fpd_phase_info pi = {0};
	run_status(&e.ctx, &pi);
	ck_assert_msg(pi.phase == FPD_PHASE_SUCCEEDED, "expected SUCCEEDED, got %s (%s)",
	              fpd_phase_name(pi.phase), pi.message ? pi.message : "");
	ProtobufCMessage *msg = NULL;
	struct fpd_error err = {0};
	ck_assert_msg(fpd_json_to_message(pi.outputs, &flyteidl__core__literal_map__descriptor,
	                                  &msg, &err) == 0,
	              "%s", err.text);
	const Flyteidl__Core__LiteralMap *lm = (const Flyteidl__Core__LiteralMap *)msg;
	ck_assert_str_eq(lm->literals[0]->key, "loss");
	ck_assert_double_eq(lm->literals[0]->value->scalar->primitive->float_value, 0.125);
	protobuf_c_message_free_unpacked(msg, NULL);
	fpd_phase_info_clear(&pi);
	status_env_free(&e);
	fpd_crd_shutdown();
}
END_TEST

START_TEST(mistyped_output_fails_the_task)
{
	declare("batch-job.yaml");
	struct status_env e;
	status_env(&e, "batch-job",
	           "{" JOB_META
	           ", \"status\": {\"succeeded\": \"many\", \"conditions\": [{\"type\": "
	           "\"Complete\", \"status\": \"True\"}]}}");
	struct fpd_phase_info pi = {0};
	run_status(&e.ctx, &pi);
	ck_assert_int_eq(pi.phase, FPD_PHASE_FAILED);
	ck_assert_str_eq(pi.code, "OutputsMissing");
	ck_assert_msg(strstr(pi.message, "output succeeded_pods: expected an integer"), "%s",
	              pi.message);
	ck_assert_ptr_null(pi.outputs);
	fpd_phase_info_clear(&pi);
	status_env_free(&e);
	fpd_crd_shutdown();
}
END_TEST

START_TEST(stuck_child_pod_fails_fast)
{
	declare("batch-job.yaml");
	struct status_env e;
	status_env(&e, "batch-job",
	           "{" JOB_META
	           ", \"status\": {\"startTime\": \"2026-12-06T10:00:01Z\", \"active\": 1}}");
	json_t *pod = json_loads(
	    "{\"metadata\": {\"name\": \"f8a4b2c1d0-n0-0-abcde\", \"namespace\": \"ns\", "
	    "\"creationTimestamp\": \"2026-12-06T10:00:00Z\"}, \"spec\": {\"containers\": "
	    "[{\"name\": \"main\"}]}, \"status\": {\"phase\": \"Pending\", \"conditions\": "
	    "[{\"type\": \"PodScheduled\", \"status\": \"True\"}, {\"type\": \"Ready\", "
	    "\"status\": \"False\", \"reason\": \"ContainersNotReady\"}], \"containerStatuses\": "
	    "[{\"name\": \"main\", \"ready\": false, \"state\": {\"waiting\": {\"reason\": "
	    "\"InvalidImageName\", \"message\": \"bad image\"}}}]}}",
	    0, NULL);
	ck_assert_ptr_nonnull(pod);
	const json_t *pods[] = {pod};
	e.ctx.pods = pods;
	e.ctx.pod_count = 1;
	struct fpd_phase_info pi = {0};
	run_status(&e.ctx, &pi);
	ck_assert_msg(fpd_phase_is_failure(pi.phase), "expected a failure, got %s",
	              fpd_phase_name(pi.phase));
	ck_assert_msg(pi.message && strstr(pi.message, "pod f8a4b2c1d0-n0-0-abcde: "), "%s",
	              pi.message ? pi.message : "(none)");
	ck_assert(pi.cleanup);
	fpd_phase_info_clear(&pi);
	json_decref(pod);
	status_env_free(&e);
	fpd_crd_shutdown();
}
END_TEST

START_TEST(no_known_status_times_out)
{
	declare("jobset.yaml"); /* no queued rule; timeout 15m */
	struct status_env e;
	status_env(&e, "jobset",
	           "{\"metadata\": {\"name\": \"x\", \"creationTimestamp\": "
	           "\"2026-12-06T10:00:00Z\"}, \"status\": {}}");
	struct fpd_phase_info pi = {0};
	run_status(&e.ctx, &pi);
	ck_assert_int_eq(pi.phase, FPD_PHASE_UNDEFINED);
	ck_assert_int_eq(pi.recheck_at_ms, fpd_time_parse("2026-12-06T10:15:00Z"));
	fpd_phase_info_clear(&pi);
	e.ctx.now_ms = fpd_time_parse("2026-12-06T10:15:00Z");
	run_status(&e.ctx, &pi);
	ck_assert_int_eq(pi.phase, FPD_PHASE_RETRYABLE_FAILED);
	ck_assert_int_eq(pi.kind, FPD_KIND_SYSTEM);
	ck_assert_str_eq(pi.code, "Timeout");
	fpd_phase_info_clear(&pi);
	status_env_free(&e);
	fpd_crd_shutdown();
}
END_TEST

START_TEST(jobset_failure_is_retryable_until_restarts_run_out)
{
	declare("jobset.yaml");
	static const struct {
		int restarts;
		enum fpd_phase phase;
	} cases[] = {{0, FPD_PHASE_RETRYABLE_FAILED}, {3, FPD_PHASE_FAILED}};
	for (size_t i = 0; i < 2; i++) {
		char text[1024];
		snprintf(
		    text, sizeof(text),
		    "{\"metadata\": {\"name\": \"x\"}, \"status\": {\"restarts\": %d, "
		    "\"conditions\": [{\"type\": \"Failed\", \"status\": \"True\", \"message\": "
		    "\"jobset failed\"}]}}",
		    cases[i].restarts);
		struct status_env e;
		status_env(&e, "jobset", text);
		struct fpd_phase_info pi = {0};
		run_status(&e.ctx, &pi);
		ck_assert_int_eq(pi.phase, cases[i].phase);
		ck_assert_str_eq(pi.message, "jobset failed");
		fpd_phase_info_clear(&pi);
		status_env_free(&e);
	}
	fpd_crd_shutdown();
}
END_TEST

START_TEST(child_pod_links_are_named_by_role)
{
	declare("jobset.yaml");
	struct status_env e;
	status_env(&e, "jobset", "{\"metadata\": {\"name\": \"js\"}, \"status\": {}}");
	json_t *logs = json_pack("{sbs[{sss[s]}]}", "kubernetes-enabled", 0, "templates",
	                         "displayName", "Logs", "templateUris", "https://l/{{ .podName }}");
	struct fpd_config cfg;
	json_t *config = json_pack("{so}", "logs", logs);
	fpd_test_config_load(&cfg, config);
	json_decref(config);
	e.ctx.settings = &cfg.settings;
	static const char *const names[3][2] = {{"js-workers-0-0", "workers"},
	                                        {"js-driver-0-0", "driver"},
	                                        {"js-workers-0-1", "workers"}};
	json_t *pods[3];
	for (int i = 0; i < 3; i++)
		pods[i] =
		    json_pack("{s{sss{ss}}s{s[{ss}]}s{ss}}", "metadata", "name", names[i][0],
		              "labels", "jobset.sigs.k8s.io/replicatedjob-name", names[i][1],
		              "spec", "containers", "name", "c", "status", "phase", "Running");
	e.ctx.pods = (const json_t *const *)pods;
	e.ctx.pod_count = 3;
	struct fpd_phase_info pi = {0};
	run_status(&e.ctx, &pi);
	ck_assert_uint_eq(pi.log_count, 3);
	ck_assert_str_eq(pi.logs[0].name, "Logs (workers 0)");
	ck_assert_str_eq(pi.logs[1].name, "Logs (driver)");
	ck_assert_str_eq(pi.logs[2].name, "Logs (workers 1)");
	ck_assert_str_eq(pi.logs[2].uri, "https://l/js-workers-0-1");
	fpd_phase_info_clear(&pi);
	for (int i = 0; i < 3; i++)
		json_decref(pods[i]);
	fpd_test_config_free(&cfg);
	status_env_free(&e);
	fpd_crd_shutdown();
}
END_TEST

START_TEST(withdrawn_type_is_still_followed)
{
	/* A task started before its type was withdrawn keeps the rules it started under. */
	declare("batch-job.yaml");
	fpd_crd_withdraw("batch-job");
	struct status_env e;
	status_env(&e, "batch-job",
	           "{" JOB_META ", \"status\": {\"active\": 1, "
	           "\"startTime\": \"2026-01-01T00:00:00Z\"}}");
	struct fpd_phase_info pi = {0};
	run_status(&e.ctx, &pi);
	ck_assert_msg(pi.phase == FPD_PHASE_RUNNING, "expected RUNNING, saw %s (%s)",
	              fpd_phase_name(pi.phase), pi.message ? pi.message : "");
	fpd_phase_info_clear(&pi);
	/* A type never declared in this process (a restart since): undeclared, phase kept. The
	 * hook is every type's, and outlives the descriptors shutdown frees. */
	void (*status)(const struct fpd_status_ctx *, struct fpd_phase_info *) = last->status;
	fpd_crd_shutdown();
	status(&e.ctx, &pi);
	ck_assert_int_eq(pi.phase, FPD_PHASE_UNDEFINED);
	ck_assert_msg(strstr(pi.message, "no longer declared"), "%s", pi.message);
	fpd_phase_info_clear(&pi);
	status_env_free(&e);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("plugins_crd");
	TCase *tc = tcase_create("crd");
	tcase_add_test(tc, examples_compile_into_descriptors);
	tcase_add_test(tc, job_manifest_renders_typed_values);
	tcase_add_test(tc, variables_render_with_their_types);
	tcase_add_test(tc, build_names_a_missing_custom_field);
	tcase_add_test(tc, refuses_bad_declarations_with_locations);
	tcase_add_test(tc, scan_accepts_ordinary_rules);
	tcase_add_test(tc, job_status_sequence);
	tcase_add_test(tc, trainjob_loss_output_is_a_float);
	tcase_add_test(tc, mistyped_output_fails_the_task);
	tcase_add_test(tc, stuck_child_pod_fails_fast);
	tcase_add_test(tc, no_known_status_times_out);
	tcase_add_test(tc, jobset_failure_is_retryable_until_restarts_run_out);
	tcase_add_test(tc, child_pod_links_are_named_by_role);
	tcase_add_test(tc, withdrawn_type_is_still_followed);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
