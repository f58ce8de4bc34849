#!/usr/bin/env bash
# The flyteplugd demo, end to end: installs what is missing, builds the daemon, starts a real
# kube-apiserver + etcd (built once from their Go modules and cached), runs flyteplugd, submits a
# task serialized by flytekit through CreateTask with the real Python client, drives its pod
# through Running and Succeeded, prints each phase with its log links, and cleans up.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/install-deps.sh
gobin=$(bash scripts/go.sh) # Go >= 1.26 for the test cluster, installed when missing
export PATH="$gobin:$PATH" GO="$gobin/go"
PY=$(bash scripts/pyenv.sh)
cmake -S . -B build -G Ninja >/dev/null
ninja -C build flyteplugd
bash tests/cluster/build.sh >/dev/null
exec "$PY" scripts/demo.py
