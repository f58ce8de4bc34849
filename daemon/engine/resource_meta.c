/* resource_meta encoding and signature: see resource_meta.h. */
#include "engine/resource_meta.h"

#include "core/buf.h"
#include "core/mem.h"

#include <flyteplugd/base64.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <string.h>

#define VERSION "fpd1"
#define MAC_BYTES 16
#define MAC_TEXT 22 /* base64url of 16 bytes, no padding */
_Static_assert(MAC_TEXT == FPD_BASE64_RAW_LEN(MAC_BYTES), "MAC_TEXT is the MAC in base64url");

/* HMAC-SHA256 (RFC 2104) from SHA-256 states that have absorbed the padded key: each
 * signature copies them, without the allocations and lookups of a MAC context. */
#define BLOCK 64 /* SHA-256's block size */

struct fpd_meta_signer {
	EVP_MD_CTX *inner, *outer; /* after (key ^ ipad), after (key ^ opad) */
	EVP_MD_CTX *scratch;       /* copied into for each signature */
};

void fpd_meta_signer_free(struct fpd_meta_signer *s)
{
	if (!s)
		return;
	EVP_MD_CTX_free(s->inner);
	EVP_MD_CTX_free(s->outer);
	EVP_MD_CTX_free(s->scratch);
	free(s);
}

int fpd_meta_signer_new(const uint8_t *key, size_t key_len, struct fpd_meta_signer **out,
                        struct fpd_error *err)
{
	*out = NULL;
	struct fpd_meta_signer *s = fpd_calloc(1, sizeof(*s));
	EVP_MD *sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	uint8_t k[BLOCK] = {0}, ipad[BLOCK], opad[BLOCK];
	unsigned int k_len = 0;
	s->inner = EVP_MD_CTX_new();
	s->outer = EVP_MD_CTX_new();
	s->scratch = EVP_MD_CTX_new();
	bool ok = sha256 && s->inner && s->outer && s->scratch;
	if (ok && key_len > BLOCK) /* a long key is hashed first */
		ok = EVP_Digest(key, key_len, k, &k_len, sha256, NULL);
	else if (ok)
		memcpy(k, key, key_len);
	for (size_t i = 0; i < BLOCK; i++) {
		ipad[i] = k[i] ^ 0x36;
		opad[i] = k[i] ^ 0x5c;
	}
	ok = ok && EVP_DigestInit_ex(s->inner, sha256, NULL) &&
	     EVP_DigestUpdate(s->inner, ipad, BLOCK) &&
	     EVP_DigestInit_ex(s->outer, sha256, NULL) && EVP_DigestUpdate(s->outer, opad, BLOCK);
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(ipad, sizeof(ipad));
	OPENSSL_cleanse(opad, sizeof(opad));
	EVP_MD_free(sha256); /* the contexts hold their own references */
	if (!ok) {
		fpd_meta_signer_free(s);
		ERR_clear_error();
		return fpd_error_set(err, FPD_ERR, "OpenSSL has no SHA-256");
	}
	*out = s;
	return FPD_OK;
}

static void sign(const struct fpd_meta_signer *s, const char *data, size_t len,
                 char mac_text[MAC_TEXT + 1])
{
	uint8_t ih[EVP_MAX_MD_SIZE], mac[EVP_MAX_MD_SIZE];
	unsigned int ih_len = 0, mac_len = 0;
	if (!EVP_MD_CTX_copy_ex(s->scratch, s->inner) ||
	    !EVP_DigestUpdate(s->scratch, data, len) ||
	    !EVP_DigestFinal_ex(s->scratch, ih, &ih_len) ||
	    !EVP_MD_CTX_copy_ex(s->scratch, s->outer) ||
	    !EVP_DigestUpdate(s->scratch, ih, ih_len) ||
	    !EVP_DigestFinal_ex(s->scratch, mac, &mac_len) || mac_len < MAC_BYTES)
		fpd_die("HMAC-SHA256 failed"); /* only when out of memory: nothing sane to sign */
	fpd_base64_encode(mac, MAC_BYTES, FPD_BASE64_URL | FPD_BASE64_NOPAD, mac_text);
}

static int field_ok(const char *s)
{
	return s[0] && !strchr(s, '|');
}

int fpd_resource_meta_encode(const struct fpd_resource_meta *meta,
                             const struct fpd_meta_signer *signer, char **out, size_t *len,
                             struct fpd_error *err)
{
	if (!field_ok(meta->plugin) || !field_ok(meta->namespace_) || !field_ok(meta->name) ||
	    !field_ok(meta->uid))
		return fpd_error_set(err, FPD_EINVAL, "resource_meta fields must be non-empty");
	struct fpd_buf b;
	fpd_buf_init(&b, FPD_RESOURCE_META_MAX);
	int rc = fpd_buf_printf(&b, VERSION "|%s|%s|%s|%s|", meta->plugin, meta->namespace_,
	                        meta->name, meta->uid);
	char mac[MAC_TEXT + 1];
	if (!rc) {
		sign(signer, b.data, b.len, mac);
		rc = fpd_buf_append_str(&b, mac);
	}
	if (rc) {
		fpd_buf_free(&b);
		return fpd_error_set(err, FPD_ERANGE, "resource_meta longer than %d bytes",
		                     FPD_RESOURCE_META_MAX);
	}
	*out = fpd_buf_steal(&b, len);
	return FPD_OK;
}

/* Copies field i of the '|'-separated text into dst (size bytes); 0 on success. */
static int copy_field(const char *start, const char *end, char *dst, size_t size)
{
	size_t n = (size_t)(end - start);
	if (n == 0 || n >= size)
		return -1;
	memcpy(dst, start, n);
	dst[n] = '\0';
	return 0;
}

int fpd_resource_meta_decode(const uint8_t *data, size_t len, const struct fpd_meta_signer *signer,
                             struct fpd_resource_meta *meta, struct fpd_error *err)
{
	if (len == 0)
		return fpd_error_set(err, FPD_EINVAL, "resource_meta is empty");
	if (len > FPD_RESOURCE_META_MAX || memchr(data, '\0', len))
		return fpd_error_set(err, FPD_EINVAL, "resource_meta is not one of flyteplugd's");
	const char *s = (const char *)data;
	const char *bars[6];
	size_t nbars = 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '|' && nbars < 6)
			bars[nbars++] = s + i;
		else if (s[i] == '|')
			return fpd_error_set(err, FPD_EINVAL, "resource_meta has too many fields");
	if (nbars != 5 || (size_t)(bars[0] - s) != strlen(VERSION) ||
	    memcmp(s, VERSION, strlen(VERSION)) != 0)
		return fpd_error_set(err, FPD_EINVAL,
		                     "resource_meta is not one of flyteplugd's (expected version "
		                     "%s)",
		                     VERSION);
	const char *mac_given = bars[4] + 1;
	size_t mac_len = len - (size_t)(mac_given - s);
	if (mac_len != MAC_TEXT)
		return fpd_error_set(err, FPD_EINVAL, "resource_meta signature is malformed");
	memset(meta, 0, sizeof(*meta));
	if (copy_field(bars[0] + 1, bars[1], meta->plugin, sizeof(meta->plugin)) ||
	    copy_field(bars[1] + 1, bars[2], meta->namespace_, sizeof(meta->namespace_)) ||
	    copy_field(bars[2] + 1, bars[3], meta->name, sizeof(meta->name)) ||
	    copy_field(bars[3] + 1, bars[4], meta->uid, sizeof(meta->uid)))
		return fpd_error_set(err, FPD_EINVAL,
		                     "resource_meta has an empty or oversized field");
	char mac_want[MAC_TEXT + 1];
	sign(signer, s, (size_t)(mac_given - s), mac_want);
	if (CRYPTO_memcmp(mac_want, mac_given, MAC_TEXT) != 0)
		return fpd_error_set(err, FPD_EPERM,
		                     "resource_meta signature does not match: it was not issued "
		                     "by this deployment of flyteplugd");
	return FPD_OK;
}
