/* The signing key list: whole-file reads, weak and oversized material refused, rotation (the
 * first key signs, every key verifies), the Secret's data, and the derivation kept from before. */
#include "core/schema.h"
#include "engine/keys.h"
#include "fpd_test.h"

#include <flyteplugd/base64.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <unistd.h>

static char dir[] = "/tmp/fpd-keys-XXXXXX";

static void setup(void)
{
	strcpy(dir, "/tmp/fpd-keys-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Writes n bytes to dir/name; returns the path (static buffer per slot). */
static const char *write_file(int slot, const char *name, const uint8_t *b, size_t n)
{
	static char paths[4][256];
	snprintf(paths[slot], sizeof(paths[slot]), "%s/%s", dir, name);
	FILE *f = fopen(paths[slot], "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(b, 1, n, f), n);
	fclose(f);
	return paths[slot];
}

/* n bytes of a fixed pseudo-random pattern (every byte value appears). */
static void pattern(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)((i * 131 + seed * 7 + (i >> 8)) & 0xff);
}

/* HMAC-SHA256(key, msg) through OpenSSL's EVP_MAC, as resource_meta signs. */
static void hmac(const struct fpd_key *key, const char *msg, uint8_t out[32])
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
	OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
	                       OSSL_PARAM_construct_end()};
	size_t len = 0;
	ck_assert(EVP_MAC_init(ctx, key->bytes, sizeof(key->bytes), params));
	ck_assert(EVP_MAC_update(ctx, (const unsigned char *)msg, strlen(msg)));
	ck_assert(EVP_MAC_final(ctx, out, &len, 32));
	ck_assert_uint_eq(len, 32);
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
}

/* Index of the key of k whose HMAC of msg is tag, or -1: what a verifier does. */
static int verify(const struct fpd_keys *k, const char *msg, const uint8_t tag[32])
{
	for (size_t i = 0; i < fpd_keys_count(k); i++) {
		uint8_t t[32];
		hmac(fpd_keys_at(k, i), msg, t);
		if (CRYPTO_memcmp(t, tag, 32) == 0)
			return (int)i;
	}
	return -1;
}

START_TEST(whole_file_past_4096_bytes)
{
	uint8_t a[5000], b[5000];
	pattern(a, sizeof(a), 1);
	memcpy(b, a, sizeof(b));
	b[4500] ^= 0x5a; /* the old reader stopped at 4096 bytes and saw no difference */
	struct fpd_keys *ka = NULL, *kb = NULL;
	struct fpd_error err;
	ck_assert_int_eq(fpd_keys_load_file(write_file(0, "a", a, sizeof(a)), &ka, &err), FPD_OK);
	ck_assert_int_eq(fpd_keys_load_file(write_file(1, "b", b, sizeof(b)), &kb, &err), FPD_OK);
	ck_assert_msg(memcmp(fpd_keys_signing(ka)->bytes, fpd_keys_signing(kb)->bytes, 32) != 0,
	              "files differing at byte 4500 gave the same key");
	uint8_t tag[32];
	hmac(fpd_keys_signing(ka), "fpd1|pod|ns|name|uid", tag);
	ck_assert_msg(verify(kb, "fpd1|pod|ns|name|uid", tag) == -1,
	              "a meta signed with one file's key verified with the other's");
	ck_assert_int_eq(verify(ka, "fpd1|pod|ns|name|uid", tag), 0);
	fpd_keys_free(ka);
	fpd_keys_free(kb);
}
END_TEST

/* Up to 4096 bytes the key is SHA-256 of the file, as before: signatures survive an upgrade. */
START_TEST(derivation_unchanged)
{
	uint8_t m[40], want[32];
	pattern(m, sizeof(m), 3);
	unsigned int len = 0;
	ck_assert(EVP_Digest(m, sizeof(m), want, &len, EVP_sha256(), NULL));
	struct fpd_keys *k = NULL;
	struct fpd_error err;
	ck_assert_int_eq(fpd_keys_load_file(write_file(0, "k", m, sizeof(m)), &k, &err), FPD_OK);
	ck_assert_int_eq(fpd_keys_count(k), 1);
	ck_assert_mem_eq(fpd_keys_signing(k)->bytes, want, 32);
	ck_assert_ptr_null(fpd_keys_at(k, 1));
	fpd_keys_free(k);
}
END_TEST

static void expect_refused(const uint8_t *m, size_t n, int code, const char *text)
{
	struct fpd_keys *k = (struct fpd_keys *)1;
	struct fpd_error err;
	fpd_error_clear(&err);
	int rc = fpd_keys_load_file(write_file(0, "weak", m, n), &k, &err);
	ck_assert_msg(rc == code, "%zu bytes: expected %s, got %s (%s)", n, fpd_strerror(code),
	              fpd_strerror(rc), err.text);
	ck_assert_msg(strstr(err.text, text) && strstr(err.text, dir),
	              "message should name the file and say \"%s\": %s", text, err.text);
	ck_assert_ptr_eq(k, (struct fpd_keys *)1);
}

START_TEST(weak_and_oversized_refused)
{
	uint8_t zero[16] = {0};
	expect_refused(zero, sizeof(zero), FPD_EINVAL, "weak");
	uint8_t short_[15];
	pattern(short_, sizeof(short_), 5);
	expect_refused(short_, sizeof(short_), FPD_EINVAL, "at least 16");
	expect_refused((const uint8_t *)"passwordpassword", 16, FPD_EINVAL, "weak");
	expect_refused((const uint8_t *)"abcdefgabcdefgabcdefg", 21, FPD_EINVAL, "7 distinct");

	uint8_t *big = malloc(FPD_KEY_MATERIAL_MAX + 1);
	pattern(big, FPD_KEY_MATERIAL_MAX + 1, 7);
	expect_refused(big, FPD_KEY_MATERIAL_MAX + 1, FPD_ERANGE, "more than a key");
	struct fpd_keys *k = NULL;
	struct fpd_error err;
	ck_assert_msg(
	    fpd_keys_load_file(write_file(0, "max", big, FPD_KEY_MATERIAL_MAX), &k, &err) == FPD_OK,
	    "exactly 64 KiB should be accepted: %s", err.text);
	fpd_keys_free(k);
	free(big);

	/* 8 distinct values in 16 bytes is enough */
	k = NULL;
	ck_assert_int_eq(
	    fpd_keys_load_file(write_file(0, "ok", (const uint8_t *)"abcdefghabcdefgh", 16), &k,
	                       &err),
	    FPD_OK);
	fpd_keys_free(k);
	ck_assert_int_eq(fpd_keys_load_file("/nonexistent/key", &k, &err), FPD_EIO);
}
END_TEST

START_TEST(rotation_first_signs_all_verify)
{
	uint8_t old_m[32], new_m[32], other_m[32];
	pattern(old_m, 32, 11);
	pattern(new_m, 32, 12);
	pattern(other_m, 32, 13);
	const char *paths[] = {write_file(0, "new", new_m, 32), write_file(1, "old", old_m, 32),
	                       write_file(2, "other", other_m, 32)};
	struct fpd_keys *before = NULL, *after = NULL, *other = NULL;
	struct fpd_error err;
	ck_assert_int_eq(fpd_keys_load_files(paths + 1, 1, &before, &err), FPD_OK);
	ck_assert_int_eq(fpd_keys_load_files(paths, 2, &after, &err), FPD_OK);
	ck_assert_int_eq(fpd_keys_load_files(paths + 2, 1, &other, &err), FPD_OK);
	ck_assert_uint_eq(fpd_keys_count(after), 2);

	const char *msg = "fpd1|pod|flytesnacks-development|a1b2c3-n0-0|0f6e...";
	uint8_t in_flight[32], fresh[32], foreign[32];
	hmac(fpd_keys_signing(before), msg, in_flight); /* signed before the rotation */
	hmac(fpd_keys_signing(after), msg, fresh);
	hmac(fpd_keys_signing(other), msg, foreign);
	ck_assert_msg(memcmp(in_flight, fresh, 32) != 0, "after the rotation the new key signs");
	ck_assert_int_eq(verify(after, msg, fresh), 0);
	ck_assert_msg(verify(after, msg, in_flight) == 1,
	              "a meta signed before the rotation must still verify (by the second key)");
	ck_assert_int_eq(verify(after, msg, foreign), -1);
	ck_assert_int_eq(verify(before, msg, fresh), -1);

	/* the same key twice is a mistake, not a rotation */
	const char *twice[] = {paths[0], paths[0]};
	struct fpd_keys *k = NULL;
	ck_assert_int_eq(fpd_keys_load_files(twice, 2, &k, &err), FPD_EEXIST);
	ck_assert_ptr_null(k);
	fpd_keys_free(before);
	fpd_keys_free(after);
	fpd_keys_free(other);
}
END_TEST

static json_t *b64(const uint8_t *m, size_t n)
{
	char *s = malloc(FPD_BASE64_LEN(n) + 1);
	fpd_base64_encode(m, n, 0, s);
	json_t *j = json_string(s);
	free(s);
	return j;
}

START_TEST(secret_data)
{
	uint8_t cur[32], prev[32];
	pattern(cur, 32, 21);
	pattern(prev, 32, 22);
	struct fpd_keys *file = NULL, *k = NULL;
	struct fpd_error err;
	ck_assert_int_eq(fpd_keys_load_file(write_file(0, "signing-key", cur, 32), &file, &err),
	                 FPD_OK);

	json_t *data = json_object();
	json_object_set_new(data, "signing-key", b64(cur, 32));
	json_object_set_new(data, "unrelated", json_string("eA=="));
	ck_assert_int_eq(fpd_keys_from_secret_data(data, "Secret ns/s", &k, &err), FPD_OK);
	ck_assert_uint_eq(fpd_keys_count(k), 1);
	ck_assert_msg(memcmp(fpd_keys_signing(k)->bytes, fpd_keys_signing(file)->bytes, 32) == 0,
	              "the Secret read through the API and mounted as a file give one key");
	fpd_keys_free(k);

	json_object_set_new(data, "signing-key.previous", b64(prev, 32));
	ck_assert_int_eq(fpd_keys_from_secret_data(data, "Secret ns/s", &k, &err), FPD_OK);
	ck_assert_uint_eq(fpd_keys_count(k), 2);
	ck_assert_mem_eq(fpd_keys_signing(k)->bytes, fpd_keys_signing(file)->bytes, 32);
	fpd_keys_free(k);

	k = NULL;
	json_object_set_new(data, "signing-key.previous", json_string("!!not base64"));
	ck_assert_int_eq(fpd_keys_from_secret_data(data, "Secret ns/s", &k, &err), FPD_EINVAL);
	ck_assert_msg(strstr(err.text, "signing-key.previous"), "%s", err.text);
	uint8_t zero[32] = {0};
	json_object_set_new(data, "signing-key.previous", b64(zero, 32));
	ck_assert_int_eq(fpd_keys_from_secret_data(data, "Secret ns/s", &k, &err), FPD_EINVAL);
	json_object_del(data, "signing-key");
	ck_assert_int_eq(fpd_keys_from_secret_data(data, "Secret ns/s", &k, &err), FPD_ENOENT);
	ck_assert_msg(strstr(err.text, "Secret ns/s") && strstr(err.text, "signing-key"), "%s",
	              err.text);
	ck_assert_ptr_null(k);
	ck_assert_int_eq(fpd_keys_from_secret_data(NULL, "Secret ns/s", &k, &err), FPD_ENOENT);
	json_decref(data);
	fpd_keys_free(file);
}
END_TEST

/* The configuration's files, in order: signing_key_file signs, the previous ones verify. */
START_TEST(from_config)
{
	uint8_t cur[32], prev[32];
	pattern(cur, 32, 31);
	pattern(prev, 32, 32);
	struct fpd_config cfg;
	fpd_config_defaults(&cfg);
	struct fpd_keys *k = NULL, *want = NULL;
	struct fpd_error err;
	ck_assert_int_eq(fpd_keys_load_config(&cfg.engine, &k, &err), FPD_ENOENT);
	ck_assert_ptr_null(k);
	free(cfg.engine.signing_key_file);
	cfg.engine.signing_key_file = strdup(write_file(0, "signing-key", cur, 32));
	fpd_strings_push(&cfg.engine.signing_key_previous_files,
	                 write_file(1, "signing-key.previous", prev, 32));
	ck_assert_msg(fpd_keys_load_config(&cfg.engine, &k, &err) == FPD_OK, "%s", err.text);
	ck_assert_int_eq(fpd_keys_load_file(write_file(2, "again", cur, 32), &want, &err), FPD_OK);
	ck_assert_uint_eq(fpd_keys_count(k), 2);
	ck_assert_mem_eq(fpd_keys_signing(k)->bytes, fpd_keys_signing(want)->bytes, 32);
	fpd_keys_free(k);
	fpd_keys_free(want);
	fpd_config_free(&cfg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("engine_keys");
	TCase *tc = tcase_create("keys");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, whole_file_past_4096_bytes);
	tcase_add_test(tc, derivation_unchanged);
	tcase_add_test(tc, weak_and_oversized_refused);
	tcase_add_test(tc, rotation_first_signs_all_verify);
	tcase_add_test(tc, secret_data);
	tcase_add_test(tc, from_config);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
