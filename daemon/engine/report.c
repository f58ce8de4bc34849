/*
 * The executions the engine tracks, as JSON for the admin endpoint (/executions): a report
 * read from the execution table, changing nothing.
 */
#include "engine/report.h"

#include "core/clock.h"
#include "core/mem.h"
#include "engine/internal.h"

#include <stdlib.h>
#include <string.h>

static void set_time(json_t *o, const char *key, int64_t wall_ms)
{
	char t[64];
	if (wall_ms <= 0)
		return;
	fpd_clock_format_rfc3339(wall_ms, t, sizeof(t));
	json_object_set_new(o, key, json_string(t));
}

static json_t *execution_json(const struct execution *x)
{
	const struct fpd_task_ref *r = &x->id.ref;
	json_t *links = json_array();
	for (size_t i = 0; i < x->phase.log_count; i++)
		json_array_append_new(links, json_pack("{s:s, s:s}", "name", x->phase.logs[i].name,
		                                       "uri", x->phase.logs[i].uri));
	json_t *o = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:o, s:b, s:b,"
	    " s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s, s:s}}",
	    "namespace", x->namespace_, "name", x->name, "uid", x->uid, "plugin", x->plugin->name,
	    "kind", x->plugin->kind ? x->plugin->kind->kind : "", "state",
	    exec_state_name(x->state), "phase", fpd_phase_name(x->phase.phase), "code",
	    x->phase.code, "message", x->phase.message, "log_links", links, "deleting", x->deleting,
	    "aborted", x->aborted, "execution", "project", r->project, "domain", r->domain, "name",
	    r->execution, "node", r->node_id, "task", "project", r->task_project, "domain",
	    r->task_domain, "name", r->task_name, "version", r->task_version, "type", r->task_type);
	if (!o) /* a string that is not UTF-8 (json_pack refuses it): say little, but say it */
		return json_pack("{s:s, s:s}", "namespace", x->namespace_, "name", x->name);
	set_time(o, "started", x->started_ms);
	set_time(o, "last_poll", x->last_poll_ms);
	set_time(o, "finished", x->finished_ms);
	return o;
}

static int by_key(const void *a, const void *b)
{
	const struct execution *x = *(const struct execution *const *)a;
	const struct execution *y = *(const struct execution *const *)b;
	return strcmp(x->key, y->key);
}

json_t *fpd_engine_executions(const struct fpd_engine *e, const char *namespace_, size_t limit)
{
	size_t n = 0, cap = 0;
	const struct execution **all = NULL;
	const char *key;
	void *v;
	for (size_t it = 0; fpd_map_next(&e->execs, &it, &key, &v);) {
		const struct execution *x = v;
		if (namespace_ && strcmp(x->namespace_, namespace_) != 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			all = fpd_realloc(all, cap * sizeof(*all));
		}
		all[n++] = x;
	}
	if (n)
		qsort(all, n, sizeof(*all), by_key);
	json_t *list = json_array();
	for (size_t i = 0; i < n && i < limit; i++)
		json_array_append_new(list, execution_json(all[i]));
	free(all);
	return json_pack("{s:I, s:I, s:o}", "count", (json_int_t)n, "shown",
	                 (json_int_t)json_array_size(list), "executions", list);
}
