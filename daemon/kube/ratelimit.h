/*
 * Client-side token bucket (client-go flowcontrol.NewTokenBucketRateLimiter): up to `burst`
 * requests at once, refilled at `qps` tokens per second. Pure arithmetic on caller-supplied
 * monotonic times; the transport keeps a FIFO of waiting requests and asks this when the head
 * may go. Watches do not take tokens (client-go: "we specifically don't want to rate limit
 * watches").
 */
#ifndef FPD_KUBE_RATELIMIT_H
#define FPD_KUBE_RATELIMIT_H

#include <stdint.h>

struct fpd_kube_ratelimit {
	double qps;    /* <= 0: unlimited */
	double burst;  /* bucket size, >= 1 */
	double tokens; /* available now, at last_ms */
	int64_t last_ms;
};

/* A full bucket at now_ms. qps <= 0 disables limiting; burst < 1 counts as 1. */
void fpd_kube_ratelimit_init(struct fpd_kube_ratelimit *rl, double qps, int64_t burst,
                             int64_t now_ms);

/* Takes one token and returns 0 if one is available at now_ms; otherwise takes nothing and
 * returns how many milliseconds (>= 1) until one will be. */
int64_t fpd_kube_ratelimit_take(struct fpd_kube_ratelimit *rl, int64_t now_ms);

#endif
