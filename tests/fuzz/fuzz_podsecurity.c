/*
 * The Pod Security Standards checks (engine/podsecurity.h) on arbitrary JSON: each input is
 * taken as an object and walked at every level with the pod spec paths of every built-in plugin
 * (and wildcard paths over anything), and as a bare pod spec. A result must be 0, FPD_EPERM or
 * FPD_EINVAL, and a refusal must carry a message. Seeds: corpus/podsecurity/.
 */
#include "engine/podsecurity.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_INPUT (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const pod[] = {"spec", NULL};
static const char *const kubeflow[] = {"spec.pytorchReplicaSpecs.*.template.spec",
                                       "spec.tfReplicaSpecs.*.template.spec",
                                       "spec.mpiReplicaSpecs.*.template.spec", NULL};
static const char *const spark[] = {"spark:spec.driver", "spark:spec.executor",
                                    "spec.driver.template.spec", "spec.executor.template.spec",
                                    NULL};
static const char *const ray[] = {"spec.rayClusterSpec.headGroupSpec.template.spec",
                                  "spec.rayClusterSpec.workerGroupSpecs.*.template.spec",
                                  "spec.submitterPodTemplate.spec", NULL};
static const char *const dask[] = {"spec.job.spec", "spec.cluster.spec.scheduler.spec",
                                   "spec.cluster.spec.worker.spec", NULL};
static const char *const wild[] = {"*", "*.*", "*.*.spec", "spark:*.driver", "spec.*.*.*.spec",
                                   NULL};
static const char *const *const path_sets[] = {pod, kubeflow, spark, ray, dask, wild};

static void expect_sane(int rc, const struct fpd_error *err)
{
	if (rc != FPD_OK && rc != FPD_EPERM && rc != FPD_EINVAL)
		abort();
	if (rc != FPD_OK && (err->text[0] == '\0' || strncmp(err->text, "pod security", 12)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FUZZ_MAX_INPUT)
		return 0;
	json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (!v)
		return 0;
	for (int level = FPD_PSS_PRIVILEGED; level <= FPD_PSS_RESTRICTED; level++) {
		struct fpd_error err;
		for (size_t i = 0; i < sizeof(path_sets) / sizeof(path_sets[0]); i++) {
			fpd_error_clear(&err);
			int rc = fpd_podsecurity_check_object((enum fpd_pss_level)level, v,
			                                      path_sets[i], &err);
			expect_sane(rc, &err);
		}
		fpd_error_clear(&err);
		int rc = fpd_podsecurity_check((enum fpd_pss_level)level, v, NULL, &err);
		expect_sane(rc, &err);
		fpd_error_clear(&err);
		rc = fpd_podsecurity_check((enum fpd_pss_level)level, json_object_get(v, "spec"),
		                           json_object_get(v, "metadata"), &err);
		expect_sane(rc, &err);
	}
	json_decref(v);
	return 0;
}
