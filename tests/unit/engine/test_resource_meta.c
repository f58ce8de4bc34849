#include "engine/resource_meta.h"
#include "fpd_test.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <unistd.h>

static const uint8_t key[] = "0123456789abcdef0123456789abcdef";
static const uint8_t other_key[] = "fedcba9876543210fedcba9876543210";
static struct fpd_meta_signer *signer, *other_signer;

/* A signer for the keys of the given materials (each 32 bytes), the first signing. */
static struct fpd_meta_signer *signer_of(const uint8_t *const *materials, size_t n)
{
	struct fpd_error err;
	struct fpd_keys *k = fpd_keys_new();
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(fpd_keys_add(k, materials[i], 32, "test key", &err), FPD_OK);
	struct fpd_meta_signer *s;
	ck_assert_int_eq(fpd_meta_signer_new(k, &s, &err), FPD_OK);
	fpd_keys_free(k); /* the signer holds its own copy */
	return s;
}

static void make_signers(void)
{
	signer = signer_of((const uint8_t *const[]){key}, 1);
	other_signer = signer_of((const uint8_t *const[]){other_key}, 1);
}

static void free_signers(void)
{
	fpd_meta_signer_free(signer);
	fpd_meta_signer_free(other_signer);
}

static struct fpd_resource_meta sample(void)
{
	struct fpd_resource_meta m = {0};
	snprintf(m.plugin, sizeof(m.plugin), "pod");
	snprintf(m.namespace_, sizeof(m.namespace_), "flytesnacks-development");
	snprintf(m.name, sizeof(m.name), "a1b2c3-n0-0");
	snprintf(m.uid, sizeof(m.uid), "2f0c7d7e-1d2b-4f5a-9c1e-0b8e5f8e9a11");
	return m;
}

START_TEST(round_trip_and_size)
{
	struct fpd_resource_meta m = sample(), back;
	struct fpd_error err;
	char *bytes;
	size_t len;
	ck_assert_int_eq(fpd_resource_meta_encode(&m, signer, &bytes, &len, &err), FPD_OK);
	ck_assert_uint_lt(len, 256);
	ck_assert(strncmp(bytes, "fpd1|pod|flytesnacks-development|a1b2c3-n0-0|", 44) == 0);
	ck_assert_int_eq(fpd_resource_meta_decode((uint8_t *)bytes, len, signer, &back, &err),
	                 FPD_OK);
	ck_assert_str_eq(back.plugin, "pod");
	ck_assert_str_eq(back.namespace_, m.namespace_);
	ck_assert_str_eq(back.name, m.name);
	ck_assert_str_eq(back.uid, m.uid);
	free(bytes);
}
END_TEST

START_TEST(forged_and_foreign_are_refused)
{
	struct fpd_resource_meta m = sample(), back;
	struct fpd_error err;
	char *bytes;
	size_t len;
	ck_assert_int_eq(fpd_resource_meta_encode(&m, signer, &bytes, &len, &err), FPD_OK);
	/* Signed by another deployment. */
	ck_assert_int_eq(fpd_resource_meta_decode((uint8_t *)bytes, len, other_signer, &back, &err),
	                 FPD_EPERM);
	ck_assert_ptr_nonnull(strstr(err.text, "signature"));
	/* Pointing it at another object keeps the old signature: refused. */
	char *forged = strdup(bytes);
	char *p = strstr(forged, "a1b2c3");
	p[0] = 'z';
	ck_assert_int_eq(fpd_resource_meta_decode((uint8_t *)forged, len, signer, &back, &err),
	                 FPD_EPERM);
	/* Flipping a bit of the signature. */
	strcpy(forged, bytes);
	forged[len - 1] ^= 1;
	ck_assert_int_eq(fpd_resource_meta_decode((uint8_t *)forged, len, signer, &back, &err),
	                 FPD_EPERM);
	free(forged);
	free(bytes);
}
END_TEST

START_TEST(malformed_is_invalid)
{
	struct fpd_resource_meta back;
	struct fpd_error err;
	static const char *bad[] = {
	    "",
	    "{\"job_id\": \"x\"}", /* flytekit-style JSON meta of another agent */
	    "fpd2|pod|ns|name|uid|AAAAAAAAAAAAAAAAAAAAAA",
	    "fpd1|pod|ns|name|AAAAAAAAAAAAAAAAAAAAAA",
	    "fpd1|pod|ns|name|uid|short",
	    "fpd1||ns|name|uid|AAAAAAAAAAAAAAAAAAAAAA",
	    "fpd1|pod|ns|name|uid|x|AAAAAAAAAAAAAAAAAAAAAA",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(fpd_resource_meta_decode((const uint8_t *)bad[i], strlen(bad[i]),
		                                       signer, &back, &err) == FPD_EINVAL,
		              "accepted %s", bad[i]);
	/* Embedded NUL and oversize input. */
	ck_assert_int_eq(
	    fpd_resource_meta_decode((const uint8_t *)"fpd1|\0", 6, signer, &back, &err),
	    FPD_EINVAL);
	uint8_t big[FPD_RESOURCE_META_MAX + 1];
	memset(big, 'a', sizeof(big));
	ck_assert_int_eq(fpd_resource_meta_decode(big, sizeof(big), signer, &back, &err),
	                 FPD_EINVAL);
	/* Encoding refuses fields that would break the format. */
	struct fpd_resource_meta m = sample();
	m.name[0] = '|';
	char *bytes;
	size_t len;
	ck_assert_int_eq(fpd_resource_meta_encode(&m, signer, &bytes, &len, &err), FPD_EINVAL);
}
END_TEST

/* The signature is HMAC-SHA256 truncated to 16 bytes, base64url: checked against OpenSSL's own
 * HMAC for keys shorter than, as long as, and longer than SHA-256's block, and for several
 * signatures in a row with one signer (its context is reused). */
static void assert_hmac(struct fpd_meta_signer *sg, const uint8_t *k, size_t key_len,
                        const struct fpd_resource_meta *m)
{
	struct fpd_error err;
	char *bytes;
	size_t len;
	ck_assert_int_eq(fpd_resource_meta_encode(m, sg, &bytes, &len, &err), FPD_OK);
	const char *mac_text = strrchr(bytes, '|') + 1;
	size_t signed_len = (size_t)(mac_text - bytes);
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	ck_assert_ptr_nonnull(
	    HMAC(EVP_sha256(), k, (int)key_len, (const uint8_t *)bytes, signed_len, mac, &mac_len));
	unsigned char b64[64];
	EVP_EncodeBlock(b64, mac, 16);
	for (unsigned char *c = b64; *c; c++)
		*c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
	b64[22] = '\0'; /* 16 bytes: 22 characters and "==" */
	ck_assert_str_eq(mac_text, (const char *)b64);
	free(bytes);
}

/* The HMAC key is SHA-256 of the material (keys.h), for any length of material. */
START_TEST(signature_is_hmac_sha256)
{
	static const size_t lengths[] = {16, 32, 63, 64, 65, 200};
	uint8_t k[200];
	for (size_t i = 0; i < sizeof(k); i++)
		k[i] = (uint8_t)(i * 7 + 3);
	struct fpd_resource_meta m = sample();
	struct fpd_resource_meta other = sample();
	snprintf(other.name, sizeof(other.name), "%s", "another-attempt-n1-3");
	for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		struct fpd_meta_signer *sg;
		struct fpd_error err;
		struct fpd_keys *keys = fpd_keys_new();
		ck_assert_int_eq(fpd_keys_add(keys, k, lengths[i], "test key", &err), FPD_OK);
		ck_assert_int_eq(fpd_meta_signer_new(keys, &sg, &err), FPD_OK);
		uint8_t hashed[32];
		unsigned int hl = 0;
		EVP_Digest(k, lengths[i], hashed, &hl, EVP_sha256(), NULL);
		assert_hmac(sg, hashed, sizeof(hashed), &m);
		assert_hmac(sg, hashed, sizeof(hashed), &other);
		assert_hmac(sg, hashed, sizeof(hashed), &m);
		fpd_meta_signer_free(sg);
		fpd_keys_free(keys);
	}
}
END_TEST

/* A rotation: the new key signs, the old one still verifies, an unknown one does not. */
START_TEST(previous_keys_verify_only)
{
	static const uint8_t third[] = "0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d";
	struct fpd_meta_signer *rotated = signer_of((const uint8_t *const[]){other_key, key}, 2);
	struct fpd_meta_signer *stranger = signer_of((const uint8_t *const[]){third}, 1);
	struct fpd_resource_meta m = sample(), back;
	struct fpd_error err;
	char *old_meta, *new_meta, *foreign;
	size_t old_len, new_len, foreign_len;
	ck_assert_int_eq(fpd_resource_meta_encode(&m, signer, &old_meta, &old_len, &err), FPD_OK);
	ck_assert_int_eq(fpd_resource_meta_encode(&m, rotated, &new_meta, &new_len, &err), FPD_OK);
	ck_assert_int_eq(fpd_resource_meta_encode(&m, stranger, &foreign, &foreign_len, &err),
	                 FPD_OK);
	ck_assert_int_eq(
	    fpd_resource_meta_decode((uint8_t *)old_meta, old_len, rotated, &back, &err), FPD_OK);
	ck_assert_int_eq(
	    fpd_resource_meta_decode((uint8_t *)new_meta, new_len, rotated, &back, &err), FPD_OK);
	/* Signed with the new key: the old deployment (key only) refuses it, the new key's
	 * own signer accepts it. */
	ck_assert_int_eq(
	    fpd_resource_meta_decode((uint8_t *)new_meta, new_len, signer, &back, &err), FPD_EPERM);
	ck_assert_int_eq(
	    fpd_resource_meta_decode((uint8_t *)new_meta, new_len, other_signer, &back, &err),
	    FPD_OK);
	ck_assert_int_eq(
	    fpd_resource_meta_decode((uint8_t *)foreign, foreign_len, rotated, &back, &err),
	    FPD_EPERM);
	free(old_meta);
	free(new_meta);
	free(foreign);
	fpd_meta_signer_free(rotated);
	fpd_meta_signer_free(stranger);
}
END_TEST

/* Key files are read whole: two 5000-byte files equal in their first 4096 bytes give keys
 * that refuse each other's resource_meta (the old reader stopped at 4096 bytes). */
START_TEST(key_files_are_read_whole)
{
	uint8_t material[5000];
	for (size_t i = 0; i < sizeof(material); i++)
		material[i] = (uint8_t)(i * 31 + 7);
	char paths[2][64];
	struct fpd_meta_signer *sg[2];
	for (int f = 0; f < 2; f++) {
		snprintf(paths[f], sizeof(paths[f]), "/tmp/fpd-key-%d-%d", (int)getpid(), f);
		material[4500] = (uint8_t)f; /* differs after byte 4096 only */
		FILE *fp = fopen(paths[f], "wb");
		ck_assert_ptr_nonnull(fp);
		ck_assert_uint_eq(fwrite(material, 1, sizeof(material), fp), sizeof(material));
		fclose(fp);
		struct fpd_keys *k;
		struct fpd_error err;
		ck_assert_int_eq(fpd_keys_load_file(paths[f], &k, &err), FPD_OK);
		ck_assert_int_eq(fpd_meta_signer_new(k, &sg[f], &err), FPD_OK);
		fpd_keys_free(k);
		unlink(paths[f]);
	}
	struct fpd_resource_meta m = sample(), back;
	struct fpd_error err;
	char *bytes;
	size_t len;
	ck_assert_int_eq(fpd_resource_meta_encode(&m, sg[0], &bytes, &len, &err), FPD_OK);
	ck_assert_int_eq(fpd_resource_meta_decode((uint8_t *)bytes, len, sg[0], &back, &err),
	                 FPD_OK);
	ck_assert_int_eq(fpd_resource_meta_decode((uint8_t *)bytes, len, sg[1], &back, &err),
	                 FPD_EPERM);
	free(bytes);
	fpd_meta_signer_free(sg[0]);
	fpd_meta_signer_free(sg[1]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("engine/resource_meta");
	TCase *tc = tcase_create("resource_meta");
	tcase_add_checked_fixture(tc, make_signers, free_signers);
	tcase_add_test(tc, round_trip_and_size);
	tcase_add_test(tc, forged_and_foreign_are_refused);
	tcase_add_test(tc, malformed_is_invalid);
	tcase_add_test(tc, signature_is_hmac_sha256);
	tcase_add_test(tc, previous_keys_verify_only);
	tcase_add_test(tc, key_files_are_read_whole);
	suite_add_tcase(s, tc);
	return fpd_run_suite(s);
}
