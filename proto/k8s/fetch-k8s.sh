#!/usr/bin/env bash
# Obtains the protobuf IDL of Kubernetes' core API (k8s.io/api and k8s.io/apimachinery, the
# generated.proto files) and the Go type files they were generated from, from the Go module
# proxy.
#
#   fetch-k8s.sh GOBIN CACHE_DIR OUT_DIR STAMP MODULE@VERSION=H1SUM...
#
# `go mod download` keeps the module zips in CACHE_DIR/gomod (shared between builds) and checks
# them against the checksum database; each module's h1: sum must also equal the one pinned by the
# caller, so a different or modified module fails the build. OUT_DIR receives the .proto files
# under their import paths and the Go files under go/<module>/; STAMP is touched on success.
set -euo pipefail

gobin=$1 cache=$2 out=$3 stamp=$4
shift 4

export GOMODCACHE="$cache/gomod" GOFLAGS=-modcacherw GOTOOLCHAIN=local GO111MODULE=on
mkdir -p "$GOMODCACHE"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

declare -A dirs=()
for pin in "$@"; do
  mod=${pin%%=*} want=${pin#*=}
  if ! (cd "$work" && "$gobin/go" mod download -json "$mod") >"$work/dl.json" 2>"$work/dl.err"; then
    echo "k8s-api: go mod download $mod failed:" >&2
    cat "$work/dl.err" "$work/dl.json" >&2
    exit 1
  fi
  got=$(sed -n 's/^[[:space:]]*"Sum": "\(.*\)",\{0,1\}$/\1/p' "$work/dl.json")
  dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' "$work/dl.json")
  if [[ $got != "$want" || -z $dir ]]; then
    echo "k8s-api: $mod does not match the pinned checksum" >&2
    echo "  expected $want" >&2
    echo "  got      ${got:-nothing}" >&2
    exit 1
  fi
  dirs[${mod%@*}]=$dir
done

# Copy only when needed: a stamp that names these very pins, newer than this script, means
# OUT_DIR holds these modules' files, and touching them would recompile the whole IDL for nothing.
if [[ -f $stamp && -d $out && $stamp -nt ${BASH_SOURCE[0]} && $(cat "$stamp") == "$*" ]]; then
  exit 0
fi
rm -rf "$out"
api=${dirs[k8s.io/api]} mach=${dirs[k8s.io/apimachinery]}
copy() { # copy SRC DEST
  mkdir -p "$(dirname "$2")"
  cp "$1" "$2"
  chmod u+w "$2"
}
copy "$api/core/v1/generated.proto" "$out/k8s.io/api/core/v1/generated.proto"
for p in apis/meta/v1 api/resource runtime runtime/schema util/intstr; do
  copy "$mach/pkg/$p/generated.proto" "$out/k8s.io/apimachinery/pkg/$p/generated.proto"
done
for f in "$api"/core/v1/*.go; do
  [[ $f == *_test.go ]] || copy "$f" "$out/go/k8s.io.api.core.v1/$(basename "$f")"
done
for f in "$mach"/pkg/apis/meta/v1/*.go; do
  [[ $f == *_test.go ]] || copy "$f" "$out/go/k8s.io.apimachinery.pkg.apis.meta.v1/$(basename "$f")"
done
printf '%s\n' "$*" >"$stamp"
