#!/usr/bin/env bash
# mpi-operator's own CRD (MPIJob of kubeflow.org/v2beta1), taken
# from the released Go module github.com/kubeflow/mpi-operator at a pinned version
# (manifests/base/ in the module zip, fetched with `go mod download` through the Go module
# proxy, checksummed by sum.golang.org). Cached under
# ${FPD_CACHE_DIR:-$HOME/.cache/flyteplugd}/crds/mpi-operator-<version>/; prints one YAML path a line.
# Its CRD is mpijobs.kubeflow.org, the training operator's name too: the two cannot share a
# cluster, so this folder is not installed by the operator tests' crds fixture; the tests that
# need it start a cluster of their own.
set -euo pipefail

VERSION="${FPD_MPI_OPERATOR_VERSION:-v0.8.0}"
MODULE=github.com/kubeflow/mpi-operator
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
CACHE="${FPD_CACHE_DIR:-$HOME/.cache/flyteplugd}/crds/mpi-operator-${VERSION}"
FILES=(kubeflow.org_mpijobs.yaml)

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
		cp "$dir/manifests/base/$f" "$CACHE.partial/$f"
	done
	echo "$MODULE@$VERSION manifests/base" >"$CACHE.partial/SOURCE"
	rm -rf "$CACHE"
	mv "$CACHE.partial" "$CACHE"
fi

for f in "${FILES[@]}"; do echo "$CACHE/$f"; done
