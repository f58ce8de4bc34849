/*
 * SparkApplication building, after Flyte's spark.go BuildResource: the sparkConf (defaults,
 * executor path, features, core limits, executor pod name prefix, start time), one pod spec
 * per role from the pod base (the driver never interruptible), each overlaid with the task's
 * driverPod / executorPod spec, and Flyte's SparkPodSpec fields taken from them.
 *
 * Field presence follows the JSON Go's encoding/json writes for the operator's v1beta2 types:
 * pointers Flyte always sets (image, schedulerName, hostNetwork) are always written, optional
 * ones only when Flyte's strPtr/intPtr would keep them; `sparkVersion` is written empty and
 * `mainApplicationFile` null when unset, as Go writes them (neither is omitempty).
 */
#include "spark.h"

#include <flyteplugd/object.h>
#include <flyteplugd/pod.h>
#include <flyteplugd/queue.h>
#include <flyteplugd/structpb.h>

#include <flyteplugd/error.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SUBMISSION_FAILURE_RETRIES 14 /* Flyte: "retry submit failures in case of limits hit" */
#define DEFAULT_SERVICE_ACCOUNT "spark"

static const struct fpd_spark_settings no_settings;

/* A configuration scalar as Go's map[string]string holds it. New reference. */
static json_t *scalar_text(const json_t *v)
{
	if (json_is_string(v))
		return json_incref((json_t *)v);
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	json_t *r = json_string(s ? s : "");
	free(s);
	return r;
}

static void set_scalars(json_t *conf, const json_t *from)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)from, k, v)
	{
		if (!json_is_null(v))
			json_object_set_new(conf, k, scalar_text(v));
	}
}

static const char *conf_str(const json_t *conf, const char *key)
{
	const char *s = json_string_value(json_object_get(conf, key));
	return s ? s : "";
}

/* Flyte's addConfig: spark.flyte[org].<feature>.enabled=true turns on a configured feature.
 * The dots of Flyte's pattern are unescaped, so they match any character, here too. */
static void add_feature(json_t *conf, const struct fpd_spark_settings *s, const char *key,
                        const char *value)
{
	const char *b = value, *e = value + strlen(value);
	while (b < e && isspace((unsigned char)*b))
		b++;
	while (e > b && isspace((unsigned char)e[-1]))
		e--;
	regex_t re;
	regmatch_t m[5];
	bool on = e - b == 4 && !strncasecmp(b, "true", 4);
	if (on && !regcomp(&re, "^spark.((flyteorg)|(flyte)).(.+).enabled$", REG_EXTENDED)) {
		int nomatch = regexec(&re, key, 5, m, 0);
		regfree(&re);
		size_t n = nomatch ? 0 : (size_t)(m[4].rm_eo - m[4].rm_so);
		const struct fpd_spark_feature *f = s->features.items;
		for (size_t i = 0; n && i < s->features.count; i++) {
			if (strlen(f[i].name) == n && !strncmp(f[i].name, key + m[4].rm_so, n)) {
				if (f[i].spark_config)
					set_scalars(conf, f[i].spark_config);
				return;
			}
		}
	}
	json_object_set_new(conf, key, json_string(value));
}

/* Flyte's "set pod limits": a role's core limit from its core request, else its cores. */
static void core_limit(json_t *conf, const char *role)
{
	char limit[64], request[64], cores[64];
	snprintf(limit, sizeof(limit), "spark.kubernetes.%s.limit.cores", role);
	snprintf(request, sizeof(request), "spark.kubernetes.%s.request.cores", role);
	snprintf(cores, sizeof(cores), "spark.%s.cores", role);
	if (*conf_str(conf, limit))
		return;
	const char *from = *conf_str(conf, request) ? request : cores;
	if (*conf_str(conf, from))
		json_object_set_new(conf, limit, json_string(conf_str(conf, from)));
}

static json_t *spark_conf(const struct fpd_task *task, const Flyteidl__Plugins__SparkJob *job,
                          const struct fpd_spark_settings *s)
{
	json_t *conf = json_object();
	if (s->spark_config_default)
		set_scalars(conf, s->spark_config_default);
	if (job->executorpath && *job->executorpath) {
		json_object_set_new(conf, "spark.pyspark.python", json_string(job->executorpath));
		json_object_set_new(conf, "spark.pyspark.driver.python",
		                    json_string(job->executorpath));
	}
	for (size_t i = 0; i < job->n_sparkconf; i++)
		add_feature(conf, s, job->sparkconf[i]->key, job->sparkconf[i]->value);
	core_limit(conf, "driver");
	core_limit(conf, "executor");
	json_object_set_new(conf, "spark.kubernetes.executor.podNamePrefix",
	                    json_string(task->ref.generated_name));
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	char now[32];
	snprintf(now, sizeof(now), "%" PRId64,
	         (int64_t)ts.tv_sec * 1000 + (int64_t)ts.tv_nsec / 1000000);
	json_object_set_new(conf, "spark.kubernetes.driverEnv.FLYTE_START_TIME", json_string(now));
	return conf;
}

/* mergo.Merge(base, overlay, WithOverride, WithAppendSlice) on JSON: objects merge key by key,
 * arrays are appended to, and any other value replaces the base unless it is Go's zero. */
static void overlay_merge(json_t *base, const json_t *overlay)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)overlay, k, v)
	{
		json_t *b = json_object_get(base, k);
		if (json_is_object(v) && json_is_object(b))
			overlay_merge(b, v);
		else if (json_is_array(v) && json_is_array(b))
			json_array_extend(b, v);
		else if (!(json_is_null(v) || json_is_false(v) ||
		           (json_is_string(v) && !*json_string_value(v)) ||
		           (json_is_number(v) && json_number_value(v) == 0)))
			json_object_set_new(base, k, json_deep_copy(v));
	}
}

/* Flyte's MergeOverlayPodSpecOntoBase: the spec merged as a whole, then containers (and init
 * containers) rebuilt from the base's, each merged with the overlay's of the same name;
 * containers only the overlay has are dropped. */
static void overlay_pod_spec(json_t *spec, const json_t *overlay)
{
	static const char *const lists[] = {"containers", "initContainers"};
	json_t *kept[2];
	for (int l = 0; l < 2; l++)
		kept[l] = json_deep_copy(json_object_get(spec, lists[l]));
	overlay_merge(spec, overlay);
	for (int l = 0; l < 2; l++) {
		size_t i, j;
		json_t *c, *o;
		json_array_foreach(kept[l], i, c)
		{
			json_array_foreach(json_object_get(overlay, lists[l]), j, o)
			{
				if (json_equal(json_object_get(c, "name"),
				               json_object_get(o, "name")))
					overlay_merge(c, o);
			}
		}
		if (kept[l])
			json_object_set_new(spec, lists[l], kept[l]);
		else
			json_object_del(spec, lists[l]);
	}
}

static json_t *union_maps(const json_t *a, const json_t *b, const json_t *c)
{
	json_t *m = json_object();
	fpd_json_merge_into(m, NULL, a);
	fpd_json_merge_into(m, NULL, b);
	fpd_json_merge_into(m, NULL, c);
	return m;
}

static void merge_entries(json_t *m, size_t n, Flyteidl__Core__K8sObjectMetadata__LabelsEntry **e)
{
	for (size_t i = 0; i < n; i++)
		json_object_set_new(m, e[i]->key, json_string(e[i]->value ? e[i]->value : ""));
}

/* Sets key to v unless Go's omitempty would leave it out: absent (a nil pointer), or an
 * empty slice. Empty objects stay: they are non-nil pointers to structs. */
static void set_if(json_t *o, const char *key, const json_t *v)
{
	if (v && !json_is_null(v) && !(json_is_array(v) && !json_array_size(v)))
		json_object_set(o, key, (json_t *)v);
}

/* Likewise for a map: omitempty leaves out an empty one. */
static void set_map(json_t *o, const char *key, const json_t *v)
{
	if (json_object_size(v))
		json_object_set(o, key, (json_t *)v);
}

/* Go's strconv.ParseInt(s, 10, 32) kept only when it succeeds and is not 0 (Flyte's intPtr). */
static void set_int32(json_t *o, const char *key, const char *s)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (*s && !isspace((unsigned char)*s) && !*end && !errno && v >= INT32_MIN &&
	    v <= INT32_MAX && v != 0)
		json_object_set_new(o, key, json_integer(v));
}

/* Flyte's createSparkPodSpec plus the role's own fields. */
static json_t *spark_pod_spec(const struct fpd_task *task, const struct fpd_pod *pod,
                              const json_t *container, const Flyteidl__Core__K8sPod *kpod)
{
	const struct fpd_k8s_settings *k8s = &task->settings->k8s;
	json_t *ann = union_maps(k8s->default_annotations, pod->annotations, task->annotations);
	json_t *lab = union_maps(k8s->default_labels, pod->labels, task->labels);
	const Flyteidl__Core__K8sObjectMetadata *md = kpod ? kpod->metadata : NULL;
	if (md) {
		merge_entries(ann, md->n_annotations,
		              (Flyteidl__Core__K8sObjectMetadata__LabelsEntry **)md->annotations);
		merge_entries(lab, md->n_labels, md->labels);
	}
	json_t *env = json_deep_copy(json_object_get(container, "env"));
	if (!json_is_array(env)) {
		json_decref(env);
		env = json_array();
	}
	char attempts[16];
	snprintf(attempts, sizeof(attempts), "%d", task->meta ? task->meta->max_attempts : 0);
	json_array_append_new(
	    env, json_pack("{s:s,s:s}", "name", "FLYTE_MAX_ATTEMPTS", "value", attempts));
	const json_t *spec = pod->spec;
	json_t *o = json_object();
	set_if(o, "affinity", json_object_get(spec, "affinity"));
	set_map(o, "annotations", ann);
	set_map(o, "labels", lab);
	json_object_set_new(o, "env", env);
	json_object_set_new(o, "image", json_string(fpd_json_str_or(container, "image", "")));
	set_if(o, "podSecurityContext", json_object_get(spec, "securityContext"));
	set_if(o, "securityContext", json_object_get(container, "securityContext"));
	set_if(o, "dnsConfig", json_object_get(spec, "dnsConfig"));
	set_if(o, "tolerations", json_object_get(spec, "tolerations"));
	json_object_set_new(o, "schedulerName",
	                    json_string(fpd_json_str_or(spec, "schedulerName", "")));
	set_map(o, "nodeSelector", json_object_get(spec, "nodeSelector"));
	json_object_set_new(o, "hostNetwork",
	                    json_boolean(fpd_json_bool_or(spec, "hostNetwork", false)));
	json_object_set_new(
	    o, "serviceAccount",
	    json_string(*task->service_account ? task->service_account : DEFAULT_SERVICE_ACCOUNT));
	const char *pc = fpd_json_str_or(spec, "priorityClassName", "");
	if (*pc)
		json_object_set_new(o, "priorityClassName", json_string(pc));
	json_decref(ann);
	json_decref(lab);
	return o;
}

/* One role: its pod spec from the pod base and the role's K8sPod, the SparkPodSpec in *out
 * and the primary container in *container (new references). */
/* The container spark-operator's webhook and spark-submit look for in a role's template. */
static const char *role_container(const char *role)
{
	return !strcmp(role, "driver") ? "spark-kubernetes-driver" : "spark-kubernetes-executor";
}

/* Flyte 2's pod template for a role: the role's own pod spec verbatim (keeping the task pod's
 * enableServiceLinks when it sets none), else the task pod with its primary container renamed
 * to the operator's name and without command and args (the application carries them). */
static json_t *role_template(const struct fpd_pod *pod, const json_t *primary,
                             const Flyteidl__Core__K8sPod *kpod, const char *name,
                             struct fpd_error *err, int *rc)
{
	json_t *spec;
	if (kpod && kpod->pod_spec) {
		*rc = fpd_struct_to_json(kpod->pod_spec, &spec, err);
		if (*rc)
			return json_null();
		const json_t *links = json_object_get(pod->spec, "enableServiceLinks");
		if (links && !json_object_get(spec, "enableServiceLinks"))
			json_object_set(spec, "enableServiceLinks", (json_t *)links);
	} else {
		spec = json_deep_copy(pod->spec);
		size_t i;
		json_t *c;
		const char *pname = fpd_json_str_or(primary, "name", "");
		json_array_foreach(json_object_get(spec, "containers"), i, c)
		{
			if (!strcmp(fpd_json_str_or(c, "name", ""), pname)) {
				json_object_set_new(c, "name", json_string(name));
				json_object_del(c, "command");
				json_object_del(c, "args");
				break;
			}
		}
	}
	return json_pack("{s:o}", "spec", spec);
}

static int role_spec(const struct fpd_task *task, const char *role,
                     enum fpd_pod_interruptible interruptible, const Flyteidl__Core__K8sPod *kpod,
                     bool pod_template, json_t **out, json_t **container, struct fpd_error *err)
{
	struct fpd_pod_options opts = {.interruptible = interruptible};
	struct fpd_pod pod = {0};
	int rc = fpd_pod_build_spec(task, &opts, &pod, err);
	if (rc)
		return rc;
	const char *primary = pod.primary;
	if (kpod && kpod->pod_spec) {
		json_t *overlay;
		rc = fpd_struct_to_json(kpod->pod_spec, &overlay, err);
		if (rc) {
			fpd_pod_clear(&pod);
			return fpd_error_wrap(err, rc, "Unable to unmarshal %s pod spec", role);
		}
		overlay_pod_spec(pod.spec, overlay);
		json_decref(overlay);
		fpd_pod_omit_empty(pod.spec);
	}
	if (kpod && kpod->primary_container_name && *kpod->primary_container_name)
		primary = kpod->primary_container_name;
	size_t i;
	json_t *c, *found = NULL;
	json_array_foreach(json_object_get(pod.spec, "containers"), i, c)
	{
		if (!found && !strcmp(fpd_json_str_or(c, "name", ""), primary))
			found = c;
	}
	if (!found) {
		/* Flyte's GetContainer: a driverPod/executorPod naming a primary container the
		 * task's own pod does not have (a container task names it after the attempt) is
		 * refused, the overlay's containers being merged into the base's by name only. */
		rc =
		    fpd_error_set(err, FPD_EINVAL,
		                  "invalid TaskSpecification, container [%s] not defined", primary);
	} else {
		*out = spark_pod_spec(task, &pod, found, kpod);
		*container = json_incref(found);
		if (pod_template)
			json_object_set_new(
			    *out, "template",
			    role_template(&pod, found, kpod, role_container(role), err, &rc));
	}
	fpd_pod_clear(&pod);
	if (rc) {
		json_decref(*out);
		json_decref(*container);
		*out = *container = NULL;
	}
	return rc;
}

static const char *app_type(Flyteidl__Plugins__SparkApplication__Type t)
{
	switch (t) {
	case FLYTEIDL__PLUGINS__SPARK_APPLICATION__TYPE__JAVA: return "Java";
	case FLYTEIDL__PLUGINS__SPARK_APPLICATION__TYPE__SCALA: return "Scala";
	case FLYTEIDL__PLUGINS__SPARK_APPLICATION__TYPE__R: return "R";
	default: /* PYTHON, and numbers the enum does not define, as Flyte */ return "Python";
	}
}

static json_t *application(const Flyteidl__Plugins__SparkJob *job, json_t *conf, json_t *driver,
                           json_t *executor, const json_t *exec_container)
{
	json_t *spec = json_object();
	json_object_set_new(spec, "type", json_string(app_type(job->applicationtype)));
	json_object_set_new(spec, "sparkVersion", json_string(""));
	json_object_set_new(spec, "mode", json_string("cluster"));
	json_object_set_new(spec, "image",
	                    json_string(fpd_json_str_or(exec_container, "image", "")));
	if (*job->mainclass)
		json_object_set_new(spec, "mainClass", json_string(job->mainclass));
	json_object_set_new(spec, "mainApplicationFile",
	                    *job->mainapplicationfile ? json_string(job->mainapplicationfile)
	                                              : json_null());
	set_if(spec, "arguments", json_object_get(exec_container, "args"));
	json_object_set(spec, "sparkConf", conf);
	json_t *hadoop = json_object();
	for (size_t i = 0; i < job->n_hadoopconf; i++)
		json_object_set_new(hadoop, job->hadoopconf[i]->key,
		                    json_string(job->hadoopconf[i]->value));
	set_map(spec, "hadoopConf", hadoop);
	json_decref(hadoop);
	json_object_set(spec, "driver", driver);
	json_object_set(spec, "executor", executor);
	json_object_set_new(spec, "deps", json_object());
	json_object_set_new(spec, "restartPolicy",
	                    json_pack("{s:s,s:i}", "type", "OnFailure",
	                              "onSubmissionFailureRetries", SUBMISSION_FAILURE_RETRIES));
	json_t *batch = json_object_get(conf, "spark.batchScheduler");
	if (batch)
		json_object_set(spec, "batchScheduler", batch);
	return json_pack("{s:s,s:s,s:o}", "apiVersion", "sparkoperator.k8s.io/v1beta2", "kind",
	                 "SparkApplication", "spec", spec);
}

/* What spark-operator v2 adds and the settings ask for. The operator refuses a template
 * with a sparkVersion below 3.0.0, and an empty one sorts below every version (Flyte 2). */
static void operator_v2_fields(json_t *spec, const struct fpd_spark_settings *s, bool tmpl)
{
	if (tmpl)
		json_object_set_new(spec, "sparkVersion", json_string("3.0.0"));
	if (s->suspend)
		json_object_set_new(spec, "suspend", json_true());
	if (!json_object_get(spec, "batchScheduler") && s->batch_scheduler && *s->batch_scheduler)
		json_object_set_new(spec, "batchScheduler", json_string(s->batch_scheduler));
	if (s->batch_scheduler_queue && *s->batch_scheduler_queue)
		json_object_set_new(spec, "batchSchedulerOptions",
		                    json_pack("{s:s}", "queue", s->batch_scheduler_queue));
}

int fpd_spark_build(const struct fpd_task *task, json_t **out, struct fpd_error *err)
{
	const Flyteidl__Plugins__SparkJob *job = (const Flyteidl__Plugins__SparkJob *)task->custom;
	*out = NULL;
	if (!job || (!*job->mainapplicationfile && !*job->mainclass)) {
		char *text = json_dumps(task->custom_json, JSON_COMPACT | JSON_SORT_KEYS);
		fpd_error_set(err, FPD_EINVAL,
		              "invalid TaskSpecification [%s]: either MainApplicationFile or "
		              "MainClass must be set",
		              text ? text : "");
		free(text);
		return FPD_EINVAL;
	}
	const struct fpd_spark_settings *s =
	    task->plugin_settings ? task->plugin_settings : &no_settings;
	json_t *conf = spark_conf(task, job, s);
	json_t *driver = NULL, *executor = NULL, *dc = NULL, *ec = NULL;
	bool tmpl = s->enable_pod_template;
	int rc = role_spec(task, "driver", FPD_POD_INTERRUPTIBLE_NEVER, job->driverpod, tmpl,
	                   &driver, &dc, err);
	if (!rc)
		rc = role_spec(task, "executor", FPD_POD_INTERRUPTIBLE_AS_TASK, job->executorpod,
		               tmpl, &executor, &ec, err);
	if (!rc && tmpl) {
		json_object_set_new(conf, "spark.kubernetes.driver.podTemplateContainerName",
		                    json_string(role_container("driver")));
		json_object_set_new(conf, "spark.kubernetes.executor.podTemplateContainerName",
		                    json_string(role_container("executor")));
	}
	if (!rc) {
		set_int32(driver, "cores", conf_str(conf, "spark.driver.cores"));
		if (*conf_str(conf, "spark.driver.memory"))
			json_object_set(driver, "memory",
			                json_object_get(conf, "spark.driver.memory"));
		set_int32(executor, "cores", conf_str(conf, "spark.executor.cores"));
		set_int32(executor, "instances", conf_str(conf, "spark.executor.instances"));
		if (*conf_str(conf, "spark.executor.memory"))
			json_object_set(executor, "memory",
			                json_object_get(conf, "spark.executor.memory"));
		*out = application(job, conf, driver, executor, ec);
		operator_v2_fields(json_object_get(*out, "spec"), s, tmpl);
		/* Kueue's sparkapplication integration admits by clearing spec.suspend
		 * (spark-operator >= 2.4; an older CRD drops the field). */
		fpd_kueue_apply(task, *out, "spec.suspend", NULL);
	}
	json_decref(conf);
	json_decref(driver);
	json_decref(executor);
	json_decref(dc);
	json_decref(ec);
	/* plugin.h: a task the plugin cannot run is FPD_EINVAL, reported as a permanent failure. */
	return rc ? FPD_EINVAL : FPD_OK;
}
