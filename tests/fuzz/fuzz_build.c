/*
 * CreateTaskRequest bytes (size-capped) through everything CreateTask does before the POST:
 * the request checks and decoding, the plugin the template's type selects (or, for a type no
 * plugin serves, the built-in the first byte picks, so that every plugin meets every
 * template), prepare, the plugin's build, decoration and the JSON text of the object. Each
 * step must succeed or refuse with an error, never crash, leak or read out of bounds; an
 * object that builds must have a kind and serialise.
 * Seeds: written at test time by seeds_build.py from flytekit's own plugins (one request per
 * task type).
 */
#include "plugins_env.h"
#include "core/json_text.h"
#include "engine/decorate.h"
#include "engine/pbcheck.h"
#include "engine/plugin_settings.h"
#include "engine/prepare.h"
#include "engine/registry.h"

#include <flyteplugd/object.h>
#include <stdint.h>
#include <stdlib.h>

#include "flyteidl/admin/agent.pb-c.h"

#define FUZZ_MAX_INPUT (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fuzz_plugins *env = fuzz_plugins();
	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	char why[192];
	const ProtobufCMessageDescriptor *desc = &flyteidl__admin__create_task_request__descriptor;
	if (fpd_pb_check(desc, data + 1, size - 1, why, sizeof(why)))
		return 0;
	Flyteidl__Admin__CreateTaskRequest *req =
	    flyteidl__admin__create_task_request__unpack(NULL, size - 1, data + 1);
	if (!req)
		return 0;
	const Flyteidl__Core__TaskTemplate *t = req->template_;
	if (t) {
		const struct fpd_plugin *plugin =
		    t->type ? fpd_registry_find(env->reg, t->type, t->task_type_version) : NULL;
		if (!plugin)
			plugin = env->builtins[data[0] % env->n_builtins];
		struct fpd_prepared p;
		struct fpd_error err;
		fpd_error_clear(&err);
		if (fpd_prepare(req, plugin, &env->cfg, &p, &err) == FPD_OK) {
			p.task.plugin_settings = fpd_plugin_settings_get(env->settings, plugin);
			json_t *obj = NULL;
			if (plugin->build(&p.task, &obj, &err) == FPD_OK &&
			    fpd_decorate(obj, &p.task, plugin->name, &env->cfg.settings, &err) ==
			        FPD_OK) {
				if (!fpd_json_str(obj, "kind"))
					abort();
				free(fpd_json_text(obj, false, NULL));
			}
			json_decref(obj);
			fpd_prepared_free(&p);
		}
	}
	flyteidl__admin__create_task_request__free_unpacked(req, NULL);
	return 0;
}
