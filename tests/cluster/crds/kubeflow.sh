#!/usr/bin/env bash
# The Kubeflow training operator's own CRDs (PyTorchJob, TFJob, MPIJob of kubeflow.org/v1), from
# the released Go module github.com/kubeflow/training-operator at a pinned version
# (manifests/base/crds/; lib/go-module.sh fetches and caches them under crds/kubeflow-<version>/).
# Prints one YAML path a line.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-module.sh"

fpd_module_crds kubeflow "${FPD_KUBEFLOW_TRAINING_OPERATOR_VERSION:-v1.8.1}" \
	github.com/kubeflow/training-operator manifests/base/crds \
	kubeflow.org_pytorchjobs.yaml kubeflow.org_tfjobs.yaml kubeflow.org_mpijobs.yaml
