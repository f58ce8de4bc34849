/* Fail fast on an operator's pods: see children.h. */
#include "children.h"

#include <flyteplugd/mem.h>
#include <flyteplugd/object.h>
#include <flyteplugd/pod.h>

#include <stdlib.h>
#include <string.h>

/* The reasons a pod cannot get past without someone changing the task or the cluster. */
static const char *const fatal[] = {"ImagePullBackOff", "InvalidImageName",
                                    "CreateContainerConfigError", "CreateContainerError",
                                    "OOMKilled"};

/* The reason at the end of a pod-rules code ("ContainersNotReady|ImagePullBackOff"). */
static const char *fatal_reason(const char *code)
{
	if (!code)
		return NULL;
	const char *bar = strrchr(code, '|');
	const char *why = bar ? bar + 1 : code;
	for (size_t i = 0; i < FPD_ARRAY_LEN(fatal); i++)
		if (!strcmp(why, fatal[i]))
			return fatal[i];
	return NULL;
}

static bool container_has(const json_t *cs, const char *why)
{
	static const char *const where[] = {"state.waiting.reason", "state.terminated.reason",
	                                    "lastState.terminated.reason"};
	for (size_t i = 0; i < FPD_ARRAY_LEN(where); i++)
		if (!strcmp(fpd_json_str_or(cs, where[i], ""), why))
			return true;
	return false;
}

/* The container whose status carries why: regular containers first, then init containers. */
static const char *container_of(const json_t *pod, const char *why)
{
	static const char *const lists[] = {"status.containerStatuses",
	                                    "status.initContainerStatuses"};
	for (size_t l = 0; l < FPD_ARRAY_LEN(lists); l++) {
		const json_t *cs;
		size_t i;
		json_array_foreach(fpd_json_get(pod, lists[l]), i, cs)
		{
			if (container_has(cs, why))
				return fpd_json_str_or(cs, "name", "");
		}
	}
	return "";
}

static bool selected(const json_t *pod, struct fpd_children_filter f)
{
	if (!f.key)
		return true;
	const json_t *v = json_object_get(fpd_json_get(pod, "metadata.labels"), f.key);
	return json_is_string(v) && f.value && !strcmp(json_string_value(v), f.value);
}

bool fpd_children_fail_fast(const json_t *const *pods, size_t n, struct fpd_children_filter filter,
                            const struct fpd_k8s_settings *k8s, int64_t now_ms,
                            struct fpd_phase_info *out)
{
	int64_t recheck = 0;
	for (size_t i = 0; i < n; i++) {
		if (!selected(pods[i], filter))
			continue;
		struct fpd_phase_info p = {0};
		fpd_pod_status(pods[i], k8s, now_ms, &p);
		const char *why = fatal_reason(p.code);
		if (why && fpd_phase_is_failure(p.phase)) {
			fpd_phase_setf(out, p.phase, p.code, "pod %s container %s: %s: %s",
			               fpd_json_str_or(pods[i], "metadata.name", ""),
			               container_of(pods[i], why), p.code,
			               p.message ? p.message : "");
			out->kind = p.kind;
			out->cleanup = true;
			out->recheck_at_ms = 0;
			fpd_phase_info_clear(&p);
			return true;
		}
		if (p.recheck_at_ms > 0 && (!recheck || p.recheck_at_ms < recheck))
			recheck = p.recheck_at_ms;
		fpd_phase_info_clear(&p);
	}
	if (recheck && (!out->recheck_at_ms || recheck < out->recheck_at_ms))
		out->recheck_at_ms = recheck;
	return false;
}
