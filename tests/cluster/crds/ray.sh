#!/bin/sh
# KubeRay's own CRDs (RayJob, RayCluster): the published v1.7.0 files beside the repository
# when they are there, else from the Go module at a pinned version, cached under
# ${FPD_CACHE_DIR:-$HOME/.cache/flyteplugd}/crds/kuberay-<version>/. Prints the YAML paths.
#
# v1.7.0: the newest RayJob schema (backoffLimit, activeDeadlineSeconds, clusterSelector,
# deletionStrategy.deletionRules), a superset of flyteplugins' go.mod pin (v1.5.1) for every
# field the plugin writes. When the module proxy cannot serve v1.7.0, v1.6.0 is used: its
# RayJob spec has the same fields (said on stderr). KUBERAY_VERSION picks one version only.
set -eu
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
cache="${FPD_CACHE_DIR:-$HOME/.cache/flyteplugd}/crds"

fetch() {
	dest="$cache/kuberay-$1"
	if [ -s "$dest/ray.io_rayjobs.yaml" ] && [ -s "$dest/ray.io_rayclusters.yaml" ]; then
		return 0
	fi
	tmp=$(mktemp -d)
	(cd "$tmp" && "$GO" mod init fpdcrds >/dev/null 2>&1 &&
		"$GO" mod download -json "github.com/ray-project/kuberay/ray-operator@$1" >dl.json) ||
		{ rm -rf "$tmp"; return 1; }
	dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' "$tmp/dl.json")
	rm -rf "$tmp"
	[ -n "$dir" ] || return 1
	mkdir -p "$dest"
	for f in ray.io_rayjobs.yaml ray.io_rayclusters.yaml; do
		cp "$dir/config/crd/bases/$f" "$dest/$f.tmp" && mv "$dest/$f.tmp" "$dest/$f"
	done
}

# The published v1.7.0 CRDs kept beside the repository (../shared/upstream/crds, or
# FPD_UPSTREAM_CRDS) come first: the module proxy may refuse that version.
shared="${FPD_UPSTREAM_CRDS:-$(cd "$(dirname "$0")" && pwd)/../../../../shared/upstream/crds}/kuberay-v1.7.0"
if [ -z "${KUBERAY_VERSION:-}" ] && [ -s "$shared/ray.io_rayjobs.yaml" ] &&
	[ -s "$shared/ray.io_rayclusters.yaml" ]; then
	echo "$shared/ray.io_rayjobs.yaml"
	echo "$shared/ray.io_rayclusters.yaml"
	exit 0
fi

for version in ${KUBERAY_VERSION:-v1.7.0 v1.6.0}; do
	if fetch "$version"; then
		[ "$version" = "${KUBERAY_VERSION:-v1.7.0}" ] ||
			echo "ray.sh: KubeRay v1.7.0 is not obtainable; using $version's CRDs" >&2
		echo "$cache/kuberay-$version/ray.io_rayjobs.yaml"
		echo "$cache/kuberay-$version/ray.io_rayclusters.yaml"
		exit 0
	fi
done
echo "ray.sh: no KubeRay CRDs obtainable (${KUBERAY_VERSION:-v1.7.0 v1.6.0})" >&2
exit 1
