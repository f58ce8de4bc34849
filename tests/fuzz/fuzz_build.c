/*
 * CreateTaskRequest bytes (size-capped) through everything CreateTask does before the POST:
 * the agent's request checks, decoding and translation to the engine's request, then the
 * engine's build function (the plugin the template's type selects, or for a type no plugin
 * serves the first type of the built-in the first byte picks, so that every plugin meets every
 * template; prepare, the plugin's build, decoration) and the JSON text of the object. Each
 * step must succeed or refuse with an error, never crash, leak or read out of bounds; an
 * object that builds must have a kind and serialise.
 * Seeds: written at test time by seeds_build.py from flytekit's own plugins (one request per
 * task type).
 */
#include "plugins_env.h"
#include "agent/flyte1.h"
#include "agent/wire.h"
#include "core/json_text.h"
#include "engine/build.h"
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
	struct fpd_wire_arena a;
	char why[256];
	const Flyteidl__Admin__CreateTaskRequest *msg =
	    (const Flyteidl__Admin__CreateTaskRequest *)fpd_wire_decode(
	        &flyteidl__admin__create_task_request__descriptor, data + 1, size - 1, &a, why,
	        sizeof(why));
	const Flyteidl__Core__TaskTemplate *t = msg ? msg->template_ : NULL;
	if (t) {
		/* A type no plugin serves becomes one of the built-in the first byte picks, so
		 * that every plugin meets every template. */
		Flyteidl__Core__TaskTemplate as_builtin;
		if (!t->type || !fpd_registry_find(env->reg, t->type, t->task_type_version)) {
			const struct fpd_plugin *p = env->builtins[data[0] % env->n_builtins];
			if (p->task_type_count) {
				as_builtin = *t;
				as_builtin.type = (char *)p->task_types[0].name;
				as_builtin.task_type_version = p->task_types[0].version;
				t = &as_builtin;
			}
		}
		struct fpd_task_request req;
		fpd_flyte1_task_request(msg, &a.arena, &req);
		req.tmpl = t;
		struct fpd_build_env benv = {&env->cfg, env->reg, env->settings};
		struct fpd_built b;
		struct fpd_error err;
		fpd_error_clear(&err);
		if (fpd_build(&benv, &req, &b, &err) == FPD_OK && b.object) {
			if (!fpd_json_str(b.object, "kind"))
				abort();
			free(fpd_json_text(b.object, false, NULL));
		}
		fpd_built_free(&b);
	}
	fpd_wire_release(&a);
	return 0;
}
