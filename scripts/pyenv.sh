#!/usr/bin/env bash
# Creates (or refreshes) the Python virtualenv the tests and the demo use, at $FPD_VENV
# (default: .venv in the repository), with the pinned packages of tests/requirements.txt.
# Prints the venv's python path on stdout. Quiet and quick when nothing changed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" # tests/requirements.txt names ./sdk/python, relative to the repository
venv=${FPD_VENV:-$root/.venv}
req=$root/tests/requirements.txt

if [[ ! -x $venv/bin/python ]]; then
  python3 -m venv "$venv" >&2
  "$venv/bin/python" -m pip install -q --upgrade pip >&2
fi
stamp=$venv/.requirements.sha256
want=$(sha256sum "$req" | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  echo "pyenv: installing tests/requirements.txt into $venv" >&2
  "$venv/bin/python" -m pip install -q -r "$req" >&2
  echo "$want" >"$stamp"
fi
echo "$venv/bin/python"
