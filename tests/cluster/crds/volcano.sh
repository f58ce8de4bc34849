#!/usr/bin/env bash
# Volcano's PodGroup CRD (scheduling.volcano.sh/v1beta1), from the released Go module
# volcano.sh/volcano at a pinned version (config/crd/volcano/bases/; lib/go-module.sh fetches and
# caches it under crds/volcano-<version>/). Prints one YAML path a line.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/go-module.sh"

fpd_module_crds volcano "${FPD_VOLCANO_VERSION:-v1.15.1}" \
	volcano.sh/volcano config/crd/volcano/bases \
	scheduling.volcano.sh_podgroups.yaml
