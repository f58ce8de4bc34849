/*
 * The text forms proto3 JSON gives some values, parsed as Flyte's Go plugins parse them (jsonpb
 * on top of encoding/json, strconv and time): integer literals, numbers in strings,
 * google.protobuf.Duration and Timestamp. Used by structpb.c (bytes are base64.h's); separate so each form can be
 * tested on its own. Inputs are (pointer, length) pairs that need not be NUL-terminated. These
 * functions only return a code: the caller knows the JSON path and writes the message.
 */
#ifndef FPD_LIB_STRUCTPB_TEXT_H
#define FPD_LIB_STRUCTPB_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An integer literal as JSON writes it, -?(0|[1-9][0-9]*), nothing around it. Sets *neg and
 * *magnitude. FPD_EINVAL if s has any other form, FPD_ERANGE if the magnitude passes
 * UINT64_MAX. */
int fpd_pbtext_integer(const char *s, size_t len, bool *neg, uint64_t *magnitude);

/* A JSON number literal (-?int(.digits)?([eE][+-]?digits)?) as a double. FPD_EINVAL for any
 * other form, FPD_ERANGE if it overflows to infinity (underflow gives 0, as in Go). */
int fpd_pbtext_number(const char *s, size_t len, double *out);

/* A Go duration (time.ParseDuration: "1.5s", "-3s", "1h2m", "300ms", "0"), the form jsonpb
 * accepts for google.protobuf.Duration, split as jsonpb splits it (nanos carries the sign).
 * FPD_EINVAL for a malformed string, FPD_ERANGE beyond +-2^63 ns. */
int fpd_pbtext_duration(const char *s, size_t len, int64_t *seconds, int32_t *nanos);

/* An RFC 3339 time (YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)), as Go's time.Parse with
 * RFC3339Nano reads it: year 0000-9999, fraction digits past the ninth ignored. Gives seconds
 * since the Unix epoch and nanos in [0, 1e9). FPD_EINVAL for anything else. */
int fpd_pbtext_timestamp(const char *s, size_t len, int64_t *seconds, int32_t *nanos);

#endif
