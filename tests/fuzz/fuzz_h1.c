/*
 * Arbitrary bytes as an API server's answer to the HTTP/1.1 response parser of the calls lane
 * (kube/h1.h). It must finish, ask for more, or refuse with a reason, never crash, leak or read
 * out of bounds. Beyond that: the first byte chooses how the rest is cut into reads, and every
 * cut gives the same result as one read of all of it (same outcome, status, body and
 * keep-alive); the body never passes its bound; a finished answer used no more bytes than it
 * was given. Seeds: corpus/h1/ (answers of the real API server's shapes).
 */
#include "kube/h1.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BODY_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct outcome {
	enum fpd_h1_parse r;
	size_t used;
	int status;
	bool keep_alive;
	struct fpd_buf body;
};

static void run(const char *text, size_t len, size_t step, bool eof, struct outcome *o)
{
	fpd_buf_init(&o->body, BODY_MAX);
	struct fpd_h1_parser p;
	fpd_h1_parser_init(&p, &o->body);
	o->r = FPD_H1_MORE;
	o->used = 0;
	size_t at = 0;
	while (at < len && o->r == FPD_H1_MORE) {
		size_t n = len - at > step ? step : len - at;
		size_t used = 0;
		o->r = fpd_h1_parser_feed(&p, text + at, n, &used);
		if (used > n)
			abort();
		if (o->r == FPD_H1_DONE)
			o->used = at + used;
		if (o->r == FPD_H1_BAD && !p.why[0])
			abort(); /* a refusal always says why */
		at += n;
	}
	if (o->r == FPD_H1_MORE && eof)
		o->r = fpd_h1_parser_eof(&p);
	o->status = p.status;
	o->keep_alive = p.keep_alive;
	fpd_h1_parser_free(&p);
	if (o->body.len > BODY_MAX)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 64 * 1024)
		return 0;
	size_t step = data[0] % 17 + 1;
	bool eof = data[0] & 0x80;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	struct outcome whole, cut;
	run(text, len, len ? len : 1, eof, &whole);
	run(text, len, step, eof, &cut);
	if (whole.r != cut.r)
		abort();
	if (whole.r == FPD_H1_DONE &&
	    (whole.used != cut.used || whole.used > len || whole.status != cut.status ||
	     whole.keep_alive != cut.keep_alive || whole.body.len != cut.body.len ||
	     (whole.body.len && memcmp(whole.body.data, cut.body.data, whole.body.len) != 0)))
		abort();
	fpd_buf_free(&whole.body);
	fpd_buf_free(&cut.body);
	return 0;
}
