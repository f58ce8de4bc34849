/*
 * A small YAML document tree on top of libyaml's event parser, keeping each node's position so
 * that every later error (unknown key, wrong type, value out of range) can name file:line:col.
 *
 * Used for the configuration, kubeconfig files and task types declared in YAML. Anchors and
 * aliases are refused (they make sizes unbounded and nobody needs them in these files); duplicate
 * keys are errors; depth, node count and input size are bounded.
 */
#ifndef FPD_CORE_YAML_H
#define FPD_CORE_YAML_H

#include <flyteplugd/error.h>

#include <stdbool.h>
#include <stddef.h>

enum fpd_yaml_kind {
	FPD_YAML_SCALAR,
	FPD_YAML_MAP,
	FPD_YAML_SEQ,
};

struct fpd_yaml_node {
	enum fpd_yaml_kind kind;
	int line;   /* 1-based */
	int column; /* 1-based */
	/* Scalars: the text (NUL-terminated; len excludes the NUL) and whether it was written
	 * without quotes, so `true` and `"true"` can be told apart. */
	char *value;
	size_t len;
	bool plain;
	/* Maps: items[2i] is a key (a scalar), items[2i+1] its value. Sequences: items[i].
	 * count is the number of pairs (maps) or items (sequences). */
	struct fpd_yaml_node **items;
	size_t count;
};

#define FPD_YAML_MAX_INPUT (16u << 20)
#define FPD_YAML_MAX_DEPTH 64
#define FPD_YAML_MAX_NODES 200000

/* Parses one YAML document from text. An empty document (no content, or only comments) yields
 * an empty map. On success *root is a new tree to release with fpd_yaml_free. name is used in
 * error locations. */
int fpd_yaml_parse(const char *text, size_t len, const char *name, struct fpd_yaml_node **root,
                   struct fpd_error *err);

/* Reads and parses a file; FPD_ENOENT / FPD_EIO with the file named when it cannot be read. */
int fpd_yaml_parse_file(const char *path, struct fpd_yaml_node **root, struct fpd_error *err);

void fpd_yaml_free(struct fpd_yaml_node *node);

/* Borrowed value node for key in a map, or NULL. */
const struct fpd_yaml_node *fpd_yaml_get(const struct fpd_yaml_node *map, const char *key);

/* A plain scalar `null`, `~`, `Null`, `NULL` or empty. */
bool fpd_yaml_is_null(const struct fpd_yaml_node *node);

/* "a mapping", "a sequence", "a string": for messages. */
const char *fpd_yaml_kind_name(const struct fpd_yaml_node *node);

#endif
