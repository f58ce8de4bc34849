/*
 * Kubernetes API errors as a typed value. A failed call answers with a `Status` object
 * ({"kind":"Status","status":"Failure","reason":"NotFound","message":...,"code":404}); when the
 * body is not one (a proxy's HTML page, an empty 503), the reason is derived from the HTTP code
 * the way client-go's errors.NewGenericServerResponse does. Watch streams carry the same object
 * in an ERROR event with HTTP 200, so 410 can arrive either way.
 */
#ifndef FPD_KUBE_STATUS_H
#define FPD_KUBE_STATUS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum fpd_kube_reason {
	FPD_KUBE_OK = 0, /* not an error */
	FPD_KUBE_UNKNOWN,
	FPD_KUBE_BAD_REQUEST,
	FPD_KUBE_UNAUTHORIZED,
	FPD_KUBE_FORBIDDEN,
	FPD_KUBE_NOT_FOUND,
	FPD_KUBE_METHOD_NOT_ALLOWED,
	FPD_KUBE_NOT_ACCEPTABLE,
	FPD_KUBE_ALREADY_EXISTS,
	FPD_KUBE_CONFLICT,
	FPD_KUBE_GONE,
	FPD_KUBE_EXPIRED,
	FPD_KUBE_REQUEST_ENTITY_TOO_LARGE,
	FPD_KUBE_UNSUPPORTED_MEDIA_TYPE,
	FPD_KUBE_INVALID,
	FPD_KUBE_TOO_MANY_REQUESTS,
	FPD_KUBE_INTERNAL_ERROR,
	FPD_KUBE_SERVICE_UNAVAILABLE,
	FPD_KUBE_TIMEOUT,
	FPD_KUBE_SERVER_TIMEOUT,
};

#define FPD_KUBE_MESSAGE 512

struct fpd_kube_status {
	long http;                      /* HTTP status; 0 when no response arrived */
	int code;                       /* Status.code (usually == http) */
	enum fpd_kube_reason reason;    /* FPD_KUBE_OK for success */
	char reason_text[64];           /* as the server spelled it, or derived ("NotFound") */
	char message[FPD_KUBE_MESSAGE]; /* Status.message, truncated */
	int64_t retry_after_s;          /* Status.details.retryAfterSeconds, 0 if absent */
};

/* Fills st from an HTTP status and response body (may be NULL/0). A 2xx status gives
 * FPD_KUBE_OK. Never fails: a body that is not a Status yields a reason derived from http and
 * the start of the body as the message. */
void fpd_kube_status_parse(long http, const char *body, size_t len, struct fpd_kube_status *st);

/* Same from an already parsed object (borrowed; may be NULL), e.g. a watch ERROR event's
 * `object`. http is the transport status (200 for in-stream errors): Status.code wins when
 * present. */
void fpd_kube_status_from_json(long http, const json_t *obj, struct fpd_kube_status *st);

/* Reason from its API spelling ("AlreadyExists"); FPD_KUBE_UNKNOWN if not recognised. */
enum fpd_kube_reason fpd_kube_reason_parse(const char *s);

/* API spelling of a reason ("NotFound"), never NULL; "" for FPD_KUBE_OK. */
const char *fpd_kube_reason_name(enum fpd_kube_reason r);

/* The FPD_E* code callers switch on: NotFound → FPD_ENOENT, AlreadyExists → FPD_EEXIST,
 * Forbidden/Unauthorized → FPD_EPERM, Invalid/BadRequest → FPD_EINVAL, timeouts →
 * FPD_ETIMEDOUT, anything else → FPD_ERR; FPD_OK for success. */
int fpd_kube_status_errcode(const struct fpd_kube_status *st);

/* True for "the resourceVersion is too old": HTTP or Status code 410, reason Gone/Expired. */
bool fpd_kube_status_is_gone(const struct fpd_kube_status *st);

#endif
