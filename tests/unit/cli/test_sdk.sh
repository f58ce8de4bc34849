#!/usr/bin/env bash
# The SDK as a plugin author outside this repository uses it: `cmake --install --component sdk`
# to a scratch prefix, the example plugin (plugin-api/example) copied to a scratch folder and
# built there with find_package(flyteplugd) and with pkg-config, seeing nothing of the source
# tree; then the daemon loads the module from plugins.dir and `render` runs its build().
#   test_sdk.sh FLYTEPLUGD BUILD_DIR EXAMPLE_DIR CMAKE SOURCE_DIR
# CFLAGS and LDFLAGS (e.g. a sanitizer's) reach both builds.
set -uo pipefail
bin=$1 build=$2 example=$3 cmake=$4 root=$5
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"

sdk=$tmp/sdk
check "install the SDK" 0 "" -- "$cmake" --install "$build" --component sdk --prefix "$sdk"
cp -r "$example" "$tmp/src"
check "configure the example against the SDK" 0 "" -- "$cmake" -S "$tmp/src" -B "$tmp/b" \
	-DCMAKE_PREFIX_PATH="$sdk" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON
check "build the example" 0 "" -- "$cmake" --build "$tmp/b"
# Nothing of the source or build tree on the example's command lines: only the SDK.
check "the example sees only the SDK" 1 "" -- grep -qF -e "$root" -e "$build" \
	"$tmp/b/compile_commands.json"
check "a program links libflyteplugd" 0 "memory 1073741824" -- "$tmp/b/sdk_example_check"

# The same with pkg-config: --cflags for the module, --libs for the program.
export PKG_CONFIG_PATH=$sdk/lib/pkgconfig
mkdir -p "$tmp/pc"
# shellcheck disable=SC2046,SC2086 # word splitting of the flags is intended
check "pkg-config: build the module" 0 "" -- cc -shared -fPIC -Wall -Wextra -Werror \
	${CFLAGS:-} ${LDFLAGS:-} $(pkg-config --cflags flyteplugd) "$tmp/src/example.c" -o "$tmp/pc/sdk-example.so"
# shellcheck disable=SC2046,SC2086
check "pkg-config: build the program" 0 "" -- cc -Wall -Wextra -Werror ${CFLAGS:-} \
	$(pkg-config --cflags flyteplugd) "$tmp/src/check.c" -o "$tmp/pc/check" ${LDFLAGS:-} \
	$(pkg-config --libs flyteplugd)
check "pkg-config: the program runs" 0 "memory 1073741824" -- "$tmp/pc/check"

cat >"$tmp/ok.json" <<'JSON'
{"type": "sdk-example", "custom": {"name": "flyte", "memory": "1024Mi"}}
JSON
cat >"$tmp/bad.json" <<'JSON'
{"type": "sdk-example", "custom": {"memory": "1Gi"}}
JSON
for dir in "$tmp/b" "$tmp/pc"; do
	mkdir -p "$dir/plugins"
	cp "$dir/sdk-example.so" "$dir/plugins/"
	printf 'plugins: {dir: "%s"}\n' "$dir/plugins" >"$dir/config.yaml"
	check "check-config loads the module ($dir)" 0 "OK" -- "$bin" check-config "$dir/config.yaml"
	check "render runs its build ($dir)" 0 '"greeting": "hello, flyte"' \
		-- "$bin" render --config "$dir/config.yaml" --template "$tmp/ok.json" -o json
	check "render: libflyteplugd's canonical quantity ($dir)" 0 '"memory": "1Gi"' \
		-- "$bin" render --config "$dir/config.yaml" --template "$tmp/ok.json" -o json
	check "render: the plugin's error message ($dir)" 2 \
		"custom.name: expected a non-empty string" \
		-- "$bin" render --config "$dir/config.yaml" --template "$tmp/bad.json" -o json
done

finish "sdk"
