/* resource_meta encoding and signature: see resource_meta.h. */
#include "engine/resource_meta.h"

#include <flyteplugd/buf.h>
#include <flyteplugd/mem.h>

#include <flyteplugd/base64.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdbool.h>
#include <string.h>

#define VERSION "fpd1"
#define MAC_BYTES 16
#define MAC_TEXT 22 /* base64url of 16 bytes, no padding */
_Static_assert(MAC_TEXT == FPD_BASE64_RAW_LEN(MAC_BYTES), "MAC_TEXT is the MAC in base64url");

/* HMAC-SHA256 through OpenSSL's EVP_MAC: the algorithm is fetched once and each key set once,
 * in a context of its own. Each signature re-initialises a context without a key, which makes
 * HMAC start again from the digest states of the key it holds (195 ns a signature here; a
 * duplicated context per signature costs 460 ns, mostly allocations). The first context signs;
 * verification tries each in turn, so the keys a rotation left behind still verify. The loop is
 * single-threaded: one context per key. */
struct fpd_meta_signer {
	EVP_MAC *hmac;
	EVP_MAC_CTX *keyed[FPD_KEYS_MAX];
	size_t count;
};

void fpd_meta_signer_free(struct fpd_meta_signer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->count; i++)
		EVP_MAC_CTX_free(s->keyed[i]);
	EVP_MAC_free(s->hmac);
	free(s);
}

int fpd_meta_signer_new(const struct fpd_keys *keys, struct fpd_meta_signer **out,
                        struct fpd_error *err)
{
	*out = NULL;
	size_t n = fpd_keys_count(keys);
	if (n == 0 || n > FPD_KEYS_MAX)
		return fpd_error_set(err, FPD_EINVAL, "resource_meta needs 1 to %d signing keys",
		                     FPD_KEYS_MAX);
	struct fpd_meta_signer *s = fpd_calloc(1, sizeof(*s));
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
	    OSSL_PARAM_construct_end(),
	};
	s->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	bool ok = s->hmac != NULL;
	for (size_t i = 0; ok && i < n; i++) {
		s->keyed[i] = EVP_MAC_CTX_new(s->hmac);
		if (s->keyed[i])
			s->count++;
		ok = s->keyed[i] &&
		     EVP_MAC_init(s->keyed[i], fpd_keys_at(keys, i)->bytes, FPD_KEY_LEN, params);
	}
	if (!ok) {
		fpd_meta_signer_free(s);
		ERR_clear_error();
		return fpd_error_set(err, FPD_ERR, "OpenSSL has no HMAC-SHA256");
	}
	*out = s;
	return FPD_OK;
}

static void sign(EVP_MAC_CTX *keyed, const char *data, size_t len, char mac_text[MAC_TEXT + 1])
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	size_t mac_len = 0;
	if (!EVP_MAC_init(keyed, NULL, 0, NULL) ||
	    !EVP_MAC_update(keyed, (const uint8_t *)data, len) ||
	    !EVP_MAC_final(keyed, mac, &mac_len, sizeof(mac)) || mac_len < MAC_BYTES)
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
		sign(signer->keyed[0], b.data, b.len, mac);
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
	size_t signed_len = (size_t)(mac_given - s);
	for (size_t i = 0; i < signer->count; i++) {
		char mac_want[MAC_TEXT + 1];
		sign(signer->keyed[i], s, signed_len, mac_want);
		if (CRYPTO_memcmp(mac_want, mac_given, MAC_TEXT) == 0)
			return FPD_OK;
	}
	return fpd_error_set(err, FPD_EPERM,
	                     "resource_meta signature does not match: it was not issued by this "
	                     "deployment of flyteplugd (nor with a previous key it still trusts)");
	return FPD_OK;
}
