/*
 * lease — leader election on a coordination.k8s.io/v1 Lease, the way client-go's
 * leaderelection package does it, on the loop (two ev timers, one call in flight at most).
 *
 * Design note. A candidate GETs the Lease every retry period (with client-go's 1.2 jitter).
 * It takes the Lease when nobody holds it, when it already holds it, or when the holder's
 * record has not changed for leaseDurationSeconds as measured on *this* process's monotonic
 * clock from the moment the record was first seen: the remote renewTime is never compared with
 * the local clock, so clock skew between replicas cannot cut a lease short. Taking it is a PUT of
 * the object last seen, with its resourceVersion: of two candidates only one can win; a missing
 * Lease is created (POST), and a 409 there is a lost race.
 *
 * The leader renews every retry period with the same compare-and-swap PUT. A 409 means someone
 * else wrote the Lease: it is read again, and if another identity now holds it leadership is
 * lost at once. Any other failure is retried until renew_deadline has passed since the last
 * successful renewal, and then leadership is lost (a request still in flight is abandoned, so a
 * hung connection cannot keep a stale leader). After losing, the elector is a candidate again.
 *
 * fpd_lease_release (shutdown) writes holderIdentity "" and leaseDurationSeconds 1, so a
 * successor takes over at its next retry instead of waiting for the lease to expire.
 * fpd_lease_free without release is what a crash looks like to the others.
 *
 * Callbacks run on the loop; they may call fpd_lease_is_leader / _holder but not free the
 * elector.
 */
#ifndef FPD_KUBE_LEASE_H
#define FPD_KUBE_LEASE_H

#include "kube/client.h"

#include <stdbool.h>

struct fpd_lease_opts {
	const char *namespace_; /* NULL/"": the client's namespace */
	const char *name;       /* the Lease, e.g. "flyteplugd" */
	const char *identity;   /* NULL/"": fpd_lease_default_identity() */
	/* 0: client-go's defaults, 15 s, 10 s, 2 s. Need lease_duration > renew_deadline >
	 * 1.2 * retry_period. The Lease records whole seconds (rounded up). */
	int64_t lease_duration_ms;
	int64_t renew_deadline_ms;
	int64_t retry_period_ms;
	void (*on_started_leading)(void *ud);
	void (*on_stopped_leading)(void *ud); /* lost, or released */
	/* Optional: the observed holder changed (holder "" when nobody holds the Lease). */
	void (*on_new_leader)(void *ud, const char *holder);
	void *ud;
};

struct fpd_lease;

/* Fills o's namespace, name and durations from the leader_election section (borrowed: o points
 * into cfg); identity and callbacks are left as they are. */
void fpd_lease_opts_from_config(const struct fpd_config_leader_election *cfg,
                                struct fpd_lease_opts *o);

/* A new elector (not started) for the Lease described by opts (strings copied). loop and c are
 * borrowed and must outlive it. FPD_EINVAL for bad durations or names. */
int fpd_lease_new(struct ev_loop *loop, struct fpd_kube_client *c,
                  const struct fpd_lease_opts *opts, struct fpd_lease **out, struct fpd_error *err);

/* Starts campaigning: the first attempt runs from the loop at once. */
void fpd_lease_start(struct fpd_lease *l);

/* Gives the Lease up for a successor. When leading: returns FPD_AGAIN, writes the release,
 * then calls on_stopped_leading and done(ud) (whatever the write's outcome: the Lease expires
 * anyway; if the write cannot even start, on_stopped_leading runs at once and FPD_OK is
 * returned). When not leading: stops campaigning and returns FPD_OK, calling nothing. Either
 * way the elector stays stopped; free it afterwards. */
int fpd_lease_release(struct fpd_lease *l, void (*done)(void *ud), void *ud);

/* Stops everything without a word to the API server (calls in flight are abandoned, no
 * callback runs) and frees l. NULL is fine. */
void fpd_lease_free(struct fpd_lease *l);

bool fpd_lease_is_leader(const struct fpd_lease *l);

/* Borrowed, valid while l lives: this elector's identity; the holder last observed ("" when
 * none or not yet known: for metrics and /readyz). */
const char *fpd_lease_identity(const struct fpd_lease *l);
const char *fpd_lease_holder(const struct fpd_lease *l);

/* The identity a replica campaigns with: $POD_NAME when set, else "<hostname>_<8 random hex>"
 * (a restarted process is a new candidate, as in client-go). */
int fpd_lease_default_identity(char *out, size_t size, struct fpd_error *err);

#endif
