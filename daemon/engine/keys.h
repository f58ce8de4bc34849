/*
 * keys — the resource_meta signing keys: one that signs, and the ones a rotation left behind
 * that still verify, so a key can be replaced without failing the tasks in flight.
 *
 * Design note. Key material is whatever bytes an operator put in a file or a Secret (a mounted
 * Secret's `signing-key` is a file holding exactly those bytes). Each piece of material is
 * checked and then hashed with SHA-256 into a 32-byte key, as the daemon always did: a file of
 * at most 4096 bytes gives the same key as before, so signatures survive the upgrade, and a
 * longer file is now hashed whole (the old reader stopped at 4096 bytes, so two files that
 * differed only later gave the same key).
 *
 * Material is refused when it is weak: shorter than FPD_KEY_MATERIAL_MIN (16) bytes, or made of
 * fewer than FPD_KEY_DISTINCT_MIN (8) distinct byte values (which also refuses a key of one
 * repeated byte, such as 16 zero bytes, and short passwords such as "passwordpassword"); or
 * longer than FPD_KEY_MATERIAL_MAX (64 KiB), which is a configuration error, not a key.
 *
 * Where keys come from (the list is ordered; the first signs, all verify):
 *   - files: `engine.signing_key_file` (signs), then `engine.signing_key_previous_files`;
 *   - a Secret's data: `signing-key` (signs), then `signing-key.previous` when present.
 *
 * The module is pure: no loop, no kube, no global state.
 */
#ifndef FPD_ENGINE_KEYS_H
#define FPD_ENGINE_KEYS_H

#include "core/config.h"
#include <flyteplugd/error.h>

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define FPD_KEY_MATERIAL_MIN 16
#define FPD_KEY_MATERIAL_MAX (64 * 1024)
#define FPD_KEY_DISTINCT_MIN 8
#define FPD_KEYS_MAX 8 /* keys in one list: the signing one and up to 7 previous */
#define FPD_KEY_LEN 32 /* SHA-256 of the material */

/* The Secret data keys read by fpd_keys_from_secret_data and written by a bootstrap. */
#define FPD_KEYS_SECRET_SIGNING "signing-key"
#define FPD_KEYS_SECRET_PREVIOUS "signing-key.previous"

struct fpd_key {
	uint8_t bytes[FPD_KEY_LEN];
};

/* An ordered list of keys; opaque. */
struct fpd_keys;

/* Checks material (n bytes) against the rules above. what names it in the message
 * ("engine.signing_key_file /etc/key"). FPD_EINVAL for weak material, FPD_ERANGE for too much. */
int fpd_keys_check_material(const uint8_t *material, size_t n, const char *what,
                            struct fpd_error *err);

/* A new, empty list (release with fpd_keys_free). */
struct fpd_keys *fpd_keys_new(void);

/* Checks material (borrowed; not kept) and appends its key to k. The first key added signs.
 * FPD_EINVAL / FPD_ERANGE as fpd_keys_check_material; FPD_ERANGE when k already holds
 * FPD_KEYS_MAX keys; FPD_EEXIST when the same key is already in the list (a rotation that
 * forgot to change the key). k is unchanged on failure. */
int fpd_keys_add(struct fpd_keys *k, const uint8_t *material, size_t n, const char *what,
                 struct fpd_error *err);

/* Reads the file at path whole (at most FPD_KEY_MATERIAL_MAX bytes; more is FPD_ERANGE) and
 * appends its key as fpd_keys_add does. FPD_EIO when it cannot be read. */
int fpd_keys_add_file(struct fpd_keys *k, const char *path, struct fpd_error *err);

/* A new list holding the key of the one file at path (*out: new, fpd_keys_free). */
int fpd_keys_load_file(const char *path, struct fpd_keys **out, struct fpd_error *err);

/* A new list from files: paths[0] signs, the others verify. n >= 1. */
int fpd_keys_load_files(const char *const *paths, size_t n, struct fpd_keys **out,
                        struct fpd_error *err);

/* A new list from the configuration's files: engine.signing_key_file signs,
 * engine.signing_key_previous_files verify. FPD_ENOENT (err says so) when signing_key_file is
 * empty: the caller then uses engine.signing_key_secret or a random key. */
int fpd_keys_load_config(const struct fpd_config_engine *cfg, struct fpd_keys **out,
                         struct fpd_error *err);

/* A new list from a Secret's `data` (borrowed; values are base64 as the API server returns
 * them): FPD_KEYS_SECRET_SIGNING signs, FPD_KEYS_SECRET_PREVIOUS (optional) verifies. Other
 * data keys are ignored. FPD_ENOENT when the signing key is missing, FPD_EINVAL for bad
 * base64 or weak material. what names the Secret in messages ("Secret ns/name"). */
int fpd_keys_from_secret_data(const json_t *data, const char *what, struct fpd_keys **out,
                              struct fpd_error *err);

/* The key that signs (borrowed, valid while k lives). k is never empty once built. */
const struct fpd_key *fpd_keys_signing(const struct fpd_keys *k);

/* Verification walks every key, the signing one first:
 *     for (size_t i = 0; i < fpd_keys_count(k); i++) try(fpd_keys_at(k, i)); */
size_t fpd_keys_count(const struct fpd_keys *k);
const struct fpd_key *fpd_keys_at(const struct fpd_keys *k, size_t i); /* NULL past the end */

/* Wipes and frees k. NULL is fine. */
void fpd_keys_free(struct fpd_keys *k);

#endif
