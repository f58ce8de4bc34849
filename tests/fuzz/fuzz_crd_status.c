/*
 * Status rules of declared task types: the input is a jq program, a NUL byte, then a JSON
 * document. The program goes through the safety scan as a declaration's would; one that passes
 * and compiles is run on the document (bounded by the scan, never by a timer). A program the
 * scan accepts must not run away: libFuzzer's -timeout and -rss_limit_mb catch one that does.
 */
#include "crd/internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	if (!nul || (size_t)(nul - data) > FPD_CRD_JQ_MAX_LEN ||
	    size - (size_t)(nul - data) > 65536)
		return 0;
	char *prog = strndup((const char *)data, (size_t)(nul - data));
	json_t *doc = json_loadb((const char *)nul + 1, size - (size_t)(nul - data) - 1,
	                         JSON_DECODE_ANY, NULL);
	struct fpd_error err = {0};
	struct fpd_crd_jq *q = NULL;
	if (doc && fpd_crd_jq_compile(prog, "rule", &q, &err) == 0) {
		json_t *out = NULL;
		char msg[200];
		fpd_crd_jq_first(q, fpd_crd_jv_from_json(doc), &out, msg, sizeof(msg));
		(void)fpd_crd_truthy(out);
		json_decref(out);
		fpd_crd_jq_free(q);
	} else {
		fpd_crd_jq_check(prog, "rule", &err);
	}
	json_decref(doc);
	free(prog);
	return 0;
}
