/* grpc.health.v1.Health: see health.h. */
#include "grpc/health.h"

#include "core/log.h"
#include <flyteplugd/mem.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_PATH "/grpc.health.v1.Health/Check"
#define WATCH_PATH "/grpc.health.v1.Health/Watch"

/* One open Watch stream. */
struct watcher {
	struct fpd_health *health;
	struct fpd_grpc_call *call;
	bool known; /* watching a served service: told NOT_SERVING when draining */
	struct watcher *prev, *next;
};

struct fpd_health {
	struct fpd_grpc_server *srv;
	bool draining;
	struct watcher *watchers;
};

/* --- codec ----------------------------------------------------------------------------- */

static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (*p == end)
			return FPD_EINVAL;
		uint8_t b = *(*p)++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return FPD_OK;
		}
	}
	return FPD_EINVAL; /* more than 10 bytes */
}

int fpd_health_decode_request(const uint8_t *data, size_t len, char *service, size_t size)
{
	const uint8_t *p = data, *end = data + len;
	int rc = FPD_OK;
	service[0] = '\0';
	while (p < end) {
		uint64_t key, v;
		if (read_varint(&p, end, &key) || key >> 3 == 0 || key >> 3 > 0x1fffffff)
			return FPD_EINVAL;
		unsigned wire = (unsigned)(key & 7);
		bool is_service = key >> 3 == 1;
		if (is_service && wire != 2)
			return FPD_EINVAL;
		switch (wire) {
		case 0:
			if (read_varint(&p, end, &v))
				return FPD_EINVAL;
			break;
		case 1:
		case 5: {
			size_t n = wire == 1 ? 8 : 4;
			if ((size_t)(end - p) < n)
				return FPD_EINVAL;
			p += n;
			break;
		}
		case 2:
			if (read_varint(&p, end, &v) || v > (uint64_t)(end - p))
				return FPD_EINVAL;
			if (is_service) {
				if (memchr(p, '\0', (size_t)v))
					return FPD_EINVAL;
				if (v >= size) {
					rc = FPD_ERANGE;
				} else {
					memcpy(service, p, (size_t)v);
					service[v] = '\0';
					rc = FPD_OK;
				}
			}
			p += v;
			break;
		default: /* groups (3, 4) are not in proto3; 6 and 7 do not exist */
			return FPD_EINVAL;
		}
	}
	return rc;
}

size_t fpd_health_encode_response(enum fpd_health_status status,
                                  uint8_t out[FPD_HEALTH_RESPONSE_MAX])
{
	if (status == FPD_HEALTH_UNKNOWN)
		return 0;
	size_t n = 0;
	uint64_t v = (uint64_t)status;
	out[n++] = 0x08; /* field 1, varint */
	do {
		out[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			out[n] |= 0x80;
		n++;
	} while (v);
	return n;
}

/* --- service --------------------------------------------------------------------------- */

static enum fpd_health_status status_of(const struct fpd_health *h, const char *service)
{
	if (service[0] && !fpd_grpc_server_has_service(h->srv, service))
		return FPD_HEALTH_SERVICE_UNKNOWN;
	return h->draining ? FPD_HEALTH_NOT_SERVING : FPD_HEALTH_SERVING;
}

/* Decodes the request; on failure the call is failed and false returned. */
static bool read_request(struct fpd_grpc_call *call, const uint8_t *req, size_t len,
                         char service[FPD_HEALTH_SERVICE_MAX])
{
	int rc = fpd_health_decode_request(req, len, service, FPD_HEALTH_SERVICE_MAX);
	if (rc == FPD_EINVAL) {
		fpd_grpc_call_fail(call, FPD_GRPC_INVALID_ARGUMENT,
		                   "cannot decode grpc.health.v1.HealthCheckRequest");
		return false;
	}
	if (rc == FPD_ERANGE) /* too long to be one of ours */
		snprintf(service, FPD_HEALTH_SERVICE_MAX, "%s", "(service name too long)");
	return true;
}

static void on_check(struct fpd_grpc_call *call, const uint8_t *req, size_t len, void *ud)
{
	struct fpd_health *h = ud;
	char service[FPD_HEALTH_SERVICE_MAX];
	if (!read_request(call, req, len, service))
		return;
	enum fpd_health_status st = status_of(h, service);
	if (st == FPD_HEALTH_SERVICE_UNKNOWN) {
		char msg[FPD_HEALTH_SERVICE_MAX + 32];
		snprintf(msg, sizeof(msg), "unknown service %s", service);
		fpd_grpc_call_fail(call, FPD_GRPC_NOT_FOUND, msg);
		return;
	}
	uint8_t out[FPD_HEALTH_RESPONSE_MAX];
	fpd_grpc_call_reply(call, out, fpd_health_encode_response(st, out));
}

static void unlink_watcher(struct watcher *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		w->health->watchers = w->next;
	if (w->next)
		w->next->prev = w->prev;
}

static void on_watch_cancel(struct fpd_grpc_call *call, enum fpd_grpc_code code, void *ud)
{
	struct watcher *w = ud;
	unlink_watcher(w);
	free(w);
}

static int send_status(struct fpd_grpc_call *call, enum fpd_health_status st)
{
	uint8_t out[FPD_HEALTH_RESPONSE_MAX];
	return fpd_grpc_call_send(call, out, fpd_health_encode_response(st, out));
}

static void on_watch(struct fpd_grpc_call *call, const uint8_t *req, size_t len, void *ud)
{
	struct fpd_health *h = ud;
	char service[FPD_HEALTH_SERVICE_MAX];
	if (!read_request(call, req, len, service))
		return;
	enum fpd_health_status st = status_of(h, service);
	if (send_status(call, st)) {
		fpd_grpc_call_fail(call, FPD_GRPC_INTERNAL, "cannot queue the health status");
		return;
	}
	if (h->draining) {
		fpd_grpc_call_finish(call, FPD_GRPC_UNAVAILABLE, "server is shutting down");
		return;
	}
	/* Statuses only change when draining; until then the stream just stays open. */
	struct watcher *w = fpd_calloc(1, sizeof(*w));
	w->health = h;
	w->call = call;
	w->known = st != FPD_HEALTH_SERVICE_UNKNOWN;
	w->next = h->watchers;
	if (h->watchers)
		h->watchers->prev = w;
	h->watchers = w;
	fpd_grpc_call_on_cancel(call, on_watch_cancel, w);
}

struct fpd_health *fpd_health_new(struct fpd_grpc_server *srv, struct fpd_error *err)
{
	struct fpd_health *h = fpd_calloc(1, sizeof(*h));
	h->srv = srv;
	if (fpd_grpc_server_add_method(srv, CHECK_PATH, FPD_GRPC_UNARY, on_check, h, err) ||
	    fpd_grpc_server_add_method(srv, WATCH_PATH, FPD_GRPC_SERVER_STREAM, on_watch, h, err)) {
		free(h);
		return NULL;
	}
	return h;
}

/* Ends every Watch stream: the watcher list is emptied first, so nothing else touches it. */
static void end_watchers(struct fpd_health *h, bool tell)
{
	struct watcher *w = h->watchers;
	h->watchers = NULL;
	while (w) {
		struct watcher *next = w->next;
		fpd_grpc_call_on_cancel(w->call, NULL, NULL);
		/* Watchers of unknown services learn nothing new, but are ended too so that they
		 * do not hold the drain open. */
		if (tell && w->known)
			send_status(w->call, FPD_HEALTH_NOT_SERVING);
		fpd_grpc_call_finish(w->call, FPD_GRPC_UNAVAILABLE, "server is shutting down");
		free(w);
		w = next;
	}
}

void fpd_health_drain(struct fpd_health *h)
{
	if (h->draining)
		return;
	h->draining = true;
	end_watchers(h, true);
}

void fpd_health_free(struct fpd_health *h)
{
	if (!h)
		return;
	end_watchers(h, false);
	free(h);
}
