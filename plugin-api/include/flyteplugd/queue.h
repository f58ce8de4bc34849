/*
 * Queueing shared by the plugins and the engine. Kueue, for any kind: which LocalQueue a task
 * goes to, the label and suspension that hand the created object to Kueue, and what the
 * object's admission state means for Flyte. Volcano: see below.
 *
 * A kind with a suspend field (RayJob spec.suspend, Kubeflow runPolicy.suspend, JobSet
 * spec.suspend) is created suspended with the queue label; Kueue admits it by setting the field
 * to false. A Pod has no such field: Kueue's pod webhook holds a labelled pod with a scheduling
 * gate instead, and the plugin reads the gate (see fpd_kueue_pod_status).
 *
 * Additive to plugin ABI 6: new functions only, and struct fpd_settings grows at its end.
 */
#ifndef FLYTEPLUGD_QUEUE_H
#define FLYTEPLUGD_QUEUE_H

#include <jansson.h>
#include <stdbool.h>

#include "flyteplugd/phase.h"
#include "flyteplugd/task.h"

#define FPD_KUEUE_QUEUE_LABEL "kueue.x-k8s.io/queue-name"
/* The scheduling gate Kueue's pod webhook adds and removes on admission. */
#define FPD_KUEUE_POD_GATE "kueue.x-k8s.io/admission"

/* The task's LocalQueue (borrowed from the task or the settings), or NULL for none. First match
 * wins: the task's config key kueue.x-k8s.io/queue-name, the execution's label of that name, the
 * first glob of namespace_queues (a plugin's own object of namespace glob -> queue; may be NULL)
 * matching the namespace, then the same in the daemon's queueing.kueue.queues. */
const char *fpd_kueue_queue(const struct fpd_task *task, const json_t *namespace_queues);

/* Hands a built object to Kueue when the task has a queue (fpd_kueue_queue): the queue label in
 * object's metadata.labels and, when suspend_path is not NULL, true at that dotted path (e.g.
 * "spec.runPolicy.suspend"; missing objects on the way are created). Returns the queue
 * (borrowed) or NULL when the task has none and the object was left alone. */
const char *fpd_kueue_apply(const struct fpd_task *task, json_t *object, const char *suspend_path,
                            const json_t *namespace_queues);

/* The admission state of an object fpd_kueue_apply labelled, read from the object alone. Returns
 * false (out untouched) when the object has no queue label or is not suspended at suspend_path:
 * the plugin maps it as usual. Otherwise sets out and returns true:
 *  - suspended at its first generation: Kueue has not admitted it yet ->
 *    WAITING_FOR_RESOURCES "KueueAdmission", "waiting for Kueue admission in queue <q>";
 *  - suspended at a later generation: Kueue admitted it (spec changed) and suspended it again,
 *    which is how Kueue evicts and preempts -> RETRYABLE_FAILED "Evicted" (system), the
 *    object's Suspended condition's reason and message appended when it has one.
 * A "Suspended" condition's message, when the operator wrote one, is added to the wait. */
bool fpd_kueue_status(const json_t *object, const char *suspend_path, struct fpd_phase_info *out);

/* The same for a pod Kueue's pod integration manages: a labelled pod still carrying Kueue's
 * scheduling gate in spec.schedulingGates (keep that path) waits (WAITING_FOR_RESOURCES, as above); a pod Kueue stopped (its
 * TerminationTarget condition, reason WorkloadEvicted, NotAdmitted, ...) is a retryable system
 * failure with the reason and message. Returns false for any other pod. */
bool fpd_kueue_pod_status(const json_t *pod, struct fpd_phase_info *out);

/*
 * Volcano gang scheduling. When queueing.volcano applies to a task's namespace, the engine
 * points every pod template of the built object at Volcano's scheduler with the group
 * annotation below, and creates a PodGroup (scheduling.volcano.sh/v1beta1) of the object's name
 * before the object, so that no pod of it starts without its group; it deletes the group with
 * the object.
 */
#define FPD_VOLCANO_GROUP_ANNOTATION "scheduling.k8s.io/group-name"
#define FPD_VOLCANO_API_VERSION "scheduling.volcano.sh/v1beta1"

struct fpd_settings;

/* Does settings' queueing.volcano apply to namespace ns? (enabled, and ns matches one of its
 * namespace globs, or it has none.) */
bool fpd_volcano_applies(const struct fpd_settings *settings, const char *ns);

/* The number of pods an object (a built, decorated object) runs at once, for the PodGroup's
 * minMember, from its kind: Pod 1; PyTorchJob, TFJob, MPIJob the sum of their replica specs'
 * replicas (1 when unset); SparkApplication driver + executor.instances; RayJob the head + the
 * worker groups' minReplicas; DaskJob the job's pod + the scheduler + the workers' replicas;
 * JobSet the sum of replicatedJobs' replicas x parallelism; any other kind 1 per pod spec the
 * caller found (pod_specs). Computed with saturating arithmetic (the counts are user JSON) and
 * bounded to [1, INT32_MAX], minMember's range. */
int64_t fpd_volcano_min_member(const json_t *object, int64_t pod_specs);

#endif
