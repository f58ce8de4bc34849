/*
 * Flyte's names for what it creates, reproduced exactly so an object made by flyteplugd has the
 * name Flyte's own plugin would give it (flyteplugins pluginmachinery/encoding and utils/dns.go,
 * flytepropeller's SanitizeLabelValue).
 */
#ifndef FPD_ENGINE_NAMING_H
#define FPD_ENGINE_NAMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Flyte's generated-name limit (IDMaxLength), for plugins that declare none. */
#define FPD_NAME_MAX 50
/* The hashed form's length: no limit may be shorter (Flyte's minGeneratedNameLength). */
#define FPD_NAME_MIN 8
/* The longest limit a plugin may declare (a DNS-1123 subdomain). */
#define FPD_NAME_LIMIT_MAX 253

/* 32-bit FNV-1a of s. */
uint32_t fpd_name_fnv32a(const char *s, size_t len);

/* Flyte's FixedLengthUniqueIDForParts: joins parts with '-' (no separator while the result is
 * still empty); if longer than max, "f" + base32(fnv32a) with Flyte's alphabet (8 characters).
 * Returns a new string, or NULL when even the hash does not fit max (max < 8). */
char *fpd_name_for_parts(size_t max, const char *const *parts, size_t count);

/* The per-attempt object name: parts [execution, node id, attempt] at max characters (a
 * plugin's name_max_len; 0 means FPD_NAME_MAX), then made a valid DNS-1123 subdomain if it is
 * not one, as Flyte does. max must be 0 or FPD_NAME_MIN..FPD_NAME_LIMIT_MAX (the registry
 * refuses other limits). New string. */
char *fpd_name_generated(const char *execution, const char *node_id, uint32_t attempt, size_t max);

/* Is s a DNS-1123 subdomain (what Kubernetes accepts as most object names)? */
bool fpd_name_is_dns1123_subdomain(const char *s);

/* Flyte's ConvertToDNS1123SubdomainCompatibleString. New string. */
char *fpd_name_dns1123_subdomain(const char *s);

/* Flyte's SanitizeLabelValue: lower-case, runs of [^-a-z0-9] become '-', at most 63, trimmed of
 * '-'. New string. */
char *fpd_name_label_value(const char *s);

#endif
