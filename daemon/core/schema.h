/*
 * Declarative validation of YAML mappings into C structs.
 *
 * A schema is a static table of fields, each naming a key, a type, where the value goes
 * (offsetof into the destination struct) and its bounds. fpd_schema_apply() walks a mapping
 * node against the table: unknown keys, wrong types, values out of range and bad enum names are
 * errors carrying the node's file:line:col. Keys that are absent leave the destination untouched,
 * so callers fill defaults first. The daemon's configuration and every plugin's settings section
 * use the same machinery.
 */
#ifndef FPD_CORE_SCHEMA_H
#define FPD_CORE_SCHEMA_H

#include <flyteplugd/error.h>
#include "core/yaml.h"

#include <flyteplugd/schema.h>
#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Validates map (a mapping node, or a null scalar meaning "empty") against fields, writing into
 * dest. file is used for error locations. On error dest may be partly written; free it with
 * fpd_schema_free as usual. */
int fpd_schema_apply(const struct fpd_schema_field *fields, const struct fpd_yaml_node *map,
                     void *dest, const char *file, struct fpd_error *err);

/* Frees what fpd_schema_apply allocated in dest (strings, string lists, nodes, recursively). */
void fpd_schema_free(const struct fpd_schema_field *fields, void *dest);

/* Parsers used by the schema, exposed for tests and command-line flags. */
int fpd_parse_duration_ms(const char *s, int64_t *out);
int fpd_parse_size(const char *s, int64_t *out);

/* Adds a copy of s to list. */
void fpd_strings_push(struct fpd_strings *list, const char *s);
void fpd_strings_free(struct fpd_strings *list);
bool fpd_strings_contains(const struct fpd_strings *list, const char *s);

/* The list's i-th element. */
static inline void *fpd_list_at(const struct fpd_list *list, size_t elem_size, size_t i)
{
	return (char *)list->items + i * elem_size;
}

/* A YAML node as JSON (new reference), scalars typed as FPD_SCHEMA_JSON describes. */
json_t *fpd_yaml_to_json(const struct fpd_yaml_node *node);

/* Deep copy of a YAML node (new tree). */
struct fpd_yaml_node *fpd_yaml_clone(const struct fpd_yaml_node *node);

#endif
