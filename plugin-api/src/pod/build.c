/*
 * The raw pod of a task (Flyte's BuildRawPod and BuildRawContainer): what the task template
 * says, before any platform configuration. Pod specs arrive as google.protobuf.Struct and are
 * kept as JSON; the parts Flyte decodes into Go types and this plugin edits are checked for
 * their JSON types first, so a malformed spec is a clear build error, not a surprise later.
 */
#include "internal.h"

#include <flyteplugd/object.h>
#include <flyteplugd/structpb.h>

#include <flyteplugd/buf.h>
#include <flyteplugd/error.h>
#include <flyteplugd/mem.h>

#include <stdlib.h>
#include <string.h>

bool fpd_pod_unset(const json_t *v)
{
	return !v || json_is_null(v);
}

const char *fpd_pod_config_get(const Flyteidl__Core__TaskTemplate *t, const char *key)
{
	for (size_t i = 0; t && i < t->n_config; i++)
		if (!strcmp(t->config[i]->key, key))
			return t->config[i]->value;
	return NULL;
}

json_t *fpd_pod_find_container(const json_t *spec, const char *name)
{
	const json_t *list = json_object_get(spec, "containers");
	size_t i;
	json_t *c;
	json_array_foreach(list, i, c)
	{
		if (!strcmp(fpd_json_str_or(c, "name", ""), name))
			return c;
	}
	return NULL;
}

void fpd_pod_clear(struct fpd_pod *pod)
{
	json_decref(pod->spec);
	json_decref(pod->labels);
	json_decref(pod->annotations);
	free(pod->primary);
	memset(pod, 0, sizeof(*pod));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void fpd_pod_config_text(const Flyteidl__Core__TaskTemplate *t, char *out, size_t size)
{
	struct fpd_buf b;
	fpd_buf_init(&b, size - 1);
	char **keys = fpd_calloc(t->n_config + 1, sizeof(*keys));
	for (size_t i = 0; i < t->n_config; i++)
		keys[i] = t->config[i]->key;
	qsort(keys, t->n_config, sizeof(*keys), cmp_str);
	int rc = fpd_buf_append_str(&b, "map[");
	for (size_t i = 0; i < t->n_config && !rc; i++)
		rc = fpd_buf_printf(&b, "%s%s:%s", i ? " " : "", keys[i],
		                    fpd_pod_config_get(t, keys[i]));
	if (!rc)
		fpd_buf_append_str(&b, "]");
	snprintf(out, size, "%s", b.data ? b.data : "map[]");
	free(keys);
	fpd_buf_free(&b);
}

static void merge_metadata(struct fpd_pod *pod, const Flyteidl__Core__K8sObjectMetadata *m)
{
	for (size_t i = 0; m && i < m->n_labels; i++)
		json_object_set_new(pod->labels, m->labels[i]->key,
		                    json_string(m->labels[i]->value));
	for (size_t i = 0; m && i < m->n_annotations; i++)
		json_object_set_new(pod->annotations, m->annotations[i]->key,
		                    json_string(m->annotations[i]->value));
}

/* Whether a[key] is unset or has the wanted JSON type. */
static bool typed(const json_t *o, const char *key, json_type type)
{
	const json_t *v = json_object_get(o, key);
	return fpd_pod_unset(v) || json_typeof(v) == type ||
	       (type == JSON_TRUE && json_is_boolean(v));
}

static bool strings_array(const json_t *o, const char *key)
{
	const json_t *a = json_object_get(o, key), *v;
	size_t i;
	if (fpd_pod_unset(a))
		return true;
	if (!json_is_array(a))
		return false;
	json_array_foreach(a, i, v)
	{
		if (!json_is_string(v))
			return false;
	}
	return true;
}

static const char *check_container(const json_t *c)
{
	if (!json_is_object(c))
		return "a container is not an object";
	if (!typed(c, "name", JSON_STRING) || !typed(c, "image", JSON_STRING))
		return "container name and image must be strings";
	if (!strings_array(c, "command") || !strings_array(c, "args"))
		return "container command and args must be lists of strings";
	if (!typed(c, "env", JSON_ARRAY) || !typed(c, "envFrom", JSON_ARRAY) ||
	    !typed(c, "volumeMounts", JSON_ARRAY))
		return "container env, envFrom and volumeMounts must be lists";
	if (!typed(c, "resources", JSON_OBJECT) || !typed(c, "securityContext", JSON_OBJECT))
		return "container resources and securityContext must be objects";
	return NULL;
}

int fpd_pod_check_spec(const json_t *spec, struct fpd_error *err)
{
	static const char *const objects[] = {"nodeSelector", "affinity", "securityContext",
	                                      "dnsConfig"};
	static const char *const lists[] = {"tolerations", "volumes"};
	static const char *const strings[] = {"restartPolicy", "serviceAccountName",
	                                      "schedulerName"};
	if (!json_is_object(spec))
		return fpd_error_set(err, FPD_EINVAL, "invalid pod spec: not an object");
	for (size_t i = 0; i < FPD_ARRAY_LEN(objects); i++)
		if (!typed(spec, objects[i], JSON_OBJECT))
			return fpd_error_set(err, FPD_EINVAL,
			                     "invalid pod spec: %s must be an object", objects[i]);
	for (size_t i = 0; i < FPD_ARRAY_LEN(lists); i++)
		if (!typed(spec, lists[i], JSON_ARRAY))
			return fpd_error_set(err, FPD_EINVAL, "invalid pod spec: %s must be a list",
			                     lists[i]);
	for (size_t i = 0; i < FPD_ARRAY_LEN(strings); i++)
		if (!typed(spec, strings[i], JSON_STRING))
			return fpd_error_set(err, FPD_EINVAL,
			                     "invalid pod spec: %s must be a string", strings[i]);
	if (!typed(spec, "hostNetwork", JSON_TRUE))
		return fpd_error_set(err, FPD_EINVAL,
		                     "invalid pod spec: hostNetwork must be a bool");
	const char *lists_of_containers[] = {"containers", "initContainers"};
	for (size_t k = 0; k < 2; k++) {
		const json_t *list = json_object_get(spec, lists_of_containers[k]), *c;
		size_t i;
		if (!typed(spec, lists_of_containers[k], JSON_ARRAY))
			return fpd_error_set(err, FPD_EINVAL, "invalid pod spec: %s must be a list",
			                     lists_of_containers[k]);
		json_array_foreach(list, i, c)
		{
			const char *why = check_container(c);
			if (why)
				return fpd_error_set(err, FPD_EINVAL,
				                     "invalid pod spec: %s[%zu]: %s",
				                     lists_of_containers[k], i, why);
		}
	}
	return FPD_OK;
}

/* Converts a pod spec Struct and checks it; what names the source for messages. */
static int spec_from_struct(const Google__Protobuf__Struct *s, const char *what, json_t **out,
                            struct fpd_error *err)
{
	int rc = fpd_struct_to_json(s, out, err);
	if (rc)
		return fpd_error_wrap(err, rc, "Unable to unmarshal %s: invalid pod spec", what);
	rc = fpd_pod_check_spec(*out, err);
	if (rc) {
		fpd_error_wrap(err, rc, "Unable to unmarshal %s", what);
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

/* A DNS-1123 label: at most 63 of [a-z0-9-], starting and ending alphanumeric. */
static bool dns1123_label(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* Flyte names the container after the pod, or 4 random characters of Kubernetes' alphabet
 * when that is not a valid container name. Here the 4 characters come from a hash of the
 * name, so building the same task twice gives the same pod (CreateTask is retried). */
static void container_name(const char *generated, char out[64])
{
	static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
	if (dns1123_label(generated)) {
		snprintf(out, 64, "%s", generated);
		return;
	}
	uint32_t h = 2166136261u; /* FNV-1a */
	for (const char *p = generated; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	for (int i = 0; i < 4; i++, h /= 27)
		out[i] = alphabet[h % 27];
	out[4] = '\0';
}

static json_t *string_list(char **items, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(items[i]));
	return a;
}

static int raw_container(const struct fpd_task *task, struct fpd_pod *out, struct fpd_error *err)
{
	const Flyteidl__Core__Container *tc = task->tmpl->container;
	const struct fpd_k8s_settings *k8s = &task->settings->k8s;
	char name[64];
	container_name(task->ref.generated_name ? task->ref.generated_name : "", name);
	json_t *res;
	int rc = fpd_pod_resources_from_proto(tc->resources, k8s->gpu_resource_name, &res, err);
	if (rc)
		return rc;
	json_t *c = json_object();
	json_object_set_new(c, "name", json_string(name));
	if (tc->image && *tc->image)
		json_object_set_new(c, "image", json_string(tc->image));
	if (tc->n_command)
		json_object_set_new(c, "command", string_list(tc->command, tc->n_command));
	if (tc->n_args)
		json_object_set_new(c, "args", string_list(tc->args, tc->n_args));
	json_t *env = json_array();
	for (size_t i = 0; i < tc->n_env; i++)
		json_array_append_new(
		    env, fpd_json_name_value(tc->env[i]->key, json_string(tc->env[i]->value)));
	json_object_set_new(c, "env", env);
	json_object_set_new(c, "terminationMessagePolicy", json_string("FallbackToLogsOnError"));
	json_object_set_new(c, "resources", res);
	if (k8s->image_pull_policy && *k8s->image_pull_policy)
		json_object_set_new(c, "imagePullPolicy", json_string(k8s->image_pull_policy));
	out->spec = json_pack("{s:[o]}", "containers", c);
	out->primary = fpd_strdup(name);
	return FPD_OK;
}

/* Flyte reads the primary container from TaskTemplate.config; K8sPod.primary_container_name
 * is accepted as well when config lacks the key (newer flytekit fills both). */
static int raw_k8s_pod(const struct fpd_task *task, struct fpd_pod *out, struct fpd_error *err)
{
	const Flyteidl__Core__K8sPod *kp = task->tmpl->k8s_pod;
	if (!kp->pod_spec)
		return fpd_error_set(err, FPD_EINVAL,
		                     "Pod tasks with task type version > 1 should "
		                     "specify their target as a K8sPod with a defined "
		                     "pod spec");
	int rc = spec_from_struct(kp->pod_spec, "task k8s pod", &out->spec, err);
	if (rc)
		return rc;
	const char *primary = fpd_pod_config_get(task->tmpl, FPD_POD_PRIMARY_ANNOTATION);
	if (!primary && kp->primary_container_name && *kp->primary_container_name)
		primary = kp->primary_container_name;
	if (!primary) {
		char cfg[256];
		fpd_pod_config_text(task->tmpl, cfg, sizeof(cfg));
		return fpd_error_set(err, FPD_EINVAL,
		                     "invalid TaskSpecification, config missing [%s] key in [%s]",
		                     FPD_POD_PRIMARY_ANNOTATION, cfg);
	}
	out->primary = fpd_strdup(primary);
	merge_metadata(out, kp->metadata);
	return FPD_OK;
}

/* TaskNodeOverrides.pod_template with a pod spec replaces the spec and the primary. */
static int pod_template_override(const struct fpd_task *task, struct fpd_pod *out,
                                 struct fpd_error *err)
{
	const Flyteidl__Core__K8sPod *pt =
	    task->meta && task->meta->overrides ? task->meta->overrides->pod_template : NULL;
	if (!pt || !pt->pod_spec)
		return FPD_OK;
	merge_metadata(out, pt->metadata);
	json_t *spec;
	int rc = spec_from_struct(pt->pod_spec, "pod template override", &spec, err);
	if (rc)
		return rc;
	json_decref(out->spec);
	out->spec = spec;
	free(out->primary);
	out->primary = fpd_strdup(pt->primary_container_name ? pt->primary_container_name : "");
	return FPD_OK;
}

int fpd_pod_build_raw(const struct fpd_task *task, struct fpd_pod *out, struct fpd_error *err)
{
	out->labels = json_object();
	out->annotations = json_object();
	int rc;
	switch (task->tmpl->target_case) {
	case FLYTEIDL__CORE__TASK_TEMPLATE__TARGET_CONTAINER:
		rc = raw_container(task, out, err);
		break;
	case FLYTEIDL__CORE__TASK_TEMPLATE__TARGET_K8S_POD: rc = raw_k8s_pod(task, out, err); break;
	default:
		rc = fpd_error_set(err, FPD_EINVAL,
		                   "invalid TaskSpecification, unable to determine "
		                   "Pod configuration");
	}
	if (!rc)
		rc = pod_template_override(task, out, err);
	if (rc)
		fpd_pod_clear(out);
	return rc;
}
