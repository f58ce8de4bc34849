/*
 * The kinds the engine watches: one per kind a plugin creates, plus pods when an operator
 * plugin follows the pods its operator creates. Made when the engine is, and added to when a
 * task type is declared at run time (fpd_engine_watch_kind); never removed before the engine
 * is freed, since entries of a withdrawn type still point at theirs.
 */
#include "engine/internal.h"

#include <flyteplugd/mem.h>

#include <stdio.h>
#include <string.h>

const struct fpd_kind kinds_pods = {"v1", "Pod", "pods"};

struct watched_kind *kinds_find(struct fpd_engine *e, const char *api_version, const char *kind)
{
	for (size_t i = 0; i < e->kind_count; i++)
		if (strcmp(e->kinds[i]->api_version, api_version) == 0 &&
		    strcmp(e->kinds[i]->gvr.kind, kind) == 0)
			return e->kinds[i];
	return NULL;
}

struct watched_kind *kinds_for(struct fpd_engine *e, const struct fpd_plugin *plugin)
{
	struct watched_kind *k = kinds_find(e, plugin->kind->api_version, plugin->kind->kind);
	FPD_ASSERT(k != NULL);
	return k;
}

bool kinds_is_pods(const struct watched_kind *k)
{
	return strcmp(k->api_version, kinds_pods.api_version) == 0 &&
	       strcmp(k->gvr.kind, kinds_pods.kind) == 0;
}

int kinds_add(struct fpd_engine *e, const struct fpd_kind *kind, const struct fpd_plugin *plugin,
              struct fpd_error *err)
{
	if (kinds_find(e, kind->api_version, kind->kind))
		return FPD_OK;
	const char *av = kind->api_version;
	const char *slash = strchr(av, '/');
	char group[254] = "";
	const char *version = av;
	if (slash) {
		snprintf(group, sizeof(group), "%.*s", (int)(slash - av), av);
		version = slash + 1;
	}
	struct watched_kind k = {.engine = e, .plugin = plugin};
	snprintf(k.api_version, sizeof(k.api_version), "%s", av);
	int rc = fpd_kube_gvr_set(&k.gvr, group, version, kind->plural, true, err);
	if (rc)
		return rc;
	snprintf(k.gvr.kind, sizeof(k.gvr.kind), "%s", kind->kind);
	e->kinds = fpd_realloc(e->kinds, (e->kind_count + 1) * sizeof(*e->kinds));
	e->kinds[e->kind_count] = fpd_malloc(sizeof(k));
	*e->kinds[e->kind_count++] = k;
	return FPD_OK;
}
