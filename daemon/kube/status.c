/* Typed Kubernetes API errors: see status.h. */
#include "kube/status.h"

#include <flyteplugd/error.h>

#include <stdio.h>
#include <string.h>

static const struct {
	enum fpd_kube_reason reason;
	const char *name;
	long http; /* the code client-go maps to this reason when the body says nothing */
} reasons[] = {
    {FPD_KUBE_UNKNOWN, "Unknown", 0},
    {FPD_KUBE_BAD_REQUEST, "BadRequest", 400},
    {FPD_KUBE_UNAUTHORIZED, "Unauthorized", 401},
    {FPD_KUBE_FORBIDDEN, "Forbidden", 403},
    {FPD_KUBE_NOT_FOUND, "NotFound", 404},
    {FPD_KUBE_METHOD_NOT_ALLOWED, "MethodNotAllowed", 405},
    {FPD_KUBE_NOT_ACCEPTABLE, "NotAcceptable", 406},
    {FPD_KUBE_ALREADY_EXISTS, "AlreadyExists", 0},
    {FPD_KUBE_CONFLICT, "Conflict", 409},
    {FPD_KUBE_GONE, "Gone", 410},
    {FPD_KUBE_EXPIRED, "Expired", 0},
    {FPD_KUBE_REQUEST_ENTITY_TOO_LARGE, "RequestEntityTooLarge", 413},
    {FPD_KUBE_UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType", 415},
    {FPD_KUBE_INVALID, "Invalid", 422},
    {FPD_KUBE_TOO_MANY_REQUESTS, "TooManyRequests", 429},
    {FPD_KUBE_INTERNAL_ERROR, "InternalError", 500},
    {FPD_KUBE_SERVICE_UNAVAILABLE, "ServiceUnavailable", 503},
    {FPD_KUBE_TIMEOUT, "Timeout", 504},
    {FPD_KUBE_SERVER_TIMEOUT, "ServerTimeout", 0},
};

enum fpd_kube_reason fpd_kube_reason_parse(const char *s)
{
	if (!s)
		return FPD_KUBE_UNKNOWN;
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(reasons[i].name, s) == 0)
			return reasons[i].reason;
	return FPD_KUBE_UNKNOWN;
}

const char *fpd_kube_reason_name(enum fpd_kube_reason r)
{
	if (r == FPD_KUBE_OK)
		return "";
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].reason == r)
			return reasons[i].name;
	return "Unknown";
}

static enum fpd_kube_reason reason_for_http(long http)
{
	if (http >= 200 && http < 300)
		return FPD_KUBE_OK;
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].http == http)
			return reasons[i].reason;
	/* Other 5xx are server trouble, other 4xx the client's: keep them apart for callers
	 * that decide on retries. */
	return http >= 500 ? FPD_KUBE_INTERNAL_ERROR : FPD_KUBE_UNKNOWN;
}

static void set_reason(struct fpd_kube_status *st, enum fpd_kube_reason r, const char *text)
{
	st->reason = r;
	snprintf(st->reason_text, sizeof(st->reason_text), "%s",
	         text && *text ? text : fpd_kube_reason_name(r));
}

static void init(long http, struct fpd_kube_status *st)
{
	memset(st, 0, sizeof(*st));
	st->http = http;
	st->code = (int)http;
	set_reason(st, reason_for_http(http), NULL);
}

void fpd_kube_status_from_json(long http, const json_t *obj, struct fpd_kube_status *st)
{
	init(http, st);
	if (!json_is_object(obj))
		return;
	json_int_t code = json_integer_value(json_object_get(obj, "code"));
	if (code >= 100 && code <= 599)
		st->code = (int)code;
	const char *status = json_string_value(json_object_get(obj, "status"));
	const char *reason = json_string_value(json_object_get(obj, "reason"));
	const char *message = json_string_value(json_object_get(obj, "message"));
	if (message)
		snprintf(st->message, sizeof(st->message), "%s", message);
	json_t *details = json_object_get(obj, "details");
	json_int_t retry = json_integer_value(json_object_get(details, "retryAfterSeconds"));
	if (retry > 0)
		st->retry_after_s = retry;

	if (status && strcmp(status, "Success") == 0 && st->code < 300) {
		set_reason(st, FPD_KUBE_OK, NULL);
		return;
	}
	if (reason && *reason) {
		enum fpd_kube_reason r = fpd_kube_reason_parse(reason);
		/* An unknown reason string keeps the code-derived class but shows the text. */
		set_reason(st, r == FPD_KUBE_UNKNOWN ? reason_for_http(st->code) : r, reason);
		if (st->reason == FPD_KUBE_OK)
			st->reason = FPD_KUBE_UNKNOWN;
	} else {
		set_reason(st, reason_for_http(st->code), NULL);
	}
}

void fpd_kube_status_parse(long http, const char *body, size_t len, struct fpd_kube_status *st)
{
	json_t *obj = NULL;
	if (body && len && !(http >= 200 && http < 300))
		obj = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (json_is_object(obj) && json_object_get(obj, "kind") &&
	    json_is_string(json_object_get(obj, "kind")) &&
	    strcmp(json_string_value(json_object_get(obj, "kind")), "Status") == 0) {
		fpd_kube_status_from_json(http, obj, st);
		json_decref(obj);
		return;
	}
	json_decref(obj);
	init(http, st);
	if (st->reason == FPD_KUBE_OK || !body || !len)
		return;
	/* Not a Status: show the first line of what came back, printable bytes only. */
	size_t n = 0;
	for (size_t i = 0; i < len && n + 1 < sizeof(st->message); i++) {
		unsigned char c = (unsigned char)body[i];
		if (c == '\n' || c == '\r')
			break;
		st->message[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	st->message[n] = '\0';
}

int fpd_kube_status_errcode(const struct fpd_kube_status *st)
{
	switch (st->reason) {
	case FPD_KUBE_OK: return FPD_OK;
	case FPD_KUBE_NOT_FOUND: return FPD_ENOENT;
	case FPD_KUBE_ALREADY_EXISTS: return FPD_EEXIST;
	case FPD_KUBE_UNAUTHORIZED:
	case FPD_KUBE_FORBIDDEN: return FPD_EPERM;
	case FPD_KUBE_INVALID:
	case FPD_KUBE_BAD_REQUEST: return FPD_EINVAL;
	case FPD_KUBE_TIMEOUT:
	case FPD_KUBE_SERVER_TIMEOUT: return FPD_ETIMEDOUT;
	case FPD_KUBE_REQUEST_ENTITY_TOO_LARGE: return FPD_ERANGE;
	default: return FPD_ERR;
	}
}

bool fpd_kube_status_is_gone(const struct fpd_kube_status *st)
{
	return st->http == 410 || st->code == 410 || st->reason == FPD_KUBE_GONE ||
	       st->reason == FPD_KUBE_EXPIRED;
}
