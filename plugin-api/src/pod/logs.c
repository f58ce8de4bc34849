/*
 * Log links (Flyte's logs.InitializeLogPlugins + tasklog.TemplateLogPlugin.GetTaskLogs).
 * Variables are replaced one after the other in Flyte's order, each only when its value is
 * not empty; times are written in UTC (Flyte uses propeller's local zone, UTC in its image).
 */
#include <flyteplugd/logs.h>

#include "internal.h"

#include <flyteplugd/object.h>

#include <flyteplugd/mem.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct var {
	const char *name;
	const char *value;
	bool task_config; /* {{ .taskConfig.<name> }} rather than {{ .<name> }} */
};

/* The variables of one pod; the strings they point to live here or in the input. */
struct pod_vars {
	struct var *vars;
	size_t count, cap;
	char container_id[256];
	char retry[24], start[48], finish[48], start_unix[24], finish_unix[24];
};

/* Go: (?i){{\s*.taskConfig[.$]([a-zA-Z_]+)\s*}}. The `.` is any character but a newline, so
 * it may also be the last of the spaces before taskConfig. Length of the match, or 0. */
static size_t task_config_len(const char *s, const char **key, size_t *key_len)
{
	if (s[0] != '{' || s[1] != '{')
		return 0;
	const char *start = s + 2, *p = start;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\f' || *p == '\r')
		p++;
	if (*p && *p != '\n' && !strncasecmp(p + 1, "taskConfig", 10))
		p += 11;
	else if (p > start && p[-1] != '\n' && !strncasecmp(p, "taskConfig", 10))
		p += 10;
	else
		return 0;
	if (*p != '.' && *p != '$')
		return 0;
	*key = ++p;
	*key_len = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_");
	for (p += *key_len; *p == ' ' || *p == '\t' || *p == '\n' || *p == '\f' || *p == '\r';)
		p++;
	if (!*key_len || p[0] != '}' || p[1] != '}')
		return 0;
	return (size_t)(p + 2 - s);
}

static size_t match_task_config(const char *s, void *arg, const char **value)
{
	const struct var *v = arg;
	const char *key;
	size_t key_len, n = task_config_len(s, &key, &key_len);
	*value = v->value;
	return n && key_len == strlen(v->name) && !strncasecmp(key, v->name, key_len) ? n : 0;
}

/* The template with every variable that has a value replaced; a new string or NULL. */
static char *render(const char *tmpl, const struct var *const *lists, const size_t *counts)
{
	char *cur = fpd_strdup(tmpl ? tmpl : "");
	for (size_t l = 0; l < 2 && cur; l++)
		for (size_t i = 0; i < counts[l] && cur; i++) {
			const struct var *v = &lists[l][i];
			if (!v->value || !*v->value)
				continue;
			struct fpd_tpl_sub sub = {match_task_config, (void *)v};
			int rc = v->task_config ? fpd_tpl_substitute_in(&cur, &sub)
			                        : fpd_tpl_replace_var_in(&cur, v->name, v->value);
			if (rc) {
				free(cur);
				cur = NULL;
			}
		}
	return cur;
}

static void add(struct pod_vars *pv, const char *name, const char *value)
{
	FPD_ASSERT(pv->count < pv->cap);
	pv->vars[pv->count++] = (struct var){name, value, false};
}

static void fill_vars(const struct fpd_log_input *in, struct pod_vars *pv)
{
	const struct fpd_task_ref *r = in->ref;
	const json_t *pod = in->pod;
	const json_t *cs =
	    json_array_get(fpd_json_get(pod, "status.containerStatuses"), in->container_index);
	const char *id = fpd_json_str_or(cs, "containerID", ""), *sep = strstr(id, "://");
	if (sep) { /* "containerd://abc" -> "abc", as fluentd names the stream */
		id = sep + 3;
		sep = strstr(id, "://");
	}
	snprintf(pv->container_id, sizeof(pv->container_id), "%.*s",
	         (int)(sep ? (size_t)(sep - id) : strlen(id)), id);
	int64_t created = fpd_time_parse(fpd_json_str(pod, "metadata.creationTimestamp"));
	int64_t start = created == -1 ? FPD_GO_ZERO_TIME_MS / 1000 : created / 1000;
	int64_t finish = in->now_ms / 1000;
	fpd_go_rfc3339(start, 0, pv->start, sizeof(pv->start));
	fpd_go_rfc3339(finish, 0, pv->finish, sizeof(pv->finish));
	snprintf(pv->start_unix, sizeof(pv->start_unix), "%" PRId64, start);
	snprintf(pv->finish_unix, sizeof(pv->finish_unix), "%" PRId64, finish);
	snprintf(pv->retry, sizeof(pv->retry), "%" PRIu32, r->retry_attempt);

	pv->cap = 22 + in->extra_var_count; /* logName, the extras, 21 pod and task variables */
	pv->vars = fpd_calloc(pv->cap, sizeof(*pv->vars));
	add(pv, "logName", in->log_name);
	for (size_t i = 0; i < in->extra_var_count; i++)
		add(pv, in->extra_vars[i].name, in->extra_vars[i].value);
	const json_t *c = json_array_get(fpd_json_get(pod, "spec.containers"), in->container_index);
	add(pv, "podName", fpd_json_str(pod, "metadata.name"));
	add(pv, "podUID", fpd_json_str(pod, "metadata.uid"));
	add(pv, "namespace", fpd_json_str(pod, "metadata.namespace"));
	add(pv, "containerName", fpd_json_str(c, "name"));
	add(pv, "containerID", pv->container_id);
	add(pv, "hostname", fpd_json_str(pod, "spec.hostname"));
	add(pv, "nodeName", fpd_json_str(pod, "spec.nodeName"));
	add(pv, "nodeID", r->node_id);
	add(pv, "generatedName", r->generated_name);
	add(pv, "taskRetryAttempt", pv->retry);
	add(pv, "taskID", r->task_name);
	add(pv, "taskVersion", r->task_version);
	add(pv, "taskProject", r->task_project);
	add(pv, "taskDomain", r->task_domain);
	add(pv, "executionName", r->execution);
	add(pv, "executionProject", r->project);
	add(pv, "executionDomain", r->domain);
	add(pv, "podRFC3339StartTime", pv->start);
	add(pv, "podRFC3339FinishTime", pv->finish);
	add(pv, "podUnixStartTime", pv->start_unix);
	add(pv, "podUnixFinishTime", pv->finish_unix);
}

/* One TemplateLogPlugin. */
struct tpl {
	const char *name; /* matched against link types; NULL never matches */
	const char *display;
	char *const *uris;
	size_t n_uris;
	char *const *dynamic_uris;
	size_t n_dynamic;
	int format;
	bool show_while_pending, hide_once_finished;
};

static void add_link(struct fpd_phase_info *out, const struct tpl *t, const char *name,
                     const char *uri)
{
	if (name && uri)
		fpd_phase_add_log(out, name, uri, (enum fpd_link_format)t->format,
		                  t->show_while_pending, t->hide_once_finished);
}

/* {{ .taskConfig.<key> }} variables of uri whose key TaskTemplate.config has, appended to
 * found (Flyte accumulates them over the plugin's dynamic URIs). */
static void find_task_config(const char *uri, const json_t *config, struct var **found,
                             size_t *count)
{
	for (const char *p = strchr(uri, '{'); p; p = strchr(p + 1, '{')) {
		const char *key;
		size_t key_len;
		if (!task_config_len(p, &key, &key_len))
			continue;
		char *k = fpd_strndup(key, key_len);
		const json_t *v = json_object_get(config, k);
		if (json_is_string(v)) {
			*found = fpd_realloc(*found, (*count + 1) * sizeof(**found));
			(*found)[(*count)++] = (struct var){k, json_string_value(v), true};
			k = NULL; /* now the variable's name, freed with found */
		}
		free(k);
	}
}

static const char *str(const char *s)
{
	return s ? s : "";
}

static void emit(const struct tpl *t, const struct pod_vars *pv, const struct fpd_log_input *in,
                 struct fpd_phase_info *out)
{
	const struct var *lists[2] = {pv->vars, NULL};
	size_t counts[2] = {pv->count, 0};
	for (size_t i = 0; i < t->n_uris; i++) {
		char *uri = render(t->uris[i], lists, counts);
		char *display = render(t->display, lists, counts);
		char *suffix = render(in->log_name, lists, counts);
		char *name = display && suffix ? fpd_asprintf("%s%s", display, suffix) : NULL;
		add_link(out, t, name, uri);
		free(uri);
		free(display);
		free(suffix);
		free(name);
	}
	/* Dynamic links: once per link type naming this plugin (names are not templated). */
	struct var *found = NULL;
	size_t n_found = 0;
	const char *types = in->ref->link_types;
	/* Go's strings.Split of a non-empty config["link_type"]: empty names included. */
	for (const char *lt = types && *types ? types : NULL; lt && t->name;) {
		size_t len = strcspn(lt, ",");
		for (size_t i = 0;
		     i < t->n_dynamic && strlen(t->name) == len && !strncmp(t->name, lt, len);
		     i++) {
			find_task_config(t->dynamic_uris[i], in->task_config, &found, &n_found);
			lists[1] = found;
			counts[1] = n_found;
			char *uri = render(t->dynamic_uris[i], lists, counts);
			char *name = fpd_asprintf("%s%s", str(t->display), str(in->log_name));
			add_link(out, t, name, uri);
			free(uri);
			free(name);
		}
		lt = lt[len] == ',' ? lt + len + 1 : NULL;
	}
	for (size_t i = 0; i < n_found; i++)
		free((char *)found[i].name);
	free(found);
}

/* kubernetes, cloudwatch and stackdriver, in that order, when enabled. */
static void builtins(const struct fpd_log_settings *s, const struct pod_vars *pv,
                     const struct fpd_log_input *in, struct fpd_phase_info *out)
{
	char *uri;
	struct tpl t = {.uris = &uri, .n_uris = 1, .format = FPD_LOG_FORMAT_JSON};
	if (s->kubernetes_enabled) {
		uri = *str(s->kubernetes_template_uri)
		          ? fpd_strdup(s->kubernetes_template_uri)
		          : fpd_asprintf("%s/#!/log/{{ .namespace }}/{{ .podName }}/pod?namespace="
		                         "{{ .namespace }}",
		                         str(s->kubernetes_url));
		t.display = "Kubernetes Logs";
		emit(&t, pv, in, out);
		free(uri);
	}
	if (s->cloudwatch_enabled) {
		uri = *str(s->cloudwatch_template_uri)
		          ? fpd_strdup(s->cloudwatch_template_uri)
		          : fpd_asprintf("https://console.aws.amazon.com/cloudwatch/home?region=%s"
		                         "#logEventViewer:group=%s;stream=var.log.containers."
		                         "{{ .podName }}_{{ .namespace }}_{{ .containerName }}-"
		                         "{{ .containerId }}.log",
		                         str(s->cloudwatch_region), str(s->cloudwatch_log_group));
		t.display = "Cloudwatch Logs";
		emit(&t, pv, in, out);
		free(uri);
	}
	if (s->stackdriver_enabled) {
		uri = *str(s->stackdriver_template_uri)
		          ? fpd_strdup(s->stackdriver_template_uri)
		          : fpd_asprintf(
		                "https://console.cloud.google.com/logs/viewer?project=%s"
		                "&angularJsUrl=%%2Flogs%%2Fviewer%%3Fproject%%3D%s&resource=%s"
		                "&advancedFilter=resource.labels.pod_name%%3D{{ .podName }}",
		                str(s->gcp_project), str(s->gcp_project),
		                str(s->stackdriver_logresourcename));
		t.display = "Stackdriver Logs";
		emit(&t, pv, in, out);
		free(uri);
	}
}

size_t fpd_logs_for_pod(const struct fpd_log_settings *logs, const struct fpd_log_input *in,
                        struct fpd_phase_info *out)
{
	if (in->container_index >= json_array_size(fpd_json_get(in->pod, "spec.containers")))
		return 0;
	size_t before = out->log_count;
	struct pod_vars pv = {0};
	fill_vars(in, &pv);
	builtins(logs, &pv, in, out);
	const struct fpd_log_template *tpls = logs->templates.items;
	for (size_t i = 0; i < logs->templates.count; i++) {
		/* A template's dynamicTemplateUris are selected by its `name` in link_type. */
		struct tpl t = {tpls[i].name && *tpls[i].name ? tpls[i].name : NULL,
		                tpls[i].display_name,
		                tpls[i].template_uris.items,
		                tpls[i].template_uris.count,
		                tpls[i].dynamic_template_uris.items,
		                tpls[i].dynamic_template_uris.count,
		                tpls[i].message_format,
		                tpls[i].show_while_pending,
		                tpls[i].hide_once_finished};
		emit(&t, &pv, in, out);
	}
	const struct fpd_log_template *dyn = logs->dynamic_log_links.items;
	for (size_t i = 0; i < logs->dynamic_log_links.count; i++) {
		/* A dynamic-log-links entry: its templateUris are dynamic, always JSON. */
		struct tpl t = {dyn[i].key,
		                dyn[i].display_name,
		                NULL,
		                0,
		                dyn[i].template_uris.items,
		                dyn[i].template_uris.count,
		                FPD_LOG_FORMAT_JSON,
		                dyn[i].show_while_pending,
		                dyn[i].hide_once_finished};
		emit(&t, &pv, in, out);
	}
	free(pv.vars);
	return out->log_count - before;
}
