/*
 * The Trainer plugin: `pytorch` tasks as Kubeflow Trainer v2 TrainJobs. Built as the module
 * trainer.so (it replaces the built-in `pytorch` plugin, see trainer.c); the descriptor and
 * settings are declared here for its tests. Arguments are borrowed, results new, as plugin.h.
 */
#ifndef FPD_PLUGINS_TRAINER_H
#define FPD_PLUGINS_TRAINER_H

#include <flyteplugd/plugin.h>
#include <flyteplugd/schema.h>
#include <stdint.h>

extern const struct fpd_plugin fpd_plugin_trainer;

/* `plugins.settings.trainer`. */
struct fpd_trainer_settings {
	char *runtime;     /* runtimeRef.name ("torch-distributed") */
	int runtime_kind;  /* 0 ClusterTrainingRuntime, 1 TrainingRuntime (namespaced) */
	char *trainer_job; /* the runtime's replicated job that runs the trainer ("node") */
	/* A TrainJob without any status this long after its creation fails (retryable, system):
	 * the Trainer controller is not running (1m). */
	int64_t timeout_ms;
};

extern const struct fpd_schema_field fpd_trainer_settings_schema[];
void fpd_trainer_settings_defaults(void *settings);
/* ps, or the defaults when the daemon passed none (borrowed). */
const struct fpd_trainer_settings *fpd_trainer_settings_of(const void *ps);

#endif
