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
#include "core/error.h"
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
 * already running keep their descriptor; their status reports the type as undeclared. */
int fpd_tasktypes_withdraw(struct fpd_registry *reg, const char *name);

#endif
