#!/usr/bin/env bash
# ListAgents throughput and latency: flyteplugd vs flytekit's Python connector server
# (`pyflyte serve connector`, the reference AgentMetadataService), same load generator, same
# call, same machine. Prints calls/s, p50/p99, the ratio, and flyteplugd's idle RSS.
#
#   bench/grpc/run.sh [seconds]          (default 15 s per server, after 2 s of warm-up)
#
# Env: FPD_BIN (default build/daemon/flyteplugd; use a release build), PYTHON (default: a venv
# made on first use under ${FPD_CACHE_DIR:-~/.cache/flyteplugd}/bench-venv from
# bench/grpc/requirements.txt), STREAMS (default 64: 4 connections x 16 concurrent streams).
# Needs h2load (Debian nghttp2-client) and python3.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
duration=${1:-15}
fpd_bin=${FPD_BIN:-$repo/build/daemon/flyteplugd}
cache=${FPD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flyteplugd}
if [ -z "${PYTHON:-}" ]; then
  venv=$cache/bench-venv
  stamp=$venv/requirements.txt
  if ! cmp -s "$repo/bench/grpc/requirements.txt" "$stamp"; then
    echo "run.sh: preparing $venv (first run only)" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q -r "$repo/bench/grpc/requirements.txt"
    cp "$repo/bench/grpc/requirements.txt" "$stamp"
  fi
  PYTHON=$venv/bin/python
fi
python=$PYTHON
pyflyte=$(dirname "$python")/pyflyte
streams=${STREAMS:-64}
conns=4
per_conn=$((streams / conns))
path=/flyteidl.service.AgentMetadataService/ListAgents

command -v h2load >/dev/null || { echo "run.sh: h2load missing (apt-get install nghttp2-client)" >&2; exit 2; }
[ -x "$fpd_bin" ] || { echo "run.sh: $fpd_bin not built" >&2; exit 2; }
[ -x "$pyflyte" ] || { echo "run.sh: $pyflyte missing (pip install -r bench/grpc/requirements.txt)" >&2; exit 2; }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

printf '\0\0\0\0\0' >"$work/body"   # one empty ListAgentsRequest, length-prefixed

free_port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_port() {
  for _ in $(seq 600); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "run.sh: nothing listening on $1" >&2; exit 1
}

# The call must really succeed (h2load only sees HTTP 200): check grpc-status with grpcio.
check_call() {
  "$python" - "$1" <<'PY'
import sys, grpc
from flyteidl.admin import agent_pb2
from flyteidl.service import agent_pb2_grpc
with grpc.insecure_channel(f"127.0.0.1:{sys.argv[1]}") as ch:
    r = agent_pb2_grpc.AgentMetadataServiceStub(ch).ListAgents(agent_pb2.ListAgentsRequest(), timeout=10)
    print(f"  ListAgents OK: {len(r.agents)} agents, {r.ByteSize()} bytes")
PY
}

# CPU time (user + system) of a process so far, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# h2load at $streams concurrent streams; prints "calls/s p50_ms p99_ms cpu_us_per_call", the
# last measured from the server's CPU time over the measured seconds (after the warm-up): less
# sensitive to other load on the machine than calls/s.
load() {
  local port=$1 name=$2 pid=$3
  (sleep 2; cpu_ticks "$pid" >"$work/$name.cpu0") &
  local sampler=$!
  h2load -D "$duration" --warm-up-time=2 -c "$conns" -m "$per_conn" -t 1 -d "$work/body" \
    -H 'content-type: application/grpc' -H 'te: trailers' --log-file="$work/$name.log" \
    "http://127.0.0.1:$port$path" >"$work/$name.out"
  cpu_ticks "$pid" >"$work/$name.cpu1"
  wait "$sampler"
  grep -E '^(finished|requests|status codes)' "$work/$name.out" | sed 's/^/  /' >&2
  "$python" - "$work/$name.out" "$work/$name.log" "$work/$name.cpu0" "$work/$name.cpu1" "$(getconf CLK_TCK)" "$duration" <<'PY'
import re, sys
out = open(sys.argv[1]).read()
cpu_s = (int(open(sys.argv[4]).read()) - int(open(sys.argv[3]).read())) / int(sys.argv[5])
rps = float(re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out).group(1))
ok = int(re.search(r"status codes: (\d+) 2xx", out).group(1))
lat = sorted(int(l.split()[2]) for l in open(sys.argv[2]) if l.strip() and l.split()[1] == "200")
assert ok > 0 and lat, "no successful calls"
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] / 1000.0
print(f"{rps:.0f} {p(0.50):.2f} {p(0.99):.2f} {cpu_s * 1e6 / (rps * float(sys.argv[6])):.2f}")
PY
}

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

echo "== flyteplugd ($fpd_bin)" >&2
cat >"$work/fpd.yaml" <<YAML
log:
  level: warn
grpc:
  listen: 127.0.0.1:$(free_port)
admin:
  enabled: false
YAML
fpd_port=$(awk -F: '/listen/ {print $3}' "$work/fpd.yaml")
"$fpd_bin" serve --config "$work/fpd.yaml" 2>"$work/fpd.err" &
pids+=($!); fpd_pid=$!
wait_port "$fpd_port"
idle_start=$(rss_kib "$fpd_pid")
check_call "$fpd_port" >&2
read -r fpd_rps fpd_p50 fpd_p99 fpd_cpu < <(load "$fpd_port" fpd "$fpd_pid")
sleep 2
idle_after=$(rss_kib "$fpd_pid")

echo "== pyflyte serve connector (flytekit $("$python" -c 'import flytekit; print(flytekit.__version__)'))" >&2
py_port=$(free_port)
"$pyflyte" serve connector --port "$py_port" --prometheus_port "$(free_port)" >"$work/py.err" 2>&1 &
pids+=($!); py_pid=$!
wait_port "$py_port"
check_call "$py_port" >&2
read -r py_rps py_p50 py_p99 py_cpu < <(load "$py_port" py "$py_pid")

ratio=$("$python" -c "print(f'{$fpd_rps / $py_rps:.1f}')")
cat <<TABLE

ListAgents, $streams concurrent streams ($conns connections x $per_conn), ${duration}s, h2load 1 thread
server                     calls/s    p50 ms   p99 ms   server CPU us/call
flyteplugd              $(printf '%10s %9s %8s %10s' "$fpd_rps" "$fpd_p50" "$fpd_p99" "$fpd_cpu")
pyflyte serve connector $(printf '%10s %9s %8s %10s' "$py_rps" "$py_p50" "$py_p99" "$py_cpu")
ratio (flyteplugd / python): ${ratio}x
load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)
flyteplugd idle RSS: $((idle_start / 1024)).$(((idle_start % 1024) * 10 / 1024)) MiB at start, $((idle_after / 1024)).$(((idle_after % 1024) * 10 / 1024)) MiB after the run
TABLE
