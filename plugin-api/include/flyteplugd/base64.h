/*
 * Base64 (RFC 4648), the one codec of flyteplugd and its plugins. Flags choose the alphabet and
 * how strict decoding is, so that each caller gets the rules of the Go code it mirrors:
 *   0                                    Go's base64.StdEncoding: padded standard alphabet
 *   FPD_BASE64_URL | FPD_BASE64_NOPAD    base64url without padding (RawURLEncoding)
 *   FPD_BASE64_EITHER | FPD_BASE64_NOPAD protojson's bytes: either alphabet, padding optional
 *   FPD_BASE64_NOPAD | FPD_BASE64_SPACE  kubeconfig data: padding optional, whitespace ignored
 * Bits a final partial group does not use are ignored, as Go's non-strict decoders do.
 *
 * (OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock do not fit: no URL alphabet, no unpadded input,
 * and the decoded length counts the padding. libflyteplugd also stays free of libcrypto.)
 */
#ifndef FLYTEPLUGD_BASE64_H
#define FLYTEPLUGD_BASE64_H

#include <stddef.h>
#include <stdint.h>

enum {
	FPD_BASE64_URL = 1 << 0,    /* the URL-safe alphabet ('-', '_' for '+', '/') */
	FPD_BASE64_NOPAD = 1 << 1,  /* encode: no '='; decode: padding optional */
	FPD_BASE64_EITHER = 1 << 2, /* decode: a '-' or '_' anywhere selects the URL alphabet */
	FPD_BASE64_SPACE = 1 << 3,  /* decode: spaces, tabs, CR and LF anywhere are skipped */
};

/* Characters fpd_base64_encode writes for n bytes, with padding and without it. */
#define FPD_BASE64_LEN(n) (((n) + 2) / 3 * 4)
#define FPD_BASE64_RAW_LEN(n) (((n)*4 + 2) / 3)

/* Encodes n bytes of data into out, which must hold that length plus one (FPD_BASE64_LEN or,
 * with FPD_BASE64_NOPAD, FPD_BASE64_RAW_LEN), and NUL-terminates it. Flags: FPD_BASE64_URL, FPD_BASE64_NOPAD. Returns the length written. */
size_t fpd_base64_encode(const void *data, size_t n, unsigned flags, char *out);

/* Decodes len characters of s. On success *out is a new allocation for free() holding *n
 * bytes and a terminating NUL (not counted), and 0 is returned; on bad input (a character
 * outside the alphabet, misplaced or missing padding, a lone final character) FPD_EINVAL,
 * *out and *n untouched. */
int fpd_base64_decode(const char *s, size_t len, unsigned flags, uint8_t **out, size_t *n);

#endif
