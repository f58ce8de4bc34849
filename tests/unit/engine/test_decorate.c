#include "core/config.h"
#include "engine/decorate.h"
#include "fpd_test.h"

#include <flyteplugd/object.h>

static struct fpd_task_ref ref(void)
{
	struct fpd_task_ref r = {
	    .project = "flytesnacks",
	    .domain = "development",
	    .execution = "a1b2c3",
	    .node_id = "n0",
	    .retry_attempt = 1,
	    .task_project = "flytesnacks",
	    .task_domain = "development",
	    .task_name = "wf.say_hello",
	    .task_version = "v1",
	    .task_type = "python-task",
	    .task_type_version = 0,
	    .generated_name = "a1b2c3-n0-1",
	    .namespace_ = "flytesnacks-development",
	    .link_types = "",
	};
	return r;
}

START_TEST(precedence_and_marks)
{
	struct fpd_config cfg;
	fpd_config_defaults(&cfg);
	json_decref(cfg.settings.k8s.default_labels);
	cfg.settings.k8s.default_labels = json_pack("{s:s, s:s}", "team", "default", "tier", "x");

	Flyteidl__Core__K8sObjectMetadata__LabelsEntry le =
	    FLYTEIDL__CORE__K8S_OBJECT_METADATA__LABELS_ENTRY__INIT;
	le.key = "tier";
	le.value = "template";
	Flyteidl__Core__K8sObjectMetadata__LabelsEntry *lep[] = {&le};
	Flyteidl__Core__K8sObjectMetadata k8s = FLYTEIDL__CORE__K8S_OBJECT_METADATA__INIT;
	k8s.n_labels = 1;
	k8s.labels = lep;
	Flyteidl__Core__TaskMetadata md = FLYTEIDL__CORE__TASK_METADATA__INIT;
	md.metadata = &k8s;
	Flyteidl__Core__TaskTemplate tmpl = FLYTEIDL__CORE__TASK_TEMPLATE__INIT;
	tmpl.metadata = &md;

	json_t *exec_labels = json_pack("{s:s, s:s}", "execution-id", "a1b2c3", "team", "ml");
	json_t *exec_ann = json_pack("{s:s}", "owner", "alice");
	struct fpd_task task = {
	    .ref = ref(), .tmpl = &tmpl, .labels = exec_labels, .annotations = exec_ann};
	json_t *obj = json_pack("{s:s, s:s, s:{s:{s:s, s:s}}}", "apiVersion", "v1", "kind", "Pod",
	                        "metadata", "labels", "tier", "plugin", "plugin-only", "yes");
	struct fpd_error err;
	ck_assert_int_eq(fpd_decorate(obj, &task, "pod", &cfg.settings, &err), FPD_OK);

	ck_assert_str_eq(fpd_json_str(obj, "metadata.name"), "a1b2c3-n0-1");
	ck_assert_str_eq(fpd_json_str(obj, "metadata.namespace"), "flytesnacks-development");
	const json_t *labels = fpd_json_get(obj, "metadata.labels");
	ck_assert_str_eq(json_string_value(json_object_get(labels, "team")), "ml");
	ck_assert_str_eq(json_string_value(json_object_get(labels, "tier")), "template");
	ck_assert_str_eq(json_string_value(json_object_get(labels, "plugin-only")), "yes");
	ck_assert_str_eq(json_string_value(json_object_get(labels, "execution-id")), "a1b2c3");
	ck_assert_str_eq(json_string_value(json_object_get(labels, FPD_LABEL_MANAGED_BY)),
	                 "flyteplugd");
	ck_assert_str_eq(json_string_value(json_object_get(labels, FPD_LABEL_PLUGIN)), "pod");
	const json_t *ann = fpd_json_get(obj, "metadata.annotations");
	ck_assert_str_eq(json_string_value(json_object_get(
	                     ann, "cluster-autoscaler.kubernetes.io/safe-to-evict")),
	                 "false");
	ck_assert_str_eq(json_string_value(json_object_get(ann, "owner")), "alice");
	ck_assert(fpd_identity_matches(obj, &task.ref));
	struct fpd_task_ref other = ref();
	other.retry_attempt = 2;
	ck_assert(!fpd_identity_matches(obj, &other));
	const json_t *fin = fpd_json_get(obj, "metadata.finalizers");
	ck_assert_uint_eq(json_array_size(fin), 1);
	ck_assert_str_eq(json_string_value(json_array_get(fin, 0)), FPD_FINALIZER);

	json_decref(obj);
	json_decref(exec_labels);
	json_decref(exec_ann);
	fpd_config_free(&cfg);
}
END_TEST

START_TEST(rejects_objects_without_kind)
{
	struct fpd_config cfg;
	fpd_config_defaults(&cfg);
	struct fpd_task task = {.ref = ref()};
	struct fpd_error err;
	json_t *obj = json_pack("{s:s}", "apiVersion", "v1");
	ck_assert_int_eq(fpd_decorate(obj, &task, "pod", &cfg.settings, &err), FPD_EINVAL);
	json_decref(obj);
	obj = json_array();
	ck_assert_int_eq(fpd_decorate(obj, &task, "pod", &cfg.settings, &err), FPD_EINVAL);
	json_decref(obj);
	fpd_config_free(&cfg);
}
END_TEST

/* TaskTemplate.config is kept on the object only for tasks with dynamic log links (and some
 * key their templates may read), as sorted compact JSON. */
START_TEST(task_config_annotation)
{
	struct fpd_config cfg;
	fpd_config_defaults(&cfg);
	Flyteidl__Core__TaskTemplate__ConfigEntry e1 = FLYTEIDL__CORE__TASK_TEMPLATE__CONFIG_ENTRY__INIT,
	                                          e2 = FLYTEIDL__CORE__TASK_TEMPLATE__CONFIG_ENTRY__INIT;
	e1.key = "project";
	e1.value = "demo \"x\"";
	e2.key = "link_type";
	e2.value = "wandb";
	Flyteidl__Core__TaskTemplate__ConfigEntry *entries[] = {&e1, &e2};
	Flyteidl__Core__TaskTemplate tmpl = FLYTEIDL__CORE__TASK_TEMPLATE__INIT;
	tmpl.n_config = 2;
	tmpl.config = entries;
	struct fpd_task task = {.ref = ref(), .tmpl = &tmpl};
	for (int with_links = 0; with_links <= 1; with_links++) {
		task.ref.link_types = with_links ? "wandb" : "";
		json_t *obj = json_pack("{s:s, s:s}", "apiVersion", "v1", "kind", "Pod");
		struct fpd_error err;
		ck_assert_int_eq(fpd_decorate(obj, &task, "pod", &cfg.settings, &err), FPD_OK);
		const char *got = json_string_value(json_object_get(
		    fpd_json_get(obj, "metadata.annotations"), FPD_ANNOTATION_TASK_CONFIG));
		if (with_links)
			ck_assert_str_eq(got, "{\"link_type\":\"wandb\",\"project\":\"demo \\\"x\\\"\"}");
		else
			ck_assert_ptr_null(got);
		json_decref(obj);
	}
	tmpl.n_config = 1; /* link_type alone: nothing for a template to read */
	entries[0] = &e2;
	task.ref.link_types = "wandb";
	json_t *obj = json_pack("{s:s, s:s}", "apiVersion", "v1", "kind", "Pod");
	struct fpd_error err;
	ck_assert_int_eq(fpd_decorate(obj, &task, "pod", &cfg.settings, &err), FPD_OK);
	ck_assert_ptr_null(
	    json_object_get(fpd_json_get(obj, "metadata.annotations"), FPD_ANNOTATION_TASK_CONFIG));
	json_decref(obj);
	fpd_config_free(&cfg);
}
END_TEST

/* The identity annotation is the sorted compact JSON of the execution's identity: the text
 * objects made by earlier versions carry (json_dumps with JSON_SORT_KEYS) must compare equal. */
START_TEST(identity_text_is_stable)
{
	struct fpd_task_ref r = ref();
	const char *names[] = {"wf.say_hello", "quote \" and \\ and \t, é 日本", ""};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		r.task_name = names[i];
		r.retry_attempt = (uint32_t)(i * 7);
		r.task_type_version = (int32_t)i;
		r.link_types = i == 1 ? "0,2" : "";
		json_t *id = json_pack("{s:s, s:s, s:s, s:s, s:I, s:[ssss], s:s, s:i, s:s}", "p",
		                       r.project, "d", r.domain, "e", r.execution, "n", r.node_id, "a",
		                       (json_int_t)r.retry_attempt, "t", r.task_project, r.task_domain,
		                       r.task_name, r.task_version, "tt", r.task_type, "tv",
		                       (int)r.task_type_version, "lt", r.link_types);
		char *want = json_dumps(id, JSON_COMPACT | JSON_SORT_KEYS);
		char *got = fpd_identity_encode(&r);
		ck_assert_str_eq(got, want);
		free(want);
		free(got);
		json_decref(id);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("engine/decorate");
	TCase *tc = tcase_create("decorate");
	tcase_add_test(tc, precedence_and_marks);
	tcase_add_test(tc, rejects_objects_without_kind);
	tcase_add_test(tc, identity_text_is_stable);
	tcase_add_test(tc, task_config_annotation);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
