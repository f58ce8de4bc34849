/*
 * The caller policy: which namespaces, service accounts and task types a CreateTask may use,
 * which namespaces GetTask/DeleteTask may reach, and which Pod Security Standards level a
 * namespace's objects must meet. The gRPC port creates pods: whoever reaches it acts with the
 * daemon's RBAC, so the defaults refuse what no Flyte task needs (system namespaces, the daemon's
 * own, service accounts other than `default`, privileged pods).
 *
 * Built once from the configuration (policy:, docs/configuration.md); the checks are pure
 * functions of their arguments and the configuration, except that each refusal is counted in the
 * policy's stats for the metrics. Single-threaded like the rest of the engine.
 */
#ifndef FPD_ENGINE_POLICY_H
#define FPD_ENGINE_POLICY_H

#include "core/config.h"
#include <flyteplugd/error.h>
#include "engine/podsecurity.h"

#include <jansson.h>
#include <stdint.h>

/* Refusals by rule since the policy was made. */
struct fpd_policy_stats {
	uint64_t system_namespace;   /* kube-system, kube-public, kube-node-lease, own namespace */
	uint64_t unlisted_namespace; /* not in policy.namespaces.allow */
	uint64_t service_account;    /* policy.service_accounts */
	uint64_t task_type;          /* policy.task_types */
	uint64_t pod_security;       /* policy.pod_security */
};

struct fpd_policy;

/* Builds the policy from cfg (borrowed; everything needed is copied). own_namespace (borrowed,
 * may be NULL or empty when unknown) is the daemon's own namespace, refused like the system
 * namespaces: see fpd_policy_own_namespace. *out is new; release with fpd_policy_free.
 * FPD_EINVAL when own_namespace is not a namespace name or a level is out of range. */
int fpd_policy_new(const struct fpd_config_policy *cfg, const char *own_namespace,
                   struct fpd_policy **out, struct fpd_error *err);

void fpd_policy_free(struct fpd_policy *p);

/* The daemon's own namespace into out (size bytes): configured (policy.own_namespace) when not
 * empty, else $POD_NAMESPACE, else the first line of file (the service account's namespace file,
 * FPD_POLICY_NAMESPACE_FILE in a pod; NULL: skip). Empty when none is known. Returns 0, or
 * FPD_EINVAL when the value found is not a namespace name. */
#define FPD_POLICY_NAMESPACE_FILE "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
int fpd_policy_own_namespace(const char *configured, const char *file, char *out, size_t size,
                             struct fpd_error *err);

/* May a task of task_type run in ns under service_account ("" or NULL: `default`)? All strings
 * borrowed. 0, or FPD_EPERM with the refusing rule named in err. */
int fpd_policy_check_create(const struct fpd_policy *p, const char *ns, const char *service_account,
                            const char *task_type, struct fpd_error *err);

/* May GetTask/DeleteTask reach an object in ns (from verified resource_meta)? Namespaces only:
 * a namespace refused since the object was made is refused now. 0 or FPD_EPERM. */
int fpd_policy_check_access(const struct fpd_policy *p, const char *ns, struct fpd_error *err);

/* The Pod Security Standards level for objects in ns (policy.pod_security: first matching
 * override, else the level). */
enum fpd_pss_level fpd_policy_pod_security_level(const struct fpd_policy *p, const char *ns);

/* Checks the object about to be created in ns (borrowed) at ns's level, through
 * fpd_podsecurity_check_object with the plugin's pod_spec_paths. Returns as that function;
 * a refusal is counted. */
int fpd_policy_check_object(const struct fpd_policy *p, const char *ns, const json_t *object,
                            const char *const *pod_spec_paths, struct fpd_error *err);

/* The counters (borrowed, live). */
const struct fpd_policy_stats *fpd_policy_stats(const struct fpd_policy *p);

#endif
