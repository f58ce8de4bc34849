#!/usr/bin/env bash
# JobSet's own CRD (jobset.x-k8s.io/v1alpha2, v0.12.0) as the project publishes it, from
# FPD_UPSTREAM_CRDS (a folder holding jobset-v0.12.0/, as tests/e2e/crd reads it; by default
# ../shared/upstream/crds beside the repository); prints one YAML path a line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
UPSTREAM="${FPD_UPSTREAM_CRDS:-$here/../../../../shared/upstream/crds}"
FILE="$UPSTREAM/jobset-v0.12.0/jobset.x-k8s.io_jobsets.yaml"
[[ -s "$FILE" ]] || { echo "no JobSet CRD at $FILE (set FPD_UPSTREAM_CRDS)" >&2; exit 1; }
echo "$FILE"
