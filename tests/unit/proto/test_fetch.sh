#!/usr/bin/env bash
# The Flyte IDL download is verified: a cached tarball whose bytes differ from the pinned npm
# integrity value fails both the configure step and a later build, with a message saying so.
set -uo pipefail
root=$1 cache=$2
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

tarball=$(ls "$cache"/flyteorg-flyteidl-*.tgz | head -1)
[[ -f $tarball ]] || { echo "no cached tarball in $cache"; exit 1; }
mkdir -p "$tmp/cache/flyteidl"

configure() { # configure BUILD_DIR
	cmake -S "$root" -B "$1" -G Ninja -DFPD_TESTS=OFF -DFPD_CACHE_DIR="$tmp/cache" >"$tmp/log" 2>&1
}

# 1. A good cached copy configures and builds the IDL library.
cp "$tarball" "$tmp/cache/flyteidl/"
if configure "$tmp/b1" && cmake --build "$tmp/b1" --target fpd_proto >>"$tmp/log" 2>&1; then ok; else
	fail "good tarball did not build: $(tail -5 "$tmp/log")"; fi

# 2. Tampering after configure: the next build fails and names the problem.
python3 -c 'import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[1000] ^= 0xFF; open(p, "wb").write(b)' \
	"$tmp/cache/flyteidl/$(basename "$tarball")"
touch "$tmp/cache/flyteidl/$(basename "$tarball")"
if cmake --build "$tmp/b1" --target fpd_proto >"$tmp/log" 2>&1; then
	fail "build succeeded with a tampered tarball"
elif grep -q "INTEGRITY CHECK FAILED" "$tmp/log"; then ok; else
	fail "build failed without the integrity message: $(tail -5 "$tmp/log")"; fi

# 3. Tampered before configure: configure fails with the message.
if configure "$tmp/b2"; then
	fail "configure succeeded with a tampered tarball"
elif grep -q "INTEGRITY CHECK FAILED" "$tmp/log" && grep -q "Delete it to download it again" "$tmp/log"; then ok; else
	fail "configure failed without the integrity message: $(tail -5 "$tmp/log")"; fi

# 4. A truncated tarball is refused the same way.
head -c 5000 "$tarball" >"$tmp/cache/flyteidl/$(basename "$tarball")"
if configure "$tmp/b3"; then fail "configure succeeded with a truncated tarball";
elif grep -q "INTEGRITY CHECK FAILED" "$tmp/log"; then ok; else fail "truncated: $(tail -3 "$tmp/log")"; fi

echo "fetch: $passed passed, $failed failed"
((failed == 0))
