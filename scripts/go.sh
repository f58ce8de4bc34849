#!/usr/bin/env bash
# Prints the bin directory of a Go toolchain new enough for the project's Go modules (the go
# directive of tests/cluster/*/go.mod: 1.26). Uses `go` on PATH or /usr/local/go when either is
# new enough; otherwise installs Go $VERSION from the Go module proxy (golang.org/toolchain,
# where the go command itself downloads toolchains from), its zip checked against the sha256
# pinned here, into ${FPD_CACHE_DIR:-~/.cache/flyteplugd}/go-$VERSION. Progress on stderr.
set -euo pipefail

VERSION=1.26.8
NEED_MINOR=26
declare -A SHA256=(
  [amd64]=30c2b1bf7dcc88d3eb0a1364e47ddd9128edb3110a30e8a0ef61cd5856b31de7
  [arm64]=02b36b6787b3ac767668f630e2998df45a3b1f9ffee08d1bf3ef6487cd658d99
)

new_enough() { # new_enough BINDIR
  local v
  v=$(GOTOOLCHAIN=local "$1/go" env GOVERSION 2>/dev/null) || return 1
  [[ $v =~ ^go1\.([0-9]+) ]] && ((BASH_REMATCH[1] >= NEED_MINOR))
}

if command -v go >/dev/null && new_enough "$(dirname "$(command -v go)")"; then
  dirname "$(command -v go)"
  exit 0
fi
if new_enough /usr/local/go/bin; then
  echo /usr/local/go/bin
  exit 0
fi

case $(uname -m) in
  x86_64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *)
    echo "go.sh: no pinned Go $VERSION for $(uname -m); install Go >= 1.$NEED_MINOR yourself" >&2
    exit 1
    ;;
esac
dest=${FPD_CACHE_DIR:-$HOME/.cache/flyteplugd}/go-$VERSION
if new_enough "$dest/bin"; then
  echo "$dest/bin"
  exit 0
fi

proxy=${GOPROXY:-https://proxy.golang.org}
proxy=${proxy%%,*}
[[ $proxy == off || $proxy == direct ]] && proxy=https://proxy.golang.org
name=v0.0.1-go$VERSION.linux-$arch
url=$proxy/golang.org/toolchain/@v/$name.zip
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "go.sh: fetching Go $VERSION ($arch) from $url" >&2
curl -fsSL --retry 3 -o "$tmp/go.zip" "$url"
got=$(sha256sum "$tmp/go.zip" | cut -d' ' -f1)
if [[ $got != "${SHA256[$arch]}" ]]; then
  echo "go.sh: $url has sha256 $got, expected ${SHA256[$arch]}: refusing it" >&2
  exit 1
fi
unzip -q "$tmp/go.zip" -d "$tmp/x"
mkdir -p "$(dirname "$dest")"
rm -rf "$dest"
mv "$tmp/x/golang.org/toolchain@$name" "$dest"
new_enough "$dest/bin" || {
  echo "go.sh: the Go installed in $dest does not run" >&2
  exit 1
}
echo "$dest/bin"
