/*
 * kubepb_pairs DIR: for each NAME.json in DIR (a pod), the protobuf body flyteplugd would create
 * it with (fpd_kubepb_encode) as NAME.pb, or nothing when the encoder leaves the pod to JSON;
 * prints how many of each. A helper of tests/e2e/kube/test_pod_bodies_go.py, which has the
 * API machinery's own Go decoders read both files of each pair.
 */
#include "kube/kubepb.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: kubepb_pairs DIR\n");
		return 2;
	}
	struct fpd_kubepb *pb;
	struct fpd_error err;
	if (fpd_kubepb_new("Pod", NULL, &pb, &err)) {
		fprintf(stderr, "kubepb_pairs: %s\n", err.text);
		return 1;
	}
	DIR *d = opendir(argv[1]);
	if (!d) {
		perror(argv[1]);
		return 1;
	}
	int encoded = 0, refused = 0, rc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", argv[1], de->d_name);
		json_error_t jerr;
		json_t *obj = json_load_file(path, JSON_ALLOW_NUL, &jerr);
		if (!obj) {
			fprintf(stderr, "%s: %s\n", path, jerr.text);
			rc = 1;
			continue;
		}
		struct fpd_buf b;
		fpd_buf_init(&b, (size_t)3 << 20);
		if (fpd_kubepb_encode(pb, obj, &b, &err) == FPD_OK) {
			snprintf(path + strlen(path) - 5, 6, ".pb");
			FILE *f = fopen(path, "wb");
			if (!f || fwrite(b.data, 1, b.len, f) != b.len || fclose(f)) {
				perror(path);
				rc = 1;
			}
			encoded++;
		} else {
			printf("%s: left to JSON: %s\n", de->d_name, err.text);
			refused++;
		}
		fpd_buf_free(&b);
		json_decref(obj);
	}
	closedir(d);
	fpd_kubepb_free(pb);
	printf("encoded %d, left to JSON %d\n", encoded, refused);
	return rc;
}
