/* Declared task types in the registry: see tasktypes.h. */
#include "engine/tasktypes.h"

#include "core/log.h"
#include "core/mem.h"
#include "core/schema.h"
#include "core/yaml.h"
#include "crd/crd.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int fpd_tasktypes_declare(struct fpd_registry *reg, const json_t *decl, struct fpd_error *err)
{
	struct fpd_crd_type *t;
	int rc = fpd_crd_type_compile(decl, &t, err);
	if (rc)
		return rc;
	const struct fpd_plugin *p = fpd_crd_type_plugin(t);
	const struct fpd_plugin *same = fpd_registry_by_name(reg, p->name);
	const struct fpd_crd_type *prev = fpd_crd_active(p->name);
	if (same && (!prev || fpd_crd_type_plugin(prev) != same)) {
		fpd_crd_type_free(t);
		return fpd_error_set(
		    err, FPD_EEXIST,
		    "spec.taskType.name: \"%s\" is the name of a plugin that is not "
		    "a declared task type",
		    p->name);
	}
	if ((rc = fpd_registry_put(reg, p, err))) {
		fpd_crd_type_free(t);
		return rc;
	}
	fpd_crd_activate(t);
	return FPD_OK;
}

int fpd_tasktypes_withdraw(struct fpd_registry *reg, const char *name)
{
	const struct fpd_crd_type *t = fpd_crd_active(name);
	if (!t || fpd_registry_by_name(reg, name) != fpd_crd_type_plugin(t))
		return FPD_ENOENT;
	fpd_registry_remove(reg, name);
	fpd_crd_withdraw(name);
	return FPD_OK;
}

static void declare_node(struct fpd_registry *reg, const struct fpd_yaml_node *node,
                         const char *file, const char *what, size_t *declared, size_t *refused)
{
	json_t *decl = fpd_yaml_to_json(node);
	struct fpd_error err = {0};
	int rc = fpd_tasktypes_declare(reg, decl, &err);
	if (rc) {
		fpd_log(FPD_LOG_ERROR, "tasktypes", "%s:%d:%d: %s: task type refused: %s", file,
		        node->line, node->column, what, err.text);
		(*refused)++;
	} else {
		fpd_log(FPD_LOG_INFO, "tasktypes", "%s: declared task type %s", what,
		        json_string_value(
		            json_object_get(json_object_get(json_object_get(decl, "spec")
		                                                ? json_object_get(decl, "spec")
		                                                : decl,
		                                            "taskType"),
		                            "name")));
		(*declared)++;
	}
	json_decref(decl);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_dir(struct fpd_registry *reg, const char *dir, size_t *declared, size_t *refused,
                    struct fpd_error *err)
{
	DIR *d = opendir(dir);
	if (!d)
		return fpd_error_set(err, FPD_EIO, "plugins.settings.crd.dir %s: %s", dir,
		                     strerror(errno));
	char **names = NULL;
	size_t n = 0;
	struct dirent *ent;
	while ((ent = readdir(d))) {
		size_t len = strlen(ent->d_name);
		if (ent->d_name[0] != '.' &&
		    ((len > 5 && !strcmp(ent->d_name + len - 5, ".yaml")) ||
		     (len > 4 && !strcmp(ent->d_name + len - 4, ".yml")))) {
			names = fpd_realloc(names, (n + 1) * sizeof(*names));
			names[n++] = fpd_asprintf("%s/%s", dir, ent->d_name);
		}
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		struct fpd_yaml_node *root = NULL;
		struct fpd_error perr = {0};
		if (fpd_yaml_parse_file(names[i], &root, &perr)) {
			char text[FPD_ERROR_TEXT + 64];
			fpd_log(FPD_LOG_ERROR, "tasktypes", "task type refused: %s",
			        fpd_error_format(&perr, text, sizeof(text)));
			(*refused)++;
		} else {
			declare_node(reg, root, names[i], "FlyteTaskType", declared, refused);
		}
		fpd_yaml_free(root);
		free(names[i]);
	}
	free(names);
	return FPD_OK;
}

int fpd_tasktypes_load_config(struct fpd_registry *reg, const struct fpd_config *cfg,
                              size_t *declared, size_t *refused, struct fpd_error *err)
{
	*declared = *refused = 0;
	if (!fpd_registry_by_name(reg, "crd"))
		return FPD_OK;
	const struct fpd_yaml_node *crd = fpd_yaml_get(cfg->plugins.settings, "crd");
	const struct fpd_yaml_node *list = crd ? fpd_yaml_get(crd, "task_types") : NULL;
	const char *file = cfg->source && cfg->source[0] ? cfg->source : "config";
	for (size_t i = 0; list && list->kind == FPD_YAML_SEQ && i < list->count; i++) {
		char what[64];
		snprintf(what, sizeof(what), "plugins.settings.crd.task_types[%zu]", i);
		declare_node(reg, list->items[i], file, what, declared, refused);
	}
	if (list && list->kind != FPD_YAML_SEQ && !fpd_yaml_is_null(list))
		return fpd_error_set_at(err, FPD_EINVAL, file, list->line, list->column,
		                        "plugins.settings.crd.task_types: expected a list");
	const struct fpd_yaml_node *dir = crd ? fpd_yaml_get(crd, "dir") : NULL;
	if (dir && dir->kind == FPD_YAML_SCALAR && dir->len)
		return load_dir(reg, dir->value, declared, refused, err);
	return FPD_OK;
}
