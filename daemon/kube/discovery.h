/*
 * Discovery: which resource (plural) and scope serve a kind, from the API server's own
 * APIResourceList (GET /api/v1, /apis/<group>/<version>), never guessed from the kind's name.
 * Results are cached per group/version; a kind missing from the cache refreshes that
 * group/version once (a CRD installed after start), concurrent lookups share one request.
 */
#ifndef FPD_KUBE_DISCOVERY_H
#define FPD_KUBE_DISCOVERY_H

#include <flyteplugd/error.h>
#include "kube/client.h"
#include "kube/resource.h"

struct fpd_kube_discovery;

/* Result of a lookup that had to wait: code FPD_OK with gvr (borrowed), or FPD_ENOENT (kind or
 * group/version not served), or a transport/API error; err says which. */
typedef void (*fpd_kube_resolved_fn)(void *ud, int code, const struct fpd_kube_gvr *gvr,
                                     const struct fpd_error *err);

/* A new, empty cache using client c (borrowed; must outlive it). */
struct fpd_kube_discovery *fpd_kube_discovery_new(struct fpd_kube_client *c);

/* Frees the cache; lookups still waiting are abandoned without callbacks. NULL is fine. */
void fpd_kube_discovery_free(struct fpd_kube_discovery *d);

/* Resolves group ("" for core) / version / kind. Returns FPD_OK with *out filled when the
 * answer is cached (cb is not called); FPD_AGAIN when cb will be called later; a negative code
 * for bad arguments. */
int fpd_kube_resolve(struct fpd_kube_discovery *d, const char *group, const char *version,
                     const char *kind, struct fpd_kube_gvr *out, fpd_kube_resolved_fn cb, void *ud,
                     struct fpd_error *err);

/* Abandons waiting lookups whose ud is ud. */
void fpd_kube_discovery_cancel(struct fpd_kube_discovery *d, void *ud);

/* Forgets a group/version, e.g. after its resource answered 404 (CRD deleted). */
void fpd_kube_discovery_forget(struct fpd_kube_discovery *d, const char *group,
                               const char *version);

/* How many discovery requests were sent (for tests and metrics). */
unsigned long fpd_kube_discovery_fetches(const struct fpd_kube_discovery *d);

#endif
