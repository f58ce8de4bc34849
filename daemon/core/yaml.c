/* YAML document tree: see yaml.h. */
#include "core/yaml.h"

#include <flyteplugd/mem.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct builder {
	yaml_parser_t parser;
	const char *name;
	size_t nodes;
	struct fpd_error *err;
};

void fpd_yaml_free(struct fpd_yaml_node *node)
{
	if (!node)
		return;
	size_t n = node->kind == FPD_YAML_MAP ? node->count * 2 : node->count;
	for (size_t i = 0; i < n; i++)
		fpd_yaml_free(node->items[i]);
	free(node->items);
	free(node->value);
	free(node);
}

static struct fpd_yaml_node *new_node(enum fpd_yaml_kind kind, const yaml_mark_t *mark)
{
	struct fpd_yaml_node *n = fpd_calloc(1, sizeof(*n));
	n->kind = kind;
	n->line = (int)mark->line + 1;
	n->column = (int)mark->column + 1;
	return n;
}

static void append(struct fpd_yaml_node *parent, size_t *used, size_t *cap,
                   struct fpd_yaml_node *child)
{
	if (*used == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		parent->items = fpd_realloc(parent->items, *cap * sizeof(*parent->items));
	}
	parent->items[(*used)++] = child;
}

static int parser_error(struct builder *b)
{
	yaml_parser_t *p = &b->parser;
	const yaml_mark_t *m = p->problem ? &p->problem_mark : &p->mark;
	const char *problem = p->problem ? p->problem : "malformed YAML";
	if (p->context)
		return fpd_error_set_at(b->err, FPD_EINVAL, b->name, (int)m->line + 1,
		                        (int)m->column + 1,
		                        "invalid YAML: %s %s (started at line %d, "
		                        "column %d)",
		                        problem, p->context, (int)p->context_mark.line + 1,
		                        (int)p->context_mark.column + 1);
	return fpd_error_set_at(b->err, FPD_EINVAL, b->name, (int)m->line + 1, (int)m->column + 1,
	                        "invalid YAML: %s", problem);
}

static int next_event(struct builder *b, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&b->parser, ev))
		return parser_error(b);
	return FPD_OK;
}

static int check_duplicate(struct builder *b, const struct fpd_yaml_node *map,
                           const struct fpd_yaml_node *key)
{
	for (size_t i = 0; i < map->count; i++) {
		const struct fpd_yaml_node *k = map->items[2 * i];
		if (k->len == key->len && memcmp(k->value, key->value, k->len) == 0)
			return fpd_error_set_at(b->err, FPD_EINVAL, b->name, key->line, key->column,
			                        "duplicate key \"%s\" (first at line %d)",
			                        key->value, k->line);
	}
	return FPD_OK;
}

/* Builds the node that starts with ev (already read). Consumes ev. */
static int build(struct builder *b, yaml_event_t *ev, int depth, struct fpd_yaml_node **out)
{
	*out = NULL;
	if (++b->nodes > FPD_YAML_MAX_NODES) {
		int rc = fpd_error_set_at(b->err, FPD_ERANGE, b->name, (int)ev->start_mark.line + 1,
		                          (int)ev->start_mark.column + 1,
		                          "document has more than %d nodes", FPD_YAML_MAX_NODES);
		yaml_event_delete(ev);
		return rc;
	}
	if (depth > FPD_YAML_MAX_DEPTH) {
		int rc = fpd_error_set_at(b->err, FPD_ERANGE, b->name, (int)ev->start_mark.line + 1,
		                          (int)ev->start_mark.column + 1,
		                          "nesting deeper than %d levels", FPD_YAML_MAX_DEPTH);
		yaml_event_delete(ev);
		return rc;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT: {
		struct fpd_yaml_node *n = new_node(FPD_YAML_SCALAR, &ev->start_mark);
		n->value = fpd_strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
		n->len = ev->data.scalar.length;
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ||
		           ev->data.scalar.style == YAML_ANY_SCALAR_STYLE;
		if (ev->data.scalar.anchor) {
			int rc = fpd_error_set_at(b->err, FPD_EINVAL, b->name, n->line, n->column,
			                          "anchors and aliases are not supported");
			yaml_event_delete(ev);
			fpd_yaml_free(n);
			return rc;
		}
		yaml_event_delete(ev);
		*out = n;
		return FPD_OK;
	}
	case YAML_ALIAS_EVENT: {
		int rc = fpd_error_set_at(b->err, FPD_EINVAL, b->name, (int)ev->start_mark.line + 1,
		                          (int)ev->start_mark.column + 1,
		                          "anchors and aliases are not supported");
		yaml_event_delete(ev);
		return rc;
	}
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT: {
		bool is_map = ev->type == YAML_MAPPING_START_EVENT;
		const yaml_char_t *anchor =
		    is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
		struct fpd_yaml_node *n =
		    new_node(is_map ? FPD_YAML_MAP : FPD_YAML_SEQ, &ev->start_mark);
		yaml_event_delete(ev);
		if (anchor) {
			int rc = fpd_error_set_at(b->err, FPD_EINVAL, b->name, n->line, n->column,
			                          "anchors and aliases are not supported");
			fpd_yaml_free(n);
			return rc;
		}
		size_t used = 0, cap = 0;
		for (;;) {
			yaml_event_t child_ev;
			int rc = next_event(b, &child_ev);
			if (rc) {
				fpd_yaml_free(n);
				return rc;
			}
			if (child_ev.type == YAML_MAPPING_END_EVENT ||
			    child_ev.type == YAML_SEQUENCE_END_EVENT) {
				yaml_event_delete(&child_ev);
				break;
			}
			struct fpd_yaml_node *key = NULL;
			if (is_map) {
				yaml_mark_t km = child_ev.start_mark;
				if (child_ev.type != YAML_SCALAR_EVENT) {
					yaml_event_delete(&child_ev);
					fpd_yaml_free(n);
					return fpd_error_set_at(
					    b->err, FPD_EINVAL, b->name, (int)km.line + 1,
					    (int)km.column + 1,
					    "mapping keys must be plain strings");
				}
				rc = build(b, &child_ev, depth + 1, &key);
				if (!rc)
					rc = check_duplicate(b, n, key);
				if (rc) {
					fpd_yaml_free(key);
					fpd_yaml_free(n);
					return rc;
				}
				rc = next_event(b, &child_ev);
				if (rc) {
					fpd_yaml_free(key);
					fpd_yaml_free(n);
					return rc;
				}
			}
			struct fpd_yaml_node *child = NULL;
			rc = build(b, &child_ev, depth + 1, &child);
			if (rc) {
				fpd_yaml_free(key);
				fpd_yaml_free(n);
				return rc;
			}
			if (key)
				append(n, &used, &cap, key);
			append(n, &used, &cap, child);
			n->count++;
		}
		*out = n;
		return FPD_OK;
	}
	default: {
		int rc = fpd_error_set_at(b->err, FPD_EINVAL, b->name, (int)ev->start_mark.line + 1,
		                          (int)ev->start_mark.column + 1, "unexpected YAML event");
		yaml_event_delete(ev);
		return rc;
	}
	}
}

static int expect(struct builder *b, yaml_event_type_t type, yaml_event_t *ev)
{
	int rc = next_event(b, ev);
	if (rc)
		return rc;
	if (ev->type != type) {
		rc = fpd_error_set_at(b->err, FPD_EINVAL, b->name, (int)ev->start_mark.line + 1,
		                      (int)ev->start_mark.column + 1, "unexpected YAML structure");
		yaml_event_delete(ev);
	}
	return rc;
}

static int parse_stream(struct builder *b, struct fpd_yaml_node **root)
{
	yaml_event_t ev;
	int rc = expect(b, YAML_STREAM_START_EVENT, &ev);
	if (rc)
		return rc;
	yaml_event_delete(&ev);
	if ((rc = next_event(b, &ev)))
		return rc;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_mark_t m = ev.start_mark;
		yaml_event_delete(&ev);
		m.line = 0;
		m.column = 0;
		*root = new_node(FPD_YAML_MAP, &m);
		return FPD_OK;
	}
	if (ev.type != YAML_DOCUMENT_START_EVENT) {
		yaml_event_delete(&ev);
		return fpd_error_set_at(b->err, FPD_EINVAL, b->name, 1, 1, "expected a document");
	}
	yaml_event_delete(&ev);
	if ((rc = next_event(b, &ev)))
		return rc;
	if ((rc = build(b, &ev, 0, root)))
		return rc;
	if ((rc = expect(b, YAML_DOCUMENT_END_EVENT, &ev)))
		goto fail;
	yaml_event_delete(&ev);
	if ((rc = next_event(b, &ev)))
		goto fail;
	if (ev.type != YAML_STREAM_END_EVENT) {
		rc = fpd_error_set_at(b->err, FPD_EINVAL, b->name, (int)ev.start_mark.line + 1,
		                      (int)ev.start_mark.column + 1,
		                      "expected a single YAML document");
		yaml_event_delete(&ev);
		goto fail;
	}
	yaml_event_delete(&ev);
	/* A document holding only `~` or nothing at all is an empty mapping. */
	if (fpd_yaml_is_null(*root)) {
		struct fpd_yaml_node *empty = fpd_calloc(1, sizeof(*empty));
		empty->kind = FPD_YAML_MAP;
		empty->line = (*root)->line;
		empty->column = (*root)->column;
		fpd_yaml_free(*root);
		*root = empty;
	}
	return FPD_OK;
fail:
	fpd_yaml_free(*root);
	*root = NULL;
	return rc;
}

int fpd_yaml_parse(const char *text, size_t len, const char *name, struct fpd_yaml_node **root,
                   struct fpd_error *err)
{
	*root = NULL;
	if (len > FPD_YAML_MAX_INPUT)
		return fpd_error_set_at(err, FPD_ERANGE, name, 0, 0, "file is larger than %u bytes",
		                        FPD_YAML_MAX_INPUT);
	struct builder b = {.name = name, .err = err};
	if (!yaml_parser_initialize(&b.parser))
		fpd_die("libyaml could not initialize a parser");
	yaml_parser_set_input_string(&b.parser, (const unsigned char *)text, len);
	int rc = parse_stream(&b, root);
	yaml_parser_delete(&b.parser);
	return rc;
}

int fpd_yaml_parse_file(const char *path, struct fpd_yaml_node **root, struct fpd_error *err)
{
	*root = NULL;
	FILE *f = fopen(path, "rb");
	if (!f)
		return fpd_error_set_at(err, errno == ENOENT ? FPD_ENOENT : FPD_EIO, path, 0, 0,
		                        "cannot open: %s", strerror(errno));
	char *data = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len == cap) {
			if (cap > FPD_YAML_MAX_INPUT) {
				fclose(f);
				free(data);
				return fpd_error_set_at(err, FPD_ERANGE, path, 0, 0,
				                        "file is larger than %u bytes",
				                        FPD_YAML_MAX_INPUT);
			}
			cap = cap ? cap * 2 : 4096;
			data = fpd_realloc(data, cap);
		}
		size_t n = fread(data + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	int read_error = ferror(f);
	fclose(f);
	if (read_error) {
		free(data);
		return fpd_error_set_at(err, FPD_EIO, path, 0, 0, "read error");
	}
	int rc = fpd_yaml_parse(data, len, path, root, err);
	free(data);
	return rc;
}

const struct fpd_yaml_node *fpd_yaml_get(const struct fpd_yaml_node *map, const char *key)
{
	if (!map || map->kind != FPD_YAML_MAP)
		return NULL;
	for (size_t i = 0; i < map->count; i++)
		if (strcmp(map->items[2 * i]->value, key) == 0)
			return map->items[2 * i + 1];
	return NULL;
}

bool fpd_yaml_is_null(const struct fpd_yaml_node *node)
{
	if (!node || node->kind != FPD_YAML_SCALAR || !node->plain)
		return false;
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
	for (size_t i = 0; i < FPD_ARRAY_LEN(nulls); i++)
		if (strcmp(node->value, nulls[i]) == 0)
			return true;
	return false;
}

const char *fpd_yaml_kind_name(const struct fpd_yaml_node *node)
{
	switch (node->kind) {
	case FPD_YAML_MAP: return "a mapping";
	case FPD_YAML_SEQ: return "a sequence";
	default: return fpd_yaml_is_null(node) ? "null" : "a scalar";
	}
}
