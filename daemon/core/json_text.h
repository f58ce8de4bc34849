/*
 * JSON text from jansson values, byte for byte what json_dumps gives with JSON_COMPACT |
 * JSON_ENCODE_ANY (and JSON_SORT_KEYS when sorted), several times faster: jansson checks every
 * object and array it enters for a cycle through a hash table keyed by the printed address, and
 * decodes every character of every string. Here a depth bound stands in for the cycle check
 * (the daemon never builds cyclic values), and strings are copied a run of plain bytes at a
 * time.
 */
#ifndef FPD_CORE_JSON_TEXT_H
#define FPD_CORE_JSON_TEXT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Deeper values are refused (as is a cycle, which never ends). */
#define FPD_JSON_TEXT_MAX_DEPTH 2048 /* as deep as jansson parses */

/* The text of v, NUL-terminated, to free(); its length (without the NUL) in *len when len is
 * not NULL. NULL, as from json_dumps, for a string that is not valid UTF-8 or a value nested
 * deeper than FPD_JSON_TEXT_MAX_DEPTH. Object members come in insertion order, or sorted by
 * key (strcmp) when sorted is true. */
char *fpd_json_text(const json_t *v, bool sorted, size_t *len);

/* fpd_utf8_valid(), as this writer checks strings, is libflyteplugd's. */
#include <flyteplugd/utf8.h>

/* JSON text written piece by piece, in the same form: for callers that know the shape. Start
 * with {0}; a string that is not valid UTF-8 makes fpd_json_writer_finish return NULL. */
struct fpd_json_writer {
	char *data;
	size_t len, cap;
	bool failed;
};
void fpd_json_writer_raw(struct fpd_json_writer *w, const char *s);
void fpd_json_writer_string(struct fpd_json_writer *w, const char *s);
void fpd_json_writer_int(struct fpd_json_writer *w, json_int_t v);
/* The text, NUL-terminated, to free() (NULL if a string was refused); w is empty again. */
char *fpd_json_writer_finish(struct fpd_json_writer *w);

#endif
