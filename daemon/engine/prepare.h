/*
 * From a task request to the struct fpd_task a plugin builds from: who the attempt is, its
 * per-attempt name, namespace and service account, the paths its arguments refer to, the env
 * Flyte injects, the labels and annotations, and TaskTemplate.custom decoded for the plugin.
 */
#ifndef FPD_ENGINE_PREPARE_H
#define FPD_ENGINE_PREPARE_H

#include "core/config.h"
#include <flyteplugd/error.h>
#include "engine/engine.h"

#include <flyteplugd/plugin.h>

/* A prepared task: `task` is the view handed to the plugin; the rest owns what it points to.
 * The request it was prepared from must outlive it (strings of the request are borrowed). */
struct fpd_prepared {
	struct fpd_task task;
	char *generated_name;
	char *namespace_;
	char *service_account;
	char *input_prefix;
	char *input_path;
	char *raw_output_prefix;
	char *checkpoint_prefix;
	json_t *custom_json;
	ProtobufCMessage *custom;
	json_t *injected_env;
	json_t *labels;
	json_t *annotations;
};

/* Prepares req (borrowed) for plugin under cfg (borrowed). On failure out is released:
 *   FPD_EINVAL  the request lacks what every task needs (a template with a type, the execution name and node id) or custom does
 *               not decode into the plugin's message (message names the field);
 *   FPD_EPERM   the namespace is not in namespaces.watch. */
int fpd_prepare(const struct fpd_task_request *req, const struct fpd_plugin *plugin,
                const struct fpd_config *cfg, struct fpd_prepared *out, struct fpd_error *err);

void fpd_prepared_free(struct fpd_prepared *p);

/* The namespace req's task runs in: its execution metadata's, else namespaces.default.
 * Borrowed from req or cfg. */
const char *fpd_prepare_namespace(const struct fpd_task_request *req, const struct fpd_config *cfg);

/* The protobuf message plugin declared for (type, version), or NULL. */
const ProtobufCMessageDescriptor *fpd_plugin_custom_descriptor(const struct fpd_plugin *plugin,
                                                               const char *type, int32_t version);

#endif
