#!/usr/bin/env bash
# Obtains the Flyte 2 IDL as a FileDescriptorSet from the published flyteidl2 wheel on PyPI.
#
#   fetch-idl2.sh VERSION SHA256 CACHE_DIR OUT_DIR STAMP PYTHON FILE.proto...
#
# The wheel is kept in CACHE_DIR (shared between builds, so a cached copy builds offline) and
# verified against the sha256 PyPI publishes for it every time it is used: a tampered or
# truncated cache fails the build instead of compiling whatever it holds. From it, OUT_DIR gets
#   wheel.pb      every file descriptor the wheel carries (idl2-extract.py, no package code run)
#   flyteidl2.pb  the FILEs and their imports (the well-known types from protoc's own include
#                 directory), proto3 `optional` fields turned into the one-field oneofs they are
#                 on the wire: protoc-c 1.4 refuses proto3 optional, and a oneof keeps presence.
# STAMP is touched on success.
set -euo pipefail

version=$1 sha256=$2 cache=$3 out=$4 stamp=$5 python=$6
shift 6
here=$(cd "$(dirname "$0")" && pwd)
name=flyteidl2-$version-py3-none-any.whl
wheel=$cache/$name
wkt_dir=/usr/include

digest_of() { sha256sum "$1" | cut -d' ' -f1; }

mkdir -p "$cache"
if [[ ! -f $wheel ]]; then
  echo "flyteidl2: fetching flyteidl2==$version from PyPI" >&2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "flyteidl2==$version --hash=sha256:$sha256" >"$tmp/req.txt"
  "$python" -m pip download --quiet --no-deps --only-binary=:all: --require-hashes \
    -r "$tmp/req.txt" -d "$tmp/dl" >"$tmp/pip.log" 2>&1 || {
    echo "flyteidl2: pip download flyteidl2==$version failed:" >&2
    cat "$tmp/pip.log" >&2
    exit 1
  }
  [[ -f $tmp/dl/$name ]] || { echo "flyteidl2: pip did not produce $name" >&2; exit 1; }
  mv "$tmp/dl/$name" "$wheel"
fi

got=$(digest_of "$wheel")
if [[ $got != "$sha256" ]]; then
  echo "flyteidl2: INTEGRITY CHECK FAILED for $wheel" >&2
  echo "  expected sha256 $sha256 (published by PyPI for flyteidl2==$version)" >&2
  echo "  got      sha256 $got" >&2
  echo "  The cached wheel was modified or corrupted. Delete it to download it again." >&2
  exit 1
fi

# Rebuild the set only when needed: a stamp newer than the wheel and these scripts, with the
# same file list, means flyteidl2.pb comes from this very wheel, and touching it would
# recompile for nothing.
list=$(printf '%s\n' "$@")
if [[ -f $stamp && -f $out/flyteidl2.pb && $stamp -nt $wheel && $stamp -nt $0 &&
      $stamp -nt $here/idl2-extract.py && -f $out/files.txt &&
      $(cat "$out/files.txt") == "$list" ]]; then
  exit 0
fi
rm -rf "$out"
mkdir -p "$out"
"$python" "$here/idl2-extract.py" "$wheel" "$out/wheel.pb"
protoc -I"$wkt_dir" --descriptor_set_in="$out/wheel.pb" --include_imports \
  --descriptor_set_out="$out/closure.pb" "$@"
# Three edits for protoc-c, made in the text format with every file's extensions known
# (buf.validate options are kept, not turned into unknown fields; an option protoc cannot name
# fails the encode):
#  - `optimize_for = CODE_SIZE` is dropped: buf's managed mode adds it for the Python build (it
#    is not in the .proto sources), and protoc-c would leave every name out of the descriptors;
#  - proto3 `optional` becomes the one-field oneof it is on the wire (protoc-c 1.4 refuses it);
#  - a field named `base` is renamed `base_`: protoc-c would declare it next to the message's
#    own `ProtobufCMessage base` (flyteidl2.core.Backoff.base). The number, and so the wire
#    format, is unchanged; test_idl2_pypi.py lists the rename as a known difference.
protoc --descriptor_set_in="$out/closure.pb" --decode=google.protobuf.FileDescriptorSet \
  google/protobuf/descriptor.proto "$@" <"$out/closure.pb" >"$out/closure.txt"
: >"$out/edits.txt"
awk -v edits="$out/edits.txt" '
  /^ *optimize_for: CODE_SIZE$/ { print "optimize_for dropped" >edits; next }
  /^ *proto3_optional: true$/ { print "proto3 optional: " field >edits; next }
  after_field && /^ *name: "base"$/ { sub(/"base"/, "\"base_\""); print "renamed: base" >edits }
  { after_field = /^ *field \{$/ }
  /^ *name: "/ { field = $2 }
  { print }' "$out/closure.txt" |
  protoc --descriptor_set_in="$out/closure.pb" --encode=google.protobuf.FileDescriptorSet \
    google/protobuf/descriptor.proto "$@" >"$out/flyteidl2.pb"
count() { grep -c "$1" "$out/edits.txt" || true; }
echo "flyteidl2: optimize_for dropped from $(count '^optimize_for') files," \
  "$(count '^proto3 optional') proto3 optional fields compiled as one-field oneofs," \
  "$(count '^renamed') field(s) renamed" >&2
rm -f "$out/closure.txt"
echo "$list" >"$out/files.txt"
touch "$stamp"
