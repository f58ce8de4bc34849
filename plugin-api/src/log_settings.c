/*
 * The schema of a log section (propeller's logs.LogConfig and tasklog.TemplateLogPlugin), in one
 * place: the daemon's `logs:` and every plugin setting that configures log links (Spark's
 * `logs.mixed`, `logs.user`, ..., Ray's `logs` and `dashboardURLTemplate`, Dask's `logs`) are
 * validated by these tables, so they take the same keys and give the same errors. See settings.h.
 */
#include <flyteplugd/settings.h>

#include <flyteplugd/mem.h>

#include <stddef.h>

static const char *const message_formats[] = {"unknown", "csv", "json", NULL};

#define TPL(f) offsetof(struct fpd_log_template, f)
const struct fpd_schema_field fpd_log_template_fields[] = {
    {"name", FPD_SCHEMA_STRING, TPL(name)},
    {"displayName", FPD_SCHEMA_STRING, TPL(display_name)},
    {"templateUris", FPD_SCHEMA_STRINGS, TPL(template_uris)},
    {"dynamicTemplateUris", FPD_SCHEMA_STRINGS, TPL(dynamic_template_uris)},
    {"messageFormat", FPD_SCHEMA_ENUM, TPL(message_format), .names = message_formats},
    {"showWhilePending", FPD_SCHEMA_BOOL, TPL(show_while_pending)},
    {"hideOnceFinished", FPD_SCHEMA_BOOL, TPL(hide_once_finished)},
    {NULL},
};

/* An entry of `templates` or `dynamic-log-links`. */
static void log_template_defaults(void *elem)
{
	struct fpd_log_template *t = elem;
	t->name = fpd_strdup("");
	t->display_name = fpd_strdup("");
	t->message_format = 2; /* JSON, as propeller's built-in providers */
}

#define LOGS(f) offsetof(struct fpd_log_settings, f)
const struct fpd_schema_field fpd_log_settings_fields[] = {
    {"kubernetes-enabled", FPD_SCHEMA_BOOL, LOGS(kubernetes_enabled)},
    {"kubernetes-template-uri", FPD_SCHEMA_STRING, LOGS(kubernetes_template_uri)},
    {"kubernetes-url", FPD_SCHEMA_STRING, LOGS(kubernetes_url)},
    {"cloudwatch-enabled", FPD_SCHEMA_BOOL, LOGS(cloudwatch_enabled)},
    {"cloudwatch-template-uri", FPD_SCHEMA_STRING, LOGS(cloudwatch_template_uri)},
    {"cloudwatch-region", FPD_SCHEMA_STRING, LOGS(cloudwatch_region)},
    {"cloudwatch-log-group", FPD_SCHEMA_STRING, LOGS(cloudwatch_log_group)},
    {"stackdriver-enabled", FPD_SCHEMA_BOOL, LOGS(stackdriver_enabled)},
    {"stackdriver-template-uri", FPD_SCHEMA_STRING, LOGS(stackdriver_template_uri)},
    {"gcp-project", FPD_SCHEMA_STRING, LOGS(gcp_project)},
    {"stackdriver-logresourcename", FPD_SCHEMA_STRING, LOGS(stackdriver_logresourcename)},
    {"templates", FPD_SCHEMA_SECTIONS, LOGS(templates), .fields = fpd_log_template_fields,
     .elem_size = sizeof(struct fpd_log_template), .elem_defaults = log_template_defaults},
    {"dynamic-log-links", FPD_SCHEMA_SECTION_MAP, LOGS(dynamic_log_links),
     .fields = fpd_log_template_fields, .elem_size = sizeof(struct fpd_log_template),
     .elem_defaults = log_template_defaults},
    {NULL},
};

void fpd_log_settings_defaults(void *logs)
{
	struct fpd_log_settings *l = logs;
	l->kubernetes_enabled = true;
	l->kubernetes_template_uri = fpd_strdup("http://localhost:30082/#!/log/{{ .namespace }}/"
	                                        "{{ .podName }}/pod?namespace={{ .namespace }}");
	l->kubernetes_url = fpd_strdup("");
	l->cloudwatch_template_uri = fpd_strdup("");
	l->cloudwatch_region = fpd_strdup("");
	l->cloudwatch_log_group = fpd_strdup("");
	l->stackdriver_template_uri = fpd_strdup("");
	l->gcp_project = fpd_strdup("");
	l->stackdriver_logresourcename = fpd_strdup("");
}
