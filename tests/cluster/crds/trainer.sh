#!/usr/bin/env bash
# Kubeflow Trainer v2's own CRDs (TrainJob, TrainingRuntime, ClusterTrainingRuntime of
# trainer.kubeflow.org/v1alpha1), taken from the released Go module github.com/kubeflow/trainer/v2
# at a pinned version (manifests/base/crds/ in the module zip, fetched with `go mod download` through the Go module
# proxy, checksummed by sum.golang.org). Cached under
# ${FPD_CACHE_DIR:-$HOME/.cache/flyteplugd}/crds/trainer-<version>/; prints one YAML path a line.
set -euo pipefail

VERSION="${FPD_KUBEFLOW_TRAINER_VERSION:-v2.3.0}"
MODULE=github.com/kubeflow/trainer/v2
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
CACHE="${FPD_CACHE_DIR:-$HOME/.cache/flyteplugd}/crds/trainer-${VERSION}"
FILES=(trainer.kubeflow.org_trainjobs.yaml trainer.kubeflow.org_trainingruntimes.yaml trainer.kubeflow.org_clustertrainingruntimes.yaml)

have_all() {
	for f in "${FILES[@]}"; do [[ -s "$CACHE/$f" ]] || return 1; done
}

if ! have_all; then
	tmp="$(mktemp -d)"
	trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
	(
		cd "$tmp"
		export GOPATH="$tmp/gopath" GOMODCACHE="$tmp/gopath/pkg/mod" GOFLAGS=-mod=mod
		"$GO" mod init fpd-crds >/dev/null 2>&1
		"$GO" mod download -json "$MODULE@$VERSION" >download.json
	)
	dir="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Dir"])' "$tmp/download.json")"
	mkdir -p "$CACHE.partial"
	for f in "${FILES[@]}"; do
		cp "$dir/manifests/base/crds/$f" "$CACHE.partial/$f"
	done
	echo "$MODULE@$VERSION manifests/base/crds" >"$CACHE.partial/SOURCE"
	rm -rf "$CACHE"
	mv "$CACHE.partial" "$CACHE"
fi

for f in "${FILES[@]}"; do echo "$CACHE/$f"; done
