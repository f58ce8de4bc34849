/* Exponential backoff with jitter: see backoff.h. */
#include "kube/backoff.h"

static uint64_t next_random(struct fpd_kube_backoff *b)
{
	/* xorshift64*: plenty for jitter, no global state, no locking. */
	uint64_t x = b->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	b->rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

void fpd_kube_backoff_init(struct fpd_kube_backoff *b, int64_t initial_ms, int64_t max_ms,
                           int64_t reset_ms, uint64_t seed)
{
	b->initial_ms = initial_ms > 0 ? initial_ms : FPD_KUBE_BACKOFF_INITIAL_MS;
	b->max_ms = max_ms > 0 ? max_ms : FPD_KUBE_BACKOFF_MAX_MS;
	if (b->max_ms < b->initial_ms)
		b->max_ms = b->initial_ms;
	b->reset_ms = reset_ms > 0 ? reset_ms : FPD_KUBE_BACKOFF_RESET_MS;
	b->next_ms = b->initial_ms;
	b->last_ms = -1;
	/* xorshift must not start at zero. */
	b->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
}

void fpd_kube_backoff_reset(struct fpd_kube_backoff *b)
{
	b->next_ms = b->initial_ms;
	b->last_ms = -1;
}

int64_t fpd_kube_backoff_rand(struct fpd_kube_backoff *b, int64_t lo, int64_t hi)
{
	if (hi <= lo)
		return lo;
	uint64_t span = (uint64_t)(hi - lo) + 1;
	return lo + (int64_t)(next_random(b) % span);
}

int64_t fpd_kube_backoff_next(struct fpd_kube_backoff *b, int64_t now_ms)
{
	if (b->last_ms >= 0 && now_ms - b->last_ms > b->reset_ms)
		b->next_ms = b->initial_ms;
	b->last_ms = now_ms;

	int64_t base = b->next_ms;
	b->next_ms = base > b->max_ms / 2 ? b->max_ms : base * 2;

	/* Jitter factor 1.0: up to one extra base delay, like wait.Jitter(d, 1.0). */
	int64_t delay = base + fpd_kube_backoff_rand(b, 0, base);
	return delay > b->max_ms ? b->max_ms : delay;
}
