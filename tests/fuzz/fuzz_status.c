/*
 * JSON (size-capped) as the API server might send it, through every built-in plugin's status
 * rules: {"object": <the created object>, "pods": [<pods>]} (any other document is the object
 * itself). The plugins must map whatever they get to a phase, never crash, leak or read out
 * of bounds, and report only UTF-8 text (code, message, log link names and URIs end up in
 * proto3 strings, which clients refuse otherwise).
 * Seeds: written at test time by seeds_status.py from the status fixtures.
 */
#include "plugins_env.h"

#include <flyteplugd/phase.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_INPUT (64 * 1024)
#define MAX_PODS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool utf8(const char *s)
{
	json_t *j = s ? json_string(s) : json_null(); /* NULL for text that is not UTF-8 */
	json_decref(j);
	return j != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fuzz_plugins *env = fuzz_plugins();
	if (size > FUZZ_MAX_INPUT)
		return 0;
	json_t *doc = json_loadb((const char *)data, size, 0, NULL);
	if (!doc)
		return 0;
	const json_t *object = json_object_get(doc, "object");
	const json_t *pod_list = json_object_get(doc, "pods");
	if (!object)
		object = doc;
	const json_t *pods[MAX_PODS];
	size_t n = 0;
	for (size_t i = 0; i < json_array_size(pod_list) && n < MAX_PODS; i++)
		pods[n++] = json_array_get(pod_list, i);
	struct fpd_task_ref ref = {
	    .project = "p",
	    .domain = "d",
	    .execution = "e",
	    .node_id = "n0",
	    .task_project = "p",
	    .task_domain = "d",
	    .task_name = "t",
	    .task_version = "v",
	    .task_type = "python-task",
	    .generated_name = "e-n0-0",
	    .namespace_ = "ns",
	    .link_types = "",
	};
	for (size_t i = 0; i < env->n_builtins; i++) {
		const struct fpd_plugin *plugin = env->builtins[i];
		/* The crd plugin's hooks are its declared types' (fuzz_crd_status). */
		if (!plugin->status)
			continue;
		struct fpd_status_ctx ctx = {
		    .ref = &ref,
		    .object = object,
		    .pods = pods,
		    .pod_count = n,
		    .settings = &env->cfg.settings,
		    .plugin_settings = fpd_plugin_settings_get(env->settings, plugin),
		    .now_ms = 1767225600000, /* 2026-01-01 */
		};
		struct fpd_phase_info out;
		memset(&out, 0, sizeof(out));
		plugin->status(&ctx, &out);
		if (strcmp(fpd_phase_name(out.phase), "UNKNOWN") == 0 || !utf8(out.code) ||
		    !utf8(out.message))
			abort();
		for (size_t k = 0; k < out.log_count; k++)
			if (!utf8(out.logs[k].name) || !utf8(out.logs[k].uri))
				abort();
		fpd_phase_info_clear(&out);
	}
	json_decref(doc);
	return 0;
}
