#!/usr/bin/env bash
# The IDL libraries link together: no external symbol is defined by two of fpd_proto (Flyte 1),
# fpd_proto2 (Flyte 2) and fpd_proto_wkt (the well-known types both use), and each defines only
# names of its own prefix.
#
#   test_symbols.sh LIBFPD_PROTO.a LIBFPD_PROTO2.a LIBFPD_PROTO_WKT.a
set -uo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() { echo "FAIL $*"; failed=1; }

# Names starting with __ belong to the compiler (AddressSanitizer's __odr_asan.*, coverage).
defined() { nm -g --defined-only "$1" | awk 'NF == 3 && $3 !~ /^__/ { print $3 }' | sort -u; }
defined "$1" >"$tmp/v1"
defined "$2" >"$tmp/v2"
defined "$3" >"$tmp/wkt"
for f in v1 v2 wkt; do [[ -s $tmp/$f ]] || fail "no symbols read from the $f library"; done

dups=$(sort "$tmp/v1" "$tmp/v2" "$tmp/wkt" | uniq -d)
[[ -z $dups ]] || fail "defined twice: $(head -5 <<<"$dups")"
stray=$(grep -vE '^flyteidl__' "$tmp/v1" | head -5)
[[ -z $stray ]] || fail "fpd_proto defines names outside flyteidl__*: $stray"
stray=$(grep -vE '^(flyteidl2__|buf__validate__)' "$tmp/v2" | head -5)
[[ -z $stray ]] || fail "fpd_proto2 defines names outside flyteidl2__*/buf__validate__*: $stray"
stray=$(grep -vE '^google__protobuf__' "$tmp/wkt" | head -5)
[[ -z $stray ]] || fail "fpd_proto_wkt defines names outside google__protobuf__*: $stray"

((failed)) && exit 1
echo "symbols: fpd_proto $(wc -l <"$tmp/v1"), fpd_proto2 $(wc -l <"$tmp/v2")," \
  "fpd_proto_wkt $(wc -l <"$tmp/wkt"), none defined twice"
