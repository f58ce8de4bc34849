#!/usr/bin/env bash
# Builds the real FlytePropeller v1.16.8 (flytepropeller + kubectl-flyte) that the propeller tier
# runs against flyteplugd, from Flyte's sources kept outside the repository.
#
#   tests/propeller/build.sh      -> prints the bin dir (flytepropeller, kubectl-flyte) on stdout
#
# Sources: $FPD_FLYTE_UPSTREAM (default: ../shared/upstream beside the repository), a folder with
#   flyte-v1.16.8/                       tag v1.16.8 of github.com/flyteorg/flyte
#   flyteorg-stow-fcb9bf9/               github.com/flyteorg/stow (Flyte pins v0.3.12)
#   kubeflow-spark-operator-1905be6e1dbd/ github.com/kubeflow/spark-operator (api/ and pkg/)
# The Go module proxy refuses those modules, so the build copies them to a writable place and
# replaces them in flytepropeller's go.mod; everything else comes from the proxy as usual.
#
# Cache: ${FPD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flyteplugd}/propeller-<key>/, where key
# is the sha256 of every source file's content (sorted by path), of the Go version and of this
# script. The content hash (2,136 files, 22 MB: 0.15 s with a warm page cache) is remembered per
# listing (paths, sizes, mtimes; 0.04 s): an unchanged folder is not read again, a copied or
# touched one is hashed again.
# Builders take a flock; the bin dir is moved into place only when complete.
#
# Exit status 3 (and one line on stderr) when the sources are absent: the tier skips then.
# Environment: GO (go command), FPD_CACHE_DIR, FPD_FLYTE_UPSTREAM.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
log() { printf 'propeller/build.sh: %s\n' "$*" >&2; }

upstream=${FPD_FLYTE_UPSTREAM:-$repo/../shared/upstream}
parts=(flyte-v1.16.8 flyteorg-stow-fcb9bf9 kubeflow-spark-operator-1905be6e1dbd)
for p in "${parts[@]}"; do
	if [[ ! -d $upstream/$p ]]; then
		echo "FlytePropeller sources not found at $upstream/$p; set FPD_FLYTE_UPSTREAM or clone" \
			"tag v1.16.8 of github.com/flyteorg/flyte (see /work/shared/upstream/README.md)" >&2
		exit 3
	fi
done
upstream=$(cd "$upstream" && pwd)

GO=${GO:-$(command -v go || true)}
[[ -n $GO ]] || GO=/usr/local/go/bin/go
[[ -x $GO ]] || { log "no go toolchain (set GO=/path/to/go)"; exit 1; }
go_version=$(GOTOOLCHAIN=local "$GO" env GOVERSION)

root=${FPD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flyteplugd}
mkdir -p "$root/propeller-srchash"

# --- the source key ----------------------------------------------------------------
listing=$(cd "$upstream" && find "${parts[@]}" -type f -printf '%p\t%s\t%T@\n' | LC_ALL=C sort |
	sha256sum | cut -d' ' -f1)
memo=$root/propeller-srchash/$listing
if [[ -s $memo ]]; then
	content=$(cat "$memo")
else
	content=$(cd "$upstream" && find "${parts[@]}" -type f -print0 | LC_ALL=C sort -z |
		xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
	printf '%s\n' "$content" >"$memo.tmp.$$" && mv -f "$memo.tmp.$$" "$memo"
fi
recipe=$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1) # this script: how it is built
key=$(printf '%s %s %s\n' "$content" "$go_version" "$recipe" | sha256sum | cut -c1-16)
bindir=$root/propeller-$key

ready() { [[ -x $bindir/flytepropeller && -x $bindir/kubectl-flyte ]]; }
if ready; then
	printf '%s\n' "$bindir"
	exit 0
fi

exec 9>"$root/propeller.lock"
if ! flock -n 9; then
	log "another build is running; waiting for $root/propeller.lock"
	flock 9
fi
if ready; then
	printf '%s\n' "$bindir"
	exit 0
fi

log "building flytepropeller v1.16.8 + kubectl-flyte with $go_version (cold: minutes)"
start=$SECONDS
work=$(mktemp -d "$root/.propeller-build.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
for p in "${parts[@]}"; do cp -a "$upstream/$p" "$work/$p"; done
chmod -R u+w "$work"
src=$work/flyte-v1.16.8/flytepropeller
(
	cd "$src"
	export CGO_ENABLED=0 GOFLAGS=-mod=mod GOWORK=off GOTOOLCHAIN=local
	"$GO" mod edit -replace "github.com/flyteorg/stow=$work/flyteorg-stow-fcb9bf9" \
		-replace "github.com/kubeflow/spark-operator=$work/kubeflow-spark-operator-1905be6e1dbd"
	"$GO" build -trimpath -ldflags '-s -w' -o "$work/bin/flytepropeller" ./cmd/controller
	"$GO" build -trimpath -ldflags '-s -w' -o "$work/bin/kubectl-flyte" ./cmd/kubectl-flyte
) >&2
printf 'sources %s (sha256 %s)\n%s\n' "$upstream" "$content" "$go_version" >"$work/bin/SOURCE"
rm -rf "$bindir"
mv "$work/bin" "$bindir"
log "built in $((SECONDS - start))s: $bindir"
printf '%s\n' "$bindir"
