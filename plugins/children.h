/*
 * What the operator plugins share about their operators' pods (every role's: driver and
 * executors, master and workers, head and workers, launcher, scheduler): a pod that cannot
 * run fails the task at once instead of leaving it queued until the operator gives up, if it
 * ever does.
 */
#ifndef FPD_PLUGINS_CHILDREN_H
#define FPD_PLUGINS_CHILDREN_H

#include <flyteplugd/phase.h>
#include <flyteplugd/settings.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Which of the pods to read: those whose label `key` is `value` (key NULL: all). */
struct fpd_children_filter {
	const char *key;
	const char *value;
};

/*
 * Reads pods (borrowed) that pass filter with Flyte's pod rules (fpd_pod_status, the k8s grace periods against
 * now_ms). The first pod stuck for good (ImagePullBackOff, CreateContainerError or
 * CreateContainerConfigError past its grace period, InvalidImageName) or killed for memory
 * (OOMKilled) sets *out to that failure, its message "pod <name> container <container>:
 * <code>: <message>" (cleanup: the object is deleted), and returns true. Otherwise *out keeps
 * its phase and message, the earliest grace deadline is folded into out->recheck_at_ms, and
 * false is returned.
 */
bool fpd_children_fail_fast(const json_t *const *pods, size_t n, struct fpd_children_filter filter,
                            const struct fpd_k8s_settings *k8s, int64_t now_ms,
                            struct fpd_phase_info *out);

#endif
