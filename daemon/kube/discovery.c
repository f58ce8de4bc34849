/* Kind → resource discovery, cached per group/version: see discovery.h. */
#include "kube/discovery.h"

#include <flyteplugd/mem.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct waiter {
	char kind[64];
	fpd_kube_resolved_fn cb;
	void *ud;
	struct waiter *next;
};

struct resource {
	char kind[64];
	char plural[64];
	bool namespaced;
};

struct gv {
	struct fpd_kube_discovery *d;
	char group[254];
	char version[64];
	struct resource *res;
	size_t nres;
	bool fetched;  /* res holds an answer */
	bool missing;  /* the server does not serve this group/version */
	bool fetching; /* a request is in flight */
	struct waiter *waiters;
	struct gv *next;
};

struct fpd_kube_discovery {
	struct fpd_kube_client *c;
	struct gv *gvs;
	unsigned long fetches;
};

struct fpd_kube_discovery *fpd_kube_discovery_new(struct fpd_kube_client *c)
{
	struct fpd_kube_discovery *d = fpd_calloc(1, sizeof(*d));
	d->c = c;
	return d;
}

static void free_waiters(struct waiter *w)
{
	while (w) {
		struct waiter *next = w->next;
		free(w);
		w = next;
	}
}

void fpd_kube_discovery_free(struct fpd_kube_discovery *d)
{
	if (!d)
		return;
	for (struct gv *g = d->gvs, *next; g; g = next) {
		next = g->next;
		fpd_kube_cancel(d->c, g);
		free_waiters(g->waiters);
		free(g->res);
		free(g);
	}
	free(d);
}

static struct gv *find_gv(struct fpd_kube_discovery *d, const char *group, const char *version)
{
	for (struct gv *g = d->gvs; g; g = g->next)
		if (strcmp(g->group, group) == 0 && strcmp(g->version, version) == 0)
			return g;
	return NULL;
}

static const struct resource *find_kind(const struct gv *g, const char *kind)
{
	for (size_t i = 0; i < g->nres; i++)
		if (strcmp(g->res[i].kind, kind) == 0)
			return &g->res[i];
	return NULL;
}

static void fill(struct fpd_kube_gvr *out, const struct gv *g, const struct resource *r)
{
	fpd_kube_gvr_set(out, g->group, g->version, r->plural, r->namespaced, NULL);
	snprintf(out->kind, sizeof(out->kind), "%s", r->kind);
}

static void not_found(const struct gv *g, const char *kind, struct fpd_error *err)
{
	const char *sep = g->group[0] ? "/" : "";
	if (g->missing) {
		fpd_error_set(err, FPD_ENOENT,
		              "%s%s%s is not served by the API server (is the CRD "
		              "installed?)",
		              g->group, sep, g->version);
		return;
	}
	char kinds[200] = "";
	size_t used = 0;
	for (size_t i = 0; i < g->nres && used + 1 < sizeof(kinds); i++) {
		if (i && strcmp(g->res[i].kind, g->res[i - 1].kind) == 0)
			continue;
		int n = snprintf(kinds + used, sizeof(kinds) - used, "%s%s", used ? ", " : "",
		                 g->res[i].kind);
		used += n > 0 ? (size_t)n : 0;
	}
	fpd_error_set(err, FPD_ENOENT, "kind %s is not served by %s%s%s (kinds: %s)", kind,
	              g->group, sep, g->version, used ? kinds : "none");
}

/* Reads an APIResourceList; subresources ("pods/status") are skipped. */
static void take_list(struct gv *g, json_t *list)
{
	json_t *items = json_object_get(list, "resources");
	size_t n = json_array_size(items), kept = 0;
	struct resource *res = fpd_calloc(n ? n : 1, sizeof(*res));
	for (size_t i = 0; i < n; i++) {
		json_t *r = json_array_get(items, i);
		const char *name = json_string_value(json_object_get(r, "name"));
		const char *kind = json_string_value(json_object_get(r, "kind"));
		if (!name || !kind || strchr(name, '/') || strlen(name) >= sizeof(res->plural) ||
		    strlen(kind) >= sizeof(res->kind))
			continue;
		snprintf(res[kept].plural, sizeof(res->plural), "%s", name);
		snprintf(res[kept].kind, sizeof(res->kind), "%s", kind);
		res[kept].namespaced = json_is_true(json_object_get(r, "namespaced"));
		kept++;
	}
	free(g->res);
	g->res = res;
	g->nres = kept;
	g->fetched = true;
	g->missing = false;
}

static void fetched(void *ud, const struct fpd_kube_result *res)
{
	struct gv *g = ud;
	g->fetching = false;
	struct fpd_error err;
	fpd_error_clear(&err);
	int code = FPD_OK;
	if (res->code == FPD_OK) {
		take_list(g, res->object);
	} else if (res->status.reason == FPD_KUBE_NOT_FOUND) {
		free(g->res);
		g->res = NULL;
		g->nres = 0;
		g->fetched = true;
		g->missing = true;
	} else {
		code = res->code;
		err = res->err;
	}
	/* Callbacks may look things up again: detach the list first. */
	struct waiter *w = g->waiters;
	g->waiters = NULL;
	while (w) {
		struct waiter *next = w->next;
		struct fpd_kube_gvr gvr;
		const struct resource *r = code == FPD_OK ? find_kind(g, w->kind) : NULL;
		if (r) {
			fill(&gvr, g, r);
			w->cb(w->ud, FPD_OK, &gvr, NULL);
		} else if (code == FPD_OK) {
			struct fpd_error nf;
			not_found(g, w->kind, &nf);
			w->cb(w->ud, FPD_ENOENT, NULL, &nf);
		} else {
			w->cb(w->ud, code, NULL, &err);
		}
		free(w);
		w = next;
	}
}

static int fetch(struct gv *g, struct fpd_error *err)
{
	if (g->fetching)
		return FPD_OK;
	char path[400];
	if (g->group[0])
		snprintf(path, sizeof(path), "/apis/%s/%s", g->group, g->version);
	else
		snprintf(path, sizeof(path), "/api/%s", g->version);
	int rc = fpd_kube_request(g->d->c, "GET", path, NULL, NULL, fetched, g, err);
	if (rc != FPD_AGAIN)
		return rc;
	g->fetching = true;
	g->d->fetches++;
	return FPD_OK;
}

static bool name_ok(const char *s, size_t max)
{
	if (strlen(s) >= max)
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == '?' || *s == '#' || *s == '%' || *s == ' ')
			return false;
	return true;
}

int fpd_kube_resolve(struct fpd_kube_discovery *d, const char *group, const char *version,
                     const char *kind, struct fpd_kube_gvr *out, fpd_kube_resolved_fn cb, void *ud,
                     struct fpd_error *err)
{
	group = group ? group : "";
	if (!version || !*version || !kind || !*kind || !cb)
		return fpd_error_set(err, FPD_EINVAL,
		                     "resolve needs a version, a kind and a callback");
	if (!name_ok(group, sizeof(((struct gv *)0)->group)) ||
	    !name_ok(version, sizeof(((struct gv *)0)->version)) || strlen(kind) >= 64)
		return fpd_error_set(err, FPD_EINVAL, "invalid group/version/kind %s/%s %s", group,
		                     version, kind);
	struct gv *g = find_gv(d, group, version);
	if (g && g->fetched && !g->fetching) {
		const struct resource *r = find_kind(g, kind);
		if (r) {
			fill(out, g, r);
			return FPD_OK;
		}
		/* Not there: perhaps installed since; fall through to one refresh. */
	}
	if (!g) {
		g = fpd_calloc(1, sizeof(*g));
		g->d = d;
		snprintf(g->group, sizeof(g->group), "%s", group);
		snprintf(g->version, sizeof(g->version), "%s", version);
		g->next = d->gvs;
		d->gvs = g;
	}
	int rc = fetch(g, err);
	if (rc)
		return rc;
	struct waiter *w = fpd_calloc(1, sizeof(*w));
	snprintf(w->kind, sizeof(w->kind), "%s", kind);
	w->cb = cb;
	w->ud = ud;
	w->next = g->waiters;
	g->waiters = w;
	return FPD_AGAIN;
}

void fpd_kube_discovery_cancel(struct fpd_kube_discovery *d, void *ud)
{
	for (struct gv *g = d->gvs; g; g = g->next) {
		for (struct waiter **pp = &g->waiters; *pp;) {
			if ((*pp)->ud == ud) {
				struct waiter *w = *pp;
				*pp = w->next;
				free(w);
			} else {
				pp = &(*pp)->next;
			}
		}
	}
}

void fpd_kube_discovery_forget(struct fpd_kube_discovery *d, const char *group, const char *version)
{
	struct gv *g = find_gv(d, group ? group : "", version ? version : "");
	if (g && !g->fetching) {
		free(g->res);
		g->res = NULL;
		g->nres = 0;
		g->fetched = false;
		g->missing = false;
	}
}

unsigned long fpd_kube_discovery_fetches(const struct fpd_kube_discovery *d)
{
	return d->fetches;
}
