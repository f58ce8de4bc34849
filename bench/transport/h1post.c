/*
 * The same POST, one at a time over a kept-alive HTTP/1.1 connection, by libcurl (as
 * flyteplugd's calls lane sends it: its easy interface, the Accept and headers the daemon
 * sends) and by a plain OpenSSL client (write the request, read the answer), interleaved, each
 * after a 2 ms pause. Prints the median of each and their difference: what libcurl's own work
 * per request costs on the path of a CreateTask.
 *
 *   h1post HOST PORT CA CERT KEY BODY NAMESPACE SAMPLES
 * BODY is a pod as JSON whose metadata.name is NAMEX (replaced by a fresh name per request).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ACCEPT "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "h1post: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die(path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	if (fread(b, 1, (size_t)n, f) != (size_t)n)
		die(path);
	b[n] = '\0';
	fclose(f);
	return b;
}

static size_t discard(char *d, size_t size, size_t n, void *ud)
{
	(void)d;
	(void)ud;
	return size * n;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Reads one response from s into buf (cap bytes): headers, then a Content-Length or chunked
 * body. Returns the status code. */
static int read_response(SSL *s, char *buf, size_t cap)
{
	size_t got = 0, body_at = 0;
	long length = -1;
	int chunked = 0;
	for (;;) {
		if (body_at) {
			if (length >= 0 && got >= body_at + (size_t)length)
				break;
			if (chunked) { /* walk the chunks read so far: done at the last one */
				size_t p = body_at;
				int done = 0;
				for (;;) {
					char *eol = memmem(buf + p, got - p, "\r\n", 2);
					if (!eol)
						break;
					size_t n = strtoul(buf + p, NULL, 16);
					size_t next = (size_t)(eol - buf) + 2 + n + 2;
					if (n == 0) {
						done = got >= (size_t)(eol - buf) + 4;
						break;
					}
					if (next > got)
						break;
					p = next;
				}
				if (done)
					break;
			}
		}
		if (got == cap)
			die("response too large");
		int r = SSL_read(s, buf + got, (int)(cap - got));
		if (r <= 0)
			die("connection lost");
		got += (size_t)r;
		if (!body_at) {
			char *end = memmem(buf, got, "\r\n\r\n", 4);
			if (end) {
				body_at = (size_t)(end - buf) + 4;
				*end = '\0';
				char *cl = strcasestr(buf, "\r\ncontent-length:");
				length = cl ? atol(cl + 17) : -1;
				chunked = strcasestr(buf, "\r\ntransfer-encoding: chunked") != NULL;
				*end = '\r';
			}
		}
	}
	return atoi(buf + 9);
}

int main(int argc, char **argv)
{
	if (argc != 9) {
		fprintf(stderr, "usage: h1post HOST PORT CA CERT KEY BODY NAMESPACE SAMPLES\n");
		return 2;
	}
	const char *host = argv[1], *ns = argv[7];
	int port = atoi(argv[2]), samples = atoi(argv[8]);
	char *tmpl = read_file(argv[6]);
	char *mark = strstr(tmpl, "NAMEX");
	if (!mark || samples < 1)
		die("BODY needs a NAMEX name, SAMPLES at least 1");
	char url[512];
	snprintf(url, sizeof(url), "https://%s:%d/api/v1/namespaces/%s/pods", host, port, ns);

	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURL *e = curl_easy_init();
	struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: " ACCEPT);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_CAINFO, argv[3]);
	curl_easy_setopt(e, CURLOPT_SSLCERT, argv[4]);
	curl_easy_setopt(e, CURLOPT_SSLKEY, argv[5]);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);

	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!SSL_CTX_load_verify_locations(ctx, argv[3], NULL) ||
	    !SSL_CTX_use_certificate_file(ctx, argv[4], SSL_FILETYPE_PEM) ||
	    !SSL_CTX_use_PrivateKey_file(ctx, argv[5], SSL_FILETYPE_PEM))
		die("TLS credentials");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&addr, sizeof(addr)))
		die("connect (HOST must be an IPv4 address)");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	SSL *s = SSL_new(ctx);
	SSL_set_fd(s, fd);
	if (SSL_connect(s) != 1)
		die("TLS handshake");

	double *by_curl = calloc((size_t)samples, sizeof(double));
	double *by_ssl = calloc((size_t)samples, sizeof(double));
	size_t cap = 1 << 20;
	char *body = malloc(cap), *req = malloc(cap + 1024), *buf = malloc(cap);
	for (int i = 0; i < samples; i++) {
		for (int raw = 0; raw <= 1; raw++) {
			int n = snprintf(body, cap, "%.*s%s%d-%d%s", (int)(mark - tmpl), tmpl,
			                 raw ? "ssl" : "curl", i, (int)getpid(), mark + 5);
			usleep(2000);
			double t0 = now();
			if (!raw) {
				curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
				curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)n);
				long code = 0;
				if (curl_easy_perform(e) != CURLE_OK)
					die("libcurl POST");
				curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
				by_curl[i] = now() - t0;
				if (code != 201)
					die("libcurl POST not created");
			} else {
				int h = snprintf(
				    req, 1024,
				    "POST /api/v1/namespaces/%s/pods HTTP/1.1\r\nHost: %s:%d\r\n"
				    "User-Agent: h1post\r\nAccept: " ACCEPT "\r\n"
				    "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n",
				    ns, host, port, n);
				memcpy(req + h, body, (size_t)n);
				if (SSL_write(s, req, h + n) != h + n)
					die("write");
				int code = read_response(s, buf, cap);
				by_ssl[i] = now() - t0;
				if (code != 201)
					die("OpenSSL POST not created");
			}
		}
	}
	qsort(by_curl, (size_t)samples, sizeof(double), by_value);
	qsort(by_ssl, (size_t)samples, sizeof(double), by_value);
	double c = by_curl[samples / 2] * 1e3, o = by_ssl[samples / 2] * 1e3;
	printf("POST over kept-alive HTTP/1.1, %d samples: libcurl median %.3f ms, plain OpenSSL "
	       "%.3f ms; libcurl's own work %.3f ms per request\n",
	       samples, c, o, c - o);
	return 0;
}
