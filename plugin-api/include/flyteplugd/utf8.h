/*
 * UTF-8 as jansson (and so every Kubernetes object) and proto3 string fields require it: no
 * overlong forms, no surrogates, nothing past U+10FFFF. NUL bytes are allowed.
 */
#ifndef FLYTEPLUGD_UTF8_H
#define FLYTEPLUGD_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Whether s[0..n) is valid UTF-8. */
bool fpd_utf8_valid(const char *s, size_t n);

/* The length (2 to 4) of the multi-byte sequence at s, reading at most n bytes (n >= 1), or 0
 * when s[0] does not start a valid one (an ASCII byte included: callers handle those). */
size_t fpd_utf8_sequence(const unsigned char *s, size_t n);

#endif
