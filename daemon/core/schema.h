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

#include "core/error.h"
#include "core/yaml.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum fpd_schema_type {
	FPD_SCHEMA_STRING,   /* char *, new allocation; replaces (and frees) a previous value */
	FPD_SCHEMA_BOOL,     /* bool; true/false (also yes/no/on/off) */
	FPD_SCHEMA_INT,      /* int64_t within [min, max] */
	FPD_SCHEMA_DOUBLE,   /* double within [min, max] (bounds as integers) */
	FPD_SCHEMA_DURATION, /* int64_t milliseconds from "250ms", "30s", "5m", "1h30m", or a
				number of seconds; within [min, max] milliseconds */
	FPD_SCHEMA_SIZE,     /* int64_t bytes from 1024, "64KiB", "16MiB", "1GiB", "10MB"; within
				[min, max] */
	FPD_SCHEMA_ENUM,     /* int: index into names */
	FPD_SCHEMA_STRINGS,  /* struct fpd_strings: a sequence of strings */
	FPD_SCHEMA_SECTION,  /* nested mapping validated by fields; offset of the nested struct */
	FPD_SCHEMA_NODE,     /* struct fpd_yaml_node *: a deep copy of any node, validated later */
};

struct fpd_strings {
	char **items;
	size_t count;
};

struct fpd_schema_field {
	const char *key;
	enum fpd_schema_type type;
	size_t offset;
	int64_t min; /* INT, DOUBLE, DURATION, SIZE; min == max == 0 means unbounded */
	int64_t max;
	const char *const *names;              /* ENUM: NULL-terminated */
	const struct fpd_schema_field *fields; /* SECTION: terminated by a NULL key */
	/* STRING: reject the empty string; STRINGS: reject an empty list. */
	bool nonempty;
};

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

/* Deep copy of a YAML node (new tree). */
struct fpd_yaml_node *fpd_yaml_clone(const struct fpd_yaml_node *node);

#endif
