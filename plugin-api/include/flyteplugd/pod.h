/*
 * Pods the way Flyte builds and reads them: command templating, the pod spec for a task
 * (FlytePropeller's flytek8s.ToK8sPodSpec: BuildRawPod, ApplyFlytePodConfiguration,
 * AddTolerationsForExtendedResources) and the pod status rules (DemystifyPodStatus).
 *
 * The Pod plugin uses all of it; operator plugins (Spark, Kubeflow, Ray, Dask) build the pod
 * templates of their roles with fpd_pod_build_spec() and read their pods with fpd_pod_status().
 *
 * Everything here is a pure function of its arguments (and of the daemon's environment for
 * `k8s.default-env-vars-from-env`): time comes in as now_ms, settings as a struct.
 *
 * Ownership in jansson's words: a *new* reference belongs to the caller, a *borrowed* one does
 * not, a function that *steals* an argument takes over the caller's reference. Arguments are
 * borrowed for the call and nothing here steals; strings returned through `char **` are new
 * allocations for free().
 */
#ifndef FLYTEPLUGD_POD_H
#define FLYTEPLUGD_POD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flyteplugd/error.h"
#include "flyteplugd/phase.h"
#include "flyteplugd/settings.h"
#include "flyteplugd/task.h"

/* Annotation naming the container whose exit decides the task (Flyte's PrimaryContainerKey). */
#define FPD_POD_PRIMARY_ANNOTATION "primary_container_name"

/* A pod in the making. Every member is owned by the struct; fpd_pod_clear() releases them. */
struct fpd_pod {
	json_t *spec;        /* PodSpec object */
	json_t *labels;      /* object of strings, never NULL after a successful build */
	json_t *annotations; /* object of strings, never NULL after a successful build */
	char *primary;       /* the primary container's name */
};

/* Whether a role's pods may run on interruptible nodes. */
enum fpd_pod_interruptible {
	FPD_POD_INTERRUPTIBLE_AS_TASK = 0, /* the task's own setting */
	FPD_POD_INTERRUPTIBLE_NEVER,       /* e.g. Spark drivers, Dask schedulers */
	FPD_POD_INTERRUPTIBLE_ALWAYS,
};

/* What an operator plugin changes for one role's pods (Flyte's NewPluginTaskExecutionContext
 * options). A zeroed struct, like a NULL pointer, changes nothing. */
struct fpd_pod_options {
	enum fpd_pod_interruptible interruptible;
	/* Replaces the execution's resource overrides (TaskNodeOverrides.resources): a Kubernetes
	 * ResourceRequirements object {requests, limits}; borrowed. NULL: the execution's. */
	const json_t *resources;
	/* Replaces the execution's extended resource overrides, which are still merged over the
	 * template's (TaskTemplate.extended_resources); borrowed. NULL: the execution's. */
	const Flyteidl__Core__ExtendedResources *extended_resources;
};

/*
 * Renders Flyte's command and argument variables in text (core/template.Render), matched
 * case-insensitively with either prefix: {{ .input }}, {{.inputPrefix}}, {{.outputPrefix}},
 * {{.rawOutputDataPrefix}}, {{.prevCheckpointPrefix}} (`""` when there is none),
 * {{.checkpointOutputPrefix}}, {{.perRetryUniqueKey}}, {{.taskTemplatePath}}, {{.namespace}},
 * {{$input}}, ... and {{ .Inputs.<name> }} with the input literal serialized as Flyte does
 * (integers and floats as Go's %v, booleans true/false, datetimes RFC 3339 with nanoseconds,
 * durations in protobuf text form, strings as they are, blobs and schemas by URI, collections
 * as [a,b]). Input placeholders are left as they are when the task has no inputs.
 *
 * *out receives a new string. Returns 0, or FPD_EINVAL (a missing or unsupported input, a
 * task template path that is not available) or FPD_ERANGE (result over 1 MiB) with err set.
 */
int fpd_render_template(const struct fpd_task *task, const char *in, char **out,
                        struct fpd_error *err);

/*
 * The task's pod before any Flyte configuration (Flyte's BuildRawPod): one container for a
 * `container` target; the K8sPod's pod_spec, labels and annotations for a `k8s_pod` target
 * (primary container from TaskTemplate.config["primary_container_name"], else
 * K8sPod.primary_container_name); replaced by the execution's pod template override when it
 * has a pod spec. Fills *out (zeroed by the caller). Returns 0 or FPD_EINVAL with err set.
 */
int fpd_pod_build_raw(const struct fpd_task *task, struct fpd_pod *out, struct fpd_error *err);

/*
 * Applies Flyte's pod configuration to pod->spec in place (ApplyFlytePodConfiguration), for
 * the container named pod->primary: templating, env (the container's, task->injected_env,
 * k8s.default-env-vars, -vars-from-env, envFrom secrets and config maps) and resources for
 * every init container and container, restart policy, service account, scheduler,
 * tolerations, node selector, affinity, security contexts, host networking, DNS,
 * interruptible node selector requirements, GPU accelerator and shared memory, the
 * execution's container image override, and co-pilot (k8s.co-pilot, storage, logger) when
 * the template's data_config is enabled. opts may be NULL.
 * Returns 0, or FPD_EINVAL (primary container missing, bad quantity, missing input,
 * unsupported feature such as a named PodTemplate) or FPD_ERANGE (rendered text over
 * 1 MiB) with err set; pod may then be half-configured.
 */
int fpd_pod_apply_flyte_config(const struct fpd_task *task, const struct fpd_pod_options *opts,
                               struct fpd_pod *pod, struct fpd_error *err);

/*
 * Adds a toleration {key: <name>, operator: Exists, effect: NoSchedule} for each resource of
 * `k8s.add-tolerations-for-extended-resources` that a container or init container requests,
 * unless an equal toleration is there already.
 */
void fpd_pod_add_extended_resource_tolerations(json_t *spec, const struct fpd_k8s_settings *k8s);

/*
 * Removes from v, at any depth, the keys Go's encoding/json leaves out of core/v1 objects:
 * empty lists (every slice field of the Pod types but containers, nodeSelectorTerms,
 * projected sources and monitors is omitempty) and empty maps (nodeSelector, overhead,
 * resource limits and requests, labels, annotations, matchLabels, volumeAttributes,
 * flexVolume options). Empty objects of struct-typed fields stay, as Go writes them
 * (`affinity: {}`, `resources: {}`). v (a Pod, a PodSpec, or an object embedding pod specs)
 * is edited in place; nothing is stolen. Null values, empty strings and zeros are left as
 * they are.
 */
void fpd_pod_omit_empty(json_t *v);

/* Rewrites the quantities of a pod spec in place (container resources, overhead, emptyDir size
 * limits) in their canonical form, as the API server stores them. Values that are not
 * quantities are left for the server to refuse. */
void fpd_pod_canonical_quantities(json_t *spec);

/*
 * The whole pipeline for operator plugins (Flyte's ToK8sPodSpec): fpd_pod_build_raw(), then
 * fpd_pod_apply_flyte_config(), then fpd_pod_add_extended_resource_tolerations(), and
 * fpd_pod_omit_empty() on the spec, so that it reads as the one Go would send. Fills *out
 * (zeroed by the caller; cleared again on failure). Returns 0 or a negative FPD_E* code.
 */
int fpd_pod_build_spec(const struct fpd_task *task, const struct fpd_pod_options *opts,
                       struct fpd_pod *out, struct fpd_error *err);

/* Frees everything pod owns and zeroes it. */
void fpd_pod_clear(struct fpd_pod *pod);

/*
 * Maps a pod (borrowed) to a Flyte phase exactly as Flyte's DemystifyPodStatus: phase, code,
 * message, kind and cleanup in *out. Grace periods and the pending timeout come from k8s and
 * are measured against now_ms; while one is running, out->recheck_at_ms is the moment it
 * expires. Log links already in *out are kept where Flyte's phase carries the task info and
 * dropped where it does not (Initializing and failures found while pending).
 */
void fpd_pod_status(const json_t *pod, const struct fpd_k8s_settings *k8s, int64_t now_ms,
                    struct fpd_phase_info *out);

/* --- The pieces, for plugins that build or check part of a pod themselves --- */

/* Converts Flyte Resources to {requests, limits} (ToK8sResourceRequirements): CPU, MEMORY,
 * GPU (named gpu_name) and EPHEMERAL_STORAGE; zero values dropped, STORAGE ignored. New
 * reference in *out; FPD_EINVAL for a malformed quantity. */
int fpd_pod_resources_from_proto(const Flyteidl__Core__Resources *r, const char *gpu_name,
                                 json_t **out, struct fpd_error *err);

/* How a container's resources are settled (Flyte's ResourceCustomizationMode). */
enum fpd_res_mode {
	FPD_RES_MERGE,  /* primary and init containers: overrides win, gaps filled, defaults */
	FPD_RES_ENSURE, /* other containers: only clamped */
};

/* Settles container.resources (SanitizeGPUResourceRequirements, MergeResources with overrides
 * (borrowed, may be NULL) for FPD_RES_MERGE, then ApplyResourceOverrides). 0 or FPD_EINVAL. */
int fpd_pod_settle_resources(json_t *container, const json_t *overrides, enum fpd_res_mode mode,
                             const struct fpd_k8s_settings *k8s, struct fpd_error *err);

/* TaskTemplate.config[key] (borrowed) or NULL. */
const char *fpd_pod_config_get(const Flyteidl__Core__TaskTemplate *t, const char *key);
/* TaskTemplate.config as Go prints a map[string]string ("map[a:1 b:2]", keys sorted),
 * truncated to size. */
void fpd_pod_config_text(const Flyteidl__Core__TaskTemplate *t, char *out, size_t size);
/* The container named name in spec.containers (borrowed) or NULL. */
json_t *fpd_pod_find_container(const json_t *spec, const char *name);
/* The checks Go's json.Unmarshal into v1.PodSpec makes on the fields Flyte edits: 0, or
 * FPD_EINVAL naming the field. */
int fpd_pod_check_spec(const json_t *spec, struct fpd_error *err);
/* Whether v is absent or JSON null, i.e. unset in Go terms. */
bool fpd_pod_unset(const json_t *v);

#endif
