/*
 * One attempt of a request as a libcurl transfer: the easy handle's options (method, body,
 * headers, deadline, protocol), and the answer read back through libcurl's callbacks: the
 * status, a Retry-After header, the body into a bounded buffer or, for a streamed 2xx answer,
 * chunk by chunk to the owner. Knows nothing of queues or retries (http.c).
 */
#ifndef FPD_KUBE_TRANSFER_H
#define FPD_KUBE_TRANSFER_H

#include <flyteplugd/buf.h>
#include "kube/endpoint.h"
#include "kube/http.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

/* What every transfer of a lane shares (all borrowed; must outlive its easy handles). */
struct fpd_kube_transfer_conf {
	const struct fpd_kube_endpoint *ep;
	const char *user_agent;
	bool http1; /* HTTP/1.1 on kept-alive connections; otherwise HTTP/2 multiplexed */
	/* libcurl's receive buffer, allocated for each transfer while it runs; 0: libcurl's
	 * 16 KiB. Watches and lists read megabytes through it, calls a few KiB. */
	long buffer_size;
	int64_t connect_timeout_ms;
};

/* What one attempt sends (all borrowed for the attempt). */
struct fpd_kube_transfer_req {
	const char *method, *url, *accept, *content_type, *token;
	const char *body; /* NULL: none */
	size_t body_len;
	int64_t timeout_ms;
};

struct fpd_kube_transfer {
	CURL *easy; /* NULL when no attempt is under way */
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE];
	struct fpd_buf body; /* the buffered answer; its maximum bounds it */
	long status;
	char content_type[128]; /* of the answer being read; "" until its body starts or none */
	long http_version;
	int64_t retry_after_ms; /* -1: none in the last answer */
	bool apf;       /* the last answer came through API Priority and Fairness (a flow schema) */
	bool stream;    /* hand a 2xx body to on_data */
	bool cancelled; /* the owner is gone: stop reading */
	bool aborted;   /* on_data asked to stop */
	bool overflow;  /* the body passed its maximum */
	fpd_kube_data_fn on_data;
	void *ud;
	void *owner;        /* CURLINFO_PRIVATE: found again from the easy handle */
	uint64_t *bytes_in; /* borrowed counter of every byte received */
};

/* A new easy handle with the options of conf (new; curl_easy_cleanup). Aborts when out of
 * memory. */
CURL *fpd_kube_transfer_easy_new(const struct fpd_kube_transfer_conf *conf);

/* Sets t up to send r on e (steals e until fpd_kube_transfer_end). */
void fpd_kube_transfer_begin(struct fpd_kube_transfer *t, CURL *e,
                             const struct fpd_kube_transfer_req *r);

/* After libcurl reported the transfer finished with cc: its status and protocol read, and the
 * outcome as fpd_kube_http_result.code has it (FPD_OK for an answer, FPD_ERR stopped by on_data,
 * FPD_ERANGE too large, FPD_ETIMEDOUT, FPD_EIO). *connects gets the connections it opened. */
int fpd_kube_transfer_outcome(struct fpd_kube_transfer *t, CURLcode cc, long *connects);

/* Ends the attempt: the easy handle, cleared of everything of the attempt, is returned (new
 * to the caller: pool it or free it); NULL when no attempt was under way. */
CURL *fpd_kube_transfer_end(struct fpd_kube_transfer *t);

#endif
