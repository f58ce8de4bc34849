/* `flyteplugd render`: see render.h. */
#include "render.h"

#include "agent/flyte1.h"
#include "agent/pbcheck.h"
#include "builtin.h"
#include "core/config.h"
#include <flyteplugd/mem.h>
#include "engine/build.h"
#include "engine/plugin_settings.h"
#include "engine/registry.h"

#include <flyteplugd/structpb.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define RENDER_MAX_INPUT (64u << 20)

static void usage(FILE *out)
{
	fputs(
	    "usage: flyteplugd render --template FILE [--metadata FILE] [--config FILE]\n"
	    "                         [--output-prefix URI] [-o yaml|json]\n"
	    "\n"
	    "Prints the Kubernetes object CreateTask would create for a TaskTemplate, without a\n"
	    "cluster. FILE is a protobuf binary or its JSON form (as protobuf's MessageToJson\n"
	    "prints it): --template a flyteidl.core.TaskTemplate, --metadata a\n"
	    "flyteidl.admin.TaskExecutionMetadata (default: execution \"render\", node \"n0\",\n"
	    "attempt 0, namespace from the configuration).\n"
	    "The caller policy (policy:) applies as in CreateTask: a task it refuses (namespace,\n"
	    "service account, task type, Pod Security level) prints the rule on stderr and exits\n"
	    "1; other errors exit 2.\n",
	    out);
}

static int read_file(const char *path, uint8_t **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	size_t cap = 0;
	*data = NULL;
	*len = 0;
	for (;;) {
		if (*len == cap) {
			if (cap >= RENDER_MAX_INPUT) {
				fclose(f);
				free(*data);
				return -1;
			}
			cap = cap ? cap * 2 : 65536;
			*data = fpd_realloc(*data, cap);
		}
		size_t n = fread(*data + *len, 1, cap - *len, f);
		*len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	return 0;
}

/* A message from a file holding its protobuf binary or its proto3 JSON. New message. */
static ProtobufCMessage *load_message(const char *path, const ProtobufCMessageDescriptor *desc,
                                      struct fpd_error *err)
{
	uint8_t *data;
	size_t len;
	if (read_file(path, &data, &len)) {
		fpd_error_set_at(err, FPD_EIO, path, 0, 0, "cannot read (or larger than %u bytes)",
		                 RENDER_MAX_INPUT);
		return NULL;
	}
	ProtobufCMessage *msg = NULL;
	size_t i = 0;
	while (i < len && (data[i] == ' ' || data[i] == '\n' || data[i] == '\t' || data[i] == '\r'))
		i++;
	if (i < len && data[i] == '{') {
		json_error_t jerr;
		json_t *j = json_loadb((const char *)data, len, 0, &jerr);
		if (!j)
			fpd_error_set_at(err, FPD_EINVAL, path, jerr.line, jerr.column, "%s",
			                 jerr.text);
		else if (fpd_json_to_message(j, desc, &msg, err))
			fpd_error_wrap(err, FPD_EINVAL, "%s", path);
		json_decref(j);
	} else {
		char why[192];
		if (fpd_pb_check(desc, data, len, why, sizeof(why)))
			fpd_error_set_at(err, FPD_EINVAL, path, 0, 0, "not a valid %s: %s",
			                 desc->name, why);
		else if (!(msg = protobuf_c_message_unpack(desc, NULL, len, data)))
			fpd_error_set_at(err, FPD_EINVAL, path, 0, 0,
			                 "not a valid %s (protobuf binary "
			                 "or JSON)",
			                 desc->name);
	}
	free(data);
	return msg;
}

/* Default metadata: enough for a deterministic name and the Flyte env. */
static Flyteidl__Admin__TaskExecutionMetadata *default_metadata(const struct fpd_config *cfg)
{
	static Flyteidl__Core__WorkflowExecutionIdentifier ex =
	    FLYTEIDL__CORE__WORKFLOW_EXECUTION_IDENTIFIER__INIT;
	static Flyteidl__Core__NodeExecutionIdentifier node =
	    FLYTEIDL__CORE__NODE_EXECUTION_IDENTIFIER__INIT;
	static Flyteidl__Core__TaskExecutionIdentifier id =
	    FLYTEIDL__CORE__TASK_EXECUTION_IDENTIFIER__INIT;
	static Flyteidl__Admin__TaskExecutionMetadata meta =
	    FLYTEIDL__ADMIN__TASK_EXECUTION_METADATA__INIT;
	ex.project = "project";
	ex.domain = "domain";
	ex.name = "render";
	node.node_id = "n0";
	node.execution_id = &ex;
	id.node_execution_id = &node;
	meta.task_execution_id = &id;
	meta.namespace_ = cfg->namespaces.default_namespace;
	return &meta;
}

static int emit_yaml(yaml_emitter_t *em, const json_t *j)
{
	yaml_event_t ev;
	char num[64];
	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
		if (!yaml_emitter_emit(em, &ev))
			return -1;
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)j, k, v)
		{
			yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)k,
			                             (int)strlen(k), 1, 1, YAML_ANY_SCALAR_STYLE);
			if (!yaml_emitter_emit(em, &ev) || emit_yaml(em, v))
				return -1;
		}
		yaml_mapping_end_event_initialize(&ev);
		return yaml_emitter_emit(em, &ev) ? 0 : -1;
	}
	case JSON_ARRAY: {
		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
		if (!yaml_emitter_emit(em, &ev))
			return -1;
		size_t i;
		json_t *v;
		json_array_foreach(j, i, v) if (emit_yaml(em, v)) return -1;
		yaml_sequence_end_event_initialize(&ev);
		return yaml_emitter_emit(em, &ev) ? 0 : -1;
	}
	case JSON_STRING: {
		/* Quoted only when a plain scalar would read back as something else. */
		const char *s = json_string_value(j);
		yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s,
		                             (int)json_string_length(j), 0, 1,
		                             YAML_ANY_SCALAR_STYLE);
		return yaml_emitter_emit(em, &ev) ? 0 : -1;
	}
	default: {
		char *text = json_dumps(j, JSON_ENCODE_ANY);
		snprintf(num, sizeof(num), "%s", text ? text : "null");
		free(text);
		yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)num, (int)strlen(num),
		                             1, 0, YAML_PLAIN_SCALAR_STYLE);
		return yaml_emitter_emit(em, &ev) ? 0 : -1;
	}
	}
}

static int print_yaml(const json_t *obj)
{
	yaml_emitter_t em;
	yaml_event_t ev;
	yaml_emitter_initialize(&em);
	yaml_emitter_set_output_file(&em, stdout);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, -1);
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	int rc = yaml_emitter_emit(&em, &ev) ? 0 : -1;
	yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
	rc = rc || !yaml_emitter_emit(&em, &ev);
	rc = rc || emit_yaml(&em, obj);
	yaml_document_end_event_initialize(&ev, 1);
	rc = rc || !yaml_emitter_emit(&em, &ev);
	yaml_stream_end_event_initialize(&ev);
	rc = rc || !yaml_emitter_emit(&em, &ev);
	yaml_emitter_delete(&em);
	return rc;
}

struct render_args {
	const char *template_path, *metadata_path, *config_path, *output_prefix, *format;
};

static int parse_args(int argc, char **argv, struct render_args *a)
{
	static const struct option options[] = {
	    {"template", required_argument, NULL, 't'},
	    {"metadata", required_argument, NULL, 'm'},
	    {"config", required_argument, NULL, 'c'},
	    {"output-prefix", required_argument, NULL, 'p'},
	    {"output", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	*a = (struct render_args){.output_prefix = "s3://bucket/metadata/render/n0/data/0",
	                          .format = "yaml"};
	int opt;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "t:m:c:p:o:h", options, NULL)) != -1) {
		switch (opt) {
		case 't': a->template_path = optarg; break;
		case 'm': a->metadata_path = optarg; break;
		case 'c': a->config_path = optarg; break;
		case 'p': a->output_prefix = optarg; break;
		case 'o': a->format = optarg; break;
		case 'h': usage(stdout); return 0;
		default:
			fprintf(stderr, "flyteplugd render: unknown or incomplete option '%s'\n",
			        argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (!a->template_path || optind != argc ||
	    (strcmp(a->format, "yaml") != 0 && strcmp(a->format, "json") != 0)) {
		usage(stderr);
		return 2;
	}
	return -1;
}

/* Renders req under cfg into a new JSON object, through the one build function CreateTask
 * uses; 0 or an exit code. */
static int render(const Flyteidl__Admin__CreateTaskRequest *msg, const struct fpd_config *cfg,
                  json_t **out)
{
	struct fpd_error err;
	fpd_error_clear(&err);
	size_t n;
	const struct fpd_plugin *const *builtins = fpd_builtin_plugins(&n);
	struct fpd_registry *reg = fpd_registry_from_config(builtins, n, cfg, &err);
	struct fpd_plugin_settings *ps = reg ? fpd_plugin_settings_load(reg, cfg, &err) : NULL;
	if (!ps) {
		char text[1024];
		fprintf(stderr, "flyteplugd render: %s\n",
		        fpd_error_format(&err, text, sizeof(text)));
		fpd_registry_free(reg);
		return 2;
	}
	struct fpd_arena arena;
	fpd_arena_init(&arena, NULL, 0);
	struct fpd_task_request req;
	fpd_flyte1_task_request(msg, &arena, &req);
	/* The daemon's own namespace as configured (or $POD_NAMESPACE): render runs outside the
	 * daemon's pod, so the service account's namespace file is not read. */
	char own_ns[256];
	struct fpd_policy *policy = NULL;
	if (fpd_policy_own_namespace(cfg->policy.own_namespace, NULL, own_ns, sizeof(own_ns),
	                             &err) ||
	    fpd_policy_new(&cfg->policy, own_ns, &policy, &err)) {
		fprintf(stderr, "flyteplugd render: %s\n", err.text);
		fpd_arena_release(&arena);
		fpd_plugin_settings_free(ps);
		fpd_registry_free(reg);
		return 2;
	}
	struct fpd_build_env env = {cfg, reg, ps, policy};
	struct fpd_built b;
	int rc = 2;
	int brc = fpd_build(&env, &req, &b, &err);
	if (brc == FPD_OK && b.object) {
		*out = json_incref(b.object);
		rc = 0;
	} else if (brc == FPD_EPERM || (brc == FPD_OK && b.pod_security)) {
		fprintf(stderr, "flyteplugd render: refused by the policy: %s\n", err.text);
		rc = 1;
	} else {
		fprintf(stderr, "flyteplugd render: %s\n", err.text);
	}
	fpd_built_free(&b);
	fpd_policy_free(policy);
	fpd_arena_release(&arena);
	fpd_plugin_settings_free(ps);
	fpd_registry_free(reg);
	return rc;
}

int fpd_render_main(int argc, char **argv)
{
	struct render_args a;
	int rc = parse_args(argc, argv, &a);
	if (rc >= 0)
		return rc;
	struct fpd_config cfg;
	struct fpd_error err;
	fpd_error_clear(&err);
	if (a.config_path ? fpd_config_load(a.config_path, &cfg, &err)
	                  : (fpd_config_defaults(&cfg), 0)) {
		char text[1024];
		fprintf(stderr, "flyteplugd: %s\n", fpd_error_format(&err, text, sizeof(text)));
		return 2;
	}
	ProtobufCMessage *tmpl =
	    load_message(a.template_path, &flyteidl__core__task_template__descriptor, &err);
	ProtobufCMessage *meta =
	    tmpl && a.metadata_path
	        ? load_message(a.metadata_path,
	                       &flyteidl__admin__task_execution_metadata__descriptor, &err)
	        : NULL;
	rc = 2;
	if (tmpl && (meta || !a.metadata_path)) {
		Flyteidl__Admin__CreateTaskRequest req = FLYTEIDL__ADMIN__CREATE_TASK_REQUEST__INIT;
		req.template_ = (Flyteidl__Core__TaskTemplate *)tmpl;
		req.task_execution_metadata =
		    meta ? (Flyteidl__Admin__TaskExecutionMetadata *)meta : default_metadata(&cfg);
		req.output_prefix = (char *)a.output_prefix;
		json_t *obj = NULL;
		rc = render(&req, &cfg, &obj);
		if (!rc) {
			if (strcmp(a.format, "json") == 0) {
				rc = json_dumpf(obj, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) ? 1
				                                                              : 0;
				fputc('\n', stdout);
			} else {
				rc = print_yaml(obj) ? 1 : 0;
			}
		}
		json_decref(obj);
	} else {
		char text[1024];
		fprintf(stderr, "flyteplugd render: %s\n",
		        fpd_error_format(&err, text, sizeof(text)));
	}
	if (tmpl)
		protobuf_c_message_free_unpacked(tmpl, NULL);
	if (meta)
		protobuf_c_message_free_unpacked(meta, NULL);
	fpd_config_free(&cfg);
	return rc;
}
