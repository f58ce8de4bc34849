/*
 * Client-side token bucket (client-go flowcontrol.NewTokenBucketRateLimiter): up to `burst`
 * requests at once, refilled at `qps` tokens per second. Pure arithmetic on caller-supplied
 * monotonic times; the transport keeps a FIFO of waiting requests per budget and asks this
 * when the head may go. Watches do not take tokens (client-go: "we specifically don't want to
 * rate limit watches").
 *
 * The server's pushback (429 Too Many Requests, from API Priority and Fairness or the
 * max-in-flight filter) pauses a bucket: no token until the server's Retry-After has passed,
 * and the bucket comes back empty, so the requests that waited do not return as one burst
 * into the same overload. A pause that begins (not one extending a pause under way) also
 * halves the refill rate, which then grows back to qps linearly over RECOVER_MS: additive
 * increase, multiplicative decrease, as TCP does, so that a budget settles near what the
 * server admits instead of pausing for a whole Retry-After at every other request.
 */
#ifndef FPD_KUBE_RATELIMIT_H
#define FPD_KUBE_RATELIMIT_H

#include <stdint.h>

struct fpd_kube_ratelimit {
	double qps;    /* <= 0: unlimited */
	double burst;  /* bucket size, >= 1 */
	double tokens; /* available now, at last_ms */
	double rate;   /* refill rate now: qps, or less after the server pushed back */
	int64_t last_ms;
	int64_t paused_until_ms; /* no token before this (server pushback); 0: not paused */
};

/* A full bucket at now_ms. qps <= 0 disables limiting; burst < 1 counts as 1. */
void fpd_kube_ratelimit_init(struct fpd_kube_ratelimit *rl, double qps, int64_t burst,
                             int64_t now_ms);

/* Takes one token and returns 0 if one is available at now_ms; otherwise takes nothing and
 * returns how many milliseconds (>= 1) until one will be. */
int64_t fpd_kube_ratelimit_take(struct fpd_kube_ratelimit *rl, int64_t now_ms);

/* Like take, without taking: 0 when a token is available at now_ms. */
int64_t fpd_kube_ratelimit_wait(struct fpd_kube_ratelimit *rl, int64_t now_ms);

/* The server pushed back at now_ms: no token until until_ms (a later pause extends it, an
 * earlier one does not shorten it), then an empty bucket; a new pause halves the rate (at
 * least 1 per second). An unlimited bucket is simply open again after the pause. */
void fpd_kube_ratelimit_pause(struct fpd_kube_ratelimit *rl, int64_t now_ms, int64_t until_ms);

/* Time for the rate to grow back from 0 to qps after a pushback. */
#define FPD_KUBE_RATELIMIT_RECOVER_MS 30000

#endif
