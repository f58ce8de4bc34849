/*
 * Volcano gang scheduling in the engine: see volcano.h. The member count comes from
 * libflyteplugd (fpd_volcano_min_member, which knows each kind's replicas); the pod templates
 * are found at the same paths the Pod Security check reads.
 */
#include "engine/volcano.h"

#include "engine/decorate.h"
#include "engine/podsecurity.h"

#include <flyteplugd/object.h>
#include <flyteplugd/queue.h>
#include <string.h>

#define PATH_MAX_SEGMENTS 16

struct marking {
	const char *group;
	const char *scheduler;
	bool spark; /* the spec is a SparkPodSpec: its own schedulerName and annotations */
	int64_t found;
};

static void set_annotation(json_t *annotations_owner, const char *key, const char *group)
{
	json_t *a = json_object_get(annotations_owner, key);
	if (!json_is_object(a)) {
		a = json_object();
		json_object_set_new(annotations_owner, key, a);
	}
	json_object_set_new(a, FPD_VOLCANO_GROUP_ANNOTATION, json_string(group));
}

/* spec is a pod spec (or a SparkPodSpec) and template the object holding it beside its
 * metadata. */
static void mark(struct marking *m, json_t *spec, json_t *template)
{
	if (!json_is_object(spec) || (!m->spark && !json_is_object(template)))
		return;
	json_object_set_new(spec, "schedulerName", json_string(m->scheduler));
	if (m->spark) {
		set_annotation(spec, "annotations", m->group);
	} else {
		json_t *meta = json_object_get(template, "metadata");
		if (!json_is_object(meta)) {
			meta = json_object();
			json_object_set_new(template, "metadata", meta);
		}
		set_annotation(meta, "annotations", m->group);
	}
	m->found++;
}

static void walk(struct marking *m, json_t *node, json_t *parent, char **segs, size_t i, size_t n)
{
	if (i == n) {
		mark(m, node, parent);
		return;
	}
	if (!strcmp(segs[i], "*")) {
		const char *k;
		size_t idx;
		json_t *v;
		if (json_is_object(node)) {
			json_object_foreach(node, k, v)
			{
				walk(m, v, node, segs, i + 1, n);
			}
		}
		json_array_foreach(node, idx, v)
		{
			walk(m, v, node, segs, i + 1, n);
		}
		return;
	}
	json_t *next = json_object_get(node, segs[i]);
	if (next)
		walk(m, next, node, segs, i + 1, n);
}

/* "**": every object with a containers array is a pod spec, its holder the template. */
static void search(struct marking *m, json_t *node, json_t *parent)
{
	const char *k;
	size_t idx;
	json_t *v;
	if (json_is_object(node) && json_is_array(json_object_get(node, "containers"))) {
		mark(m, node, parent);
		return;
	}
	if (json_is_object(node)) {
		json_object_foreach(node, k, v)
		{
			search(m, v, node);
		}
	}
	json_array_foreach(node, idx, v)
	{
		search(m, v, node);
	}
}

static void mark_path(struct marking *m, json_t *obj, const char *path)
{
	if (!strcmp(path, FPD_POD_SPECS_SEARCH)) {
		m->spark = false;
		search(m, obj, NULL);
		return;
	}
	m->spark = !strncmp(path, "spark:", 6);
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", m->spark ? path + 6 : path);
	char *segs[PATH_MAX_SEGMENTS];
	size_t n = 0;
	for (char *s = buf; s && n < PATH_MAX_SEGMENTS;) {
		char *dot = strchr(s, '.');
		if (dot)
			*dot++ = '\0';
		segs[n++] = s;
		s = dot;
	}
	walk(m, obj, NULL, segs, 0, n);
}

json_t *fpd_volcano_group(json_t *obj, const char *const *pod_specs,
                          const struct fpd_settings *settings)
{
	const char *ns = fpd_json_str_or(obj, "metadata.namespace", "");
	const char *name = fpd_json_str_or(obj, "metadata.name", "");
	if (!pod_specs || !*name || !fpd_volcano_applies(settings, ns))
		return NULL;
	/* The Spark operator's own batch scheduler makes its own group: not a second one. A
	 * TrainJob's runtimePatches take no schedulerName (the API server would prune it): its
	 * runtime's podGroupPolicy is Trainer's way to Volcano. */
	if (*fpd_json_str_or(obj, "spec.batchScheduler", "") ||
	    !strcmp(fpd_json_str_or(obj, "kind", ""), "TrainJob"))
		return NULL;
	const struct fpd_volcano_settings *v = &settings->queueing.volcano;
	struct marking m = {.group = name,
	                    .scheduler = v->scheduler_name ? v->scheduler_name : "volcano"};
	for (const char *const *p = pod_specs; *p; p++)
		mark_path(&m, obj, *p);
	if (!m.found)
		return NULL;
	json_t *labels = json_deep_copy(fpd_json_get(obj, "metadata.labels"));
	json_t *group =
	    json_pack("{s:s, s:s, s:{s:s, s:s, s:o}, s:{s:I}}", "apiVersion",
	              FPD_VOLCANO_API_VERSION, "kind", "PodGroup", "metadata", "name", name,
	              "namespace", ns, "labels", labels ? labels : json_object(), "spec",
	              "minMember", (json_int_t)fpd_volcano_min_member(obj, m.found));
	/* The key has dots: not a path. */
	const char *identity = json_string_value(
	    json_object_get(fpd_json_get(obj, "metadata.annotations"), FPD_ANNOTATION_IDENTITY));
	if (identity)
		json_object_set_new(fpd_json_ensure_obj(group, "metadata.annotations"),
		                    FPD_ANNOTATION_IDENTITY, json_string(identity));
	if (v->queue)
		json_object_set_new(json_object_get(group, "spec"), "queue", json_string(v->queue));
	return group;
}

int fpd_volcano_gvr(struct fpd_kube_gvr *g, struct fpd_error *err)
{
	int rc = fpd_kube_gvr_set(g, "scheduling.volcano.sh", "v1beta1", "podgroups", true, err);
	if (!rc)
		snprintf(g->kind, sizeof(g->kind), "PodGroup");
	return rc;
}

bool fpd_volcano_status(const json_t *group, struct fpd_phase_info *out)
{
	/* No status yet: Volcano has not looked at the group, it is as good as Pending. */
	const char *phase = fpd_json_str_or(group, "status.phase", "Pending");
	if (strcmp(phase, "Pending") && strcmp(phase, "Inqueue"))
		return false;
	const char *why = "";
	const json_t *conds = fpd_json_get(group, "status.conditions");
	for (size_t i = 0; i < json_array_size(conds); i++) {
		const json_t *c = json_array_get(conds, i);
		if (!strcmp(fpd_json_str_or(c, "type", ""), "Unschedulable") &&
		    !strcmp(fpd_json_str_or(c, "status", ""), "True"))
			why = fpd_json_str_or(c, "message", "");
	}
	const char *queue = fpd_json_str_or(group, "spec.queue", "");
	fpd_phase_setf(out, FPD_PHASE_WAITING_FOR_RESOURCES, "VolcanoPodGroup",
	               "waiting for Volcano to schedule PodGroup %s (%s, minMember %lld%s%s)%s%s",
	               fpd_json_str_or(group, "metadata.name", ""), phase,
	               (long long)fpd_json_int_or(group, "spec.minMember", 0),
	               *queue ? ", queue " : "", queue, *why ? ": " : "", why);
	return true;
}
