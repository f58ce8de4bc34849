/*
 * An example external plugin: task type "sdk-example" runs as a ConfigMap whose data says
 * hello to TaskTemplate.custom["name"] and holds custom["memory"] as a canonical Kubernetes
 * quantity. It uses only what the SDK installs (headers, and libflyteplugd in the daemon):
 * errors, JSON helpers, bounded buffers and quantities.
 */
#include <flyteplugd/buf.h>
#include <flyteplugd/error.h>
#include <flyteplugd/object.h>
#include <flyteplugd/plugin.h>
#include <flyteplugd/quantity.h>

#include <stdlib.h>

static int build(const struct fpd_task *task, json_t **out, struct fpd_error *err)
{
	const char *name = fpd_json_str(task->custom_json, "name");
	if (!name || !*name)
		return fpd_error_set(err, FPD_EINVAL, "custom.name: expected a non-empty string");
	const char *mem = fpd_json_str_or(task->custom_json, "memory", "0");
	char *canonical = fpd_quantity_canonical(mem);
	if (!canonical)
		return fpd_error_set(err, FPD_EINVAL, "custom.memory: %s is not a quantity", mem);
	struct fpd_buf greeting;
	fpd_buf_init(&greeting, 256);
	int rc = fpd_buf_printf(&greeting, "hello, %s", name);
	if (rc) {
		free(canonical);
		fpd_buf_free(&greeting);
		return fpd_error_set(err, rc, "custom.name: longer than %d bytes", 256 - 8);
	}
	*out = json_pack("{s:s,s:s,s:{s:s,s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "data",
	                 "greeting", greeting.data, "memory", canonical);
	free(canonical);
	fpd_buf_free(&greeting);
	return 0;
}

static const struct fpd_task_type types[] = {{"sdk-example", 0, NULL}};
static const struct fpd_kind kind = {"v1", "ConfigMap", "configmaps"};

static const struct fpd_plugin plugin = {
    .abi = FPD_PLUGIN_ABI,
    .name = "sdk-example",
    .task_types = types,
    .task_type_count = 1,
    .kind = &kind,
    .build = build,
};

const struct fpd_plugin *fpd_plugin_entry = &plugin;
