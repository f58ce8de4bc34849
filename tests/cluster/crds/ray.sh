#!/bin/sh
# KubeRay's own CRDs (RayJob, RayCluster) from the Go module at a pinned version, cached under
# ${FPD_CACHE_DIR:-$HOME/.cache/flyteplugd}/crds/kuberay-<version>/. Prints the YAML paths.
set -eu
VERSION=v1.5.1 # flyteplugins' go.mod pin of github.com/ray-project/kuberay/ray-operator
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
dest="${FPD_CACHE_DIR:-$HOME/.cache/flyteplugd}/crds/kuberay-$VERSION"
if [ ! -s "$dest/ray.io_rayjobs.yaml" ] || [ ! -s "$dest/ray.io_rayclusters.yaml" ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && "$GO" mod init fpdcrds >/dev/null 2>&1 &&
		"$GO" mod download -json "github.com/ray-project/kuberay/ray-operator@$VERSION" >dl.json)
	dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' "$tmp/dl.json")
	mkdir -p "$dest"
	for f in ray.io_rayjobs.yaml ray.io_rayclusters.yaml; do
		cp "$dir/config/crd/bases/$f" "$dest/$f.tmp" && mv "$dest/$f.tmp" "$dest/$f"
	done
fi
echo "$dest/ray.io_rayjobs.yaml"
echo "$dest/ray.io_rayclusters.yaml"
