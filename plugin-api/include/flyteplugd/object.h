/*
 * JSON helpers for Kubernetes objects (jansson). Paths are dotted ("status.phase",
 * "metadata.labels"); a key containing dots cannot be addressed this way, use jansson directly.
 *
 * Getters return borrowed references (or NULL when any step is missing or of the wrong type).
 * Setters create intermediate objects as needed and steal nothing unless their name ends in _new.
 */
#ifndef FLYTEPLUGD_OBJECT_H
#define FLYTEPLUGD_OBJECT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Borrowed value at path, or NULL. */
json_t *fpd_json_get(const json_t *root, const char *path);
/* String at path, or NULL when absent or not a string. */
const char *fpd_json_str(const json_t *root, const char *path);
/* String at path, or def. */
const char *fpd_json_str_or(const json_t *root, const char *path, const char *def);
/* Integer at path, or def (reals are truncated). */
int64_t fpd_json_int_or(const json_t *root, const char *path, int64_t def);
/* Boolean at path, or def. */
bool fpd_json_bool_or(const json_t *root, const char *path, bool def);

/* The object at path, created (with any intermediate objects) if missing. Borrowed. NULL only if
 * something on the way exists and is not an object. */
json_t *fpd_json_ensure_obj(json_t *root, const char *path);
/* Sets path to value, stealing value. Returns 0, or -1 if the parent cannot be an object. */
int fpd_json_set_new(json_t *root, const char *path, json_t *value);
/* Sets path to a copy of the string s. */
int fpd_json_set_str(json_t *root, const char *path, const char *s);

/* A new {"name": name, "value": value} object (a container's EnvVar), value stolen (NULL is
 * taken as ""). NULL when name is not valid UTF-8 or value is NULL after a failed
 * json_string (json_array_append_new then refuses it, as it does json_pack's NULL). */
json_t *fpd_json_name_value(const char *name, json_t *value);

/* Copies every key of src (an object; NULL allowed) into the object at path in dst (dst itself
 * when path is NULL), replacing existing keys ("later wins", as Flyte's UnionMaps). */
void fpd_json_merge_into(json_t *dst, const char *path, const json_t *src);

/* Parses an RFC 3339 timestamp ("2026-01-02T03:04:05Z", fractional seconds and offsets
 * allowed) into ms since the epoch; -1 if malformed. */
int64_t fpd_time_parse(const char *rfc3339);

#endif
