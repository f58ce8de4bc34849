/*
 * The Pod Security Standards check: does a pod spec (JSON, as sent to the API server) meet a
 * level of the published standards (https://kubernetes.io/docs/concepts/security/pod-security-standards/,
 * the "latest" version of each check), so that the daemon refuses to create what the namespace's
 * admission would refuse, and refuses it by default where no admission is configured.
 *
 * Pure functions over decoded JSON; no state. The first violated check is reported, as
 *   pod security "baseline": container "main": securityContext.privileged=true is not allowed
 *   (check: privileged)
 * with the check's identifier as the pod-security-admission library names it.
 */
#ifndef FPD_ENGINE_PODSECURITY_H
#define FPD_ENGINE_PODSECURITY_H

#include <flyteplugd/error.h>

#include <jansson.h>

/* Same order as the names of policy.pod_security.level in core/config.c. */
enum fpd_pss_level {
	FPD_PSS_PRIVILEGED, /* no checks */
	FPD_PSS_BASELINE,   /* known privilege escalations refused */
	FPD_PSS_RESTRICTED, /* baseline plus hardening */
};

/* "privileged", "baseline", "restricted"; "?" for a value out of range. */
const char *fpd_pss_level_name(enum fpd_pss_level level);

/* Checks one pod spec (borrowed; a JSON object) and the pod's metadata (borrowed, may be NULL;
 * its annotations carry AppArmor profiles) against level. Containers, init containers and
 * ephemeral containers are all checked.
 * Returns 0 when the pod meets the level; FPD_EPERM with the first violation in err; FPD_EINVAL
 * when a field the checks read has the wrong JSON type (the API server would refuse it too). */
int fpd_podsecurity_check(enum fpd_pss_level level, const json_t *pod_spec,
                          const json_t *pod_metadata, struct fpd_error *err);

/*
 * Checks every pod an object would run. paths is a NULL-terminated list of where the object holds
 * pod specs, each a dotted path from the object's root where `*` stands for every member of an
 * object or every element of an array:
 *   "spec"                                         a Pod
 *   "spec.pytorchReplicaSpecs.*.template.spec"     a PyTorchJob's replicas
 * A path ending in `spec` takes its sibling `metadata` as the pod's metadata.
 * A path written `spark:PATH` names a Spark operator SparkPodSpec (spec.driver, spec.executor),
 * which is not a PodSpec: its podSecurityContext is the pod's securityContext, hostNetwork the
 * pod's, securityContext that of the main container (named after PATH's last key, "driver"),
 * sidecars are containers, initContainers init containers, annotations the pod's, and the
 * application's volumes (spec.volumes at the object's root) the pod's volumes.
 * The path FPD_POD_SPECS_SEARCH ("**") finds the pod specs by their shape: every object
 * anywhere in the object whose `containers` is an array (a PodSpec's one required field) is
 * checked, with its sibling `metadata` when its key is `spec`; finding none is not an error.
 * A path that is absent in the object is skipped, but at least one pod spec must be found.
 * Messages name the path: pod security "baseline": spec.pytorchReplicaSpecs.Worker.template.spec:
 * container "main": ... All borrowed. Returns as fpd_podsecurity_check, and FPD_EINVAL for a
 * malformed path, a path reaching a non-object, or no pod spec at all.
 */
#define FPD_POD_SPECS_SEARCH "**"
int fpd_podsecurity_check_object(enum fpd_pss_level level, const json_t *object,
                                 const char *const *pod_spec_paths, struct fpd_error *err);

#endif
