/* Token bucket with server pushback: see ratelimit.h. */
#include "kube/ratelimit.h"

#include <math.h>

void fpd_kube_ratelimit_init(struct fpd_kube_ratelimit *rl, double qps, int64_t burst,
                             int64_t now_ms)
{
	rl->qps = qps;
	rl->burst = burst < 1 ? 1.0 : (double)burst;
	rl->tokens = rl->burst;
	rl->rate = qps;
	rl->last_ms = now_ms;
	rl->paused_until_ms = 0;
}

static void refill(struct fpd_kube_ratelimit *rl, int64_t now_ms)
{
	if (now_ms > rl->last_ms) {
		double dt = (double)(now_ms - rl->last_ms);
		rl->tokens += dt * rl->rate / 1000.0;
		if (rl->rate < rl->qps) {
			rl->rate += dt * rl->qps / FPD_KUBE_RATELIMIT_RECOVER_MS;
			if (rl->rate > rl->qps)
				rl->rate = rl->qps;
		}
		if (rl->tokens > rl->burst)
			rl->tokens = rl->burst;
		rl->last_ms = now_ms;
	}
}

int64_t fpd_kube_ratelimit_wait(struct fpd_kube_ratelimit *rl, int64_t now_ms)
{
	if (now_ms < rl->paused_until_ms)
		return rl->paused_until_ms - now_ms;
	if (rl->qps <= 0)
		return 0;
	refill(rl, now_ms);
	if (rl->tokens >= 1.0)
		return 0;
	double wait = ceil((1.0 - rl->tokens) * 1000.0 / rl->rate);
	return wait < 1 ? 1 : (int64_t)wait;
}

int64_t fpd_kube_ratelimit_take(struct fpd_kube_ratelimit *rl, int64_t now_ms)
{
	int64_t wait = fpd_kube_ratelimit_wait(rl, now_ms);
	if (wait == 0 && rl->qps > 0)
		rl->tokens -= 1.0;
	return wait;
}

void fpd_kube_ratelimit_pause(struct fpd_kube_ratelimit *rl, int64_t now_ms, int64_t until_ms)
{
	if (until_ms <= rl->paused_until_ms)
		return;
	if (now_ms >= rl->paused_until_ms && rl->qps > 0) {
		refill(rl, now_ms);
		rl->rate /= 2;
		if (rl->rate < 1)
			rl->rate = 1;
	}
	rl->paused_until_ms = until_ms;
	/* Refilling starts when the pause ends, from empty. */
	rl->tokens = 0;
	rl->last_ms = until_ms;
}
