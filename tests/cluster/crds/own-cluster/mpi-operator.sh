#!/usr/bin/env bash
# mpi-operator's own CRD (MPIJob of kubeflow.org/v2beta1), from the released Go module
# github.com/kubeflow/mpi-operator at a pinned version (manifests/base/; ../lib/go-module.sh
# fetches and caches it under crds/mpi-operator-<version>/). Prints one YAML path a line.
# Its CRD is mpijobs.kubeflow.org, the training operator's name too: the two cannot share a
# cluster, so this folder is not installed by the operator tests' crds fixture; the tests that
# need it start a cluster of their own.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/go-module.sh"

fpd_module_crds mpi-operator "${FPD_MPI_OPERATOR_VERSION:-v0.8.0}" \
	github.com/kubeflow/mpi-operator manifests/base kubeflow.org_mpijobs.yaml
