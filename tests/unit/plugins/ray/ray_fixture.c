#include "ray_fixture.h"

#include <flyteplugd/error.h>
#include <flyteplugd/structpb.h>
#include "flyteidl/plugins/ray.pb-c.h"
#include "fpd_test.h"

static void set_bool(bool *dst, const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	if (v)
		*dst = json_is_true(v);
}

static void set_str(char **dst, const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	if (v)
		*dst = (char *)json_string_value(v);
}

void fpd_test_ray_settings(struct fpd_test_ray *r, const json_t *ray)
{
	struct fpd_ray_settings *s = &r->settings;
	memset(s, 0, sizeof(*s));
	s->shutdown_after_job_finishes = true;
	s->ttl_seconds_after_finished = 3600;
	s->service_type = "NodePort";
	s->include_dashboard = true;
	s->dashboard_host = "0.0.0.0";
	s->service_account = "";
	s->head.ip_address = "$MY_POD_IP";
	s->worker.ip_address = "$MY_POD_IP";
	set_bool(&s->shutdown_after_job_finishes, ray, "shutdownAfterJobFinishes");
	if (json_object_get(ray, "ttlSecondsAfterFinished"))
		s->ttl_seconds_after_finished =
		    json_integer_value(json_object_get(ray, "ttlSecondsAfterFinished"));
	set_str(&s->service_type, ray, "serviceType");
	set_bool(&s->enable_ingress, ray, "enableIngress");
	set_bool(&s->include_dashboard, ray, "includeDashboard");
	set_str(&s->dashboard_host, ray, "dashboardHost");
	set_bool(&s->enable_usage_stats, ray, "enableUsageStats");
	set_str(&s->service_account, ray, "serviceAccount");
	set_str(&s->head.ip_address, ray, "headIPAddress");
	set_str(&s->worker.ip_address, ray, "workerIPAddress");
	s->logs_sidecar = json_object_get(ray, "logsSidecar");
	set_bool(&s->dashboard_link, ray, "dashboardLink");
	s->backoff_limit = json_integer_value(json_object_get(ray, "backoffLimit"));
	s->active_deadline_seconds =
	    json_integer_value(json_object_get(ray, "activeDeadlineSeconds"));
	s->deletion_rules = json_object_get(ray, "deletionRules");
	s->cluster_selector = json_object_get(ray, "clusterSelector");
	s->kueue_queues = json_object_get(ray, "kueueQueues");
	s->head.start_parameters = json_object_get(ray, "headStartParameters");
	s->worker.start_parameters = json_object_get(ray, "workerStartParameters");
	const json_t *dash = json_object_get(ray, "dashboardURLTemplate");
	if (dash) {
		set_str(&s->dashboard_url_template.display_name, dash, "displayName");
		size_t i;
		json_t *u;
		json_array_foreach(json_object_get(dash, "templateUris"), i, u)
		{
			ck_assert_uint_lt(i, 4);
			r->dash_uris[i] = (char *)json_string_value(u);
			s->dashboard_url_template.template_uris.count = i + 1;
		}
		s->dashboard_url_template.template_uris.items = r->dash_uris;
	}
}

void fpd_test_ray_load(struct fpd_test_ray *r, json_t *fixture)
{
	memset(r, 0, sizeof(*r));
	fpd_test_task_load(&r->t, fixture);
	struct fpd_task *task = &r->t.task;
	if (json_object_size(task->custom_json)) {
		struct fpd_error err = {0};
		int rc = fpd_json_to_message(
		    task->custom_json, &flyteidl__plugins__ray_job__descriptor, &r->custom, &err);
		ck_assert_msg(rc == 0, "custom: %s", err.text);
		task->custom = r->custom;
	}
	json_t *labels = json_object_get(fixture, "labels");
	json_t *annotations = json_object_get(fixture, "annotations");
	if (!labels)
		json_object_set_new(fixture, "labels", labels = json_object());
	if (!annotations)
		json_object_set_new(fixture, "annotations", annotations = json_object());
	task->labels = labels;
	task->annotations = annotations;
	fpd_test_ray_settings(r, json_object_get(fixture, "ray"));
	task->plugin_settings = &r->settings;
}

void fpd_test_ray_section(struct fpd_test_ray *r, const json_t *section)
{
	fpd_test_plugin_settings_free(&fpd_plugin_ray, r->section);
	r->section = fpd_test_plugin_settings(&fpd_plugin_ray, section);
	r->t.task.plugin_settings = r->section;
}

const struct fpd_ray_settings *fpd_test_ray_settings_in_use(const struct fpd_test_ray *r)
{
	return r->section ? r->section : &r->settings;
}

void fpd_test_ray_free(struct fpd_test_ray *r)
{
	fpd_test_plugin_settings_free(&fpd_plugin_ray, r->section);
	if (r->custom)
		protobuf_c_message_free_unpacked(r->custom, NULL);
	fpd_test_task_free(&r->t);
}
