/*
 * TaskTemplate.custom to plugin messages (structpb.c, flyteplugd/structpb.h).
 *
 * google.protobuf.Struct to JSON, the one converter the engine (TaskTemplate.custom) and the
 * plugins (pod specs) share, is tested under "struct".
 *
 * Fixtures: tests/fixtures/structpb/NAME.{camel,snake}.json are every plugin message of
 * flyteidl/plugins/ and flyteidl/plugins/kubeflow/ as the real flyteidl 1.16.8 Python package
 * writes them (MessageToDict: camelCase keys, enums by name, int64 as strings; and with
 * preserving_proto_field_name + use_integers_for_enums), made by generate.py beside them.
 * NAME.pb is what protobuf's own serializer makes of the message and NAME.struct.pb of the
 * Struct flytekit would send; the bytes flyteplugd builds must equal both. Every fixture takes
 * the production path: JSON -> google.protobuf.Struct (numbers become doubles) -> message.
 */
#include <flyteplugd/error.h>
#include <flyteplugd/mem.h>
#include <flyteplugd/structpb.h>
#include "fpd_test.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "flyteidl/plugins/array_job.pb-c.h"
#include "flyteidl/plugins/common.pb-c.h"
#include "flyteidl/plugins/dask.pb-c.h"
#include "flyteidl/plugins/kubeflow/common.pb-c.h"
#include "flyteidl/plugins/kubeflow/mpi.pb-c.h"
#include "flyteidl/plugins/kubeflow/pytorch.pb-c.h"
#include "flyteidl/plugins/kubeflow/tensorflow.pb-c.h"
#include "flyteidl/plugins/mpi.pb-c.h"
#include "flyteidl/plugins/presto.pb-c.h"
#include "flyteidl/plugins/pytorch.pb-c.h"
#include "flyteidl/plugins/qubole.pb-c.h"
#include "flyteidl/plugins/ray.pb-c.h"
#include "flyteidl/plugins/spark.pb-c.h"
#include "flyteidl/plugins/tensorflow.pb-c.h"
#include "flyteidl/plugins/waitable.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/duration.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "google/protobuf/wrappers.pb-c.h"
#include "structpb_test.pb-c.h"
#include "structpb_test2.pb-c.h"

/* The fixtures keep the deprecated fields older flytekit versions still send; reading them back
 * is the point, so the deprecation warnings protobuf-c attaches are silenced here. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

static const char *const styles[] = {"camel", "snake"};

/* ---- helpers ---------------------------------------------------------------------------- */

static json_t *parse(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	ck_assert_msg(j != NULL, "bad test JSON (%s): %s", jerr.text, text);
	return j;
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = fpd_malloc(*len);
	ck_assert_uint_eq(protobuf_c_message_pack(m, buf), *len);
	return buf;
}

/* Fails naming the first differing byte unless m packs to exactly the bytes of fixture rel. */
static void assert_packs_as(const ProtobufCMessage *m, const char *rel)
{
	size_t want_len, got_len;
	char *want = fpd_read_fixture(rel, &want_len);
	uint8_t *got = pack(m, &got_len);
	size_t i = 0;
	while (i < want_len && i < got_len && (uint8_t)want[i] == got[i])
		i++;
	ck_assert_msg(i == want_len && i == got_len,
	              "%s: %zu bytes expected, %zu built, first difference at offset %zu", rel,
	              want_len, got_len, i);
	free(want);
	free(got);
}

static Google__Protobuf__Struct *struct_of(const json_t *j)
{
	ProtobufCMessage *m = NULL;
	struct fpd_error err;
	int rc = fpd_json_to_message(j, &google__protobuf__struct__descriptor, &m, &err);
	ck_assert_msg(rc == FPD_OK, "JSON to Struct failed: %s", err.text);
	return (Google__Protobuf__Struct *)m;
}

/* JSON text -> Struct -> message of type d, as custom arrives; rc and err as the call gives. */
static int decode_text(const char *text, const ProtobufCMessageDescriptor *d,
                       ProtobufCMessage **out, struct fpd_error *err)
{
	json_t *j = parse(text);
	Google__Protobuf__Struct *s = struct_of(j);
	*out = NULL;
	int rc = fpd_struct_to_message(s, d, out, err);
	ck_assert_msg((rc == FPD_OK) == (*out != NULL), "rc %d but message %p", rc, (void *)*out);
	if (rc == FPD_OK)
		ck_assert_msg(protobuf_c_message_check(*out),
		              "built message fails protobuf_c check");
	protobuf_c_message_free_unpacked(&s->base, NULL);
	json_decref(j);
	return rc;
}

static ProtobufCMessage *decode_ok(const char *text, const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *m;
	struct fpd_error err;
	int rc = decode_text(text, d, &m, &err);
	ck_assert_msg(rc == FPD_OK, "%s: expected success, got %s", text, err.text);
	return m;
}

/* Decoding text must fail with code and exactly the message want. */
static void decode_fails(const char *text, const ProtobufCMessageDescriptor *d, int code,
                         const char *want)
{
	ProtobufCMessage *m;
	struct fpd_error err;
	int rc = decode_text(text, d, &m, &err);
	ck_assert_msg(rc == code, "%s: expected %s, got %s (%s)", text, fpd_strerror(code),
	              fpd_strerror(rc), rc ? err.text : "no error");
	ck_assert_msg(strcmp(err.text, want) == 0, "%s:\n expected error: %s\n got:            %s",
	              text, want, err.text);
}

/* Like decode_fails, straight from JSON (for tops that are not objects, or no Struct path). */
static void json_fails(const char *text, const ProtobufCMessageDescriptor *d, int code,
                       const char *want)
{
	json_t *j = parse(text);
	ProtobufCMessage *m = NULL;
	struct fpd_error err;
	int rc = fpd_json_to_message(j, d, &m, &err);
	json_decref(j);
	ck_assert_ptr_null(m);
	ck_assert_msg(rc == code && strcmp(err.text, want) == 0,
	              "%s:\n expected %s: %s\n got %s:      %s", text, fpd_strerror(code), want,
	              fpd_strerror(rc), rc ? err.text : "");
}

static ProtobufCMessage *json_ok(const char *text, const ProtobufCMessageDescriptor *d)
{
	json_t *j = parse(text);
	ProtobufCMessage *m = NULL;
	struct fpd_error err;
	int rc = fpd_json_to_message(j, d, &m, &err);
	json_decref(j);
	ck_assert_msg(rc == FPD_OK, "%s: expected success, got %s", text, err.text);
	ck_assert_msg(protobuf_c_message_check(m), "%s: built message fails protobuf_c check",
	              text);
	return m;
}

/* Fixture NAME in style, decoded the production way; its bytes checked against NAME.pb. */
static ProtobufCMessage *decode_fixture(const char *name, const char *style,
                                        const ProtobufCMessageDescriptor *d)
{
	char rel[128];
	snprintf(rel, sizeof(rel), "structpb/%s.%s.json", name, style);
	char *text = fpd_read_fixture(rel, NULL);
	ProtobufCMessage *m = decode_ok(text, d);
	free(text);
	snprintf(rel, sizeof(rel), "structpb/%s.pb", name);
	assert_packs_as(m, rel);
	return m;
}

/* Value of key in the entries of a map<string, string> field (any entry type). */
static const char *smap(void *entries, size_t n, const char *key)
{
	ProtobufCMessage **e = entries;
	for (size_t i = 0; i < n; i++) {
		const ProtobufCFieldDescriptor *f = e[i]->descriptor->fields;
		const char *k = *(char **)(void *)((char *)e[i] + f[0].offset);
		if (strcmp(k, key) == 0)
			return *(char **)(void *)((char *)e[i] + f[1].offset);
	}
	ck_abort_msg("map has no key %s", key);
	return NULL;
}

static const Google__Protobuf__Value *sget(const Google__Protobuf__Struct *s, const char *key)
{
	ck_assert_ptr_nonnull(s);
	for (size_t i = 0; i < s->n_fields; i++) {
		if (strcmp(s->fields[i]->key, key) == 0)
			return s->fields[i]->value;
	}
	ck_abort_msg("Struct has no key %s", key);
	return NULL;
}

static void check_entry(const Flyteidl__Core__Resources__ResourceEntry *e,
                        Flyteidl__Core__Resources__ResourceName name, const char *value)
{
	ck_assert_int_eq(e->name, name);
	ck_assert_str_eq(e->value, value);
}

/* requests cpu + memory; limits the same plus gpu when gpu is not NULL (see generate.py). */
static void check_resources(const Flyteidl__Core__Resources *r, const char *cpu, const char *mem,
                            const char *gpu)
{
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->n_requests, 2);
	check_entry(r->requests[0], FLYTEIDL__CORE__RESOURCES__RESOURCE_NAME__CPU, cpu);
	check_entry(r->requests[1], FLYTEIDL__CORE__RESOURCES__RESOURCE_NAME__MEMORY, mem);
	ck_assert_uint_eq(r->n_limits, gpu ? 3 : 2);
	check_entry(r->limits[0], FLYTEIDL__CORE__RESOURCES__RESOURCE_NAME__CPU, cpu);
	check_entry(r->limits[1], FLYTEIDL__CORE__RESOURCES__RESOURCE_NAME__MEMORY, mem);
	if (gpu)
		check_entry(r->limits[2], FLYTEIDL__CORE__RESOURCES__RESOURCE_NAME__GPU, gpu);
}

/* The K8sPod generate.py builds for role. */
static void check_pod(const Flyteidl__Core__K8sPod *p, const char *role)
{
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->primary_container_name, "primary");
	ck_assert_str_eq(smap(p->metadata->labels, p->metadata->n_labels, "role"), role);
	ck_assert_str_eq(smap(p->metadata->labels, p->metadata->n_labels, "team"), "ml");
	ck_assert_str_eq(
	    smap(p->metadata->annotations, p->metadata->n_annotations, "cluster-autoscaler/safe"),
	    "true");
	const Google__Protobuf__Value *v = sget(p->pod_spec, "terminationGracePeriodSeconds");
	ck_assert_int_eq(v->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE);
	ck_assert_double_eq(v->number_value, 30);
	ck_assert_int_eq(sget(p->pod_spec, "hostNetwork")->bool_value, 0);
	ck_assert_int_eq(sget(p->pod_spec, "priorityClassName")->kind_case,
	                 GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE);
	const Google__Protobuf__ListValue *cs = sget(p->pod_spec, "containers")->list_value;
	ck_assert_uint_eq(cs->n_values, 1);
	const Google__Protobuf__Struct *c = cs->values[0]->struct_value;
	ck_assert_str_eq(sget(c, "name")->string_value, "primary");
	ck_assert_str_eq(sget(c, "args")->list_value->values[2]->string_value, "{{.input}}");
	const Google__Protobuf__Struct *lim =
	    sget(sget(c, "resources")->struct_value, "limits")->struct_value;
	ck_assert_str_eq(sget(lim, "cpu")->string_value, "2");
}

/* ---- every plugin message, from both fixture styles -------------------------------------- */

static const struct {
	const char *name;
	const ProtobufCMessageDescriptor *desc;
} fixtures[] = {
    {"array_job", &flyteidl__plugins__array_job__descriptor},
    {"array_job_ratio", &flyteidl__plugins__array_job__descriptor},
    {"common_replica_spec", &flyteidl__plugins__common_replica_spec__descriptor},
    {"dask_job", &flyteidl__plugins__dask_job__descriptor},
    {"mpi", &flyteidl__plugins__distributed_mpitraining_task__descriptor},
    {"presto_query", &flyteidl__plugins__presto_query__descriptor},
    {"pytorch", &flyteidl__plugins__distributed_py_torch_training_task__descriptor},
    {"qubole_hive_job", &flyteidl__plugins__qubole_hive_job__descriptor},
    {"ray_job", &flyteidl__plugins__ray_job__descriptor},
    {"spark_application", &flyteidl__plugins__spark_application__descriptor},
    {"spark_job", &flyteidl__plugins__spark_job__descriptor},
    {"tensorflow", &flyteidl__plugins__distributed_tensorflow_training_task__descriptor},
    {"waitable", &flyteidl__plugins__waitable__descriptor},
    {"kf_run_policy", &flyteidl__plugins__kubeflow__run_policy__descriptor},
    {"kf_mpi", &flyteidl__plugins__kubeflow__distributed_mpitraining_task__descriptor},
    {"kf_pytorch", &flyteidl__plugins__kubeflow__distributed_py_torch_training_task__descriptor},
    {"kf_tensorflow",
     &flyteidl__plugins__kubeflow__distributed_tensorflow_training_task__descriptor},
};

/* Loop index: fixture i / 2 in style i % 2; its bytes must equal protobuf's own (NAME.pb). */
START_TEST(fixture_matches_protobuf)
{
	ProtobufCMessage *m =
	    decode_fixture(fixtures[_i / 2].name, styles[_i % 2], fixtures[_i / 2].desc);
	protobuf_c_message_free_unpacked(m, NULL);
}
END_TEST

/* a and b hold the same JSON, a number matching by value whether integer or real. */
static bool json_same(const json_t *a, const json_t *b)
{
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	if (json_typeof(a) != json_typeof(b))
		return false;
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return false;
		for (size_t i = 0; i < json_array_size(a); i++) {
			if (!json_same(json_array_get(a, i), json_array_get(b, i)))
				return false;
		}
		return true;
	}
	if (json_is_object(a)) {
		const char *k;
		json_t *v;
		if (json_object_size(a) != json_object_size(b))
			return false;
		json_object_foreach((json_t *)a, k, v)
		{
			const json_t *w = json_object_get(b, k);
			if (!w || !json_same(v, w))
				return false;
		}
		return true;
	}
	return json_equal(a, b);
}

/* The Struct built from each camelCase fixture equals the one protobuf builds (NAME.struct.pb),
 * and converts back to the same JSON. */
START_TEST(fixture_struct_matches_protobuf)
{
	char rel[128];
	snprintf(rel, sizeof(rel), "structpb/%s.camel.json", fixtures[_i].name);
	char *text = fpd_read_fixture(rel, NULL);
	json_t *j = parse(text);
	Google__Protobuf__Struct *s = struct_of(j);
	snprintf(rel, sizeof(rel), "structpb/%s.struct.pb", fixtures[_i].name);
	assert_packs_as(&s->base, rel);
	json_t *back = NULL;
	struct fpd_error err;
	ck_assert_int_eq(fpd_struct_to_json(s, &back, &err), FPD_OK);
	if (!json_same(j, back)) {
		char *b = json_dumps(back, JSON_SORT_KEYS | JSON_COMPACT);
		ck_abort_msg("%s changed in the round trip through Struct:\n%s\n%s", rel, text, b);
	}
	json_decref(back);
	json_decref(j);
	protobuf_c_message_free_unpacked(&s->base, NULL);
	free(text);
}
END_TEST

#define FOR_EACH_STYLE(name, type, var, desc)                                             \
	for (size_t style_ = 0; style_ < 2; style_++)                                     \
		for (type *var = (type *)decode_fixture(name, styles[style_], desc); var; \
		     protobuf_c_message_free_unpacked(&var->base, NULL), var = NULL)

START_TEST(array_job_fields)
{
	FOR_EACH_STYLE("array_job", Flyteidl__Plugins__ArrayJob, a,
	               &flyteidl__plugins__array_job__descriptor)
	{
		ck_assert_int_eq(a->parallelism, 10);
		ck_assert_int_eq(a->size, 100);
		ck_assert_int_eq(a->success_criteria_case,
		                 FLYTEIDL__PLUGINS__ARRAY_JOB__SUCCESS_CRITERIA_MIN_SUCCESSES);
		ck_assert_int_eq(a->min_successes, 90);
	}
	FOR_EACH_STYLE("array_job_ratio", Flyteidl__Plugins__ArrayJob, a,
	               &flyteidl__plugins__array_job__descriptor)
	{
		ck_assert_int_eq(a->parallelism, 2);
		ck_assert_int_eq(a->size, 5);
		ck_assert_int_eq(a->success_criteria_case,
		                 FLYTEIDL__PLUGINS__ARRAY_JOB__SUCCESS_CRITERIA_MIN_SUCCESS_RATIO);
		ck_assert_float_eq(a->min_success_ratio, 0.75f);
	}
}
END_TEST

START_TEST(common_replica_spec_fields)
{
	FOR_EACH_STYLE("common_replica_spec", Flyteidl__Plugins__CommonReplicaSpec, c,
	               &flyteidl__plugins__common_replica_spec__descriptor)
	{
		ck_assert_int_eq(c->replicas, 2);
		ck_assert_str_eq(c->image, "repo/img:1");
		check_resources(c->resources, "1", "2Gi", "1");
		ck_assert_int_eq(c->restart_policy,
		                 FLYTEIDL__PLUGINS__RESTART_POLICY__RESTART_POLICY_ON_FAILURE);
	}
}
END_TEST

START_TEST(dask_job_fields)
{
	FOR_EACH_STYLE("dask_job", Flyteidl__Plugins__DaskJob, d,
	               &flyteidl__plugins__dask_job__descriptor)
	{
		ck_assert_str_eq(d->scheduler->image, "dask/scheduler:2024");
		check_resources(d->scheduler->resources, "1", "1Gi", NULL);
		ck_assert_uint_eq(d->workers->number_of_workers, 4);
		ck_assert_str_eq(d->workers->image, "dask/worker:2024");
		check_resources(d->workers->resources, "2", "8Gi", "1");
	}
}
END_TEST

START_TEST(training_v0_fields)
{
	FOR_EACH_STYLE("mpi", Flyteidl__Plugins__DistributedMPITrainingTask, m,
	               &flyteidl__plugins__distributed_mpitraining_task__descriptor)
	{
		ck_assert_int_eq(m->num_workers, 2);
		ck_assert_int_eq(m->num_launcher_replicas, 1);
		ck_assert_int_eq(m->slots, 4);
	}
	FOR_EACH_STYLE("pytorch", Flyteidl__Plugins__DistributedPyTorchTrainingTask, p,
	               &flyteidl__plugins__distributed_py_torch_training_task__descriptor)
	{
		ck_assert_int_eq(p->workers, 3);
		ck_assert_str_eq(p->elastic_config->rdzv_backend, "c10d");
		ck_assert_int_eq(p->elastic_config->min_replicas, 1);
		ck_assert_int_eq(p->elastic_config->max_replicas, 4);
		ck_assert_int_eq(p->elastic_config->nproc_per_node, 8);
		ck_assert_int_eq(p->elastic_config->max_restarts, 3);
	}
	FOR_EACH_STYLE("tensorflow", Flyteidl__Plugins__DistributedTensorflowTrainingTask, t,
	               &flyteidl__plugins__distributed_tensorflow_training_task__descriptor)
	{
		ck_assert_int_eq(t->workers, 4);
		ck_assert_int_eq(t->ps_replicas, 2);
		ck_assert_int_eq(t->chief_replicas, 1);
		ck_assert_int_eq(t->evaluator_replicas, 1);
	}
}
END_TEST

START_TEST(query_fields)
{
	FOR_EACH_STYLE("presto_query", Flyteidl__Plugins__PrestoQuery, p,
	               &flyteidl__plugins__presto_query__descriptor)
	{
		ck_assert_str_eq(p->routing_group, "adhoc");
		ck_assert_str_eq(p->catalog, "hive");
		ck_assert_str_eq(p->schema, "city");
		ck_assert_str_eq(p->statement, "SELECT * FROM trips LIMIT 10");
	}
	FOR_EACH_STYLE("qubole_hive_job", Flyteidl__Plugins__QuboleHiveJob, q,
	               &flyteidl__plugins__qubole_hive_job__descriptor)
	{
		ck_assert_str_eq(q->cluster_label, "default");
		ck_assert_uint_eq(q->query_collection->n_queries, 2);
		ck_assert_str_eq(q->query_collection->queries[1]->query, "SELECT 2");
		ck_assert_uint_eq(q->query_collection->queries[1]->timeout_sec, 120);
		ck_assert_uint_eq(q->query_collection->queries[1]->retrycount, 2);
		ck_assert_uint_eq(q->n_tags, 2);
		ck_assert_str_eq(q->tags[0], "flyte");
		ck_assert_str_eq(q->tags[1], "hive");
		ck_assert_str_eq(q->query->query, "SELECT * FROM t");
		ck_assert_uint_eq(q->query->timeout_sec, 3600);
		ck_assert_uint_eq(q->query->retrycount, 3);
	}
}
END_TEST

static void check_worker_group(const Flyteidl__Plugins__WorkerGroupSpec *w, const char *name,
                               int replicas, int min, int max)
{
	ck_assert_str_eq(w->group_name, name);
	ck_assert_int_eq(w->replicas, replicas);
	ck_assert_int_eq(w->min_replicas, min);
	ck_assert_int_eq(w->max_replicas, max);
	ck_assert_uint_eq(w->n_ray_start_params, 1);
}

START_TEST(ray_job_fields)
{
	FOR_EACH_STYLE("ray_job", Flyteidl__Plugins__RayJob, r,
	               &flyteidl__plugins__ray_job__descriptor)
	{
		const Flyteidl__Plugins__RayCluster *c = r->ray_cluster;
		const Flyteidl__Plugins__HeadGroupSpec *h = c->head_group_spec;
		ck_assert_uint_eq(h->n_ray_start_params, 2);
		ck_assert_str_eq(smap(h->ray_start_params, 2, "num-cpus"), "1");
		ck_assert_str_eq(smap(h->ray_start_params, 2, "dashboard-host"), "0.0.0.0");
		check_pod(h->k8s_pod, "head");
		ck_assert_uint_eq(c->n_worker_group_spec, 2);
		check_worker_group(c->worker_group_spec[0], "cpu", 2, 1, 5);
		ck_assert_str_eq(smap(c->worker_group_spec[0]->ray_start_params, 1, "num-cpus"),
		                 "4");
		check_pod(c->worker_group_spec[0]->k8s_pod, "worker");
		check_worker_group(c->worker_group_spec[1], "gpu", 1, 0, 2);
		ck_assert_str_eq(smap(c->worker_group_spec[1]->ray_start_params, 1, "num-gpus"),
		                 "1");
		ck_assert_ptr_null(c->worker_group_spec[1]->k8s_pod);
		ck_assert_int_eq(c->enable_autoscaling, 1);
		ck_assert_str_eq(r->runtime_env, "eyJwaXAiOiBbIm51bXB5Il19");
		ck_assert_int_eq(r->shutdown_after_job_finishes, 1);
		ck_assert_int_eq(r->ttl_seconds_after_finished, 600);
		ck_assert_str_eq(r->runtime_env_yaml, "pip:\n- numpy\n");
	}
}
END_TEST

START_TEST(spark_fields)
{
	FOR_EACH_STYLE("spark_application", Flyteidl__Plugins__SparkApplication, a,
	               &flyteidl__plugins__spark_application__descriptor)
	{
		ck_assert_uint_eq(protobuf_c_message_get_packed_size(&a->base), 0);
	}
	FOR_EACH_STYLE("spark_job", Flyteidl__Plugins__SparkJob, s,
	               &flyteidl__plugins__spark_job__descriptor)
	{
		ck_assert_int_eq(s->applicationtype,
		                 FLYTEIDL__PLUGINS__SPARK_APPLICATION__TYPE__SCALA);
		ck_assert_str_eq(s->mainapplicationfile,
		                 "local:///opt/spark/examples/jars/spark-examples.jar");
		ck_assert_str_eq(s->mainclass, "org.apache.spark.examples.SparkPi");
		ck_assert_uint_eq(s->n_sparkconf, 3);
		ck_assert_str_eq(smap(s->sparkconf, 3, "spark.executor.instances"), "3");
		ck_assert_str_eq(smap(s->sparkconf, 3, "spark.driver.memory"), "1g");
		ck_assert_uint_eq(s->n_hadoopconf, 1);
		ck_assert_str_eq(smap(s->hadoopconf, 1, "fs.s3a.path.style.access"), "true");
		ck_assert_str_eq(s->executorpath, "/usr/bin/python3");
		ck_assert_str_eq(sget(s->databricksconf, "run_name")->string_value, "flyte");
		ck_assert_double_eq(sget(s->databricksconf, "timeout_seconds")->number_value,
		                    3600.5);
		const Google__Protobuf__Struct *nc =
		    sget(s->databricksconf, "new_cluster")->struct_value;
		ck_assert_double_eq(sget(nc, "num_workers")->number_value, 2);
		ck_assert_int_eq(
		    sget(sget(nc, "spark_conf")->struct_value, "spark.speculation")->bool_value, 1);
		const Google__Protobuf__ListValue *libs =
		    sget(s->databricksconf, "libraries")->list_value;
		ck_assert_uint_eq(libs->n_values, 2);
		ck_assert_str_eq(
		    sget(sget(libs->values[0]->struct_value, "pypi")->struct_value, "package")
		        ->string_value,
		    "numpy");
		ck_assert_int_eq(libs->values[1]->kind_case,
		                 GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE);
		ck_assert_str_eq(s->databrickstoken, "dapi-secret");
		ck_assert_str_eq(s->databricksinstance, "dbc-1234.cloud.databricks.com");
		check_pod(s->driverpod, "driver");
		check_pod(s->executorpod, "executor");
	}
}
END_TEST

START_TEST(waitable_fields)
{
	FOR_EACH_STYLE("waitable", Flyteidl__Plugins__Waitable, w,
	               &flyteidl__plugins__waitable__descriptor)
	{
		ck_assert_str_eq(w->wf_exec_id->project, "flytesnacks");
		ck_assert_str_eq(w->wf_exec_id->domain, "development");
		ck_assert_str_eq(w->wf_exec_id->name, "f8a3c2");
		ck_assert_str_eq(w->wf_exec_id->org, "acme");
		ck_assert_int_eq(w->phase, FLYTEIDL__CORE__WORKFLOW_EXECUTION__PHASE__SUCCEEDED);
		ck_assert_str_eq(w->workflow_id, "wf.example.main");
	}
}
END_TEST

static void check_run_policy(const Flyteidl__Plugins__Kubeflow__RunPolicy *p)
{
	ck_assert_int_eq(p->clean_pod_policy,
	                 FLYTEIDL__PLUGINS__KUBEFLOW__CLEAN_POD_POLICY__CLEANPOD_POLICY_ALL);
	ck_assert_int_eq(p->ttl_seconds_after_finished, 3600);
	ck_assert_int_eq(p->active_deadline_seconds, 7200);
	ck_assert_int_eq(p->backoff_limit, 3);
}

/* The CommonReplicaSpec generate.py's replica() builds. */
static void check_common(const Flyteidl__Plugins__CommonReplicaSpec *c, int replicas,
                         const char *image, Flyteidl__Plugins__RestartPolicy policy,
                         const char *cpu)
{
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->replicas, replicas);
	ck_assert_str_eq(c->image, image);
	ck_assert_int_eq(c->restart_policy, policy);
	check_resources(c->resources, cpu, "4Gi", NULL);
}

START_TEST(kubeflow_mpi_fields)
{
	FOR_EACH_STYLE("kf_run_policy", Flyteidl__Plugins__Kubeflow__RunPolicy, p,
	               &flyteidl__plugins__kubeflow__run_policy__descriptor)
	{
		check_run_policy(p);
	}
	FOR_EACH_STYLE("kf_mpi", Flyteidl__Plugins__Kubeflow__DistributedMPITrainingTask, m,
	               &flyteidl__plugins__kubeflow__distributed_mpitraining_task__descriptor)
	{
		const Flyteidl__Plugins__Kubeflow__DistributedMPITrainingReplicaSpec *w =
		    m->worker_replicas;
		ck_assert_uint_eq(w->n_command, 4);
		ck_assert_str_eq(w->command[0], "mpirun");
		ck_assert_str_eq(w->command[3], "train.py");
		ck_assert_int_eq(w->common->replicas, 4);
		ck_assert_str_eq(w->common->image, "mpi:1");
		ck_assert_int_eq(w->common->restart_policy,
		                 FLYTEIDL__PLUGINS__RESTART_POLICY__RESTART_POLICY_NEVER);
		check_resources(w->common->resources, "4", "16Gi", "2");
		check_common(m->launcher_replicas->common, 1, "mpi:1",
		             FLYTEIDL__PLUGINS__RESTART_POLICY__RESTART_POLICY_ALWAYS, "1");
		ck_assert_uint_eq(m->launcher_replicas->n_command, 0);
		check_run_policy(m->run_policy);
		ck_assert_int_eq(m->slots, 2);
	}
}
END_TEST

START_TEST(kubeflow_pytorch_fields)
{
	FOR_EACH_STYLE("kf_pytorch", Flyteidl__Plugins__Kubeflow__DistributedPyTorchTrainingTask, p,
	               &flyteidl__plugins__kubeflow__distributed_py_torch_training_task__descriptor)
	{
		check_common(p->worker_replicas->common, 3, "torch:2",
		             FLYTEIDL__PLUGINS__RESTART_POLICY__RESTART_POLICY_ON_FAILURE, "8");
		const Flyteidl__Plugins__Kubeflow__DistributedPyTorchTrainingReplicaSpec *m =
		    p->master_replicas;
		ck_assert_ptr_null(m->common);
		ck_assert_int_eq(m->replicas, 1);
		ck_assert_str_eq(m->image, "torch:1");
		check_resources(m->resources, "2", "8Gi", NULL);
		ck_assert_int_eq(m->restart_policy,
		                 FLYTEIDL__PLUGINS__RESTART_POLICY__RESTART_POLICY_ALWAYS);
		ck_assert_int_eq(
		    p->run_policy->clean_pod_policy,
		    FLYTEIDL__PLUGINS__KUBEFLOW__CLEAN_POD_POLICY__CLEANPOD_POLICY_RUNNING);
		ck_assert_int_eq(p->run_policy->ttl_seconds_after_finished, 0);
		ck_assert_int_eq(p->run_policy->backoff_limit, 5);
		ck_assert_str_eq(p->elastic_config->rdzv_backend, "etcd");
		ck_assert_int_eq(p->elastic_config->min_replicas, 2);
		ck_assert_int_eq(p->elastic_config->max_replicas, 6);
		ck_assert_int_eq(p->elastic_config->nproc_per_node, 4);
		ck_assert_int_eq(p->elastic_config->max_restarts, 10);
	}
}
END_TEST

START_TEST(kubeflow_tensorflow_fields)
{
	FOR_EACH_STYLE(
	    "kf_tensorflow", Flyteidl__Plugins__Kubeflow__DistributedTensorflowTrainingTask, t,
	    &flyteidl__plugins__kubeflow__distributed_tensorflow_training_task__descriptor)
	{
		check_common(t->worker_replicas->common, 4, "tf:2",
		             FLYTEIDL__PLUGINS__RESTART_POLICY__RESTART_POLICY_ON_FAILURE, "2");
		check_common(t->ps_replicas->common, 2, "tf:2",
		             FLYTEIDL__PLUGINS__RESTART_POLICY__RESTART_POLICY_NEVER, "1");
		check_common(t->chief_replicas->common, 1, "tf:2",
		             FLYTEIDL__PLUGINS__RESTART_POLICY__RESTART_POLICY_ALWAYS, "1");
		check_common(t->evaluator_replicas->common, 1, "tf:2",
		             FLYTEIDL__PLUGINS__RESTART_POLICY__RESTART_POLICY_NEVER, "1");
		check_run_policy(t->run_policy);
	}
}
END_TEST

/* ---- the rules, one at a time, on the test messages ------------------------------------- */

#define ALL (&fpdtest__all_types__descriptor)

START_TEST(scalars_from_numbers_and_strings)
{
	static const char text[] =
	    "{\"i32\": -5, \"i64\": \"-9223372036854775808\", \"u32\": \"4294967295\","
	    " \"u64\": \"18446744073709551615\", \"s32\": \"-2147483648\", \"s64\": 1e15,"
	    " \"f32\": 7, \"f64\": \"8\", \"sf32\": -9, \"sf64\": \"-10\", \"fl\": \"1.5\","
	    " \"db\": \"-Infinity\", \"b\": true, \"s\": \"h\\u00e9llo\", \"by\": \"aGk\","
	    " \"color\": \"GREEN\"}";
	/* Both ways in: straight from JSON, and through a Struct (numbers as doubles). */
	for (int way = 0; way < 2; way++) {
		Fpdtest__AllTypes *m =
		    (Fpdtest__AllTypes *)(way ? decode_ok(text, ALL) : json_ok(text, ALL));
		ck_assert_int_eq(m->i32, -5);
		ck_assert(m->i64 == INT64_MIN);
		ck_assert_uint_eq(m->u32, UINT32_MAX);
		ck_assert(m->u64 == UINT64_MAX);
		ck_assert_int_eq(m->s32, INT32_MIN);
		ck_assert(m->s64 == 1000000000000000LL);
		ck_assert_uint_eq(m->f32, 7);
		ck_assert_uint_eq(m->f64, 8);
		ck_assert_int_eq(m->sf32, -9);
		ck_assert_int_eq(m->sf64, -10);
		ck_assert_float_eq(m->fl, 1.5f);
		ck_assert(isinf(m->db) && m->db < 0);
		ck_assert_int_eq(m->b, 1);
		ck_assert_str_eq(m->s, "h\xc3\xa9llo");
		ck_assert_uint_eq(m->by.len, 2);
		ck_assert_mem_eq(m->by.data, "hi", 2);
		ck_assert_int_eq(m->color, FPDTEST__COLOR__GREEN);
		protobuf_c_message_free_unpacked(&m->base, NULL);
	}
}
END_TEST

START_TEST(integers_must_be_integral_and_in_range)
{
	Fpdtest__AllTypes *m = (Fpdtest__AllTypes *)decode_ok(
	    "{\"i32\": 2147483647, \"u64\": 1e19, \"i64\": -9.223372036854775808e18,"
	    " \"s64\": 9007199254740993}",
	    ALL);
	ck_assert_int_eq(m->i32, INT32_MAX);
	ck_assert(m->u64 == 10000000000000000000ULL);
	ck_assert(m->i64 == INT64_MIN);
	/* A Struct number is a double: 2^53 + 1 arrives as 2^53, as it does in Go. */
	ck_assert(m->s64 == 9007199254740992LL);
	protobuf_c_message_free_unpacked(&m->base, NULL);

	decode_fails("{\"i32\": 2147483648}", ALL, FPD_ERANGE,
	             "i32: 2147483648 is out of range for int32");
	decode_fails("{\"s32\": -2147483649}", ALL, FPD_ERANGE,
	             "s32: -2147483649 is out of range for int32");
	decode_fails("{\"u32\": -1}", ALL, FPD_ERANGE, "u32: -1 is out of range for uint32");
	decode_fails("{\"u64\": \"-0\"}", ALL, FPD_ERANGE, "u64: -0 is out of range for uint64");
	decode_fails("{\"i64\": 9223372036854775807}", ALL, FPD_ERANGE,
	             "i64: 9223372036854775808 is out of range for int64");
	decode_fails("{\"u64\": 1.8446744073709552e19}", ALL, FPD_ERANGE,
	             "u64: 1.8446744073709552e+19 is out of range for uint64");
	decode_fails("{\"i64\": \"99999999999999999999\"}", ALL, FPD_ERANGE,
	             "i64: 99999999999999999999 is out of range for int64");
	decode_fails("{\"i32\": 1.5}", ALL, FPD_EINVAL,
	             "i32: expected an integer (int32), got 1.5");
	decode_fails("{\"f64\": \"1.0\"}", ALL, FPD_EINVAL,
	             "f64: expected an integer (uint64), got \"1.0\"");
	decode_fails("{\"i32\": \"03\"}", ALL, FPD_EINVAL,
	             "i32: expected an integer (int32), got \"03\"");
	decode_fails("{\"i32\": \"1e3\"}", ALL, FPD_EINVAL,
	             "i32: expected an integer (int32), got \"1e3\"");
	decode_fails("{\"i32\": true}", ALL, FPD_EINVAL,
	             "i32: expected an integer (int32), got true");
	decode_fails("{\"sf64\": {}}", ALL, FPD_EINVAL,
	             "sf64: expected an integer (int64), got an object");
	/* The plugin messages' own integer fields, by their JSON paths. */
	decode_fails(
	    "{\"rayCluster\": {\"workerGroupSpec\": [{}, {\"replicas\": 2.5}]}}",
	    &flyteidl__plugins__ray_job__descriptor, FPD_EINVAL,
	    "rayCluster.workerGroupSpec[1].replicas: expected an integer (int32), got 2.5");
	decode_fails("{\"workers\": {\"number_of_workers\": -4}}",
	             &flyteidl__plugins__dask_job__descriptor, FPD_ERANGE,
	             "workers.number_of_workers: -4 is out of range for uint32");
	decode_fails("{\"size\": \"ten\"}", &flyteidl__plugins__array_job__descriptor, FPD_EINVAL,
	             "size: expected an integer (int64), got \"ten\"");
}
END_TEST

START_TEST(floats_bools_strings_bytes)
{
	Fpdtest__AllTypes *m = (Fpdtest__AllTypes *)decode_ok(
	    "{\"fl\": \"NaN\", \"db\": \"Infinity\", \"r_db\": [1, \"2.5e1\", \"-Infinity\", null],"
	    " \"r_by\": [\"-_8\", \"+/8=\", \"\"], \"r_b\": [true, null, false]}",
	    ALL);
	ck_assert(isnan(m->fl));
	ck_assert(isinf(m->db) && m->db > 0);
	ck_assert_uint_eq(m->n_r_db, 4);
	ck_assert_double_eq(m->r_db[1], 25);
	ck_assert(isinf(m->r_db[2]) && m->r_db[2] < 0);
	ck_assert_double_eq(m->r_db[3], 0);
	ck_assert_uint_eq(m->n_r_by, 3);
	ck_assert_mem_eq(m->r_by[0].data, "\xfb\xff", 2);
	ck_assert_mem_eq(m->r_by[1].data, "\xfb\xff", 2);
	ck_assert_uint_eq(m->r_by[2].len, 0);
	ck_assert_uint_eq(m->n_r_b, 3);
	ck_assert(m->r_b[0] && !m->r_b[1] && !m->r_b[2]);
	protobuf_c_message_free_unpacked(&m->base, NULL);

	decode_fails("{\"fl\": 1e39}", ALL, FPD_ERANGE,
	             "fl: 9.9999999999999994e+38 is out of range for float");
	decode_fails("{\"db\": \"1e400\"}", ALL, FPD_ERANGE,
	             "db: 1e400 is out of range for double");
	decode_fails("{\"db\": \"nan\"}", ALL, FPD_EINVAL, "db: expected a number, got \"nan\"");
	decode_fails("{\"db\": [1]}", ALL, FPD_EINVAL, "db: expected a number, got an array");
	decode_fails("{\"b\": \"true\"}", ALL, FPD_EINVAL,
	             "b: expected true or false, got \"true\"");
	decode_fails("{\"b\": 1}", ALL, FPD_EINVAL, "b: expected true or false, got 1");
	decode_fails("{\"s\": 5}", ALL, FPD_EINVAL, "s: expected a string, got 5");
	json_fails("{\"s\": \"a\\u0000b\"}", ALL, FPD_EINVAL, "s: string contains a NUL character");
	decode_fails("{\"by\": \"aGk*\"}", ALL, FPD_EINVAL, "by: not valid base64");
	decode_fails("{\"r_by\": [\"aGk=\", \"a\"]}", ALL, FPD_EINVAL, "r_by[1]: not valid base64");
	decode_fails("{\"by\": 5}", ALL, FPD_EINVAL, "by: expected a base64 string, got 5");
	decode_fails("{\"mainClass\": [\"x\"]}", &flyteidl__plugins__spark_job__descriptor,
	             FPD_EINVAL, "mainClass: expected a string, got an array");
}
END_TEST

START_TEST(enums_by_name_and_number)
{
	Fpdtest__AllTypes *m = (Fpdtest__AllTypes *)decode_ok(
	    "{\"color\": 7, \"r_color\": [\"RED\", 2, null, 0]}", ALL);
	ck_assert_int_eq(m->color, 7); /* proto3 enums are open: unknown numbers are kept */
	ck_assert_uint_eq(m->n_r_color, 4);
	ck_assert_int_eq(m->r_color[0], FPDTEST__COLOR__RED);
	ck_assert_int_eq(m->r_color[1], FPDTEST__COLOR__GREEN);
	ck_assert_int_eq(m->r_color[2], FPDTEST__COLOR__COLOR_UNSPECIFIED);
	protobuf_c_message_free_unpacked(&m->base, NULL);

	decode_fails("{\"color\": \"BLUE\"}", ALL, FPD_EINVAL,
	             "color: unknown value \"BLUE\" for enum fpdtest.Color");
	decode_fails("{\"color\": \"red\"}", ALL, FPD_EINVAL,
	             "color: unknown value \"red\" for enum fpdtest.Color");
	/* A number in a string is a name to jsonpb, and no enum value is named "1". */
	decode_fails("{\"color\": \"1\"}", ALL, FPD_EINVAL,
	             "color: unknown value \"1\" for enum fpdtest.Color");
	decode_fails("{\"color\": 1.5}", ALL, FPD_EINVAL,
	             "color: expected an integer (int32), got 1.5");
	decode_fails("{\"color\": 4294967296}", ALL, FPD_ERANGE,
	             "color: 4294967296 is out of range for int32");
	decode_fails("{\"color\": true}", ALL, FPD_EINVAL,
	             "color: expected a value of enum fpdtest.Color, got true");
	decode_fails("{\"applicationType\": \"KOTLIN\"}", &flyteidl__plugins__spark_job__descriptor,
	             FPD_EINVAL,
	             "applicationType: unknown value \"KOTLIN\" for enum "
	             "flyteidl.plugins.SparkApplication.Type");
	decode_fails("{\"workers\": {\"resources\": {\"limits\": [{\"name\": \"CPU\"}, {\"name\": "
	             "\"TPU\"}]}}}",
	             &flyteidl__plugins__dask_job__descriptor, FPD_EINVAL,
	             "workers.resources.limits[1].name: unknown value \"TPU\" for enum "
	             "flyteidl.core.Resources.ResourceName");
}
END_TEST

static const char *map_i32(const Fpdtest__AllTypes *m, int32_t key)
{
	for (size_t i = 0; i < m->n_m_i32; i++) {
		if (m->m_i32[i]->key == key)
			return m->m_i32[i]->value;
	}
	ck_abort_msg("m_i32 has no key %d", key);
	return NULL;
}

START_TEST(maps_with_typed_keys)
{
	Fpdtest__AllTypes *m =
	    (Fpdtest__AllTypes *)decode_ok("{\"m_i32\": {\"1\": \"a\", \"-2\": \"b\", \"3\": null},"
	                                   " \"mU64\": {\"18446744073709551615\": \"5\"},"
	                                   " \"m_bool\": {\"true\": \"RED\", \"false\": 2},"
	                                   " \"m_child\": {\"x\": {\"i32\": 3}, \"y\": null},"
	                                   " \"m_s64\": {\"-9223372036854775808\": \"aGk=\"}}",
	                                   ALL);
	ck_assert_uint_eq(m->n_m_i32, 3);
	ck_assert_str_eq(map_i32(m, 1), "a");
	ck_assert_str_eq(map_i32(m, -2), "b");
	ck_assert_str_eq(map_i32(m, 3), ""); /* a null map value is the default, as in jsonpb */
	ck_assert_uint_eq(m->n_m_u64, 1);
	ck_assert(m->m_u64[0]->key == UINT64_MAX && m->m_u64[0]->value == 5);
	ck_assert_uint_eq(m->n_m_bool, 2);
	for (size_t i = 0; i < 2; i++)
		ck_assert_int_eq(m->m_bool[i]->value,
		                 m->m_bool[i]->key ? FPDTEST__COLOR__RED : FPDTEST__COLOR__GREEN);
	ck_assert_uint_eq(m->n_m_child, 2);
	ck_assert_str_eq(m->m_child[0]->key, "x");
	ck_assert_int_eq(m->m_child[0]->value->i32, 3);
	ck_assert_ptr_nonnull(m->m_child[1]->value); /* null: an empty message */
	ck_assert_int_eq(m->m_child[1]->value->i32, 0);
	ck_assert(m->m_s64[0]->key == INT64_MIN);
	ck_assert_mem_eq(m->m_s64[0]->value.data, "hi", 2);
	protobuf_c_message_free_unpacked(&m->base, NULL);

	decode_fails("{\"m_i32\": {\"x\": \"a\"}}", ALL, FPD_EINVAL,
	             "m_i32[\"x\"]: expected an integer key (int32)");
	decode_fails("{\"m_i32\": {\"1\": \"a\", \"2147483648\": \"b\"}}", ALL, FPD_ERANGE,
	             "m_i32[\"2147483648\"]: 2147483648 is out of range for int32");
	/* Control characters from the input do not reach the message (nor logs) as they are. */
	decode_fails("{\"m_i32\": {\"1\\n\": \"a\"}}", ALL, FPD_EINVAL,
	             "m_i32[\"1?\"]: expected an integer key (int32)");
	decode_fails("{\"m_bool\": {\"yes\": 1}}", ALL, FPD_EINVAL,
	             "m_bool[\"yes\"]: expected a key true or false");
	decode_fails("{\"m_i32\": [\"a\"]}", ALL, FPD_EINVAL,
	             "m_i32: expected an object, got an array");
	decode_fails("{\"m_i32\": {\"1\": 5}}", ALL, FPD_EINVAL,
	             "m_i32[\"1\"]: expected a string, got 5");
	decode_fails("{\"rayCluster\": {\"headGroupSpec\": {\"rayStartParams\": \"x\"}}}",
	             &flyteidl__plugins__ray_job__descriptor, FPD_EINVAL,
	             "rayCluster.headGroupSpec.rayStartParams: expected an object, got \"x\"");
	decode_fails("{\"sparkConf\": {\"spark.executor.cores\": 2}}",
	             &flyteidl__plugins__spark_job__descriptor, FPD_EINVAL,
	             "sparkConf[\"spark.executor.cores\"]: expected a string, got 2");
}
END_TEST

START_TEST(repeated_fields_and_null_elements)
{
	Fpdtest__AllTypes *m =
	    (Fpdtest__AllTypes *)decode_ok("{\"r_i32\": [1, \"2\", null], \"rS\": [\"a\", null], "
	                                   "\"r_child\": [null, {\"i32\": 4}],"
	                                   " \"r_v\": [null, 1, \"x\"], \"r_b\": []}",
	                                   ALL);
	ck_assert_uint_eq(m->n_r_i32, 3);
	ck_assert_int_eq(m->r_i32[1], 2);
	ck_assert_int_eq(m->r_i32[2], 0);
	ck_assert_uint_eq(m->n_r_s, 2);
	ck_assert_str_eq(m->r_s[1], "");
	ck_assert_uint_eq(m->n_r_child, 2);
	ck_assert_ptr_nonnull(m->r_child[0]);
	ck_assert_int_eq(m->r_child[1]->i32, 4);
	ck_assert_uint_eq(m->n_r_v, 3);
	ck_assert_int_eq(m->r_v[0]->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE);
	ck_assert_double_eq(m->r_v[1]->number_value, 1);
	ck_assert_str_eq(m->r_v[2]->string_value, "x");
	ck_assert_uint_eq(m->n_r_b, 0);
	ck_assert_ptr_null(m->r_b);
	protobuf_c_message_free_unpacked(&m->base, NULL);

	decode_fails("{\"r_i32\": 5}", ALL, FPD_EINVAL, "r_i32: expected an array, got 5");
	decode_fails("{\"r_i32\": [1, \"x\"]}", ALL, FPD_EINVAL,
	             "r_i32[1]: expected an integer (int32), got \"x\"");
	decode_fails("{\"r_child\": [{}, {\"r_child\": [{\"s\": 1}]}]}", ALL, FPD_EINVAL,
	             "r_child[1].r_child[0].s: expected a string, got 1");
	decode_fails("{\"tags\": \"flyte\"}", &flyteidl__plugins__qubole_hive_job__descriptor,
	             FPD_EINVAL, "tags: expected an array, got \"flyte\"");
}
END_TEST

START_TEST(oneof_members)
{
	Fpdtest__AllTypes *m =
	    (Fpdtest__AllTypes *)decode_ok("{\"c_child\": {\"i32\": 1}, \"c_s\": null}", ALL);
	ck_assert_int_eq(m->choice_case, FPDTEST__ALL_TYPES__CHOICE_C_CHILD);
	ck_assert_int_eq(m->c_child->i32, 1);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	m = (Fpdtest__AllTypes *)decode_ok("{\"cS\": \"\"}", ALL);
	ck_assert_int_eq(m->choice_case, FPDTEST__ALL_TYPES__CHOICE_C_S); /* set, though empty */
	ck_assert_str_eq(m->c_s, "");
	protobuf_c_message_free_unpacked(&m->base, NULL);
	Flyteidl__Plugins__ArrayJob *a = (Flyteidl__Plugins__ArrayJob *)decode_ok(
	    "{\"minSuccesses\": 3, \"minSuccessRatio\": null}",
	    &flyteidl__plugins__array_job__descriptor);
	ck_assert_int_eq(a->success_criteria_case,
	                 FLYTEIDL__PLUGINS__ARRAY_JOB__SUCCESS_CRITERIA_MIN_SUCCESSES);
	ck_assert_int_eq(a->min_successes, 3);
	protobuf_c_message_free_unpacked(&a->base, NULL);

	decode_fails("{\"c_s\": \"x\", \"c_i64\": \"5\"}", ALL, FPD_EINVAL,
	             "c_i64: only one of cS and cI64 may be set (they form a oneof)");
	decode_fails("{\"c_s\": \"x\", \"cChild\": {}}", ALL, FPD_EINVAL,
	             "cChild: only one of cS and cChild may be set (they form a oneof)");
	decode_fails(
	    "{\"minSuccesses\": 3, \"minSuccessRatio\": 0.5}",
	    &flyteidl__plugins__array_job__descriptor, FPD_EINVAL,
	    "minSuccessRatio: only one of minSuccesses and minSuccessRatio may be set (they "
	    "form a oneof)");
}
END_TEST

START_TEST(field_names_and_unknown_keys)
{
	Fpdtest__AllTypes *m = (Fpdtest__AllTypes *)decode_ok(
	    "{\"snake_case_name\": \"proto\", \"snakeCaseName\": \"json\", \"alreadyX2Camel\": 4,"
	    " \"SnakeCaseName\": 1, \"i_32\": 1, \"I32\": 2, \"nope\": {\"deep\": [1]}}",
	    ALL);
	ck_assert_str_eq(m->snake_case_name, "json"); /* jsonpb reads the JSON name last */
	ck_assert_int_eq(m->already_x2_camel, 4);
	ck_assert_int_eq(m->i32, 0); /* names match exactly, case included */
	protobuf_c_message_free_unpacked(&m->base, NULL);
	Flyteidl__Plugins__RayJob *r = (Flyteidl__Plugins__RayJob *)decode_ok(
	    "{\"ttl_seconds_after_finished\": 1, \"ttlSecondsAfterFinished\": 2,"
	    " \"ray_cluster\": {\"enableAutoscaling\": true}, \"futureField\": \"x\"}",
	    &flyteidl__plugins__ray_job__descriptor);
	ck_assert_int_eq(r->ttl_seconds_after_finished, 2);
	ck_assert_int_eq(r->ray_cluster->enable_autoscaling, 1);
	protobuf_c_message_free_unpacked(&r->base, NULL);
}
END_TEST

START_TEST(null_leaves_fields_unset)
{
	Fpdtest__AllTypes *m = (Fpdtest__AllTypes *)decode_ok(
	    "{\"i32\": null, \"s\": null, \"child\": null, \"r_i32\": null, \"m_i32\": null,"
	    " \"st\": null, \"v\": null, \"w_i32\": null, \"d\": null, \"any\": null}",
	    ALL);
	ck_assert_str_eq(m->s, "");
	ck_assert_ptr_null(m->child);
	ck_assert_ptr_null(m->r_i32);
	ck_assert_ptr_null(m->m_i32);
	ck_assert_ptr_null(m->st);
	ck_assert_ptr_null(m->w_i32);
	ck_assert_ptr_null(m->d);
	ck_assert_ptr_null(m->any);
	/* except a singular google.protobuf.Value, which holds the null */
	ck_assert_ptr_nonnull(m->v);
	ck_assert_int_eq(m->v->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE);
	/* Only v is on the wire: 2-byte tag 61, length 1, then null_value = 0 (2 bytes). */
	ck_assert_uint_eq(protobuf_c_message_get_packed_size(&m->base), 5);
	protobuf_c_message_free_unpacked(&m->base, NULL);
}
END_TEST

START_TEST(well_known_types)
{
	Fpdtest__AllTypes *m = (Fpdtest__AllTypes *)decode_ok(
	    "{\"st\": {\"a\": [1, \"x\", {\"b\": null}]}, \"v\": \"str\", \"lv\": [true, 2.5],"
	    " \"d\": \"1.5s\", \"ts\": \"2024-02-29T12:30:00.5+01:00\", \"w_i32\": \"7\","
	    " \"w_i64\": \"-8\", \"w_u32\": 9, \"w_u64\": \"10\", \"w_fl\": \"NaN\", \"w_db\": "
	    "1.25,"
	    " \"w_b\": false, \"w_s\": \"s\", \"w_by\": \"aGk=\"}",
	    ALL);
	const Google__Protobuf__ListValue *a = sget(m->st, "a")->list_value;
	ck_assert_uint_eq(a->n_values, 3);
	ck_assert_str_eq(a->values[1]->string_value, "x");
	ck_assert_int_eq(sget(a->values[2]->struct_value, "b")->kind_case,
	                 GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE);
	ck_assert_str_eq(m->v->string_value, "str");
	ck_assert_int_eq(m->lv->values[0]->bool_value, 1);
	ck_assert_double_eq(m->lv->values[1]->number_value, 2.5);
	ck_assert(m->d->seconds == 1 && m->d->nanos == 500000000);
	ck_assert(m->ts->seconds == 1709206200 && m->ts->nanos == 500000000);
	ck_assert_int_eq(m->w_i32->value, 7);
	ck_assert(m->w_i64->value == -8);
	ck_assert_uint_eq(m->w_u32->value, 9);
	ck_assert(m->w_u64->value == 10);
	ck_assert(isnan(m->w_fl->value));
	ck_assert_double_eq(m->w_db->value, 1.25);
	ck_assert_ptr_nonnull(m->w_b); /* set, though false */
	ck_assert_int_eq(m->w_b->value, 0);
	ck_assert_str_eq(m->w_s->value, "s");
	ck_assert_mem_eq(m->w_by->value.data, "hi", 2);
	protobuf_c_message_free_unpacked(&m->base, NULL);

	decode_fails("{\"d\": \"1d\"}", ALL, FPD_EINVAL,
	             "d: \"1d\" is not a valid duration (e.g. \"1.5s\", \"1m30s\")");
	decode_fails(
	    "{\"d\": \"99999999999999999999s\"}", ALL, FPD_ERANGE,
	    "d: \"99999999999999999999s\" is not a valid duration (e.g. \"1.5s\", \"1m30s\")");
	decode_fails("{\"d\": 5}", ALL, FPD_EINVAL, "d: expected a duration string, got 5");
	decode_fails("{\"ts\": \"yesterday\"}", ALL, FPD_EINVAL,
	             "ts: \"yesterday\" is not a valid RFC 3339 timestamp");
	decode_fails("{\"any\": {\"@type\": \"x\"}}", ALL, FPD_EINVAL,
	             "any: google.protobuf.Any is not supported");
	decode_fails("{\"st\": [1]}", ALL, FPD_EINVAL, "st: expected an object, got an array");
	decode_fails("{\"lv\": {}}", ALL, FPD_EINVAL, "lv: expected an array, got an object");
	decode_fails("{\"w_b\": \"x\"}", ALL, FPD_EINVAL, "w_b: expected true or false, got \"x\"");
	decode_fails("{\"w_i32\": 1e10}", ALL, FPD_ERANGE,
	             "w_i32: 10000000000 is out of range for int32");
}
END_TEST

START_TEST(proto2_optional_has_flags)
{
	Fpdtest__Optionals *o =
	    (Fpdtest__Optionals *)decode_ok("{\"count\": 0, \"name\": \"\", \"blob\": \"\", "
	                                    "\"ratio\": 0, \"next\": {\"count\": 2}}",
	                                    &fpdtest__optionals__descriptor);
	ck_assert(o->has_count && o->count == 0);
	ck_assert(o->has_blob && o->blob.len == 0);
	ck_assert(o->has_ratio && o->ratio == 0);
	ck_assert_str_eq(o->name, "");
	ck_assert(o->next->has_count && o->next->count == 2 && !o->next->has_ratio);
	/* Set-but-zero proto2 fields are on the wire: 2 + 2 + 2 + 9 + (2 + 2) bytes. */
	ck_assert_uint_eq(protobuf_c_message_get_packed_size(&o->base), 19);
	protobuf_c_message_free_unpacked(&o->base, NULL);
	o = (Fpdtest__Optionals *)decode_ok("{\"counts\": {\"0\": 0}}",
	                                    &fpdtest__optionals__descriptor);
	ck_assert_uint_eq(o->n_counts, 1);
	ck_assert(o->counts[0]->has_key && o->counts[0]->has_value);
	protobuf_c_message_free_unpacked(&o->base, NULL);
}
END_TEST

START_TEST(top_level_values)
{
	ProtobufCMessage *m =
	    json_ok("null", ALL); /* jsonpb: a top-level null is an empty message */
	ck_assert_uint_eq(protobuf_c_message_get_packed_size(m), 0);
	protobuf_c_message_free_unpacked(m, NULL);
	Google__Protobuf__Value *v =
	    (Google__Protobuf__Value *)json_ok("null", &google__protobuf__value__descriptor);
	ck_assert_int_eq(v->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE);
	protobuf_c_message_free_unpacked(&v->base, NULL);
	Google__Protobuf__Duration *d = (Google__Protobuf__Duration *)json_ok(
	    "\"-0.5s\"", &google__protobuf__duration__descriptor);
	ck_assert(d->seconds == 0 && d->nanos == -500000000);
	protobuf_c_message_free_unpacked(&d->base, NULL);

	json_fails("[]", ALL, FPD_EINVAL, "top level: expected an object, got an array");
	json_fails("\"x\"", &flyteidl__plugins__spark_job__descriptor, FPD_EINVAL,
	           "top level: expected an object, got \"x\"");
	json_fails("\"!\"", &google__protobuf__bytes_value__descriptor, FPD_EINVAL,
	           "top level: not valid base64");
	json_fails("{}", &google__protobuf__any__descriptor, FPD_EINVAL,
	           "top level: google.protobuf.Any is not supported");
}
END_TEST

/* ---- limits ----------------------------------------------------------------------------- */

/* {"a": {"a": ... {}}} with n objects, as jansson values. */
static json_t *nested_objects(int n)
{
	json_t *j = json_object();
	for (int i = 1; i < n; i++) {
		json_t *outer = json_object();
		json_object_set_new(outer, "a", j);
		j = outer;
	}
	return j;
}

/* "prefix" followed by n copies of seg. */
static char *repeat(const char *prefix, const char *seg, int n)
{
	size_t len = strlen(prefix) + strlen(seg) * (size_t)n + 1;
	char *s = fpd_malloc(len);
	size_t at = strlen(prefix);
	memcpy(s, prefix, at);
	for (int i = 0; i < n; i++, at += strlen(seg))
		memcpy(s + at, seg, strlen(seg));
	s[at] = '\0';
	return s;
}

static int json_to_spark(json_t *conf, struct fpd_error *err)
{
	json_t *top = json_object();
	json_object_set_new(top, "databricksConf", conf);
	ProtobufCMessage *m = NULL;
	int rc = fpd_json_to_message(top, &flyteidl__plugins__spark_job__descriptor, &m, err);
	protobuf_c_message_free_unpacked(m, NULL);
	json_decref(top);
	return rc;
}

START_TEST(depth_is_bounded_from_json)
{
	struct fpd_error err;
	/* The SparkJob object is level 1, so its Struct may hold 63 levels, not 64. */
	ck_assert_int_eq(json_to_spark(nested_objects(FPD_STRUCTPB_MAX_DEPTH - 1), &err), FPD_OK);
	ck_assert_int_eq(json_to_spark(nested_objects(FPD_STRUCTPB_MAX_DEPTH), &err), FPD_ERANGE);
	char *want = repeat("databricksConf", ".a", FPD_STRUCTPB_MAX_DEPTH - 1);
	ck_assert_msg(
	    strncmp(err.text, want, strlen(want)) == 0 &&
	        strcmp(err.text + strlen(want), ": nested deeper than 64 objects and arrays") == 0,
	    "got: %s", err.text);
	free(want);
	/* A depth bomb of arrays in a ListValue. */
	json_t *arr = json_array();
	for (int i = 0; i < 2000; i++) {
		json_t *outer = json_array();
		json_array_append_new(outer, arr);
		arr = outer;
	}
	json_t *top = json_pack("{s:o}", "lv", arr);
	ProtobufCMessage *m = NULL;
	ck_assert_int_eq(fpd_json_to_message(top, ALL, &m, &err), FPD_ERANGE);
	ck_assert_ptr_null(m);
	ck_assert_msg(strncmp(err.text, "lv[0][0][0]", 11) == 0 &&
	                  strstr(err.text, ": nested deeper than 64 objects and arrays"),
	              "got: %s", err.text);
	json_decref(top);
}
END_TEST

START_TEST(size_is_bounded)
{
	struct fpd_error err;
	ProtobufCMessage *m = NULL;
	/* The ListValue itself is one value, so it may hold MAX - 1 more. */
	json_t *arr = json_array();
	for (unsigned i = 0; i < FPD_STRUCTPB_MAX_VALUES - 1; i++)
		json_array_append_new(arr, json_null());
	ck_assert_int_eq(
	    fpd_json_to_message(arr, &google__protobuf__list_value__descriptor, &m, &err), FPD_OK);
	protobuf_c_message_free_unpacked(m, NULL);
	m = NULL;
	json_array_append_new(arr, json_null());
	ck_assert_int_eq(
	    fpd_json_to_message(arr, &google__protobuf__list_value__descriptor, &m, &err),
	    FPD_ERANGE);
	ck_assert_ptr_null(m);
	ck_assert_str_eq(err.text, "top level: more than 262144 values");
	json_decref(arr);

	char *big = fpd_malloc(FPD_STRUCTPB_MAX_BYTES + 1);
	memset(big, 'a', FPD_STRUCTPB_MAX_BYTES + 1);
	json_t *top = json_pack("{s:s%}", "s", big, (size_t)FPD_STRUCTPB_MAX_BYTES + 1);
	ck_assert_int_eq(fpd_json_to_message(top, ALL, &m, &err), FPD_ERANGE);
	ck_assert_str_eq(err.text, "s: more than 16777216 bytes of strings");
	json_decref(top);
	free(big);
}
END_TEST

START_TEST(long_paths_are_cut)
{
	char key[301];
	memset(key, 'k', 300);
	key[300] = '\0';
	json_t *top = json_pack("{s:{s:i}}", "m_child", key, 5);
	ProtobufCMessage *m = NULL;
	struct fpd_error err;
	ck_assert_int_eq(fpd_json_to_message(top, ALL, &m, &err), FPD_EINVAL);
	ck_assert_msg(strncmp(err.text, "m_child[\"kkkk", 13) == 0 &&
	                  strstr(err.text, "kkk...: expected an object, got 5") != NULL &&
	                  strlen(err.text) < 260,
	              "got: %s", err.text);
	json_decref(top);
}
END_TEST

/* ---- Struct to JSON --------------------------------------------------------------------- */

static Google__Protobuf__Value *value_new(void)
{
	Google__Protobuf__Value *v = fpd_malloc(sizeof(*v));
	google__protobuf__value__init(v);
	return v;
}

static Google__Protobuf__Value *number(double d)
{
	Google__Protobuf__Value *v = value_new();
	v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
	v->number_value = d;
	return v;
}

/* A heap Struct of one entry key: v (taken), freeable with free_unpacked. */
static Google__Protobuf__Struct *struct1(const char *key, Google__Protobuf__Value *v)
{
	Google__Protobuf__Struct *s = fpd_malloc(sizeof(*s));
	google__protobuf__struct__init(s);
	s->fields = fpd_malloc(sizeof(*s->fields));
	s->fields[0] = fpd_malloc(sizeof(*s->fields[0]));
	google__protobuf__struct__fields_entry__init(s->fields[0]);
	s->fields[0]->key = fpd_strdup(key);
	s->fields[0]->value = v;
	s->n_fields = 1;
	return s;
}

static Google__Protobuf__Value *struct_value(Google__Protobuf__Struct *s)
{
	Google__Protobuf__Value *v = value_new();
	v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE;
	v->struct_value = s;
	return v;
}

/* fpd_struct_to_json on s (freed here) must fail with exactly want. */
static void struct_fails(Google__Protobuf__Struct *s, int code, const char *want)
{
	json_t *out = NULL;
	struct fpd_error err;
	int rc = fpd_struct_to_json(s, &out, &err);
	ck_assert_ptr_null(out);
	ck_assert_msg(rc == code && strcmp(err.text, want) == 0, "expected %s: %s\ngot %s: %s",
	              fpd_strerror(code), want, fpd_strerror(rc), rc ? err.text : "");
	protobuf_c_message_free_unpacked(&s->base, NULL);
}

/* fpd_struct_to_json on s (freed here) must give exactly want (compact, keys in order). */
static void struct_gives(Google__Protobuf__Struct *s, const char *want)
{
	json_t *out = NULL;
	struct fpd_error err;
	int rc = fpd_struct_to_json(s, &out, &err);
	ck_assert_msg(rc == FPD_OK, "expected %s, got %s: %s", want, fpd_strerror(rc), err.text);
	char *text = json_dumps(out, JSON_COMPACT);
	ck_assert_msg(strcmp(text, want) == 0, "expected %s\ngot      %s", want, text);
	free(text);
	json_decref(out);
	protobuf_c_message_free_unpacked(&s->base, NULL);
}

START_TEST(struct_kinds_and_key_order)
{
	/* Every kind of Value, nested, with the keys in the Struct's order (not sorted). */
	const char *text = "{\"z\":null,\"a\":true,\"f\":false,\"s\":\"\xc3\xa9\",\"e\":\"\","
	                   "\"o\":{},\"l\":[],\"n\":{\"x\":[1,{\"y\":null},[],\"t\"]}}";
	json_t *j = parse(text);
	struct_gives(struct_of(j), text);
	json_decref(j);

	/* A key given twice (a map field on the wire): the last one wins, as in Go. */
	Google__Protobuf__Struct *s = struct1("k", number(1));
	s->fields = fpd_realloc(s->fields, 2 * sizeof(*s->fields));
	s->fields[1] = fpd_malloc(sizeof(*s->fields[1]));
	google__protobuf__struct__fields_entry__init(s->fields[1]);
	s->fields[1]->key = fpd_strdup("k");
	s->fields[1]->value = number(2);
	s->n_fields = 2;
	struct_gives(s, "{\"k\":2}");

	/* An empty Struct is an empty object. */
	s = fpd_malloc(sizeof(*s));
	google__protobuf__struct__init(s);
	struct_gives(s, "{}");
}
END_TEST

START_TEST(struct_numbers)
{
	Google__Protobuf__ListValue *l = fpd_malloc(sizeof(*l));
	google__protobuf__list_value__init(l);
	double nums[] = {8080, -2, 9007199254740992.0, 9007199254740994.0, 0.25, 1e300};
	l->n_values = FPD_ARRAY_LEN(nums);
	l->values = fpd_malloc(sizeof(*l->values) * l->n_values);
	for (size_t i = 0; i < l->n_values; i++)
		l->values[i] = number(nums[i]);
	Google__Protobuf__Value *lv = value_new();
	lv->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE;
	lv->list_value = l;
	Google__Protobuf__Struct *s = struct1("n", lv);
	json_t *out = NULL;
	struct fpd_error err;
	ck_assert_int_eq(fpd_struct_to_json(s, &out, &err), FPD_OK);
	char *text = json_dumps(out, JSON_COMPACT);
	/* Integral up to 2^53 as integers (as Go prints them, and as Kubernetes wants an int32
	 * like containerPort), the rest as reals. */
	ck_assert_str_eq(
	    text,
	    "{\"n\":[8080,-2,9007199254740992,9007199254740994.0,0.25,1.0000000000000001e300]}");
	free(text);
	json_decref(out);
	protobuf_c_message_free_unpacked(&s->base, NULL);
}
END_TEST

START_TEST(struct_errors)
{
	Google__Protobuf__Value *list = value_new();
	list->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE;
	list->list_value = fpd_malloc(sizeof(*list->list_value));
	google__protobuf__list_value__init(list->list_value);
	list->list_value->values = fpd_malloc(2 * sizeof(*list->list_value->values));
	list->list_value->values[0] = number(1);
	list->list_value->values[1] = number(NAN);
	list->list_value->n_values = 2;
	struct_fails(struct1("a", struct_value(struct1("b", list))), FPD_EINVAL,
	             "a.b[1]: number_value is NaN, which JSON cannot hold");
	struct_fails(struct1("x", number(-INFINITY)), FPD_EINVAL,
	             "x: number_value is -Infinity, which JSON cannot hold");
	struct_fails(struct1("k", value_new()), FPD_EINVAL, "k: Value has no kind set");
	Google__Protobuf__Value *bad = value_new();
	bad->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
	bad->string_value = fpd_strdup("\xff\xfe");
	struct_fails(struct1("k", bad), FPD_EINVAL, "k: string is not valid UTF-8");
	struct_fails(struct1("ok", struct_value(struct1("\xc3", number(1)))), FPD_EINVAL,
	             "ok.\xc3: key is not valid UTF-8");
	struct_fails(struct1("k", NULL), FPD_EINVAL, "k: Struct entry has no value");
	Google__Protobuf__Value *hollow = value_new();
	hollow->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE;
	struct_fails(struct1("k", hollow), FPD_EINVAL, "k: Value has no kind set");
	Google__Protobuf__Value *holes = value_new();
	holes->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE;
	holes->list_value = fpd_malloc(sizeof(*holes->list_value));
	google__protobuf__list_value__init(holes->list_value);
	holes->list_value->values = fpd_calloc(2, sizeof(*holes->list_value->values));
	holes->list_value->values[0] = number(1);
	holes->list_value->n_values = 2;
	struct_fails(struct1("l", holes), FPD_EINVAL, "l[1]: ListValue element is missing");

	/* No Struct at all is refused, not dereferenced. */
	json_t *out = NULL;
	struct fpd_error no;
	ck_assert_int_eq(fpd_struct_to_json(NULL, &out, &no), FPD_EINVAL);
	ck_assert_ptr_null(out);
	ck_assert_str_eq(no.text, "top level: no Struct");

	/* ... and fpd_struct_to_message passes the error on. */
	Google__Protobuf__Struct *s = struct1("minSuccessRatio", number(NAN));
	ProtobufCMessage *m = NULL;
	struct fpd_error err;
	ck_assert_int_eq(
	    fpd_struct_to_message(s, &flyteidl__plugins__array_job__descriptor, &m, &err),
	    FPD_EINVAL);
	ck_assert_ptr_null(m);
	ck_assert_str_eq(err.text, "minSuccessRatio: number_value is NaN, which JSON cannot hold");
	protobuf_c_message_free_unpacked(&s->base, NULL);
}
END_TEST

START_TEST(struct_depth_is_bounded)
{
	/* n Structs inside one another, each under key "a": 64 convert, 65 (or 999) do not. */
	const int depths[] = {FPD_STRUCTPB_MAX_DEPTH, FPD_STRUCTPB_MAX_DEPTH + 1, 999};
	for (size_t k = 0; k < FPD_ARRAY_LEN(depths); k++) {
		int n = depths[k];
		Google__Protobuf__Struct *s = fpd_malloc(sizeof(*s));
		google__protobuf__struct__init(s);
		for (int i = 1; i < n; i++)
			s = struct1("a", struct_value(s));
		json_t *out = NULL;
		struct fpd_error err;
		int rc = fpd_struct_to_json(s, &out, &err);
		if (n == FPD_STRUCTPB_MAX_DEPTH) {
			ck_assert_msg(rc == FPD_OK, "%d levels: %s", n, err.text);
			json_decref(out);
		} else {
			char *want = repeat("a", ".a", FPD_STRUCTPB_MAX_DEPTH - 1);
			ck_assert_int_eq(rc, FPD_ERANGE);
			ck_assert_msg(strncmp(err.text, want, strlen(want)) == 0 &&
			                  strcmp(err.text + strlen(want),
			                         ": nested deeper than 64 objects and arrays") == 0,
			              "%d levels: %s", n, err.text);
			free(want);
		}
		protobuf_c_message_free_unpacked(&s->base, NULL);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lib/structpb");
	TCase *tc = tcase_create("plugins");
	tcase_add_loop_test(tc, fixture_matches_protobuf, 0, 2 * (int)FPD_ARRAY_LEN(fixtures));
	tcase_add_loop_test(tc, fixture_struct_matches_protobuf, 0, (int)FPD_ARRAY_LEN(fixtures));
	tcase_add_test(tc, array_job_fields);
	tcase_add_test(tc, common_replica_spec_fields);
	tcase_add_test(tc, dask_job_fields);
	tcase_add_test(tc, training_v0_fields);
	tcase_add_test(tc, query_fields);
	tcase_add_test(tc, ray_job_fields);
	tcase_add_test(tc, spark_fields);
	tcase_add_test(tc, waitable_fields);
	tcase_add_test(tc, kubeflow_mpi_fields);
	tcase_add_test(tc, kubeflow_pytorch_fields);
	tcase_add_test(tc, kubeflow_tensorflow_fields);
	suite_add_tcase(s, tc);

	tc = tcase_create("rules");
	tcase_add_test(tc, scalars_from_numbers_and_strings);
	tcase_add_test(tc, integers_must_be_integral_and_in_range);
	tcase_add_test(tc, floats_bools_strings_bytes);
	tcase_add_test(tc, enums_by_name_and_number);
	tcase_add_test(tc, maps_with_typed_keys);
	tcase_add_test(tc, repeated_fields_and_null_elements);
	tcase_add_test(tc, oneof_members);
	tcase_add_test(tc, field_names_and_unknown_keys);
	tcase_add_test(tc, null_leaves_fields_unset);
	tcase_add_test(tc, well_known_types);
	tcase_add_test(tc, proto2_optional_has_flags);
	tcase_add_test(tc, top_level_values);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_test(tc, depth_is_bounded_from_json);
	tcase_add_test(tc, size_is_bounded);
	tcase_add_test(tc, long_paths_are_cut);
	suite_add_tcase(s, tc);

	tc = tcase_create("struct");
	tcase_add_test(tc, struct_kinds_and_key_order);
	tcase_add_test(tc, struct_numbers);
	tcase_add_test(tc, struct_errors);
	tcase_add_test(tc, struct_depth_is_bounded);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
