#!/usr/bin/env bash
# The flyteplugd demo: installs what is missing, builds the daemon, checks the example
# configuration and runs `flyteplugd serve` with it until Ctrl-C.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja >/dev/null
ninja -C build flyteplugd
bin=build/daemon/flyteplugd
"$bin" version
"$bin" check-config deploy/config.example.yaml
echo "Starting flyteplugd with deploy/config.example.yaml (Ctrl-C to stop)"
exec "$bin" serve --config deploy/config.example.yaml
