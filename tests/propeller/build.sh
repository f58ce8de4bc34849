#!/usr/bin/env bash
# Builds the real FlytePropeller v1.16.8 (flytepropeller + kubectl-flyte) that the propeller tier
# runs against flyteplugd, from Flyte's sources kept outside the repository.
#
#   tests/propeller/build.sh      -> prints the bin dir (flytepropeller, kubectl-flyte) on stdout
#
# Sources: $FPD_FLYTE_UPSTREAM (default: ../shared/upstream beside the repository), either a
# clone of tag v1.16.8 of github.com/flyteorg/flyte or a folder holding
#   flyte-v1.16.8/                        that tag (flyteidl, flyteplugins, flytepropeller, flytestdlib)
#   flyteorg-stow-fcb9bf9/                github.com/flyteorg/stow (Flyte pins v0.3.12)
#   kubeflow-spark-operator-1905be6e1dbd/ github.com/kubeflow/spark-operator (api/ and pkg/)
# Where the Go module proxy refuses the last two, they are used from there (copied to a writable
# place and replaced in flytepropeller's go.mod); everything else comes from the proxy as usual.
#
# Cache: ${FPD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flyteplugd}/propeller-<key>/, where key
# is the sha256 of every source file's content (sorted by path), of the Go version and of this
# script. The content hash (2,135 files, 22 MB: 0.07-0.09 s with a warm page cache) is
# remembered per listing (paths, sizes, mtimes: 0.01-0.02 s for the whole script): an unchanged
# folder is not read again; a copied or touched one is hashed again and, if its content is the
# same, finds the same binaries.
# Builders take a flock; the bin dir is moved into place only when complete.
#
# Exit status 3 (and one line on stderr) when the sources are absent: the tier skips then.
# Environment: GO (go command), FPD_CACHE_DIR, FPD_FLYTE_UPSTREAM.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
log() { printf 'propeller/build.sh: %s\n' "$*" >&2; }

upstream=${FPD_FLYTE_UPSTREAM:-$repo/../shared/upstream}
# Flyte itself: upstream/flyte-v1.16.8 (the layout of shared/upstream) or upstream as a clone.
flyte=$upstream/flyte-v1.16.8
[[ -f $flyte/flytepropeller/go.mod ]] || flyte=$upstream
if [[ ! -f $flyte/flytepropeller/go.mod ]]; then
	echo "FlytePropeller sources not found at $upstream; set FPD_FLYTE_UPSTREAM or clone" \
		"tag v1.16.8 of github.com/flyteorg/flyte" >&2
	exit 3
fi
# Modules the Go module proxy may refuse, used when present beside Flyte's sources.
stow=$upstream/flyteorg-stow-fcb9bf9
spark=$upstream/kubeflow-spark-operator-1905be6e1dbd
# label=dir pairs: what is hashed and copied (of Flyte, only what propeller's build reads)
sources=("flyte=$flyte")
[[ -d $stow ]] && sources+=("stow=$stow")
[[ -d $spark ]] && sources+=("spark-operator=$spark")

GO=${GO:-$(command -v go || true)}
[[ -n $GO ]] || GO=/usr/local/go/bin/go
[[ -x $GO ]] || { log "no go toolchain (set GO=/path/to/go)"; exit 1; }
go_version=$(GOTOOLCHAIN=local "$GO" env GOVERSION)

root=${FPD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flyteplugd}
mkdir -p "$root/propeller-srchash"

# --- the source key ----------------------------------------------------------------
flyte_parts=(go.mod go.sum flyteidl flyteplugins flytepropeller flytestdlib)
list_files() { # list_files DIR LABEL FIND-PRINTF: every source file of DIR, relative
	if [[ $2 == flyte ]]; then
		(cd "$1" && find "${flyte_parts[@]}" -type f -printf "$3")
	else
		(cd "$1" && find . -type f -printf "$3")
	fi
}
listing=$(for s in "${sources[@]}"; do
	printf '%s\n' "$s"
	list_files "${s#*=}" "${s%%=*}" '%p\t%s\t%T@\n' | LC_ALL=C sort
done | sha256sum | cut -d' ' -f1)
memo=$root/propeller-srchash/$listing
if [[ -s $memo ]]; then
	content=$(cat "$memo")
else
	content=$(for s in "${sources[@]}"; do
		printf '%s\n' "${s%%=*}"
		list_files "${s#*=}" "${s%%=*}" '%p\0' | LC_ALL=C sort -z | (cd "${s#*=}" && xargs -0 sha256sum)
	done | sha256sum | cut -d' ' -f1)
	printf '%s\n' "$content" >"$memo.tmp.$$" && mv -f "$memo.tmp.$$" "$memo"
	find "$root/propeller-srchash" -type f -mtime +30 -delete 2>/dev/null || true
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
mkdir -p "$work/flyte"
for p in "${flyte_parts[@]}"; do cp -a "$flyte/$p" "$work/flyte/"; done
replaces=()
[[ -d $stow ]] && cp -a "$stow" "$work/stow" && replaces+=(-replace "github.com/flyteorg/stow=$work/stow")
[[ -d $spark ]] && cp -a "$spark" "$work/spark-operator" &&
	replaces+=(-replace "github.com/kubeflow/spark-operator=$work/spark-operator")
chmod -R u+w "$work"
src=$work/flyte/flytepropeller
(
	cd "$src"
	export CGO_ENABLED=0 GOFLAGS=-mod=mod GOWORK=off GOTOOLCHAIN=local
	if ((${#replaces[@]})); then "$GO" mod edit "${replaces[@]}"; fi
	"$GO" build -trimpath -ldflags '-s -w' -o "$work/bin/flytepropeller" ./cmd/controller
	"$GO" build -trimpath -ldflags '-s -w' -o "$work/bin/kubectl-flyte" ./cmd/kubectl-flyte
) >&2
printf 'sources %s (sha256 %s)\n%s\n' "${sources[*]}" "$content" "$go_version" >"$work/bin/SOURCE"
rm -rf "$bindir"
mv "$work/bin" "$bindir"
log "built in $((SECONDS - start))s: $bindir"
printf '%s\n' "$bindir"
