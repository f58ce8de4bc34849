/*
 * secret_key — a shared random key kept in a Secret: read it, or create it once for every
 * replica.
 *
 * Design note. Replicas that sign and verify the same tokens need the same key, and nobody
 * should have to generate one by hand. fpd_secret_key_ensure GETs the Secret; when it does not
 * exist, it POSTs one whose data key holds `random_bytes` bytes from OpenSSL's RAND_bytes.
 * Replicas starting together race on that POST: the API server lets exactly one create win,
 * the others get 409 AlreadyExists, read the winner's Secret and use it, so every replica ends
 * with the same data. An existing Secret is used as it is (never rewritten: rotating is the
 * operator's act), but one without the data key is an error, not something to overwrite.
 *
 * The module knows nothing of what the bytes mean: it hands over the Secret's `data` (base64
 * values, as the API server returns them) for the caller to turn into keys
 * (engine/keys.h: fpd_keys_from_secret_data). It runs on the loop like every client call.
 */
#ifndef FPD_KUBE_SECRET_KEY_H
#define FPD_KUBE_SECRET_KEY_H

#include "kube/client.h"

struct fpd_secret_key_opts {
	const char *namespace_; /* NULL/"": the client's namespace */
	const char *name;       /* the Secret */
	const char *data_key;   /* e.g. "signing-key" */
	size_t random_bytes;    /* size of a created key; 0: 32 */
};

/* Called once: code FPD_OK with data (borrowed for the call: the Secret's `data` object) and
 * created (true when this call created the Secret); or a negative FPD_E* with err explaining
 * (FPD_EPERM when RBAC forbids reading or creating the Secret, with the verbs needed). */
typedef void (*fpd_secret_key_fn)(void *ud, int code, const json_t *data, bool created,
                                  const struct fpd_error *err);

struct fpd_secret_key;

/* Starts reading (and if needed creating) the Secret. Returns FPD_AGAIN and *out (new: a handle
 * valid until done has run or fpd_secret_key_cancel) when under way; a negative FPD_E* for bad
 * options (done never called). The client (borrowed) must outlive the call. */
int fpd_secret_key_ensure(struct fpd_kube_client *c, const struct fpd_secret_key_opts *opts,
                          fpd_secret_key_fn done, void *ud, struct fpd_secret_key **out,
                          struct fpd_error *err);

/* Abandons a call still under way: done will not run, the handle is freed. Must not be called
 * after done has run (the handle is gone by then). */
void fpd_secret_key_cancel(struct fpd_secret_key *s);

#endif
