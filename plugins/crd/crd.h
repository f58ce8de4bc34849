/*
 * The crd plugin: task types declared as data (a FlyteTaskType: a manifest template, status
 * rules and outputs as jq programs, log links, child pods) rather than written in C.
 * docs/task-types.md is the reference of the format.
 *
 * Each declared type is compiled once (every check happens here: the manifest parses, every
 * placeholder names a known variable, every jq program passes the safety scan and compiles) into
 * a struct fpd_crd_type, which carries a plugin descriptor of its own: the engine registers,
 * creates, watches and deletes its objects as for any plugin. The descriptor's hooks find the
 * type's rules by task type and version among the *active* types, so a type re-declared while
 * tasks run serves them with its new rules, and one withdrawn reports them as undeclared.
 *
 * The active set is process-wide, like the configuration it comes from: the descriptor hooks of
 * the plugin contract receive no plugin pointer to find their declaration through. It is only
 * touched from the event loop thread.
 *
 * `fpd_plugin_crd` itself is the plugin that owns `plugins.settings.crd` (task_types, dir); it
 * builds nothing and serves no task type of its own.
 */
#ifndef FPD_PLUGINS_CRD_H
#define FPD_PLUGINS_CRD_H

#include <flyteplugd/error.h>
#include <flyteplugd/plugin.h>

#include <jansson.h>
#include <stdbool.h>

extern const struct fpd_plugin fpd_plugin_crd;

/* plugins.settings.crd. */
struct fpd_crd_settings {
	json_t *task_types; /* a list of FlyteTaskType objects or specs, or NULL */
	char *dir;          /* a folder of *.yaml FlyteTaskType files, or NULL */
};

/* The annotation build() records the task interface's output types in, for status(). */
#define FPD_CRD_OUTPUT_TYPES_ANNOTATION "flyteplugd.flyte.org/output-types"

struct fpd_crd_type;

/* Compiles a declaration: a whole FlyteTaskType object ({apiVersion, kind, metadata, spec}) or
 * its spec alone (borrowed). *out is new (fpd_crd_type_free, or fpd_crd_activate to hand it
 * over). FPD_EINVAL with the field path of the problem in err (e.g. "spec.status.failed:
 * column 5: while is not allowed ..."). */
int fpd_crd_type_compile(const json_t *decl, struct fpd_crd_type **out, struct fpd_error *err);
void fpd_crd_type_free(struct fpd_crd_type *t);

/* The descriptor serving t (borrowed; valid until fpd_crd_shutdown, even after t is replaced
 * or withdrawn, since executions keep pointing at it). */
const struct fpd_plugin *fpd_crd_type_plugin(const struct fpd_crd_type *t);
/* The declared type's name (borrowed). */
const char *fpd_crd_type_name(const struct fpd_crd_type *t);
/* The spec t was compiled from (a copy; borrowed): declaring it again gives the same type. */
const json_t *fpd_crd_type_spec(const struct fpd_crd_type *t);

/* Makes t (stolen) the active declaration of its task type and version; a previous one of the
 * same name is retired (its descriptor stays valid). */
void fpd_crd_activate(struct fpd_crd_type *t);
/* Withdraws the active type named name (its descriptor stays valid). false when none. */
bool fpd_crd_withdraw(const char *name);
/* The active type named name, or NULL (borrowed). */
const struct fpd_crd_type *fpd_crd_active(const char *name);
/* The i-th active type (borrowed), NULL past the last; the order changes when a type is
 * activated or withdrawn. */
const struct fpd_crd_type *fpd_crd_active_at(size_t i);
/* Frees every type, active and retired. Descriptors are invalid afterwards. */
void fpd_crd_shutdown(void);

#endif
