/*
 * Declarative settings schemas: a static table of fields, each naming a YAML key, a type, where
 * the value goes in a struct (offsetof) and its bounds. The daemon validates a YAML mapping
 * against the table (unknown keys, wrong types and out-of-range values are errors with
 * file:line:col) and fills the struct. Plugins declare their settings this way.
 */
#ifndef FLYTEPLUGD_SCHEMA_H
#define FLYTEPLUGD_SCHEMA_H

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
	FPD_SCHEMA_SIZE,     /* int64_t bytes from 1024, "64KiB", "16MiB", "1GiB", "10MB" */
	FPD_SCHEMA_ENUM,     /* int: index into names */
	FPD_SCHEMA_STRINGS,  /* struct fpd_strings: a sequence of strings */
	FPD_SCHEMA_SECTION,  /* nested mapping validated by fields; offset of the nested struct */
	FPD_SCHEMA_SECTIONS, /* struct fpd_list: a sequence of mappings, each validated by fields
				into an element of elem_size bytes */
	FPD_SCHEMA_SECTION_MAP, /* struct fpd_list: a mapping of name -> mapping; each element's
				   first member is a `char *` that receives the name */
	FPD_SCHEMA_JSON,        /* json_t *: any YAML value as JSON (plain scalars typed as in YAML
				1.2 core schema: null, bool, int, float; quoted scalars are strings) */
	FPD_SCHEMA_NODE, /* struct fpd_yaml_node *: a deep copy of any node, validated later */
	FPD_SCHEMA_OPTIONAL_SECTION, /* a pointer to a struct of elem_size bytes: NULL while the key
	                                is absent; when present (even empty or null), a new zeroed
	                                struct, elem_defaults applied, then validated by fields */
};

struct fpd_strings {
	char **items;
	size_t count;
};

struct fpd_list {
	void *items; /* count elements of the field's elem_size bytes */
	size_t count;
};

struct fpd_schema_field {
	const char *key;
	enum fpd_schema_type type;
	size_t offset;
	int64_t min; /* INT, DOUBLE, DURATION, SIZE; min == max == 0 means unbounded */
	int64_t max;
	const char *const *names;              /* ENUM: NULL-terminated */
	/* SECTION(S), SECTION_MAP, OPTIONAL_SECTION: NULL-key terminated */
	const struct fpd_schema_field *fields;
	/* STRING: reject the empty string; STRINGS/SECTIONS: reject an empty list. */
	bool nonempty;
	size_t elem_size; /* SECTIONS, SECTION_MAP, OPTIONAL_SECTION */
	/* SECTIONS, SECTION_MAP, OPTIONAL_SECTION: called on each new (zeroed) element before it
	 * is filled. */
	void (*elem_defaults)(void *elem);
};

#endif
