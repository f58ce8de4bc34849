/*
 * Exponential backoff with jitter, as client-go's reflector uses between failed list/watch
 * attempts (apimachinery wait.NewExponentialBackoffManager: 800 ms initial, factor 2, jitter 1.0,
 * capped at 30 s, reset after 2 minutes without a failure).
 *
 * Pure arithmetic on caller-supplied times so it can be tested without a clock; the random
 * source is a small per-instance generator seeded by the caller.
 */
#ifndef FPD_KUBE_BACKOFF_H
#define FPD_KUBE_BACKOFF_H

#include <stdint.h>

#define FPD_KUBE_BACKOFF_INITIAL_MS 800
#define FPD_KUBE_BACKOFF_MAX_MS 30000
#define FPD_KUBE_BACKOFF_RESET_MS 120000

struct fpd_kube_backoff {
	int64_t initial_ms;
	int64_t max_ms;
	int64_t reset_ms; /* a failure this long after the previous one starts over */
	int64_t next_ms;  /* base delay of the next step, before jitter */
	int64_t last_ms;  /* time of the previous step; -1 before the first */
	uint64_t rng;
};

/* Initializes b. Zero or negative values take the defaults above; seed may be anything. */
void fpd_kube_backoff_init(struct fpd_kube_backoff *b, int64_t initial_ms, int64_t max_ms,
                           int64_t reset_ms, uint64_t seed);

/* The delay before the next attempt, for a failure at now_ms (monotonic). The base delay
 * doubles on each call from initial_ms up to max_ms; a random jitter of up to 100% is added,
 * and the result never exceeds max_ms. If the previous call was more than reset_ms ago, the
 * sequence starts again from initial_ms. */
int64_t fpd_kube_backoff_next(struct fpd_kube_backoff *b, int64_t now_ms);

/* Starts the sequence again from initial_ms (after a long healthy period). */
void fpd_kube_backoff_reset(struct fpd_kube_backoff *b);

/* A uniformly distributed number in [lo, hi] from b's generator (lo <= hi). Used for the
 * randomized watch timeout so that many clients do not re-watch in lockstep. */
int64_t fpd_kube_backoff_rand(struct fpd_kube_backoff *b, int64_t lo, int64_t hi);

#endif
