#!/usr/bin/env bash
# Runs every test of flyteplugd on this machine, installing what it needs first:
#   1. Debian packages (scripts/install-deps.sh), the Python venv (scripts/pyenv.sh)
#   2. build + unit tests (ctest)
#   3. the same under AddressSanitizer + UndefinedBehaviorSanitizer (leaks fail the run)
#   4. end-to-end tests against a real kube-apiserver + etcd and real gRPC clients (pytest),
#      with the sanitized daemon, and the real FlytePropeller v1.16.8 running workflows through
#      it (tests/propeller; skipped, saying why, without Flyte's sources: FPD_FLYTE_UPSTREAM)
#      and the C end-to-end tests (ctest -L e2e), the pod informer and task ones once more in JSON
#   5. a short libFuzzer smoke run of every fuzz driver
# Caches (Flyte IDL tarball, kube-apiserver/etcd binaries, Go tools) live in
# ${FPD_CACHE_DIR:-~/.cache/flyteplugd}; delete it to start from nothing.
# Set FPD_TEST_FAST=1 to skip the sanitizer and fuzz stages while developing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

passed=0 failed=0
stage() { printf '\n==== %s\n' "$*"; }

# ctest's closing line "N% tests passed, F tests failed out of T" feeds the total.
run_ctest() { # run_ctest BUILD_DIR [ctest args...]
  local dir=$1 log
  shift
  log=$(mktemp)
  local rc=0
  (cd "$dir" && ctest --output-on-failure "$@") 2>&1 | tee "$log" || rc=$?
  local line
  line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -1 || true)
  if [[ -n $line ]]; then
    local f t
    f=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$line")
    t=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/' <<<"$line")
    passed=$((passed + t - f))
    failed=$((failed + f))
  elif ((rc != 0)); then
    failed=$((failed + 1))
  fi
  rm -f "$log"
  return "$rc"
}

run_pytest() { # run_pytest ARGS... ; exit code 5 (nothing collected) counts as a failure
  local log rc=0
  log=$(mktemp)
  "$PY" -m pytest -q -p no:cacheprovider "$@" 2>&1 | tee "$log" || rc=$?
  local summary
  summary=$(grep -E '^(=+ )?[0-9]+ (passed|failed|error)' "$log" | tail -1 || true)
  local p f e
  p=$(grep -oE '[0-9]+ passed' <<<"$summary" | cut -d' ' -f1 || true)
  f=$(grep -oE '[0-9]+ failed' <<<"$summary" | cut -d' ' -f1 || true)
  e=$(grep -oE '[0-9]+ error' <<<"$summary" | cut -d' ' -f1 || true)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0} + ${e:-0}))
  rm -f "$log"
  if ((rc == 5)); then
    echo "pytest collected no tests for: $*" >&2
    failed=$((failed + 1))
  elif ((rc != 0 && ${f:-0} + ${e:-0} == 0)); then
    failed=$((failed + 1)) # e.g. interrupted by an error during collection
  fi
  return "$rc"
}

status=0
stage "dependencies"
bash scripts/install-deps.sh
gobin=$(bash scripts/go.sh) # Go >= 1.26 for the test cluster and the Go clients, installed when missing
export PATH="$gobin:$PATH" GO="$gobin/go"
PY=$(bash scripts/pyenv.sh)

stage "build"
cmake -S . -B build -G Ninja -DFPD_TESTS=ON >/dev/null
ninja -C build

stage "unit tests"
run_ctest build -L unit || status=1

if [[ ${FPD_TEST_FAST:-0} != 1 ]]; then
  stage "build with AddressSanitizer + UndefinedBehaviorSanitizer"
  cmake -S . -B build-asan -G Ninja -DFPD_TESTS=ON -DFPD_SANITIZE=ON >/dev/null
  ninja -C build-asan
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  stage "unit tests under ASan+UBSan"
  run_ctest build-asan -L unit || status=1
  daemon_bin=$root/build-asan/daemon/flyteplugd
else
  daemon_bin=$root/build/daemon/flyteplugd
fi

e2e_dirs=()
for d in tests/cluster tests/e2e tests/deploy tests/propeller tests/sdk; do
  [[ -n $(find "$d" -name 'test_*.py' -print -quit 2>/dev/null) ]] && e2e_dirs+=("$d")
done
if ((${#e2e_dirs[@]})); then
  stage "end-to-end tests (real kube-apiserver + etcd, real gRPC clients)"
  FPD_BIN=$daemon_bin FPD_ROOT=$root run_pytest "${e2e_dirs[@]}" || status=1
fi
if [[ -f build/tests/e2e/CTestTestfile.cmake ]]; then
  stage "C end-to-end tests"
  run_ctest build -L e2e || status=1
  # Informers read pods in protobuf, and pods are created in it, by default: the pod informer,
  # restart and pod task tests once more with kubernetes.protobuf and protobuf_creates off, so
  # that the JSON paths stay tested.
  stage "pods in JSON (kubernetes.protobuf and protobuf_creates: false)"
  FPD_E2E_JSON=1 run_ctest build -R '^test_e2e_kube_(informer|resilience)$' || status=1
  FPD_E2E_JSON=1 FPD_BIN=$daemon_bin FPD_ROOT=$root run_pytest tests/e2e/engine/test_restart_scale.py \
    tests/e2e/engine/test_pod_tasks.py tests/e2e/engine/test_admin.py || status=1
fi

if [[ ${FPD_TEST_FAST:-0} != 1 ]] && compgen -G "tests/fuzz/fuzz_*.c" >/dev/null; then
  stage "fuzz smoke run"
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_C_COMPILER=clang -DFPD_FUZZ=ON -DFPD_TESTS=OFF >/dev/null
  ninja -C build-fuzz
  for f in build-fuzz/tests/fuzz/fuzz_*; do
    [[ -x $f ]] || continue
    name=$(basename "$f")
    corpus=tests/fuzz/corpus/${name#fuzz_}
    work=$(mktemp -d)
    [[ -d $corpus ]] && cp -r "$corpus"/. "$work"/
    seeds=tests/fuzz/seeds_${name#fuzz_}.py # seeds made at test time (from flytekit)
    if [[ -f $seeds ]] && ! "$PY" "$seeds" "$work" >"$work.seeds.log" 2>&1; then
      echo "$name: FAILED (writing seeds)"; tail -20 "$work.seeds.log"
      failed=$((failed + 1)); status=1; rm -rf "$work" "$work".*; continue
    fi
    supp=tests/fuzz/$name.lsan # known leaks of a library, explained in the file
    lsan=${LSAN_OPTIONS:-}
    [[ -f $supp ]] && lsan="suppressions=$root/$supp${lsan:+:$lsan}"
    flags=() # libFuzzer flags of this driver, explained in the file (lines starting with '#' are comments)
    if [[ -f tests/fuzz/$name.flags ]]; then
      read -r -a flags <<<"$(grep -v '^#' "tests/fuzz/$name.flags" | tr '\n' ' ')"
    fi
    if LSAN_OPTIONS=$lsan "$f" -max_total_time="${FPD_FUZZ_SECONDS:-20}" -print_final_stats=0 "${flags[@]}" "$work" >"$work.log" 2>&1; then
      echo "$name: ok ($(grep -oE 'Done [0-9]+ runs' "$work.log" | tail -1))"
      passed=$((passed + 1))
    else
      echo "$name: FAILED"
      tail -40 "$work.log"
      failed=$((failed + 1))
      status=1
    fi
    rm -rf "$work" "$work.log" "$work.seeds.log"
  done
fi

echo
echo "all stages: $passed passed, $failed failed"
exit "$status"
