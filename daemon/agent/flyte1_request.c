/* Flyte 1 CreateTaskRequest → the engine's struct fpd_task_request: see flyte1.h. */
#include "agent/flyte1.h"

#include <string.h>

/* protobuf-c's string map entries (labels, annotations, environment variables) as key/value
 * pairs in the arena. The three entry types are distinct structs of the same fields, hence
 * the macro. */
#define KV_LIST(arena, n, entries, out_list, out_n)                                           \
	do {                                                                                  \
		struct fpd_kv *kv = (n) ? fpd_arena_alloc((arena), (n) * sizeof(*kv)) : NULL; \
		for (size_t i_ = 0; i_ < (n); i_++)                                           \
			kv[i_] = (struct fpd_kv){(entries)[i_]->key, (entries)[i_]->value};   \
		(out_list) = kv;                                                              \
		(out_n) = (n);                                                                \
	} while (0)

static void fill_meta(const Flyteidl__Admin__TaskExecutionMetadata *m, struct fpd_arena *arena,
                      struct fpd_task_meta *out)
{
	const Flyteidl__Core__TaskExecutionIdentifier *id = m->task_execution_id;
	const Flyteidl__Core__NodeExecutionIdentifier *node = id ? id->node_execution_id : NULL;
	const Flyteidl__Core__WorkflowExecutionIdentifier *ex = node ? node->execution_id : NULL;
	if (ex) {
		out->project = ex->project;
		out->domain = ex->domain;
		out->execution = ex->name;
	}
	if (node)
		out->node_id = node->node_id;
	if (id) {
		out->retry_attempt = id->retry_attempt;
		out->task_id = id->task_id;
	}
	out->namespace_ = m->namespace_;
	out->service_account = m->k8s_service_account;
	KV_LIST(arena, m->n_labels, m->labels, out->labels, out->n_labels);
	KV_LIST(arena, m->n_annotations, m->annotations, out->annotations, out->n_annotations);
	KV_LIST(arena, m->n_environment_variables, m->environment_variables, out->env, out->n_env);
	out->interruptible = m->interruptible;
	out->plugin_meta = m;
}

void fpd_flyte1_task_request(const Flyteidl__Admin__CreateTaskRequest *req, struct fpd_arena *arena,
                             struct fpd_task_request *out)
{
	memset(out, 0, sizeof(*out));
	out->tmpl = req->template_;
	out->inputs = req->inputs;
	out->output_prefix = req->output_prefix;
	if (req->task_execution_metadata)
		fill_meta(req->task_execution_metadata, arena, &out->meta);
}
