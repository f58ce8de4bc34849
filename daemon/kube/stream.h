/*
 * Incremental parsers for what the API server streams back, fed chunk by chunk as libcurl
 * delivers it, so that neither a watch nor a list of 10,000 objects is ever held whole:
 *
 * - lines: a watch response is newline-delimited JSON, one event per line; an event may be
 *   split across any number of chunks and a chunk may hold many events.
 * - list items: a list response is one JSON object whose "items" array holds the objects;
 *   each item is handed over as its own complete JSON text as soon as it has arrived, and the
 *   rest of the document (kind, metadata.resourceVersion, metadata.continue) is kept, with an
 *   empty items array, to be parsed at the end.
 *
 * Both are bounded: a line or an item longer than the maximum given at init fails with
 * FPD_ERANGE (the largest legitimate one is one object, which etcd limits to about 1.5 MiB).
 */
#ifndef FPD_KUBE_STREAM_H
#define FPD_KUBE_STREAM_H

#include <flyteplugd/buf.h>
#include <flyteplugd/error.h>

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Called with one complete piece (a line without its newline, or one list item), borrowed for
 * the duration of the call. A nonzero return stops the feed, which returns that value. */
typedef int (*fpd_kube_piece_fn)(void *ud, const char *data, size_t len);

struct fpd_kube_lines {
	struct fpd_buf partial; /* the start of a line whose end has not arrived */
};

/* Initializes an empty splitter whose lines may be at most max_line bytes. Allocates nothing. */
void fpd_kube_lines_init(struct fpd_kube_lines *l, size_t max_line);
void fpd_kube_lines_free(struct fpd_kube_lines *l);

/* Feeds bytes; calls fn for each complete non-empty line ("\n" or "\r\n" ended). FPD_ERANGE
 * (err says so) when a line passes the maximum. */
int fpd_kube_lines_feed(struct fpd_kube_lines *l, const char *data, size_t len,
                        fpd_kube_piece_fn fn, void *ud, struct fpd_error *err);

/* True if bytes of an unfinished line are pending (a stream that ends here was cut). */
bool fpd_kube_lines_pending(const struct fpd_kube_lines *l);

struct fpd_kube_items {
	struct fpd_buf item; /* the current item, while it arrives */
	struct fpd_buf rest; /* the document without the items' contents */
	int depth;           /* nesting depth of objects and arrays */
	int items_depth;     /* depth inside the items array, 0 when not in it */
	bool in_string, escape;
	bool expect_key; /* at depth 1, the next string is a key */
	bool in_key;
	char key[8];     /* the current top-level key, enough to recognise "items" */
	size_t key_len;  /* may pass sizeof(key): then it is not "items" */
	bool items_next; /* the last top-level key was "items": its value may be the array */
	size_t count;    /* items delivered */
	bool done;       /* the top-level object has closed */
};

/* Initializes an empty splitter; an item may be at most max_item bytes, the rest of the
 * document at most max_rest. Allocates nothing. */
void fpd_kube_items_init(struct fpd_kube_items *it, size_t max_item, size_t max_rest);
void fpd_kube_items_free(struct fpd_kube_items *it);

/* Feeds bytes; calls fn with each complete element of the top-level "items" array.
 * FPD_EINVAL for input that is not a JSON object with an items array of objects, FPD_ERANGE
 * past a maximum. */
int fpd_kube_items_feed(struct fpd_kube_items *it, const char *data, size_t len,
                        fpd_kube_piece_fn fn, void *ud, struct fpd_error *err);

/* After the last feed: parses the rest of the document and returns it in *doc (a new
 * reference; its "items" is an empty array). FPD_EINVAL if the document is incomplete. */
int fpd_kube_items_finish(struct fpd_kube_items *it, json_t **doc, struct fpd_error *err);

#endif
