#!/usr/bin/env bash
# The Dask operator's own CRDs (DaskJob, and the DaskCluster and DaskWorkerGroup its controller
# creates for a job; kubernetes.dask.org/v1), as its Helm chart installs them: taken from the
# dask-kubernetes source distribution on PyPI at a pinned version
# (dask_kubernetes/operator/deployment/helm/dask-kubernetes-operator/crds/), fetched with
# `pip download` and checked against the sdist's sha256 that PyPI publishes. Cached under
# ${FPD_CACHE_DIR:-$HOME/.cache/flyteplugd}/crds/dask-<version>/; prints one YAML path a line.
# A cached run touches neither the network nor the Python environment.
# PYTHON: the interpreter to run pip with (default: the project's venv, scripts/pyenv.sh).
set -euo pipefail

VERSION=2026.3.0
SHA256=a247ee5e34284c74d5db0d681cd8f668eb636f719b538b771d1b101ff9952232 # PyPI, the .tar.gz
SDIST="dask_kubernetes-${VERSION}.tar.gz"
CRDS="dask_kubernetes-${VERSION}/dask_kubernetes/operator/deployment/helm/dask-kubernetes-operator/crds"
FILES=(daskjob.yaml daskcluster.yaml daskworkergroup.yaml)
CACHE="${FPD_CACHE_DIR:-$HOME/.cache/flyteplugd}/crds/dask-${VERSION}"

have_all() {
	for f in "${FILES[@]}"; do [[ -s "$CACHE/$f" ]] || return 1; done
}

if ! have_all; then
	root=$(cd "$(dirname "$0")/../../.." && pwd)
	python="${PYTHON:-$(bash "$root/scripts/pyenv.sh")}"
	tmp="$(mktemp -d)"
	trap 'rm -rf "$tmp" "$CACHE.partial.$$"' EXIT
	"$python" -m pip download --quiet --no-deps --no-binary :all: \
		"dask-kubernetes==${VERSION}" -d "$tmp/dl" >&2
	got=$(sha256sum "$tmp/dl/$SDIST" | cut -d' ' -f1)
	if [[ "$got" != "$SHA256" ]]; then
		echo "dask.sh: $SDIST has sha256 $got, PyPI publishes $SHA256: refusing it" >&2
		exit 1
	fi
	members=()
	for f in "${FILES[@]}"; do members+=("$CRDS/$f"); done
	tar -xzf "$tmp/dl/$SDIST" -C "$tmp" "${members[@]}"
	partial="$CACHE.partial.$$"
	mkdir -p "$partial"
	for f in "${FILES[@]}"; do cp "$tmp/$CRDS/$f" "$partial/$f"; done
	echo "dask-kubernetes==$VERSION sdist sha256:$SHA256 $CRDS" >"$partial/SOURCE"
	rm -rf "$CACHE"
	mv "$partial" "$CACHE"
fi

for f in "${FILES[@]}"; do echo "$CACHE/$f"; done
