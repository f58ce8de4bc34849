/*
 * resource_meta: the opaque bytes CreateTask returns and propeller hands back on every GetTask
 * and DeleteTask (it stores them in etcd, inside the FlyteWorkflow). They hold everything needed
 * to find the object again after a restart of either side, so flyteplugd keeps no state store:
 *
 *   fpd1|<plugin>|<namespace>|<name>|<uid>|<mac>
 *
 * <mac> is the first 16 bytes of HMAC-SHA256(key, everything before it), base64url without
 * padding. Typical size ~150 bytes. A daemon only acts on bytes it signed itself (or a replica
 * sharing the key), so a forged or foreign resource_meta can never make it touch an object.
 */
#ifndef FPD_ENGINE_RESOURCE_META_H
#define FPD_ENGINE_RESOURCE_META_H

#include <flyteplugd/error.h>
#include "engine/keys.h"

#include <stddef.h>
#include <stdint.h>

#define FPD_RESOURCE_META_MAX 1024

struct fpd_resource_meta {
	char plugin[64];
	char namespace_[64];
	char name[254];
	char uid[64];
};

/* The signing keys, each in a keyed HMAC-SHA256 context (EVP_MAC), made once and reused by
 * every signature (OpenSSL's one-shot HMAC fetches the algorithms again on each call). The
 * first key of the list signs; every key verifies (a rotation's previous keys). */
struct fpd_meta_signer;

/* A signer for keys (borrowed: the key bytes are copied into OpenSSL's state, keys may be freed
 * afterwards). FPD_EINVAL for an empty list, FPD_ERR if OpenSSL refuses. */
int fpd_meta_signer_new(const struct fpd_keys *keys, struct fpd_meta_signer **out,
                        struct fpd_error *err);
void fpd_meta_signer_free(struct fpd_meta_signer *s);

/* Encodes and signs meta into out (a new allocation of *len bytes, NUL-terminated for
 * convenience). FPD_EINVAL when a field is empty or contains '|'. */
int fpd_resource_meta_encode(const struct fpd_resource_meta *meta,
                             const struct fpd_meta_signer *signer, char **out, size_t *len,
                             struct fpd_error *err);

/* Parses and verifies. FPD_EINVAL for malformed bytes (wrong version, field count, sizes);
 * FPD_EPERM when the signature matches none of the signer's keys (forged, or signed with a key
 * this deployment does not hold). */
int fpd_resource_meta_decode(const uint8_t *data, size_t len, const struct fpd_meta_signer *signer,
                             struct fpd_resource_meta *meta, struct fpd_error *err);

#endif
