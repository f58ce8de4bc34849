/* The crd plugin's parts: jq programs (jq.c), manifest templates (manifest.c), declarations
 * and hooks (crd.c). */
#ifndef FPD_PLUGINS_CRD_INTERNAL_H
#define FPD_PLUGINS_CRD_INTERNAL_H

#include <flyteplugd/error.h>
#include <flyteplugd/task.h>

#include <jansson.h>
#include <jv.h>
#include <stdbool.h>
#include <stddef.h>

#include "crd/crd.h"

/* Bounds of a jq program (see jq.c). */
#define FPD_CRD_JQ_MAX_LEN 1024
#define FPD_CRD_JQ_MAX_ITER 4
#define FPD_CRD_JQ_MAX_GROW 4

struct fpd_crd_jq;

/* The safety scan alone: 0, or FPD_EINVAL naming `where` and the column. */
int fpd_crd_jq_check(const char *text, const char *where, struct fpd_error *err);
/* Scans and compiles text. *out is new (fpd_crd_jq_free). */
int fpd_crd_jq_compile(const char *text, const char *where, struct fpd_crd_jq **out,
                       struct fpd_error *err);
void fpd_crd_jq_free(struct fpd_crd_jq *q);
const char *fpd_crd_jq_text(const struct fpd_crd_jq *q);
/* Runs q on input (stolen) and keeps its first output: *out is a new reference, or NULL when
 * the program produced nothing. A jq runtime error returns FPD_EINVAL with its text in msg. */
int fpd_crd_jq_first(struct fpd_crd_jq *q, jv input, json_t **out, char *msg, size_t size);
/* JSON (borrowed) as a new jv. */
jv fpd_crd_jv_from_json(const json_t *v);
/* A rule's answer is "yes" unless it is no output, null or false. */
bool fpd_crd_truthy(const json_t *v);

/* Bounds of a manifest. */
#define FPD_CRD_MANIFEST_MAX_BYTES (64 * 1024)
#define FPD_CRD_MANIFEST_MAX_NODES 10000
#define FPD_CRD_MANIFEST_MAX_DEPTH 64

/* Parses a manifest (YAML text) into a template tree (new reference in *out): JSON where a
 * plain scalar that is exactly one placeholder is a marker object. Every placeholder must name
 * a known variable. Errors name `where` and the manifest's line:column. */
int fpd_crd_manifest_parse(const char *text, const char *where, json_t **out,
                           struct fpd_error *err);
/* Renders a template tree with the variables of task: a new object in *out. */
int fpd_crd_manifest_render(const json_t *tmpl, const struct fpd_task *task, json_t **out,
                            struct fpd_error *err);
/* Whether name (a placeholder's path, e.g. ".custom.x") is a variable manifests may use. */
bool fpd_crd_var_known(const char *path);

#endif
