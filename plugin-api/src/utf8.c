/* UTF-8 validation as jansson and proto3 require it: see utf8.h. */
#include <flyteplugd/utf8.h>

#include <stdint.h>

/* The length of the UTF-8 sequence at s (at most n bytes), 0 when it is not one jansson
 * accepts: no overlong forms, no surrogates, nothing past U+10FFFF. */
size_t fpd_utf8_sequence(const unsigned char *s, size_t n)
{
	unsigned char u = s[0];
	size_t count;
	uint32_t value;
	if (u < 0xC2 || u > 0xF4)
		return 0; /* a continuation byte, an overlong lead byte, or past U+10FFFF */
	if (u <= 0xDF) {
		count = 2;
		value = u & 0x1F;
	} else if (u <= 0xEF) {
		count = 3;
		value = u & 0x0F;
	} else {
		count = 4;
		value = u & 0x07;
	}
	if (count > n)
		return 0;
	for (size_t i = 1; i < count; i++) {
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
		value = (value << 6) | (s[i] & 0x3F);
	}
	if (value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF) ||
	    (count == 3 && value < 0x800) || (count == 4 && value < 0x10000))
		return 0;
	return count;
}

bool fpd_utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str, *end = s + n;
	while (s < end) {
		if (*s < 0x80) {
			s++;
			continue;
		}
		size_t k = fpd_utf8_sequence(s, (size_t)(end - s));
		if (!k)
			return false;
		s += k;
	}
	return true;
}
