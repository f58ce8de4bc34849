#!/usr/bin/env bash
# Kubeflow Trainer v2's own CRDs (TrainJob, TrainingRuntime, ClusterTrainingRuntime of
# trainer.kubeflow.org/v1alpha1), from the released Go module github.com/kubeflow/trainer/v2 at
# a pinned version (manifests/base/crds/; lib/go-module.sh fetches and caches them under
# crds/trainer-<version>/). Prints one YAML path a line.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-module.sh"

fpd_module_crds trainer "${FPD_KUBEFLOW_TRAINER_VERSION:-v2.3.0}" \
	github.com/kubeflow/trainer/v2 manifests/base/crds \
	trainer.kubeflow.org_trainjobs.yaml trainer.kubeflow.org_trainingruntimes.yaml \
	trainer.kubeflow.org_clustertrainingruntimes.yaml
