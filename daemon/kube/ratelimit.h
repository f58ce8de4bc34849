/*
 * Client-side token bucket (client-go flowcontrol.NewTokenBucketRateLimiter): up to `burst`
 * requests at once, refilled at `qps` tokens per second. Pure arithmetic on caller-supplied
 * monotonic times; the transport keeps a FIFO of waiting requests per budget and asks this
 * when the head may go. Watches do not take tokens (client-go: "we specifically don't want to
 * rate limit watches").
 *
 * The server's pushback (429 Too Many Requests, from API Priority and Fairness or the
 * max-in-flight filter) pauses a bucket: no token until the server's Retry-After has passed,
 * and the bucket comes back empty, refilling at qps, so the requests that waited do not
 * return as one burst into the same overload.
 */
#ifndef FPD_KUBE_RATELIMIT_H
#define FPD_KUBE_RATELIMIT_H

#include <stdint.h>

struct fpd_kube_ratelimit {
	double qps;    /* <= 0: unlimited */
	double burst;  /* bucket size, >= 1 */
	double tokens; /* available now, at last_ms */
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

/* The server pushed back: no token until until_ms (a later pause extends it, an earlier one
 * does not shorten it), then an empty bucket refilling at qps (an unlimited bucket is simply
 * open again). */
void fpd_kube_ratelimit_pause(struct fpd_kube_ratelimit *rl, int64_t until_ms);

#endif
