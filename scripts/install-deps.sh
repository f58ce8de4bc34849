#!/usr/bin/env bash
# Installs the Debian packages flyteplugd builds and tests with. Idempotent: prints nothing and
# changes nothing when every package is already present. Uses sudo when not run as root.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl unzip
  libev-dev libcurl4-openssl-dev libnghttp2-dev libssl-dev
  libprotobuf-c-dev protobuf-c-compiler libprotobuf-dev protobuf-compiler
  libjansson-dev libyaml-dev libjq-dev check libmicrohttpd-dev libmimalloc-dev
  clang libclang-rt-14-dev llvm clang-format
  nodejs npm python3 python3-venv python3-pip
  podman runc debootstrap uidmap # the container image (deploy/build-image.sh, tests/deploy)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# nodejs/npm/python3 may come from outside Debian on some machines; accept any working binary.
filtered=()
for p in "${missing[@]}"; do
  case $p in
    nodejs) command -v node >/dev/null || filtered+=("$p") ;;
    npm) command -v npm >/dev/null || filtered+=("$p") ;;
    python3) command -v python3 >/dev/null || filtered+=("$p") ;;
    python3-venv | python3-pip) python3 -c 'import venv, ensurepip' 2>/dev/null || filtered+=("$p") ;;
    *) filtered+=("$p") ;;
  esac
done
((${#filtered[@]} == 0)) && exit 0

sudo=()
((EUID == 0)) || sudo=(sudo)
echo "install-deps: installing ${filtered[*]}" >&2
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${filtered[@]}" >/dev/null
