/*
 * Manifest templates of declared task types: the input is a manifest (YAML with placeholders),
 * optionally followed by a line "---custom---" and the task's custom as JSON. A manifest that
 * parses is rendered with a fixed task and that custom. Nothing may crash, leak or exceed the
 * bounds; a rendered object is always a JSON object.
 */
#include "crd/internal.h"
#include "plugins_env.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char *args[] = {"pyflyte-execute", "--inputs", "{{.input}}"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FPD_CRD_MANIFEST_MAX_BYTES + 4096)
		return 0;
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	json_t *custom = NULL;
	char *sep = strstr(text, "\n---custom---\n");
	if (sep) {
		*sep = '\0';
		custom = json_loads(sep + 14, JSON_REJECT_DUPLICATES, NULL);
	}
	if (!json_is_object(custom)) {
		json_decref(custom);
		custom = json_object();
	}
	struct fpd_error err = {0};
	json_t *tmpl = NULL;
	if (fpd_crd_manifest_parse(text, "manifest", &tmpl, &err) == 0) {
		Flyteidl__Core__Container c;
		protobuf_c_message_init(&flyteidl__core__container__descriptor, &c);
		c.image = "img";
		c.args = args;
		c.n_args = 3;
		Flyteidl__Core__TaskTemplate t;
		protobuf_c_message_init(&flyteidl__core__task_template__descriptor, &t);
		t.container = &c;
		json_t *empty = json_object();
		json_t *env = json_array();
		struct fpd_task task = {
		    .ref = {"p", "d", "e", "n0", 0, "p", "d", "t", "v", "type", 0, "e-n0-0", "ns",
		            ""},
		    .paths = {"s3://x/inputs.pb", "s3://x", "s3://x/o", "s3://raw", "s3://ck", "",
		              ""},
		    .tmpl = &t,
		    .custom_json = custom,
		    .service_account = "",
		    .injected_env = env,
		    .labels = empty,
		    .annotations = empty,
		    .settings = &fuzz_plugins()->cfg.settings,
		};
		json_t *out = NULL;
		if (fpd_crd_manifest_render(tmpl, &task, &out, &err) == 0) {
			if (!json_is_object(out))
				abort();
			json_decref(out);
		}
		json_decref(empty);
		json_decref(env);
		json_decref(tmpl);
	}
	json_decref(custom);
	free(text);
	return 0;
}
