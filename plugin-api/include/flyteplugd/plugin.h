/*
 * The plugin contract: what a task-type plugin declares and implements.
 *
 * A plugin is one static, const struct fpd_plugin (like an nginx module). Built-in plugins are
 * compiled in; external ones are shared objects exporting `fpd_plugin_entry`, a pointer to their
 * descriptor, checked against FPD_PLUGIN_ABI when loaded.
 *
 * The engine does everything around the hooks: it decodes TaskTemplate.custom into the declared
 * message, calls build(), adds Flyte's name, namespace, labels, annotations and env, creates the
 * object, follows it (and its pods) through watches and calls status() whenever they change.
 *
 * Everything a plugin receives is borrowed for the duration of the call unless a comment says
 * otherwise.
 */
#ifndef FLYTEPLUGD_PLUGIN_H
#define FLYTEPLUGD_PLUGIN_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "flyteplugd/error.h"
#include "flyteplugd/phase.h"
#include "flyteplugd/schema.h"
#include "flyteplugd/task.h"

/* Bumped whenever struct fpd_plugin or a type it refers to changes.
 * 2: struct fpd_plugin gained name_max_len. The daemon reads the descriptor in the plugin's own
 *    memory, so a descriptor built for ABI 1 ends before that field: it must be rebuilt.
 * 3: struct fpd_status_ctx gained task_config at its end. A plugin built for 2 still loads (it
 *    never reads the field); one built for 3 needs a daemon that fills it.
 * 4: the plugin API is libflyteplugd, and the daemon exports exactly its public symbols
 *    (plugin-api/libflyteplugd.map) and the IDL descriptors; before, it exported everything,
 *    internals included. struct fpd_error is complete (<flyteplugd/error.h>), and errors,
 *    memory, bounded buffers, base64, quantities, UTF-8 and the pod library's helpers for
 *    operator plugins are public. fpd_pod_quantity_canonical is now fpd_quantity_canonical.
 *    No struct a plugin shares with the daemon changed layout, so plugins built for 2 and 3
 *    still load, unless they call a function that is gone: the loader binds every symbol when
 *    it opens a plugin (RTLD_NOW) and refuses it with the missing name. A plugin built for 4
 *    is refused by a daemon for 3 by this number rather than by a missing symbol.
 * 5: struct fpd_phase_info gained outputs at its end (a status hook may report the task's
 *    outputs). The engine zeroes and frees the struct, so plugins built for 2 to 4 still load
 *    (they never write the field); one built for 5 needs a daemon that knows the field.
 * 6: struct fpd_plugin gained pod_specs at its end. A descriptor built for 2 to 5 ends before
 *    it, so the daemon reads it only from descriptors that declare 6: an older plugin still
 *    loads, and gets the Pod Security check at "spec" when its kind is v1/Pod, none otherwise. */
#define FPD_PLUGIN_ABI 6
/* The oldest ABI this daemon still loads. */
#define FPD_PLUGIN_ABI_MIN 2

/* A Flyte task category: TaskTemplate.type plus TaskTemplate.task_type_version, and the
 * protobuf message TaskTemplate.custom holds for it (NULL: none, or not a protobuf message). */
struct fpd_task_type {
	const char *name;
	int32_t version;
	const ProtobufCMessageDescriptor *custom;
};

/* A Kubernetes kind: what the plugin creates and watches. */
struct fpd_kind {
	const char *api_version; /* "v1", "sparkoperator.k8s.io/v1beta2" */
	const char *kind;        /* "Pod", "SparkApplication" */
	const char *plural;      /* "pods", "sparkapplications" */
};

struct fpd_plugin {
	uint32_t abi; /* FPD_PLUGIN_ABI */
	/* Unique plugin name, reported as the agent name by AgentMetadataService
	 * ([a-z0-9_-], at most 63). */
	const char *name;
	/* The task categories this plugin serves. */
	const struct fpd_task_type *task_types;
	size_t task_type_count;

	/* The kind build() creates (required for plugins that build objects). */
	const struct fpd_kind *kind;
	/* Also watch the pods of the created object: pods labelled by the operator with the
	 * object's name under this label key (e.g. "spark-app-name"). NULL: no pods. The Pod
	 * plugin's object is itself a pod and leaves this NULL. */
	const char *pod_owner_label;
	/* Dotted JSON paths of the object to keep, beyond metadata and status (which are always
	 * kept), e.g. "spec.runPolicy.backoffLimit"; "spec.containers[].name" keeps only that
	 * field of each element of an array. NULL-terminated list, or NULL. */
	const char *const *keep;

	/* Plugin settings: `plugins.settings.<name>` in the daemon configuration, validated with
	 * this schema into a struct of settings_size bytes that settings_defaults() fills first.
	 * All NULL/0 when the plugin has no settings. */
	const struct fpd_schema_field *settings_schema;
	size_t settings_size;
	void (*settings_defaults)(void *settings);

	/* Builds the object for a task: a new JSON object (apiVersion, kind, spec, and any
	 * metadata.labels/annotations of its own) in *out. Return 0, or FPD_EINVAL with a message
	 * in err for a task the plugin cannot run (reported as a permanent failure). */
	int (*build)(const struct fpd_task *task, json_t **out, struct fpd_error *err);

	/* Maps the observed object (and pods) to a phase. Fills *out (zeroed by the caller).
	 * Must not fail: an unknown state is reported as the previous phase with a message. */
	void (*status)(const struct fpd_status_ctx *ctx, struct fpd_phase_info *out);

	/* The longest name the engine gives this plugin's objects (Flyte's
	 * GeneratedNameMaxLength): a longer per-attempt name is hashed to 8 characters by
	 * Flyte's rule. 0: Flyte's default, 50. Otherwise 8 (the hashed form) to 253. Ray uses
	 * 47 because KubeRay derives longer names from the RayJob's. */
	uint32_t name_max_len;

	/* Where the built object holds the pod specs it will run, for the Pod Security Standards
	 * check made before every create: NULL-terminated dotted paths from the object's root,
	 * `*` standing for every member of an object or element of an array, e.g. "spec" (a
	 * Pod) or "spec.pytorchReplicaSpecs.*.template.spec"; "spark:spec.driver" names a Spark
	 * operator SparkPodSpec; "**" finds them by shape (every object whose `containers` is
	 * an array, anywhere in the object; none found is allowed). Absent paths are skipped,
	 * but at least one must hold a pod spec or the task is refused. NULL: "spec" when kind is v1/Pod, else the object gets
	 * no Pod Security check. Read only from descriptors whose abi is 6 or more. */
	const char *const *pod_specs;
};

/* An external plugin's shared object exports this symbol:
 *   const struct fpd_plugin *fpd_plugin_entry = &my_plugin; */
#define FPD_PLUGIN_ENTRY_SYMBOL "fpd_plugin_entry"

#endif
