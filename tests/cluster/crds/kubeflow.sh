#!/usr/bin/env bash
# The Kubeflow training operator's own CRDs (PyTorchJob, TFJob, MPIJob of kubeflow.org/v1), taken
# from the released Go module github.com/kubeflow/training-operator at a pinned version
# (manifests/base/crds/ in the module zip, fetched with `go mod download` through the Go module
# proxy, checksummed by sum.golang.org). Cached under
# ${FPD_CACHE_DIR:-$HOME/.cache/flyteplugd}/crds/kubeflow-<version>/; prints one YAML path a line.
set -euo pipefail

VERSION="${FPD_KUBEFLOW_TRAINING_OPERATOR_VERSION:-v1.8.1}"
MODULE=github.com/kubeflow/training-operator
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
CACHE="${FPD_CACHE_DIR:-$HOME/.cache/flyteplugd}/crds/kubeflow-${VERSION}"
FILES=(kubeflow.org_pytorchjobs.yaml kubeflow.org_tfjobs.yaml kubeflow.org_mpijobs.yaml)

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
