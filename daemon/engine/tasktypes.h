/*
 * Declared task types (the crd plugin's, docs/task-types.md) in the registry: from the
 * configuration at start (plugins.settings.crd.task_types and .dir), and one at a time at run
 * time (a FlyteTaskType object seen by a watch).
 *
 * A declaration is compiled by the crd plugin (plugins/crd/crd.h), then registered under its
 * type name with fpd_registry_put. A bad one is refused alone, with a message naming where it
 * is and what is wrong; the others are registered regardless. Declared types may not take the
 * name or the task types of a plugin that is not a declared type.
 */
#ifndef FPD_ENGINE_TASKTYPES_H
#define FPD_ENGINE_TASKTYPES_H

#include "core/config.h"
#include <flyteplugd/error.h>
#include "engine/registry.h"

#include <jansson.h>
#include <stddef.h>

/* Registers the task types the configuration declares, when the crd plugin is in reg: each
 * element of plugins.settings.crd.task_types, then each *.yaml file of plugins.settings.crd.dir
 * (name order). Each refusal is logged as an error with the file:line:col of the declaration
 * and counted in *refused; FPD_OK is returned regardless, unless the folder cannot be read
 * (FPD_EIO). *declared counts the registered types. */
int fpd_tasktypes_load_config(struct fpd_registry *reg, const struct fpd_config *cfg,
                              size_t *declared, size_t *refused, struct fpd_error *err);

/* Declares (or re-declares) one task type from a FlyteTaskType object or spec (borrowed).
 * FPD_EINVAL with the field path in err, or FPD_EEXIST when the name or task type belongs to a
 * plugin that is not a declared type; the registry is unchanged then. */
int fpd_tasktypes_declare(struct fpd_registry *reg, const json_t *decl, struct fpd_error *err);

/* Withdraws the declared type name: FPD_OK, or FPD_ENOENT when no declared type has it. Tasks
 * already running keep their descriptor and are still followed by the rules they started
 * under (GetTask and DeleteTask find them through their entry); CreateTask no longer serves
 * the type. */
int fpd_tasktypes_withdraw(struct fpd_registry *reg, const char *name);

#endif

/* ---- live registration: FlyteTaskType objects in the cluster ---------------------------- */

struct ev_loop;
struct fpd_kube_client;
struct fpd_tasktypes_watch;

/* The FlyteTaskType resource (flyteplugd.flyte.org/v1alpha1 flytetasktypes, cluster-scoped). */
#define FPD_TASKTYPES_GROUP "flyteplugd.flyte.org"
#define FPD_TASKTYPES_VERSION "v1alpha1"
#define FPD_TASKTYPES_PLURAL "flytetasktypes"

/* A declaration refused for a reason that may pass without editing it (its resource not
 * served yet, the daemon's RBAC not granting it yet, the API server not answering) is checked
 * again after FIRST_S, then after twice the previous wait, at most MAX_S. */
#define FPD_TASKTYPES_RECHECK_FIRST_S 1.0
#define FPD_TASKTYPES_RECHECK_MAX_S 10.0

/* Starts a list+watch of FlyteTaskType objects through kube (borrowed; must outlive the
 * watch) on loop. Each object added or whose spec changes is compiled, its spec.resource
 * checked against the API server's discovery (served, under that plural, namespaced) and
 * against the daemon's own permissions (SelfSubjectAccessReview for create, get, list, watch,
 * patch and delete in each of namespaces, borrowed for the call, or in all namespaces when it
 * is NULL or empty; at most the first FPD_KUBE_ACCESS_MAX / 6), then declared in reg
 * (borrowed) with fpd_tasktypes_declare; each one deleted is withdrawn. The object's status
 * gets an Accepted condition: True (reason Declared), or False with reason Invalid, Conflict,
 * NotWatched, ResourceNotFound or MissingRBAC, the message, and the field path of the problem
 * in `location`; the last two are checked again (FPD_TASKTYPES_RECHECK_*_S) until they pass.
 * The declared types of the configuration (fpd_tasktypes_load_config) go through the same
 * checks at once: each refused is withdrawn, with the reason logged, and served again once its
 * checks pass. *out is new; NULL on error. */
int fpd_tasktypes_watch_new(struct ev_loop *loop, struct fpd_kube_client *kube,
                            struct fpd_registry *reg, const struct fpd_strings *namespaces,
                            struct fpd_tasktypes_watch **out, struct fpd_error *err);
/* Called with each plugin the watch declares (borrowed; it lives until the process ends), once
 * it is in the registry: the engine watches its kind (fpd_engine_watch_kind). A failure is
 * reported in the object's status (Accepted False, reason NotWatched). */
typedef int (*fpd_tasktypes_declared_fn)(void *ud, const struct fpd_plugin *plugin,
                                         struct fpd_error *err);
void fpd_tasktypes_watch_on_declare(struct fpd_tasktypes_watch *w, fpd_tasktypes_declared_fn fn,
                                    void *ud);
/* How many FlyteTaskType objects were declared and refused so far. */
void fpd_tasktypes_watch_counts(const struct fpd_tasktypes_watch *w, size_t *declared,
                                size_t *refused);
/* How many declared types of the configuration are not served because a check refuses
 * them (0 for NULL). */
size_t fpd_tasktypes_watch_config_refused(const struct fpd_tasktypes_watch *w);
/* Stops the watch (pending status writes are abandoned). Declared types stay. NULL is fine. */
void fpd_tasktypes_watch_free(struct fpd_tasktypes_watch *w);
