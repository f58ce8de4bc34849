/* Leader election on a Lease; see lease.h for the design note. */
#include "kube/lease.h"

#include "core/clock.h"
#include "core/log.h"
#include <flyteplugd/mem.h>

#include <math.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define JITTER 1.2 /* client-go's wait.JitterUntil factor for candidates */
#define IDENTITY_MAX 254

static const struct fpd_kube_gvr leases = {"coordination.k8s.io", "v1", "leases", "Lease", true};

enum state { IDLE, CANDIDATE, LEADER, RELEASING, STOPPED };

struct fpd_lease {
	struct ev_loop *loop;
	struct fpd_kube_client *c;
	char *ns, *name;
	char identity[IDENTITY_MAX + 1];
	double lease_s, deadline_s, retry_s;
	struct fpd_lease_opts cb; /* callbacks and ud; its strings are not used */
	enum state state;
	bool in_flight;
	ev_timer tick;      /* the next attempt */
	ev_timer deadline;  /* leader: renew_deadline after the last successful renewal */
	json_t *seen;       /* the Lease last read or written (new reference), or NULL */
	int64_t seen_at_ms; /* monotonic: when seen's spec last changed */
	char holder[IDENTITY_MAX + 1];
	void (*released)(void *ud);
	void *released_ud;
};

static void on_put(void *ud, const struct fpd_kube_result *res);
static void on_get(void *ud, const struct fpd_kube_result *res);

static void schedule(struct fpd_lease *l, double after)
{
	ev_timer_stop(l->loop, &l->tick);
	ev_timer_set(&l->tick, after, 0);
	ev_timer_start(l->loop, &l->tick);
}

/* A candidate's next attempt: retry_period * [1, 1 + JITTER). */
static void schedule_jittered(struct fpd_lease *l)
{
	uint32_t r = 0;
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = 0;
	schedule(l, l->retry_s * (1 + JITTER * (r / 4294967296.0)));
}

static const char *spec_str(const json_t *lease, const char *key)
{
	const char *s = json_string_value(json_object_get(json_object_get(lease, "spec"), key));
	return s ? s : "";
}

static int64_t spec_int(const json_t *lease, const char *key)
{
	return json_integer_value(json_object_get(json_object_get(lease, "spec"), key));
}

/* Takes obj (borrowed) as the Lease now seen. The observation time moves only when the record
 * changed: that is what a holder's renewals look like from here. */
static void observe(struct fpd_lease *l, json_t *obj)
{
	json_t *spec = json_object_get(obj, "spec");
	if (!l->seen || !json_equal(spec, json_object_get(l->seen, "spec")))
		l->seen_at_ms = fpd_clock_mono_ms();
	json_incref(obj);
	json_decref(l->seen);
	l->seen = obj;
	const char *holder = spec_str(obj, "holderIdentity");
	if (strcmp(holder, l->holder) != 0) {
		snprintf(l->holder, sizeof(l->holder), "%s", holder);
		if (l->cb.on_new_leader)
			l->cb.on_new_leader(l->cb.ud, l->holder);
	}
}

/* Whether the holder seen may still be leading, by our own clock. */
static bool held_by_other(const struct fpd_lease *l)
{
	if (!l->holder[0] || strcmp(l->holder, l->identity) == 0)
		return false;
	int64_t dur_s = spec_int(l->seen, "leaseDurationSeconds");
	if (dur_s <= 0)
		dur_s = (int64_t)ceil(l->lease_s);
	return fpd_clock_mono_ms() < l->seen_at_ms + dur_s * 1000;
}

/* Kubernetes MicroTime: RFC 3339 UTC with microseconds. */
static void micro_time(char *out, size_t size)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char day[32];
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, size, "%s.%06ldZ", day, ts.tv_nsec / 1000);
}

/* The Lease we want written: what was seen (metadata and resourceVersion included, so the PUT
 * is a compare-and-swap) with our record, or a new one. New reference. */
static json_t *record(const struct fpd_lease *l, bool release)
{
	char now[64];
	micro_time(now, sizeof(now));
	json_t *obj =
	    l->seen ? json_deep_copy(l->seen)
	            : json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "coordination.k8s.io/v1",
	                        "kind", "Lease", "metadata", "name", l->name, "namespace", l->ns);
	bool mine = l->seen && strcmp(spec_str(l->seen, "holderIdentity"), l->identity) == 0;
	int64_t transitions = l->seen ? spec_int(l->seen, "leaseTransitions") : 0;
	const char *acquired = mine ? spec_str(l->seen, "acquireTime") : now;
	if (l->seen && !mine)
		transitions++;
	json_t *spec = json_pack("{s:s, s:I, s:s, s:s, s:I}", "holderIdentity",
	                         release ? "" : l->identity, "leaseDurationSeconds",
	                         release ? (json_int_t)1 : (json_int_t)ceil(l->lease_s),
	                         "acquireTime", acquired[0] ? acquired : now, "renewTime", now,
	                         "leaseTransitions", (json_int_t)transitions);
	json_object_set_new(obj, "spec", spec);
	return obj;
}

static void call_failed(struct fpd_lease *l, int rc, const struct fpd_error *err)
{
	fpd_log(FPD_LOG_WARN, "lease", "%s/%s: %s (%s)", l->ns, l->name, err->text,
	        fpd_strerror(rc));
}

/* PUT (or, when nothing was seen, POST) our record. */
static void write_record(struct fpd_lease *l)
{
	struct fpd_error err;
	fpd_error_clear(&err);
	json_t *obj = record(l, false);
	struct fpd_kube_ref ref = {&leases, l->ns, l->seen ? l->name : NULL, NULL};
	int rc = l->seen ? fpd_kube_update(l->c, &ref, obj, NULL, on_put, l, &err)
	                 : fpd_kube_create(l->c, &ref, obj, NULL, on_put, l, &err);
	json_decref(obj);
	l->in_flight = rc == FPD_AGAIN;
	if (!l->in_flight) {
		call_failed(l, rc, &err);
		schedule(l, l->retry_s);
	}
}

static void read_lease(struct fpd_lease *l)
{
	struct fpd_error err;
	fpd_error_clear(&err);
	struct fpd_kube_ref ref = {&leases, l->ns, l->name, NULL};
	int rc = fpd_kube_get(l->c, &ref, on_get, l, &err);
	l->in_flight = rc == FPD_AGAIN;
	if (!l->in_flight) {
		call_failed(l, rc, &err);
		schedule(l, l->retry_s);
	}
}

static void lose(struct fpd_lease *l, const char *why)
{
	fpd_log(FPD_LOG_WARN, "lease", "%s/%s: %s lost leadership: %s", l->ns, l->name, l->identity,
	        why);
	ev_timer_stop(l->loop, &l->deadline);
	if (l->in_flight) {
		fpd_kube_cancel(l->c, l);
		l->in_flight = false;
	}
	l->state = CANDIDATE;
	schedule_jittered(l);
	if (l->cb.on_stopped_leading)
		l->cb.on_stopped_leading(l->cb.ud);
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct fpd_lease *l = w->data;
	if (l->in_flight)
		return;
	/* A leader renews the record it wrote; a candidate looks first. */
	if (l->state == LEADER && l->seen)
		write_record(l);
	else if (l->state == CANDIDATE || l->state == LEADER)
		read_lease(l);
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct fpd_lease *l = w->data;
	if (l->state == LEADER)
		lose(l, "no successful renewal within the renew deadline");
}

static void on_get(void *ud, const struct fpd_kube_result *res)
{
	struct fpd_lease *l = ud;
	l->in_flight = false;
	if (res->code == FPD_ENOENT) {
		json_decref(l->seen);
		l->seen = NULL;
		write_record(l);
		return;
	}
	if (res->code) {
		call_failed(l, res->code, &res->err);
		if (l->state == LEADER)
			schedule(l, l->retry_s); /* the deadline decides */
		else
			schedule_jittered(l);
		return;
	}
	observe(l, res->object);
	if (held_by_other(l)) {
		if (l->state == LEADER)
			lose(l, "another holder wrote the Lease");
		else
			schedule_jittered(l);
		return;
	}
	write_record(l);
}

static void on_put(void *ud, const struct fpd_kube_result *res)
{
	struct fpd_lease *l = ud;
	l->in_flight = false;
	if (res->code == FPD_EEXIST || res->status.http == 409) {
		/* someone else created or wrote it: look again now */
		read_lease(l);
		return;
	}
	if (res->code) {
		call_failed(l, res->code, &res->err);
		if (l->state == LEADER)
			schedule(l, l->retry_s);
		else
			schedule_jittered(l);
		return;
	}
	observe(l, res->object);
	ev_timer_stop(l->loop, &l->deadline);
	ev_timer_set(&l->deadline, l->deadline_s, 0);
	ev_timer_start(l->loop, &l->deadline);
	schedule(l, l->retry_s);
	if (l->state != LEADER) {
		l->state = LEADER;
		fpd_log(FPD_LOG_INFO, "lease", "%s/%s: %s is the leader", l->ns, l->name,
		        l->identity);
		if (l->cb.on_started_leading)
			l->cb.on_started_leading(l->cb.ud);
	}
}

void fpd_lease_opts_from_config(const struct fpd_config_leader_election *cfg,
                                struct fpd_lease_opts *o)
{
	o->namespace_ = cfg->namespace_;
	o->name = cfg->lease_name;
	o->lease_duration_ms = cfg->lease_duration_ms;
	o->renew_deadline_ms = cfg->renew_deadline_ms;
	o->retry_period_ms = cfg->retry_period_ms;
}

int fpd_lease_default_identity(char *out, size_t size, struct fpd_error *err)
{
	const char *pod = getenv("POD_NAME");
	if (pod && pod[0]) {
		if (strlen(pod) >= size || strlen(pod) > IDENTITY_MAX)
			return fpd_error_set(err, FPD_ERANGE, "POD_NAME is too long");
		snprintf(out, size, "%s", pod);
		return FPD_OK;
	}
	char host[IDENTITY_MAX - 8] = "";
	if (gethostname(host, sizeof(host) - 1) != 0 || !host[0])
		snprintf(host, sizeof(host), "flyteplugd");
	uint8_t r[4];
	if (RAND_bytes(r, sizeof(r)) != 1)
		return fpd_error_set(err, FPD_EIO, "no random bytes for an identity");
	int n = snprintf(out, size, "%s_%02x%02x%02x%02x", host, r[0], r[1], r[2], r[3]);
	if (n < 0 || (size_t)n >= size)
		return fpd_error_set(err, FPD_ERANGE, "identity buffer too small");
	return FPD_OK;
}

int fpd_lease_new(struct ev_loop *loop, struct fpd_kube_client *c,
                  const struct fpd_lease_opts *opts, struct fpd_lease **out, struct fpd_error *err)
{
	double lease_s = opts->lease_duration_ms ? (double)opts->lease_duration_ms / 1000 : 15;
	double deadline_s = opts->renew_deadline_ms ? (double)opts->renew_deadline_ms / 1000 : 10;
	double retry_s = opts->retry_period_ms ? (double)opts->retry_period_ms / 1000 : 2;
	if (!(lease_s > deadline_s && deadline_s > JITTER * retry_s && retry_s > 0))
		return fpd_error_set(
		    err, FPD_EINVAL,
		    "leader election: need lease_duration (%.3gs) > renew_deadline "
		    "(%.3gs) > 1.2 * retry_period (%.3gs)",
		    lease_s, deadline_s, retry_s);
	if (!opts->name || !opts->name[0])
		return fpd_error_set(err, FPD_EINVAL, "leader election: no Lease name");
	struct fpd_lease *l = fpd_calloc(1, sizeof(*l));
	if (opts->identity && opts->identity[0]) {
		if (strlen(opts->identity) > IDENTITY_MAX) {
			free(l);
			return fpd_error_set(err, FPD_ERANGE, "leader election: identity too long");
		}
		snprintf(l->identity, sizeof(l->identity), "%s", opts->identity);
	} else {
		int rc = fpd_lease_default_identity(l->identity, sizeof(l->identity), err);
		if (rc) {
			free(l);
			return rc;
		}
	}
	const char *ns = opts->namespace_ && opts->namespace_[0] ? opts->namespace_
	                                                         : fpd_kube_client_namespace(c);
	l->loop = loop;
	l->c = c;
	l->ns = fpd_strdup(ns);
	l->name = fpd_strdup(opts->name);
	l->lease_s = lease_s;
	l->deadline_s = deadline_s;
	l->retry_s = retry_s;
	l->cb = *opts;
	l->cb.namespace_ = l->cb.name = l->cb.identity = NULL;
	l->state = IDLE;
	ev_timer_init(&l->tick, on_tick, 0, 0);
	l->tick.data = l;
	ev_timer_init(&l->deadline, on_deadline, 0, 0);
	l->deadline.data = l;
	*out = l;
	return FPD_OK;
}

void fpd_lease_start(struct fpd_lease *l)
{
	if (l->state != IDLE)
		return;
	l->state = CANDIDATE;
	schedule(l, 0);
}

static void on_released(void *ud, const struct fpd_kube_result *res)
{
	struct fpd_lease *l = ud;
	l->in_flight = false;
	if (res->code)
		call_failed(l, res->code, &res->err);
	else
		observe(l, res->object);
	l->state = STOPPED;
	if (l->cb.on_stopped_leading)
		l->cb.on_stopped_leading(l->cb.ud);
	if (l->released)
		l->released(l->released_ud);
}

int fpd_lease_release(struct fpd_lease *l, void (*done)(void *ud), void *ud)
{
	ev_timer_stop(l->loop, &l->tick);
	ev_timer_stop(l->loop, &l->deadline);
	if (l->in_flight) {
		fpd_kube_cancel(l->c, l);
		l->in_flight = false;
	}
	if (l->state != LEADER || !l->seen) {
		l->state = STOPPED;
		return FPD_OK;
	}
	l->state = RELEASING;
	l->released = done;
	l->released_ud = ud;
	struct fpd_error err;
	fpd_error_clear(&err);
	json_t *obj = record(l, true);
	struct fpd_kube_ref ref = {&leases, l->ns, l->name, NULL};
	int rc = fpd_kube_update(l->c, &ref, obj, NULL, on_released, l, &err);
	json_decref(obj);
	if (rc != FPD_AGAIN) {
		call_failed(l, rc, &err);
		l->state = STOPPED;
		if (l->cb.on_stopped_leading)
			l->cb.on_stopped_leading(l->cb.ud);
		return FPD_OK;
	}
	l->in_flight = true;
	return FPD_AGAIN;
}

void fpd_lease_free(struct fpd_lease *l)
{
	if (!l)
		return;
	ev_timer_stop(l->loop, &l->tick);
	ev_timer_stop(l->loop, &l->deadline);
	fpd_kube_cancel(l->c, l);
	json_decref(l->seen);
	free(l->ns);
	free(l->name);
	free(l);
}

bool fpd_lease_is_leader(const struct fpd_lease *l)
{
	return l->state == LEADER;
}

const char *fpd_lease_identity(const struct fpd_lease *l)
{
	return l->identity;
}

const char *fpd_lease_holder(const struct fpd_lease *l)
{
	return l->holder;
}
