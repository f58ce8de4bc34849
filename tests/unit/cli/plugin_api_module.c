/*
 * An external plugin (a shared object in plugins.dir) that calls the plugin API's converters,
 * so that test_plugin_api.sh can check the flyteplugd executable exports them: the module links
 * none of the daemon's code, and dlopen (RTLD_NOW) refuses it if a symbol is missing.
 *
 * Task type "api-probe": a ConfigMap whose data holds the task's K8sPod pod_spec as JSON
 * (fpd_struct_to_json) and the CPU request of custom["resources"] read by proto3 JSON rules as
 * a flyteidl.core.Resources (fpd_json_to_message).
 */
#include <flyteplugd/plugin.h>
#include <flyteplugd/structpb.h>

#include <stdlib.h>

#include "flyteidl/core/tasks.pb-c.h"

static int build(const struct fpd_task *task, json_t **out, struct fpd_error *err)
{
	const Flyteidl__Core__K8sPod *kp = task->tmpl->k8s_pod;
	json_t *spec = NULL;
	int rc = fpd_struct_to_json(kp ? kp->pod_spec : NULL, &spec, err);
	if (rc)
		return rc;
	ProtobufCMessage *m = NULL;
	rc = fpd_json_to_message(json_object_get(task->custom_json, "resources"),
	                         &flyteidl__core__resources__descriptor, &m, err);
	if (rc) {
		json_decref(spec);
		return rc;
	}
	const Flyteidl__Core__Resources *r = (const Flyteidl__Core__Resources *)m;
	char *text = json_dumps(spec, JSON_COMPACT);
	*out = json_pack("{s:s,s:s,s:{s:s,s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "data",
	                 "podSpec", text, "cpu", r->n_requests ? r->requests[0]->value : "");
	free(text);
	json_decref(spec);
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}

static const struct fpd_task_type types[] = {{"api-probe", 0, NULL}};
static const struct fpd_kind kind = {"v1", "ConfigMap", "configmaps"};

static const struct fpd_plugin plugin = {
    .abi = FPD_PLUGIN_ABI,
    .name = "api-probe",
    .task_types = types,
    .task_type_count = 1,
    .kind = &kind,
    .build = build,
};

const struct fpd_plugin *fpd_plugin_entry = &plugin;
