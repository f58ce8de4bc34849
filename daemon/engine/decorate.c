/* Object decoration: see decorate.h. */
#include "engine/decorate.h"

#include "core/json_text.h"
#include <flyteplugd/mem.h>

#include <flyteplugd/object.h>
#include <stdlib.h>
#include <string.h>

char *fpd_identity_encode(const struct fpd_task_ref *ref)
{
	/* Short keys: the annotation is read back on every restart and 409, and counts against
	 * the object's size in etcd. Written in key order, as a sorted dump of the same object
	 * would be: the text of objects created earlier must compare equal. */
	struct fpd_json_writer w = {0};
	fpd_json_writer_raw(&w, "{\"a\":");
	fpd_json_writer_int(&w, (json_int_t)ref->retry_attempt);
	const struct {
		const char *key;
		const char *value;
	} before_t[] = {{",\"d\":", ref->domain},
	                {",\"e\":", ref->execution},
	                {",\"lt\":", ref->link_types},
	                {",\"n\":", ref->node_id},
	                {",\"p\":", ref->project}};
	for (size_t i = 0; i < FPD_ARRAY_LEN(before_t); i++) {
		fpd_json_writer_raw(&w, before_t[i].key);
		fpd_json_writer_string(&w, before_t[i].value);
	}
	const char *t[] = {ref->task_project, ref->task_domain, ref->task_name, ref->task_version};
	for (size_t i = 0; i < FPD_ARRAY_LEN(t); i++) {
		fpd_json_writer_raw(&w, i ? "," : ",\"t\":[");
		fpd_json_writer_string(&w, t[i]);
	}
	fpd_json_writer_raw(&w, "],\"tt\":");
	fpd_json_writer_string(&w, ref->task_type);
	fpd_json_writer_raw(&w, ",\"tv\":");
	fpd_json_writer_int(&w, (json_int_t)ref->task_type_version);
	fpd_json_writer_raw(&w, "}");
	char *s = fpd_json_writer_finish(&w);
	FPD_ASSERT(s != NULL); /* requests are checked for UTF-8 before they are decoded */
	return s;
}

/* TaskTemplate.config as compact sorted JSON when the task has dynamic log links (config
 * link_type) and some other key their templates may name; else NULL. */
static char *task_config(const struct fpd_task *task)
{
	const Flyteidl__Core__TaskTemplate *t = task->tmpl;
	if (!t || !task->ref.link_types || !task->ref.link_types[0] || t->n_config < 2)
		return NULL;
	json_t *config = json_object();
	for (size_t i = 0; i < t->n_config; i++)
		if (t->config[i]->key && t->config[i]->value)
			json_object_set_new(config, t->config[i]->key, json_string(t->config[i]->value));
	char *text = fpd_json_text(config, true, NULL);
	json_decref(config);
	return text;
}

bool fpd_identity_matches(const json_t *obj, const struct fpd_task_ref *ref)
{
	const json_t *ann = fpd_json_get(obj, "metadata.annotations");
	const char *have = json_string_value(json_object_get(ann, FPD_ANNOTATION_IDENTITY));
	if (!have)
		return false;
	char *want = fpd_identity_encode(ref);
	bool same = strcmp(have, want) == 0;
	free(want);
	return same;
}

/* Labels/annotations of TaskTemplate.metadata.metadata (K8sObjectMetadata) as JSON objects. */
static void template_metadata(const struct fpd_task *task, json_t *labels, json_t *annotations)
{
	const Flyteidl__Core__TaskMetadata *md = task->tmpl ? task->tmpl->metadata : NULL;
	const Flyteidl__Core__K8sObjectMetadata *k = md ? md->metadata : NULL;
	if (!k)
		return;
	for (size_t i = 0; i < k->n_labels; i++)
		json_object_set_new(labels, k->labels[i]->key, json_string(k->labels[i]->value));
	for (size_t i = 0; i < k->n_annotations; i++)
		json_object_set_new(annotations, k->annotations[i]->key,
		                    json_string(k->annotations[i]->value));
}

int fpd_decorate(json_t *obj, const struct fpd_task *task, const char *plugin_name,
                 const struct fpd_settings *settings, struct fpd_error *err)
{
	if (!json_is_object(obj) || !fpd_json_str(obj, "apiVersion") || !fpd_json_str(obj, "kind"))
		return fpd_error_set(err, FPD_EINVAL,
		                     "plugin %s built an object without apiVersion and kind",
		                     plugin_name);
	json_t *meta = fpd_json_ensure_obj(obj, "metadata");
	if (!meta)
		return fpd_error_set(err, FPD_EINVAL, "plugin %s built a malformed metadata",
		                     plugin_name);

	/* Flyte's UnionMaps order, later wins: defaults < the plugin's own < the task template's
	 * K8sObjectMetadata < the execution's. */
	json_t *labels = json_object(), *annotations = json_object();
	fpd_json_merge_into(labels, NULL, settings->k8s.default_labels);
	fpd_json_merge_into(annotations, NULL, settings->k8s.default_annotations);
	json_t *tl = json_object(), *ta = json_object();
	template_metadata(task, tl, ta);
	fpd_json_merge_into(labels, NULL, fpd_json_get(meta, "labels"));
	fpd_json_merge_into(annotations, NULL, fpd_json_get(meta, "annotations"));
	fpd_json_merge_into(labels, NULL, tl);
	fpd_json_merge_into(annotations, NULL, ta);
	json_decref(tl);
	json_decref(ta);
	fpd_json_merge_into(labels, NULL, task->labels);
	fpd_json_merge_into(annotations, NULL, task->annotations);
	json_object_set_new(labels, FPD_LABEL_MANAGED_BY, json_string(FPD_MANAGED_BY));
	json_object_set_new(labels, FPD_LABEL_PLUGIN, json_string(plugin_name));
	char *identity = fpd_identity_encode(&task->ref);
	json_object_set_new(annotations, FPD_ANNOTATION_IDENTITY, json_string(identity));
	free(identity);
	char *config = task_config(task);
	if (config)
		json_object_set_new(annotations, FPD_ANNOTATION_TASK_CONFIG, json_string(config));
	free(config);

	json_object_set_new(meta, "labels", labels);
	json_object_set_new(meta, "annotations", annotations);
	json_object_set_new(meta, "name", json_string(task->ref.generated_name));
	json_object_set_new(meta, "namespace", json_string(task->ref.namespace_));
	json_t *finalizers = json_object_get(meta, "finalizers");
	if (!json_is_array(finalizers)) {
		finalizers = json_array();
		json_object_set_new(meta, "finalizers", finalizers);
	}
	json_array_append_new(finalizers, json_string(FPD_FINALIZER));
	return FPD_OK;
}
