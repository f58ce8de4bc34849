/*
 * What the engine adds to every object a plugin builds, as Flyte's plugin manager does
 * (addObjectMetadata): the per-attempt name, the namespace, labels and annotations merged in
 * Flyte's precedence, plus flyteplugd's own marks: the managed-by label, the identity annotation
 * (which task attempt this object is, used to adopt it on a repeated CreateTask and to rebuild
 * log links after a restart) and flyteplugd's finalizer.
 */
#ifndef FPD_ENGINE_DECORATE_H
#define FPD_ENGINE_DECORATE_H

#include <flyteplugd/error.h>

#include <flyteplugd/settings.h>
#include <flyteplugd/task.h>
#include <jansson.h>

#define FPD_LABEL_MANAGED_BY "app.kubernetes.io/managed-by"
#define FPD_MANAGED_BY "flyteplugd"
#define FPD_LABEL_PLUGIN "flyteplugd.flyte.org/plugin"
/* On pod templates (through task->labels): which task attempt's object a pod belongs to, so
 * the pods an operator creates can be followed whatever labels the operator uses. */
#define FPD_LABEL_OWNER "flyteplugd.flyte.org/owner"
#define FPD_ANNOTATION_IDENTITY "flyteplugd.flyte.org/task-execution"
/* TaskTemplate.config (compact JSON object) on objects whose task asks for dynamic log links,
 * for {{ .taskConfig.<key> }} in them: status runs long after the template is gone. */
#define FPD_ANNOTATION_TASK_CONFIG "flyteplugd.flyte.org/task-config"
#define FPD_FINALIZER "flyteplugd.flyte.org/finalizer"
/* When a GetTask last asked about the object (RFC 3339), written by whichever replica answered
 * it, at most every engine.orphan_after / 4: the replica that sweeps orphans may not be the one
 * propeller polls (engine.c, housekeep). */
#define FPD_ANNOTATION_LAST_POLL "flyteplugd.flyte.org/last-poll"

/* Decorates obj (a JSON object from a plugin's build()) in place for task. plugin_name is
 * recorded in a label. FPD_EINVAL when obj is not an object with apiVersion and kind. */
int fpd_decorate(json_t *obj, const struct fpd_task *task, const char *plugin_name,
                 const struct fpd_settings *settings, struct fpd_error *err);

/* The identity annotation's value for ref: compact JSON, new string. */
char *fpd_identity_encode(const struct fpd_task_ref *ref);

/* Does the object (from the API server) carry the identity annotation of ref? Used to adopt an
 * object on 409 AlreadyExists only when it is the same task attempt. */
bool fpd_identity_matches(const json_t *obj, const struct fpd_task_ref *ref);

#endif
