/*
 * Helpers shared by the files of libflyteplugd's pod library (plugin-api/src/pod/); not part
 * of the plugin API: <flyteplugd/pod.h> is.
 */
#ifndef FPD_LIB_POD_INTERNAL_H
#define FPD_LIB_POD_INTERNAL_H

#include <flyteplugd/error.h>
#include <flyteplugd/pod.h>
#include <flyteplugd/quantity.h>
#include <flyteplugd/settings.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bound of any string the plugin renders (arguments, messages, URIs). */
#define FPD_POD_TEXT_MAX ((size_t)1 << 20)

/* Go's zero time.Time in ms since the epoch: what a missing Kubernetes timestamp decodes to. */
#define FPD_GO_ZERO_TIME_MS (-62135596800000LL)

/* --- placeholders (text.c) --- */

/* Length of the placeholder Go's (?i){{\s*[.$]<name>\s*}} matches at s, or 0. */
size_t fpd_tpl_var_len(const char *s, const char *name);

/* A substitution pass: match() returns the length of the placeholder at s (0: none) and sets
 * *value to its replacement (NULL: keep the text). */
struct fpd_tpl_sub {
	size_t (*match)(const char *s, void *arg, const char **value);
	void *arg;
};

/* Replaces every leftmost non-overlapping placeholder of in, like Go's ReplaceAllStringFunc.
 * *out receives a new string. Returns 0, or FPD_ERANGE when the result passes
 * FPD_POD_TEXT_MAX. */
int fpd_tpl_substitute(const char *in, const struct fpd_tpl_sub *sub, char **out);

/* A pass on a string of the caller's: when it replaces something, *s is freed and receives
 * the new string; otherwise *s is left as it is (no copy: most texts hold no placeholder,
 * and templates are rendered one variable after the other). Returns 0, or FPD_ERANGE when
 * *s, or the result, passes FPD_POD_TEXT_MAX (*s is then unchanged). */
int fpd_tpl_substitute_in(char **s, const struct fpd_tpl_sub *sub);

/* One variable: every {{ .<name> }} in *s replaced by value, as fpd_tpl_substitute_in. */
int fpd_tpl_replace_var_in(char **s, const char *name, const char *value);

/* --- Go formatting (gofmt.c) --- */

/* time.Duration.String() of ms milliseconds: "3m0s", "1h0m0s", "500ms", "0s". */
void fpd_go_duration(int64_t ms, char *out, size_t size);
/* fmt.Sprintf("%v", float64): shortest round-trip digits, exponent form below 1e-4 and from
 * 1e21... exactly as Go's %g with the shortest precision ("1e+06", "0.5", "NaN", "+Inf"). */
void fpd_go_float(double v, char *out, size_t size);
/* time.Unix(sec, nanos).UTC().Format(RFC3339Nano) (nanos trimmed of trailing zeros) or, when
 * nanos < 0, Format(RFC3339). Returns -1 outside years 0001-9999. */
int fpd_go_rfc3339(int64_t sec, int32_t nanos, char *out, size_t size);



/* --- pod configuration (update.c, extended.c) --- */

/* Flyte's UpdatePod: restart policy, tolerations, service account, scheduler, node selector,
 * affinity, security context, host network, DNS config, interruptible node affinity. */
void fpd_pod_update(const struct fpd_task *task, bool interruptible, json_t *spec);
/* AddRequiredNodeSelectorRequirements: ANDs requirement (borrowed) into every required node
 * selector term of spec.affinity (created when missing). */
void fpd_pod_require_node(json_t *spec, const json_t *requirement);
/* Appends a copy of every element of src (an array; anything else is ignored) to dst. */
void fpd_pod_extend_copy(json_t *dst, const json_t *src);
/* GPU accelerator and shared memory from the template's extended resources merged with the
 * execution's (or opts') overrides. 0 or FPD_EINVAL. */
int fpd_pod_extended_resources(const struct fpd_task *task, const struct fpd_pod_options *opts,
                               struct fpd_pod *pod, struct fpd_error *err);

/* --- co-pilot (copilot.c) --- */

/* Flyte's AddCoPilotToContainer and AddCoPilotToPod when the template's data_config is
 * enabled: the primary container's security context and data volume mounts, the data
 * volumes, the downloader and uploader containers and the termination grace period.
 * overrides (borrowed, may be NULL): the resource overrides, whose "storage" sizes the
 * volumes. 0, or FPD_EINVAL when k8s.co-pilot cpu or memory is not a quantity. */
int fpd_pod_add_copilot(const struct fpd_task *task, const json_t *overrides, struct fpd_pod *pod,
                        struct fpd_error *err);

/* --- small lookups (build.c, apply.c) --- */

/* A configuration value as a JSON string, new reference: YAML may type "8080" as a number,
 * Go's map[string]string reads it as text. */
json_t *fpd_pod_scalar_string(const json_t *v);

#endif
