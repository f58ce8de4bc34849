/*
 * The Trainer plugin: flytekitplugins-kfpytorch's `pytorch` tasks as Kubeflow Trainer v2
 * TrainJobs (trainer.kubeflow.org/v1alpha1), for clusters that run Trainer 2.x instead of the
 * training operator v1. Flyte has no such plugin (flyteorg/flyte#6846); docs/parity/trainer.md
 * says what maps and what cannot.
 *
 * The task's pod is built exactly as for a PyTorchJob worker (kubeflow/common.c, Flyte's
 * ToReplicaSpecWithOverrides); the TrainJob takes its primary container as the trainer
 * (image, command, args, env, resourcesPerNode) and the rest of the pod as a runtimePatches
 * entry on the runtime's trainer job ("node" in the torch-distributed runtimes). Nodes are the
 * PyTorchJob's master plus its workers; an elastic task maps when its node count is fixed.
 *
 * A plugin creates one kind, so this plugin is a module (trainer.so) that serves `pytorch`
 * beside the built-in plugin: plugins.modules loads it and plugins.routes gives it namespaces
 * (or `pytorch` is left out of plugins.enabled).
 */
#include "trainer.h"

#include "../children.h"
#include "../kubeflow/kubeflow.h"

#include <flyteplugd/error.h>
#include <flyteplugd/mem.h>
#include <flyteplugd/object.h>
#include <flyteplugd/pod.h>
#include <flyteplugd/queue.h>

#include "flyteidl/plugins/kubeflow/pytorch.pb-c.h"
#include "flyteidl/plugins/pytorch.pb-c.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define TRAINER_CONTAINER "node"

static const char *const runtime_kinds[] = {"ClusterTrainingRuntime", "TrainingRuntime", NULL};

const struct fpd_schema_field fpd_trainer_settings_schema[] = {
    {"runtime", FPD_SCHEMA_STRING, offsetof(struct fpd_trainer_settings, runtime),
     .nonempty = true},
    {"runtime_kind", FPD_SCHEMA_ENUM, offsetof(struct fpd_trainer_settings, runtime_kind),
     .names = runtime_kinds},
    {"trainer_job", FPD_SCHEMA_STRING, offsetof(struct fpd_trainer_settings, trainer_job),
     .nonempty = true},
    {"timeout", FPD_SCHEMA_DURATION, offsetof(struct fpd_trainer_settings, timeout_ms), 1000,
     7 * 24 * 3600 * 1000LL},
    {0},
};

void fpd_trainer_settings_defaults(void *p)
{
	struct fpd_trainer_settings *s = p;
	memset(s, 0, sizeof(*s));
	s->runtime = fpd_strdup("torch-distributed");
	s->trainer_job = fpd_strdup(TRAINER_CONTAINER);
	s->timeout_ms = 60 * 1000;
}

static const struct fpd_trainer_settings builtin = {
    .runtime = (char *)"torch-distributed",
    .trainer_job = (char *)TRAINER_CONTAINER,
    .timeout_ms = 60 * 1000,
};

const struct fpd_trainer_settings *fpd_trainer_settings_of(const void *ps)
{
	return ps ? ps : &builtin;
}

/* --- build --- */

/* What the trainer's node count and processes come from, after the v0/v1 custom. */
struct shape {
	struct fpd_kf_replica worker;
	int32_t nodes;
	int32_t nproc; /* 0: the runtime's */
	const Flyteidl__Plugins__Kubeflow__RunPolicy *run_policy;
	const char *master_image;
};

static int elastic(int32_t min, int32_t max, int32_t nproc, int32_t restarts, struct shape *sh,
                   struct fpd_error *err)
{
	if (min != max)
		return fpd_error_set(
		    err, FPD_EINVAL,
		    "elastic training with %d to %d nodes cannot run as a TrainJob: "
		    "its numNodes is fixed (set nnodes to one number)",
		    (int)min, (int)max);
	if (restarts)
		return fpd_error_set(
		    err, FPD_EINVAL,
		    "elastic max_restarts %d cannot run as a TrainJob: restarts are "
		    "the training runtime's failure policy",
		    (int)restarts);
	sh->nodes = max;
	sh->nproc = nproc;
	return FPD_OK;
}

static int shape_of(const struct fpd_task *task, struct shape *sh, struct fpd_error *err)
{
	memset(sh, 0, sizeof(*sh));
	if (task->tmpl->task_type_version == 0) {
		const Flyteidl__Plugins__DistributedPyTorchTrainingTask *c =
		    (const void *)task->custom;
		sh->nodes = 1 + (c ? c->workers : 0);
		const Flyteidl__Plugins__ElasticConfig *e = c ? c->elastic_config : NULL;
		return e ? elastic(e->min_replicas, e->max_replicas, e->nproc_per_node,
		                   e->max_restarts, sh, err)
		         : FPD_OK;
	}
	const Flyteidl__Plugins__Kubeflow__DistributedPyTorchTrainingTask *c =
	    (const void *)task->custom;
	if (!c)
		return fpd_error_set(err, FPD_EINVAL,
		                     "invalid TaskSpecification, custom is required");
	FPD_KF_REPLICA_FROM(c->worker_replicas, &sh->worker);
	struct fpd_kf_replica master;
	FPD_KF_REPLICA_FROM(c->master_replicas, &master);
	sh->master_image = master.image;
	sh->run_policy = c->run_policy;
	sh->nodes = 1 + sh->worker.replicas;
	const Flyteidl__Plugins__Kubeflow__ElasticConfig *e = c->elastic_config;
	return e ? elastic(e->min_replicas, e->max_replicas, e->nproc_per_node, e->max_restarts, sh,
	                   err)
	         : FPD_OK;
}

/* A TrainJob carries activeDeadlineSeconds; the rest of a run policy is the runtime's. */
static int run_policy(const struct shape *sh, json_t *spec, struct fpd_error *err)
{
	const Flyteidl__Plugins__Kubeflow__RunPolicy *rp = sh->run_policy;
	if (!rp)
		return FPD_OK;
	if (rp->backoff_limit)
		return fpd_error_set(
		    err, FPD_EINVAL,
		    "run_policy.backoff_limit cannot be set on a TrainJob: it is the "
		    "training runtime's (JobSet failurePolicy)");
	if (rp->ttl_seconds_after_finished)
		return fpd_error_set(
		    err, FPD_EINVAL,
		    "run_policy.ttl_seconds_after_finished cannot be set on a "
		    "TrainJob: finished TrainJobs are removed by flyteplugd's cleanup");
	if (rp->active_deadline_seconds)
		json_object_set_new(spec, "activeDeadlineSeconds",
		                    json_integer(rp->active_deadline_seconds));
	return FPD_OK;
}

/* Pod spec fields a runtimePatches pod spec may carry (v2.3.0's CRD). */
static const char *const patch_pod_fields[] = {"affinity",
                                               "imagePullSecrets",
                                               "initContainers",
                                               "nodeSelector",
                                               "schedulingGates",
                                               "securityContext",
                                               "serviceAccountName",
                                               "terminationGracePeriodSeconds",
                                               "tolerations",
                                               "volumes",
                                               NULL};
/* Set by Flyte on every pod and decided by the runtime's job for a TrainJob. */
static const char *const runtime_pod_fields[] = {"restartPolicy", "containers", NULL};
/* Container fields that go to the trainer or the patch, and those the runtime's container
 * decides (Flyte sets them on every container). */
static const char *const trainer_container_fields[] = {"name",
                                                       "image",
                                                       "command",
                                                       "args",
                                                       "env",
                                                       "resources",
                                                       "volumeMounts",
                                                       "securityContext",
                                                       "terminationMessagePolicy",
                                                       "imagePullPolicy",
                                                       NULL};

static bool listed(const char *const *list, const char *key)
{
	for (; *list; list++)
		if (!strcmp(*list, key))
			return true;
	return false;
}

static json_t *container_named(json_t *spec, const char *name)
{
	json_t *c;
	size_t i;
	json_array_foreach(json_object_get(spec, "containers"), i, c)
	{
		if (!strcmp(fpd_json_str_or(c, "name", ""), name))
			return c;
	}
	return NULL;
}

/* Moves the trainer container's own fields into trainer; refuses what a TrainJob cannot say. */
static int trainer_fields(json_t *pod_spec, json_t *trainer, struct fpd_error *err)
{
	if (json_array_size(json_object_get(pod_spec, "containers")) != 1) {
		json_t *c;
		size_t i;
		json_array_foreach(json_object_get(pod_spec, "containers"), i, c)
		{
			const char *name = fpd_json_str_or(c, "name", "");
			if (strcmp(name, TRAINER_CONTAINER))
				return fpd_error_set(err, FPD_EINVAL,
				                     "container %s cannot run in a TrainJob: "
				                     "runtimePatches cannot add containers",
				                     name);
		}
	}
	json_t *c = container_named(pod_spec, TRAINER_CONTAINER);
	const char *key;
	json_t *v;
	json_object_foreach(c, key, v)
	{
		if (!listed(trainer_container_fields, key))
			return fpd_error_set(
			    err, FPD_EINVAL,
			    "container field %s cannot be set on a TrainJob's trainer", key);
	}
	static const char *const moved[] = {"image", "command", "args", "env"};
	for (size_t i = 0; i < FPD_ARRAY_LEN(moved); i++)
		if ((v = json_object_get(c, moved[i])))
			json_object_set(trainer, moved[i], v);
	if ((v = json_object_get(c, "resources")) && json_object_size(v))
		json_object_set(trainer, "resourcesPerNode", v);
	return FPD_OK;
}

/* The pod's remaining settings as one runtimePatches entry on the trainer job. */
static int runtime_patch(const char *job, json_t *pod_spec, json_t *meta, json_t **out,
                         struct fpd_error *err)
{
	json_t *spec = json_object(), *v;
	const char *key;
	json_object_foreach(pod_spec, key, v)
	{
		if (listed(patch_pod_fields, key))
			json_object_set(spec, key, v);
		else if (!listed(runtime_pod_fields, key)) {
			json_decref(spec);
			return fpd_error_set(err, FPD_EINVAL,
			                     "pod spec field %s cannot be set on a TrainJob "
			                     "(runtimePatches do not allow it)",
			                     key);
		}
	}
	json_t *c = container_named(pod_spec, TRAINER_CONTAINER), *patch = NULL;
	static const char *const kept[] = {"volumeMounts", "securityContext"};
	for (size_t i = 0; i < FPD_ARRAY_LEN(kept); i++)
		if ((v = json_object_get(c, kept[i]))) {
			if (!patch)
				patch = json_pack("{s:s}", "name", TRAINER_CONTAINER);
			json_object_set(patch, kept[i], v);
		}
	if (patch)
		json_object_set_new(spec, "containers", json_pack("[o]", patch));
	json_t *pod = json_pack("{s:O,s:o}", "metadata", meta, "spec", spec);
	fpd_pod_omit_empty(pod);
	*out = json_pack("{s:s,s:{s:{s:{s:[{s:s,s:{s:{s:o}}}]}}}}", "manager", "flyteplugd",
	                 "trainingRuntimeSpec", "template", "spec", "replicatedJobs", "name", job,
	                 "template", "spec", "template", pod);
	return FPD_OK;
}

/* The pod template's labels and annotations on the TrainJob too: queueing systems (Kueue)
 * read the top-level object's. */
static json_t *pod_template_metadata(const struct fpd_task *task)
{
	const Flyteidl__Core__K8sObjectMetadata *m =
	    task->tmpl->target_case == FLYTEIDL__CORE__TASK_TEMPLATE__TARGET_K8S_POD
	        ? task->tmpl->k8s_pod->metadata
	        : NULL;
	json_t *labels = json_object(), *annotations = json_object(), *meta = json_object();
	for (size_t i = 0; m && i < m->n_labels; i++)
		json_object_set_new(labels, m->labels[i]->key, json_string(m->labels[i]->value));
	for (size_t i = 0; m && i < m->n_annotations; i++)
		json_object_set_new(annotations, m->annotations[i]->key,
		                    json_string(m->annotations[i]->value));
	if (json_object_size(labels))
		json_object_set(meta, "labels", labels);
	if (json_object_size(annotations))
		json_object_set(meta, "annotations", annotations);
	json_decref(labels);
	json_decref(annotations);
	return meta;
}

static int trainer_build(const struct fpd_task *task, json_t **out, struct fpd_error *err)
{
	const struct fpd_trainer_settings *s = fpd_trainer_settings_of(task->plugin_settings);
	*out = NULL;
	struct shape sh;
	int rc = shape_of(task, &sh, err);
	if (rc)
		return FPD_EINVAL;
	if (sh.master_image && *sh.master_image && sh.worker.image && *sh.worker.image &&
	    strcmp(sh.master_image, sh.worker.image))
		return fpd_error_set(err, FPD_EINVAL,
		                     "master image %s and worker image %s differ: a TrainJob runs "
		                     "one image on every node",
		                     sh.master_image, sh.worker.image);
	if (!(sh.worker.image && *sh.worker.image))
		sh.worker.image = sh.master_image;
	json_t *replica;
	if ((rc = fpd_kf_replica_spec(task, TRAINER_CONTAINER, &sh.worker, false, &replica, err)))
		return fpd_kf_wrap(err, "Unable to create trainer spec");
	json_t *pod_spec = fpd_json_get(replica, "template.spec");
	json_t *trainer = json_pack("{s:i}", "numNodes", (int)sh.nodes);
	if (sh.nproc)
		json_object_set_new(trainer, "numProcPerNode", json_integer(sh.nproc));
	json_t *spec = json_pack("{s:{s:s,s:s,s:s},s:o}", "runtimeRef", "apiGroup",
	                         "trainer.kubeflow.org", "kind", runtime_kinds[s->runtime_kind],
	                         "name", s->runtime, "trainer", trainer);
	json_t *patch = NULL;
	rc = trainer_fields(pod_spec, trainer, err);
	if (!rc)
		rc = run_policy(&sh, spec, err);
	if (!rc)
		rc = runtime_patch(s->trainer_job, pod_spec,
		                   fpd_json_get(replica, "template.metadata"), &patch, err);
	json_decref(replica);
	if (rc) {
		json_decref(spec);
		return FPD_EINVAL;
	}
	json_object_set_new(spec, "runtimePatches", json_pack("[o]", patch));
	*out = json_pack("{s:s,s:s,s:o}", "apiVersion", "trainer.kubeflow.org/v1alpha1", "kind",
	                 "TrainJob", "spec", spec);
	json_t *meta = pod_template_metadata(task);
	if (json_object_size(meta))
		json_object_set(*out, "metadata", meta);
	json_decref(meta);
	/* Kueue's trainjob integration admits a TrainJob by clearing spec.suspend. */
	fpd_kueue_apply(task, *out, "spec.suspend", NULL);
	return FPD_OK;
}

/* --- status --- */

static const json_t *condition(const json_t *obj, const char *type)
{
	const json_t *c;
	size_t i;
	json_array_foreach(fpd_json_get(obj, "status.conditions"), i, c)
	{
		if (!strcmp(fpd_json_str_or(c, "type", ""), type) &&
		    !strcmp(fpd_json_str_or(c, "status", ""), "True"))
			return c;
	}
	return NULL;
}

/* trainerStatus as "; progress 40%, about 120s left" (empty without one). */
static void progress(const json_t *obj, char *buf, size_t len)
{
	const json_t *ts = fpd_json_get(obj, "status.trainerStatus");
	const json_t *pct = json_object_get(ts, "progressPercentage");
	const json_t *eta = json_object_get(ts, "estimatedRemainingSeconds");
	buf[0] = '\0';
	if (json_is_integer(pct) && json_is_integer(eta))
		snprintf(buf, len, "; progress %lld%%, about %llds left",
		         (long long)json_integer_value(pct), (long long)json_integer_value(eta));
	else if (json_is_integer(pct))
		snprintf(buf, len, "; progress %lld%%", (long long)json_integer_value(pct));
	else if (json_is_integer(eta))
		snprintf(buf, len, "; about %llds left", (long long)json_integer_value(eta));
}

/* Child jobs active, ready, succeeded and failed, summed over jobsStatus. */
struct jobs {
	long long active, ready, succeeded, failed, suspended;
};

static struct jobs jobs_of(const json_t *obj)
{
	struct jobs j = {0};
	const json_t *e;
	size_t i;
	json_array_foreach(fpd_json_get(obj, "status.jobsStatus"), i, e)
	{
		j.active += json_integer_value(json_object_get(e, "active"));
		j.ready += json_integer_value(json_object_get(e, "ready"));
		j.succeeded += json_integer_value(json_object_get(e, "succeeded"));
		j.failed += json_integer_value(json_object_get(e, "failed"));
		j.suspended += json_integer_value(json_object_get(e, "suspended"));
	}
	return j;
}

static void trainer_status(const struct fpd_status_ctx *ctx, struct fpd_phase_info *out)
{
	const json_t *obj = ctx->object;
	const json_t *c;
	char prog[96];
	progress(obj, prog, sizeof(prog));
	const json_t *st = json_object_get(obj, "status");
	if (json_is_object(st))
		out->custom_info = json_deep_copy(st);
	if ((c = condition(obj, "Failed"))) {
		const char *reason = fpd_json_str_or(c, "reason", "");
		/* A runtime the cluster cannot run fails every attempt: permanent. */
		bool permanent = !strcmp(reason, "TrainingRuntimeNotSupported");
		fpd_phase_setf(out, permanent ? FPD_PHASE_FAILED : FPD_PHASE_RETRYABLE_FAILED,
		               *reason ? reason : "TrainJobFailed", "TrainJob failed:\n\t%s - %s%s",
		               reason, fpd_json_str_or(c, "message", ""), prog);
		out->kind = permanent ? FPD_KIND_USER : FPD_KIND_SYSTEM;
		return;
	}
	if ((c = condition(obj, "Complete"))) {
		fpd_phase_setf(out, FPD_PHASE_SUCCEEDED, NULL, "%s",
		               fpd_json_str_or(c, "message", ""));
		return;
	}
	if (fpd_kueue_status(obj, "spec.suspend", out))
		return;
	if ((c = condition(obj, "Suspended"))) {
		fpd_phase_setf(out, FPD_PHASE_QUEUED, "Suspended", "Suspended: %s",
		               fpd_json_str_or(c, "message", ""));
		return;
	}
	/* A node's pod that cannot run fails the TrainJob now: JobSet would wait. */
	if (fpd_children_fail_fast(
	        ctx->pods, ctx->pod_count,
	        (struct fpd_children_filter){"jobset.sigs.k8s.io/jobset-name",
	                                     fpd_json_str_or(obj, "metadata.name", "")},
	        &ctx->settings->k8s, ctx->now_ms, out))
		return;
	struct jobs j = jobs_of(obj);
	if (j.active || j.ready || j.succeeded) {
		fpd_phase_setf(out, FPD_PHASE_RUNNING, NULL,
		               "jobs: %lld active, %lld ready, %lld succeeded, %lld failed%s",
		               j.active, j.ready, j.succeeded, j.failed, prog);
		return;
	}
	const char *created = fpd_json_str(obj, "metadata.creationTimestamp");
	int64_t at = created ? fpd_time_parse(created) : 0;
	const struct fpd_trainer_settings *s = fpd_trainer_settings_of(ctx->plugin_settings);
	if (!json_is_object(st) && at > 0 && ctx->now_ms >= at + s->timeout_ms) {
		fpd_phase_setf(
		    out, FPD_PHASE_RETRYABLE_FAILED, "RuntimeFailure",
		    "TrainJob %s has no status %llds after its creation: is the Kubeflow "
		    "Trainer controller running?",
		    fpd_json_str_or(obj, "metadata.name", ""), (long long)(s->timeout_ms / 1000));
		out->kind = FPD_KIND_SYSTEM;
		return;
	}
	fpd_phase_set(out, FPD_PHASE_QUEUED, "TrainJobCreated", "TrainJob created");
	if (!json_is_object(st) && at > 0)
		out->recheck_at_ms = at + s->timeout_ms;
}

static const struct fpd_task_type trainer_types[] = {
    {"pytorch", 0, &flyteidl__plugins__distributed_py_torch_training_task__descriptor},
    {"pytorch", 1, &flyteidl__plugins__kubeflow__distributed_py_torch_training_task__descriptor},
};

static const struct fpd_kind trainer_kind = {"trainer.kubeflow.org/v1alpha1", "TrainJob",
                                             "trainjobs"};

const struct fpd_plugin fpd_plugin_trainer = {
    .abi = FPD_PLUGIN_ABI,
    .name = "trainer",
    .task_types = trainer_types,
    .task_type_count = 2,
    .kind = &trainer_kind,
    /* JobSet names its pods' jobset after the TrainJob. */
    .pod_owner_label = "jobset.sigs.k8s.io/jobset-name",
    .keep = (const char *const[]){"spec.suspend", "metadata.generation", NULL},
    .settings_schema = fpd_trainer_settings_schema,
    .settings_size = sizeof(struct fpd_trainer_settings),
    .settings_defaults = fpd_trainer_settings_defaults,
    .build = trainer_build,
    .status = trainer_status,
    /* The pod's settings the TrainJob carries (security contexts, volumes, init containers)
     * are in its runtimePatches; the trainer's image and command hold nothing Pod Security
     * reads, and the runtime's own pod template is the cluster administrator's. */
    .pod_specs =
        (const char *const[]){
            "spec.runtimePatches.*.trainingRuntimeSpec.template.spec.replicatedJobs.*.template."
            "spec.template.spec",
            NULL},
};

/* The module's entry point (the descriptor above is what the daemon loads). */
__attribute__((visibility("default"))) const struct fpd_plugin *fpd_plugin_entry =
    &fpd_plugin_trainer;
