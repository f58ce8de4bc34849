#!/usr/bin/env bash
# What the flyteplugd executable exports to the plugins it loads: exactly the names the version
# script plugin-api/libflyteplugd.map lists and the IDL descriptors it allows, and that list is
# exactly libflyteplugd's symbols declared in the public headers. A daemon internal (call_new,
# exec_find, ...) in the dynamic symbol table could collide with a plugin's global.
#   test_exports.sh FLYTEPLUGD LIBFLYTEPLUGD_A MAP INCLUDE_DIR IDL_A
set -uo pipefail
bin=$1 lib=$2 map=$3 include=$4 idl=$5
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"

# fail WHAT NAMES_FILE: one failure naming every offender, or a pass when the file is empty.
expect_none() {
	if [[ -s $2 ]]; then
		echo "FAIL $1: $(tr '\n' ' ' <"$2")"
		failed=$((failed + 1))
	else
		passed=$((passed + 1))
	fi
}

# The explicit names of the script (its globs are the descriptor patterns).
sed -n '/global:/,/local:/p' "$map" | grep -oE '^[[:space:]]*[A-Za-z_][A-Za-z0-9_]*;' |
	tr -d ' ;' | sort -u >"$tmp/listed"
nm -D --defined-only "$bin" | awk '{print $3}' | sort -u >"$tmp/exported"
if [[ ! -s $tmp/exported ]]; then
	echo "FAIL nm -D --defined-only $bin printed nothing"
	exit 1
fi
echo "flyteplugd exports $(wc -l <"$tmp/exported") symbols ($(wc -l <"$tmp/listed") listed fpd_ names)"

# 1. Nothing outside the allowed set. Objects of shared libraries the executable holds by copy
#    relocation (stdout@GLIBC_2.2.5, a sanitizer runtime's options) are theirs, not its own.
objdump -R "$bin" | awk '$2 ~ /_COPY$/ {sub(/@.*/, "", $3); print $3}' | sort -u >"$tmp/copied"
sed 's/@.*//' "$tmp/exported" | grep -vxF -f "$tmp/copied" >"$tmp/own"
grep -vxF -f "$tmp/listed" "$tmp/own" |
	grep -vE '^(flyteidl|google__protobuf)__[A-Za-z0-9_]+__descriptor$' >"$tmp/extra"
expect_none "exported but not in libflyteplugd.map" "$tmp/extra"
grep -vE '^fpd_|__descriptor$' "$tmp/own" >"$tmp/unprefixed"
expect_none "exported without the fpd_ prefix" "$tmp/unprefixed"

# 2. Everything listed is there (a listed name the executable lacks fails plugins at dlopen).
grep -vxF -f "$tmp/exported" "$tmp/listed" >"$tmp/missing"
expect_none "listed in libflyteplugd.map but not exported" "$tmp/missing"

# 3. The list is libflyteplugd's public API: its global symbols that a public header names.
nm -g --defined-only "$lib" | awk 'NF == 3 {print $3}' | sort -u >"$tmp/lib"
cat "$include"/flyteplugd/*.h >"$tmp/headers"
while read -r s; do
	grep -qw -- "$s" "$tmp/headers" && echo "$s"
done <"$tmp/lib" >"$tmp/public"
comm -23 "$tmp/public" "$tmp/listed" >"$tmp/unlisted"
expect_none "public in libflyteplugd but missing from libflyteplugd.map" "$tmp/unlisted"
comm -13 "$tmp/public" "$tmp/listed" >"$tmp/stray"
expect_none "in libflyteplugd.map but not a public symbol of libflyteplugd" "$tmp/stray"

# 4. Every IDL descriptor the SDK's headers declare is there, for a plugin to name its custom
#    message (a Presto or Hive query plugin's among them, which the daemon itself never uses).
#    (A sanitized archive also defines ASan's __odr_asan.<name> markers: not descriptors.)
nm -g --defined-only "$idl" | awk 'NF == 3 {print $3}' |
	grep -E '^(flyteidl|google__protobuf)__[A-Za-z0-9_]+__descriptor$' | sort -u >"$tmp/idl"
check "the IDL archive has descriptors" 0 "" -- grep -qx flyteidl__plugins__presto_query__descriptor \
	"$tmp/idl"
grep -vxF -f "$tmp/exported" "$tmp/idl" >"$tmp/idl_missing"
expect_none "IDL descriptors not exported" "$tmp/idl_missing"

finish "exports"
