#!/usr/bin/env bash
# Obtains the official Flyte IDL protos from the published @flyteorg/flyteidl npm package.
#
#   fetch-idl.sh VERSION INTEGRITY CACHE_DIR OUT_DIR STAMP
#
# The tarball is kept in CACHE_DIR (shared between builds); it is verified against the npm
# registry's published integrity value (sha512, base64) every time it is used, so a tampered or
# truncated cache fails the build instead of compiling whatever it holds. OUT_DIR receives the
# unpacked package; STAMP is touched on success.
set -euo pipefail

version=$1 integrity=$2 cache=$3 out=$4 stamp=$5
tarball="$cache/flyteorg-flyteidl-$version.tgz"

digest_of() { printf 'sha512-%s' "$(openssl dgst -sha512 -binary "$1" | openssl base64 -A)"; }

mkdir -p "$cache"
if [[ ! -f $tarball ]]; then
  echo "flyteidl: fetching @flyteorg/flyteidl@$version from the npm registry" >&2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "@flyteorg/flyteidl@$version" >/dev/null 2>"$tmp/npm.err") || {
    echo "flyteidl: npm pack @flyteorg/flyteidl@$version failed:" >&2
    cat "$tmp/npm.err" >&2
    exit 1
  }
  got=$(digest_of "$tmp/flyteorg-flyteidl-$version.tgz")
  if [[ $got != "$integrity" ]]; then
    echo "flyteidl: downloaded tarball does not match the pinned integrity" >&2
    echo "  expected $integrity" >&2
    echo "  got      $got" >&2
    exit 1
  fi
  mv "$tmp/flyteorg-flyteidl-$version.tgz" "$tarball"
fi

got=$(digest_of "$tarball")
if [[ $got != "$integrity" ]]; then
  echo "flyteidl: INTEGRITY CHECK FAILED for $tarball" >&2
  echo "  expected $integrity (published by the npm registry for @flyteorg/flyteidl@$version)" >&2
  echo "  got      $got" >&2
  echo "  The cached tarball was modified or corrupted. Delete it to download it again." >&2
  exit 1
fi

# Unpack only when needed: a fresh stamp means the protos there come from this very tarball,
# and touching it again would make the build recompile the whole IDL for nothing.
if [[ -f $stamp && -d $out/package/protos && $stamp -nt $tarball ]]; then
  exit 0
fi
rm -rf "$out"
mkdir -p "$out"
tar -xzf "$tarball" -C "$out" package/protos
touch "$stamp"
