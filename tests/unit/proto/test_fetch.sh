#!/usr/bin/env bash
# The Flyte IDL downloads are verified: a cached npm tarball (Flyte 1) or PyPI wheel (Flyte 2)
# whose bytes differ from the pinned digest fails both the configure step and a later build,
# with a message saying so.
set -uo pipefail
root=$1 cache=$2
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

tarball=$(ls "$cache"/flyteorg-flyteidl-*.tgz | head -1)
[[ -f $tarball ]] || { echo "no cached tarball in $cache"; exit 1; }
wheel=$(ls "$cache"/flyteidl2-*.whl | head -1)
[[ -f $wheel ]] || { echo "no cached flyteidl2 wheel in $cache"; exit 1; }
mkdir -p "$tmp/cache/flyteidl"
cp "$wheel" "$tmp/cache/flyteidl/"

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

# 5. The Flyte 2 wheel: a good copy builds fpd_proto2 without the network (pip is never run
#    for a cached wheel), tampering after configure fails the next build, a truncated copy
#    fails configure.
cp "$tarball" "$tmp/cache/flyteidl/"
cached_wheel=$tmp/cache/flyteidl/$(basename "$wheel")
if PIP_NO_INDEX=1 configure "$tmp/b4" && PIP_NO_INDEX=1 cmake --build "$tmp/b4" --target fpd_proto2 >>"$tmp/log" 2>&1
then ok; else fail "good wheel did not build: $(tail -5 "$tmp/log")"; fi
python3 -c 'import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[1000] ^= 0xFF; open(p, "wb").write(b)' \
	"$cached_wheel"
touch "$cached_wheel"
if cmake --build "$tmp/b4" --target fpd_proto2 >"$tmp/log" 2>&1; then
	fail "build succeeded with a tampered wheel"
elif grep -q "flyteidl2: INTEGRITY CHECK FAILED" "$tmp/log"; then ok; else
	fail "build failed without the wheel integrity message: $(tail -5 "$tmp/log")"; fi
head -c 5000 "$wheel" >"$cached_wheel"
if configure "$tmp/b5"; then fail "configure succeeded with a truncated wheel";
elif grep -q "flyteidl2: INTEGRITY CHECK FAILED" "$tmp/log" &&
	grep -q "Delete it to download it again" "$tmp/log"; then ok; else
	fail "truncated wheel: $(tail -3 "$tmp/log")"; fi

echo "fetch: $passed passed, $failed failed"
((failed == 0))
