/* The signing key list: checks, derivation (SHA-256 of the material) and loading; see keys.h. */
#include "engine/keys.h"

#include <flyteplugd/mem.h>

#include <flyteplugd/base64.h>

#include <errno.h>
#include <stdbool.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

struct fpd_keys {
	size_t n;
	struct fpd_key keys[FPD_KEYS_MAX];
};

int fpd_keys_check_material(const uint8_t *material, size_t n, const char *what,
                            struct fpd_error *err)
{
	if (n > FPD_KEY_MATERIAL_MAX)
		return fpd_error_set(err, FPD_ERANGE,
		                     "%s: %zu bytes is more than a key (at most %d)", what, n,
		                     FPD_KEY_MATERIAL_MAX);
	if (n < FPD_KEY_MATERIAL_MIN)
		return fpd_error_set(err, FPD_EINVAL,
		                     "%s: the key is %zu bytes; it must be at least %d", what, n,
		                     FPD_KEY_MATERIAL_MIN);
	bool seen[256] = {false};
	int distinct = 0;
	for (size_t i = 0; i < n && distinct < FPD_KEY_DISTINCT_MIN; i++)
		if (!seen[material[i]]) {
			seen[material[i]] = true;
			distinct++;
		}
	if (distinct < FPD_KEY_DISTINCT_MIN)
		return fpd_error_set(err, FPD_EINVAL,
		                     "%s: the key is weak (%d distinct byte values; at least %d "
		                     "needed): use 32 random bytes",
		                     what, distinct, FPD_KEY_DISTINCT_MIN);
	return FPD_OK;
}

struct fpd_keys *fpd_keys_new(void)
{
	return fpd_calloc(1, sizeof(struct fpd_keys));
}

int fpd_keys_add(struct fpd_keys *k, const uint8_t *material, size_t n, const char *what,
                 struct fpd_error *err)
{
	int rc = fpd_keys_check_material(material, n, what, err);
	if (rc)
		return rc;
	if (k->n == FPD_KEYS_MAX)
		return fpd_error_set(err, FPD_ERANGE, "%s: more than %d signing keys", what,
		                     FPD_KEYS_MAX);
	struct fpd_key key;
	unsigned int len = 0;
	if (!EVP_Digest(material, n, key.bytes, &len, EVP_sha256(), NULL) || len != FPD_KEY_LEN)
		return fpd_error_set(err, FPD_ERR, "%s: SHA-256 failed", what);
	for (size_t i = 0; i < k->n; i++)
		if (CRYPTO_memcmp(k->keys[i].bytes, key.bytes, FPD_KEY_LEN) == 0) {
			OPENSSL_cleanse(&key, sizeof(key));
			return fpd_error_set(err, FPD_EEXIST, "%s: the same key is listed twice",
			                     what);
		}
	k->keys[k->n++] = key;
	OPENSSL_cleanse(&key, sizeof(key));
	return FPD_OK;
}

/* Reads at most FPD_KEY_MATERIAL_MAX + 1 bytes so that a file one byte too long is noticed. */
int fpd_keys_add_file(struct fpd_keys *k, const char *path, struct fpd_error *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return fpd_error_set(err, FPD_EIO, "signing key file %s: %s", path,
		                     strerror(errno));
	uint8_t *buf = fpd_malloc(FPD_KEY_MATERIAL_MAX + 1);
	size_t n = fread(buf, 1, FPD_KEY_MATERIAL_MAX + 1, f);
	int failed = ferror(f);
	fclose(f);
	char what[512];
	snprintf(what, sizeof(what), "signing key file %s", path);
	int rc = failed ? fpd_error_set(err, FPD_EIO, "%s: read error", what)
	                : fpd_keys_add(k, buf, n, what, err);
	OPENSSL_cleanse(buf, FPD_KEY_MATERIAL_MAX + 1);
	free(buf);
	return rc;
}

int fpd_keys_load_files(const char *const *paths, size_t n, struct fpd_keys **out,
                        struct fpd_error *err)
{
	if (n == 0)
		return fpd_error_set(err, FPD_EINVAL, "no signing key file");
	struct fpd_keys *k = fpd_keys_new();
	for (size_t i = 0; i < n; i++) {
		int rc = fpd_keys_add_file(k, paths[i], err);
		if (rc) {
			fpd_keys_free(k);
			return rc;
		}
	}
	*out = k;
	return FPD_OK;
}

int fpd_keys_load_file(const char *path, struct fpd_keys **out, struct fpd_error *err)
{
	return fpd_keys_load_files(&path, 1, out, err);
}

int fpd_keys_load_config(const struct fpd_config_engine *cfg, struct fpd_keys **out,
                         struct fpd_error *err)
{
	if (!cfg->signing_key_file[0])
		return fpd_error_set(err, FPD_ENOENT, "engine.signing_key_file is not set");
	const struct fpd_strings *prev = &cfg->signing_key_previous_files;
	if (prev->count + 1 > FPD_KEYS_MAX)
		return fpd_error_set(err, FPD_ERANGE, "more than %d signing keys", FPD_KEYS_MAX);
	const char *paths[FPD_KEYS_MAX];
	paths[0] = cfg->signing_key_file;
	for (size_t i = 0; i < prev->count; i++)
		paths[i + 1] = prev->items[i];
	return fpd_keys_load_files(paths, prev->count + 1, out, err);
}

/* Decodes data[name] (a base64 string) and adds it; FPD_ENOENT when absent. */
static int add_secret_value(struct fpd_keys *k, const json_t *data, const char *name,
                            const char *what, struct fpd_error *err)
{
	json_t *v = json_object_get(data, name);
	if (!v)
		return fpd_error_set(err, FPD_ENOENT, "%s has no data key %s", what, name);
	char label[512];
	snprintf(label, sizeof(label), "%s key %s", what, name);
	if (!json_is_string(v))
		return fpd_error_set(err, FPD_EINVAL, "%s: not a string", label);
	size_t len = json_string_length(v);
	if (len > FPD_BASE64_LEN(FPD_KEY_MATERIAL_MAX))
		return fpd_error_set(err, FPD_ERANGE, "%s: more than %d bytes", label,
		                     FPD_KEY_MATERIAL_MAX);
	uint8_t *raw = NULL;
	size_t n = 0;
	if (fpd_base64_decode(json_string_value(v), len, 0, &raw, &n))
		return fpd_error_set(err, FPD_EINVAL, "%s: not base64", label);
	int rc = fpd_keys_add(k, raw, n, label, err);
	OPENSSL_cleanse(raw, n);
	free(raw);
	return rc;
}

int fpd_keys_from_secret_data(const json_t *data, const char *what, struct fpd_keys **out,
                              struct fpd_error *err)
{
	if (!json_is_object(data))
		return fpd_error_set(err, FPD_ENOENT, "%s has no data", what);
	struct fpd_keys *k = fpd_keys_new();
	int rc = add_secret_value(k, data, FPD_KEYS_SECRET_SIGNING, what, err);
	if (!rc && json_object_get(data, FPD_KEYS_SECRET_PREVIOUS))
		rc = add_secret_value(k, data, FPD_KEYS_SECRET_PREVIOUS, what, err);
	if (rc) {
		fpd_keys_free(k);
		return rc;
	}
	*out = k;
	return FPD_OK;
}

const struct fpd_key *fpd_keys_signing(const struct fpd_keys *k)
{
	return k->n ? &k->keys[0] : NULL;
}

size_t fpd_keys_count(const struct fpd_keys *k)
{
	return k->n;
}

const struct fpd_key *fpd_keys_at(const struct fpd_keys *k, size_t i)
{
	return i < k->n ? &k->keys[i] : NULL;
}

void fpd_keys_free(struct fpd_keys *k)
{
	if (!k)
		return;
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}
