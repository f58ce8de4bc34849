/*
 * Flyte's co-pilot (flytek8s/copilot.go: AddCoPilotToContainer, AddCoPilotToPod). A task whose
 * data_config is enabled (flytekit's ContainerTask) runs a container that knows nothing of
 * Flyte: it reads its inputs as files and writes its outputs as files. Two containers of the
 * flyte-copilot image do the rest: a downloader init container writes the inputs into a
 * shared emptyDir before the primary container starts, and an uploader, a native sidecar (an
 * init container with restartPolicy Always, started first), uploads what the primary
 * container leaves in the outputs directory. Both get propeller's storage and logger settings
 * on their command line, as propeller passes its own.
 *
 * Go marshals the interface with its map entries in random order; here they are packed in
 * the order they arrived, so building the same task twice gives the same pod.
 */
#include "internal.h"

#include <flyteplugd/base64.h>

#include <flyteplugd/error.h>
#include <flyteplugd/mem.h>

#include <flyteplugd/object.h>

#include <stdlib.h>
#include <string.h>

static const Flyteidl__Core__DataLoadingConfig *data_config(const Flyteidl__Core__TaskTemplate *t)
{
	switch (t->target_case) {
	case FLYTEIDL__CORE__TASK_TEMPLATE__TARGET_CONTAINER: return t->container->data_config;
	case FLYTEIDL__CORE__TASK_TEMPLATE__TARGET_K8S_POD: return t->k8s_pod->data_config;
	default: return NULL;
	}
}

static bool has_variables(const Flyteidl__Core__VariableMap *m)
{
	return m && m->n_variables > 0;
}

/* Standard base64 with padding (Go's base64.StdEncoding) of a message's wire form; a new
 * string. */
static char *pack_base64(const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *in = fpd_malloc(n + 1);
	protobuf_c_message_pack(m, in);
	char *out = fpd_malloc(FPD_BASE64_LEN(n) + 1);
	fpd_base64_encode(in, n, 0, out);
	free(in);
	return out;
}

static void append_fmt(json_t *list, char *text)
{
	json_array_append_new(list, json_string(text));
	free(text);
}

/* Flyte's CopilotCommandArgs: the binary, then propeller's logger level and storage settings.
 * A stow backend (kind and config both set) replaces the connection settings. */
static json_t *copilot_command(const struct fpd_settings *s)
{
	const struct fpd_storage_settings *st = &s->storage;
	json_t *cmd = json_pack("[s,s]", "/bin/flyte-copilot", "--storage.limits.maxDownloadMBs=0");
	append_fmt(cmd, fpd_asprintf("--logger.level=%lld", (long long)s->logger.level));
	if (st->enable_multicontainer)
		json_array_append_new(cmd, json_string("--storage.enable-multicontainer"));
	if (*st->container)
		append_fmt(cmd, fpd_asprintf("--storage.container=%s", st->container));
	append_fmt(cmd, fpd_asprintf("--storage.type=%s", st->type));
	if (json_object_size(st->stow.config) && *st->stow.kind) {
		const char *k;
		json_t *v;
		json_object_foreach(st->stow.config, k, v)
		{
			json_t *text = fpd_pod_scalar_string(v);
			json_array_append_new(cmd, json_string("--storage.stow.config"));
			append_fmt(cmd, fpd_asprintf("%s=%s", k, json_string_value(text)));
			json_decref(text);
		}
		append_fmt(cmd, fpd_asprintf("--storage.stow.kind=%s", st->stow.kind));
		return cmd;
	}
	const struct fpd_storage_connection *c = &st->connection;
	append_fmt(cmd, fpd_asprintf("--storage.connection.secret-key=%s", c->secret_key));
	append_fmt(cmd, fpd_asprintf("--storage.connection.access-key=%s", c->access_key));
	append_fmt(cmd, fpd_asprintf("--storage.connection.auth-type=%s", c->auth_type));
	append_fmt(cmd, fpd_asprintf("--storage.connection.region=%s", c->region));
	append_fmt(cmd, fpd_asprintf("--storage.connection.endpoint=%s", c->endpoint));
	return cmd;
}

static json_t *cpu_and_memory(const struct fpd_copilot_settings *cp)
{
	return json_pack("{s:s,s:s}", "cpu", cp->cpu, "memory", cp->memory);
}

/* Flyte's FlyteCoPilotContainer: args are stolen; one volume mount. Quantities were checked
 * by the caller. */
static json_t *copilot_container(const struct fpd_settings *s, const char *name, json_t *args,
                                 const char *volume, const char *path)
{
	const struct fpd_copilot_settings *cp = &s->k8s.co_pilot;
	return json_pack("{s:s+,s:s,s:o,s:o,s:s,s:{s:o,s:o},s:[{s:s,s:s}],s:s,s:s}", "name",
	                 cp->name, name, "image", cp->image, "command", copilot_command(s), "args",
	                 args, "workingDir", "/", "resources", "limits", cpu_and_memory(cp),
	                 "requests", cpu_and_memory(cp), "volumeMounts", "name", volume,
	                 "mountPath", path, "terminationMessagePolicy", "FallbackToLogsOnError",
	                 "imagePullPolicy", "IfNotPresent");
}

/* Flyte's DownloadCommandArgs. */
static json_t *download_args(const struct fpd_task *task,
                             const Flyteidl__Core__DataLoadingConfig *dc, const char *in_path)
{
	const ProtobufCEnumValue *format = protobuf_c_enum_descriptor_get_value(
	    &flyteidl__core__data_loading_config__literal_map_format__descriptor, (int)dc->format);
	char number[16]; /* what Go's String() gives for a value the IDL does not name */
	snprintf(number, sizeof(number), "%d", (int)dc->format);
	char *iface = pack_base64(&task->tmpl->interface->inputs->base);
	json_t *args = json_pack("[s,s,s,s,s,s,s,s,s,s,s]", "download", "--from-remote",
	                         task->paths.input_path, "--to-output-prefix",
	                         task->paths.output_prefix, "--to-local-dir", in_path, "--format",
	                         format ? format->name : number, "--input-interface", iface);
	free(iface);
	return args;
}

/* Flyte's SidecarCommandArgs, with k8s.co-pilot.timeout as the upload timeout. */
static json_t *sidecar_args(const struct fpd_task *task, const char *out_path)
{
	char timeout[32];
	fpd_go_duration(task->settings->k8s.co_pilot.timeout_ms, timeout, sizeof(timeout));
	char *iface = pack_base64(&task->tmpl->interface->base);
	json_t *args = json_pack("[s,s,s,s,s,s,s,s,s,s,s]", "sidecar", "--timeout", timeout,
	                         "--to-raw-output", task->paths.raw_output_prefix,
	                         "--to-output-prefix", task->paths.output_prefix,
	                         "--from-local-dir", out_path, "--interface", iface);
	free(iface);
	return args;
}

/* Flyte's DataVolume with CalculateStorageSize: an emptyDir of the default medium, limited to
 * the "storage" limit (else request) of the resource overrides. Flyte's own overrides never
 * carry one (Flyte drops STORAGE when it converts resources); an operator plugin's may. */
static json_t *data_volume(const char *name, const json_t *overrides)
{
	json_t *empty_dir = json_object();
	const json_t *size = fpd_json_get(overrides, "limits.storage");
	if (fpd_pod_unset(size))
		size = fpd_json_get(overrides, "requests.storage");
	if (!fpd_pod_unset(size))
		json_object_set_new(empty_dir, "sizeLimit", json_deep_copy(size));
	return json_pack("{s:s,s:o}", "name", name, "emptyDir", empty_dir);
}

/* The array at o[key], created when unset. */
static json_t *list_at(json_t *o, const char *key)
{
	json_t *a = json_object_get(o, key);
	if (fpd_pod_unset(a)) {
		a = json_array();
		json_object_set_new(o, key, a);
	}
	return a;
}

/* AddCoPilotToContainer: the primary container gets a security context with capabilities
 * (which also keeps k8s.default-security-context off it) and the data volumes mounted. */
static void copilot_primary(json_t *c, const struct fpd_copilot_settings *cp, const char *in_path,
                            const char *out_path)
{
	json_t *sc = json_object_get(c, "securityContext");
	if (fpd_pod_unset(sc)) {
		sc = json_object();
		json_object_set_new(c, "securityContext", sc);
	}
	if (fpd_pod_unset(json_object_get(sc, "capabilities")))
		json_object_set_new(sc, "capabilities", json_object());
	if (in_path)
		json_array_append_new(
		    list_at(c, "volumeMounts"),
		    json_pack("{s:s,s:s}", "name", cp->input_vol_name, "mountPath", in_path));
	if (out_path)
		json_array_append_new(
		    list_at(c, "volumeMounts"),
		    json_pack("{s:s,s:s}", "name", cp->output_vol_name, "mountPath", out_path));
}

static int check_quantities(const struct fpd_copilot_settings *cp, struct fpd_error *err)
{
	double v;
	const char *bad = fpd_quantity_parse(cp->cpu, &v)      ? cp->cpu
	                  : fpd_quantity_parse(cp->memory, &v) ? cp->memory
	                                                       : NULL;
	if (!bad)
		return FPD_OK;
	return fpd_error_set(err, FPD_EINVAL,
	                     "quantities must match the regular expression '" FPD_QUANTITY_SYNTAX
	                     "' (k8s.co-pilot cpu or memory \"%s\")",
	                     bad);
}

/* AddCoPilotToPod: the data volumes, the downloader after the existing init containers, the
 * uploader before them, and a termination grace period as long as the upload timeout. */
static void copilot_pod(const struct fpd_task *task, const Flyteidl__Core__DataLoadingConfig *dc,
                        const json_t *overrides, const char *in_path, const char *out_path,
                        json_t *spec)
{
	const struct fpd_copilot_settings *cp = &task->settings->k8s.co_pilot;
	if (in_path) {
		json_array_append_new(list_at(spec, "volumes"),
		                      data_volume(cp->input_vol_name, overrides));
		json_array_append_new(list_at(spec, "initContainers"),
		                      copilot_container(task->settings, "downloader",
		                                        download_args(task, dc, in_path),
		                                        cp->input_vol_name, in_path));
	}
	if (out_path) {
		json_array_append_new(list_at(spec, "volumes"),
		                      data_volume(cp->output_vol_name, overrides));
		json_t *up =
		    copilot_container(task->settings, "uploader", sidecar_args(task, out_path),
		                      cp->output_vol_name, out_path);
		json_object_set_new(up, "restartPolicy", json_string("Always"));
		json_array_insert_new(list_at(spec, "initContainers"), 0, up);
		json_object_set_new(spec, "terminationGracePeriodSeconds",
		                    json_integer(cp->timeout_ms / 1000));
	}
}

int fpd_pod_add_copilot(const struct fpd_task *task, const json_t *overrides, struct fpd_pod *pod,
                        struct fpd_error *err)
{
	const Flyteidl__Core__DataLoadingConfig *dc = data_config(task->tmpl);
	if (!dc || !dc->enabled)
		return FPD_OK;
	const struct fpd_copilot_settings *cp = &task->settings->k8s.co_pilot;
	const Flyteidl__Core__TypedInterface *iface = task->tmpl->interface;
	const char *in_path = NULL, *out_path = NULL;
	if (iface && has_variables(iface->inputs))
		in_path =
		    dc->input_path && *dc->input_path ? dc->input_path : cp->default_input_path;
	if (iface && has_variables(iface->outputs))
		out_path =
		    dc->output_path && *dc->output_path ? dc->output_path : cp->default_output_path;
	if ((in_path || out_path) && check_quantities(cp, err))
		return FPD_EINVAL;
	copilot_primary(fpd_pod_find_container(pod->spec, pod->primary), cp, in_path, out_path);
	copilot_pod(task, dc, overrides, in_path, out_path, pod->spec);
	return FPD_OK;
}
