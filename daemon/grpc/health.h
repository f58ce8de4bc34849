/*
 * grpc.health.v1.Health (the standard gRPC health protocol). Its two messages are not part of
 * the Flyte IDL, and are small enough to encode by hand:
 *   message HealthCheckRequest  { string service = 1; }
 *   message HealthCheckResponse { ServingStatus status = 1; }
 *   enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
 *
 * Known services are "" (the whole server) and every service with a registered method. Check
 * of any other name is NOT_FOUND; Watch of it streams SERVICE_UNKNOWN, as grpc's own servers do.
 */
#ifndef FPD_GRPC_HEALTH_H
#define FPD_GRPC_HEALTH_H

#include <flyteplugd/error.h>
#include "grpc/grpc.h"

#include <stddef.h>
#include <stdint.h>

enum fpd_health_status {
	FPD_HEALTH_UNKNOWN = 0,
	FPD_HEALTH_SERVING = 1,
	FPD_HEALTH_NOT_SERVING = 2,
	FPD_HEALTH_SERVICE_UNKNOWN = 3,
};

/* Longest service name we look up; longer names cannot be registered services. */
#define FPD_HEALTH_SERVICE_MAX 256
/* An encoded HealthCheckResponse is at most this long (tag + 10-byte varint). */
#define FPD_HEALTH_RESPONSE_MAX 11

/*
 * Decodes a HealthCheckRequest (unknown fields skipped, last value wins) and copies the service
 * name into service (size bytes, NUL-terminated). FPD_EINVAL when malformed, FPD_ERANGE when the
 * name does not fit.
 */
int fpd_health_decode_request(const uint8_t *data, size_t len, char *service, size_t size);

/* Encodes a HealthCheckResponse into out; returns its length (0 for UNKNOWN, as proto3 omits
 * default values). */
size_t fpd_health_encode_response(enum fpd_health_status status,
                                  uint8_t out[FPD_HEALTH_RESPONSE_MAX]);

struct fpd_health;

/* Registers Check and Watch on srv (borrowed, must outlive the result). New object, or NULL with
 * err filled. */
struct fpd_health *fpd_health_new(struct fpd_grpc_server *srv, struct fpd_error *err);
/* Every known service becomes NOT_SERVING; watchers are told, then their streams end with
 * UNAVAILABLE. */
void fpd_health_drain(struct fpd_health *h);
/* Fails the Watch calls still open (UNAVAILABLE) and frees. NULL is ignored. */
void fpd_health_free(struct fpd_health *h);

#endif
