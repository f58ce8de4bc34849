#!/usr/bin/env bash
# flyteplugd's kube informer vs a stock client-go informer, on the same pods, in one run against
# a real kube-apiserver + etcd (tests/cluster). See bench/kube/README.md.
#
#   bench/kube/run.sh                  # COUNT=10000 REPEAT=5 HOLD=20 by default
#   MODE=calls bench/kube/run.sh       # calls over HTTP/1.1 vs HTTP/2: CALLS=500 ROUNDS=4
#   MODE=creates bench/kube/run.sh     # creates/s with 64 in flight: bare POSTs, the old
#                                      # limits, the configuration's defaults; CREATES=1500 ROUNDS=3
#   MODE=lists bench/kube/run.sh       # streaming list vs pages: COUNTS="10000 50000" REPEAT=3
#
# Builds: the C benchmark (a Release build of fpd_kube in $WORK/build), the client-go peer
# (cached in ${FPD_CACHE_DIR:-~/.cache/flyteplugd}/tools/), the cluster binaries (cached by
# tests/cluster/build.sh). Results: $WORK/results.md and the JSON lines next to it.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
count="${COUNT:-10000}"
repeat="${REPEAT:-5}"
hold="${HOLD:-20}"
work="${WORK:-$root/build-bench-kube}"
cache="${FPD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flyteplugd}"
py="$root/.venv/bin/python3"
[[ -x "$py" ]] || py=python3
log() { printf 'bench/kube: %s\n' "$*" >&2; }
mkdir -p "$work"

# --- the C side: a Release build of the library, the benchmark linked against it -------------
log "building kube_bench"
cmake -S "$root" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFPD_TESTS=OFF >/dev/null
ninja -C "$work/build" fpd_kube libflyteplugd >/dev/null
cc -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -I"$root/daemon" \
	-I"$root/plugin-api/include" "$root/bench/kube/kube_bench.c" \
	"$work/build/daemon/kube/libfpd_kube.a" "$work/build/daemon/libfpd_core.a" \
	"$work/build/plugin-api/libflyteplugd.a" \
	$(pkg-config --libs libcurl jansson yaml-0.1 openssl) -lev -lm -o "$work/kube_bench"

# --- a fresh cluster ---------------------------------------------------------------------------
cluster="$work/cluster"
"$py" "$root/tests/cluster/cluster.py" down --dir "$cluster" 2>/dev/null || true
# Room for big collections: etcd quota and kube-apiserver memory (tests/cluster/README.md).
"$py" "$root/tests/cluster/cluster.py" up --dir "$cluster" \
	--etcd-quota-bytes "${ETCD_QUOTA:-8589934592}" --apiserver-memory-limit "${APISERVER_MEM:-6GiB}" \
	>/dev/null
trap '"$py" "$root/tests/cluster/cluster.py" down --dir "$cluster"' EXIT
set -a; . "$cluster/env"; set +a

# --- calls: pod creates over kept-alive HTTP/1.1 vs multiplexed HTTP/2, rounds alternating ----
if [[ ${MODE:-informer} == calls ]]; then
	calls="${CALLS:-500}"
	: >"$work/calls.json"
	for r in $(seq "${ROUNDS:-4}"); do
		for p in http/1.1 http/2; do
			log "calls: round $r, $p"
			"$work/kube_bench" calls --namespace "calls-$r" --count "$calls" --protocol "$p" \
				>>"$work/calls.json"
		done
	done
	"$py" - "$work" <<'PYEOF'
import json, pathlib, statistics, sys
work = pathlib.Path(sys.argv[1])
rows = [json.loads(l) for l in (work / "calls.json").read_text().splitlines() if l.strip()]
out = ["| calls over | sequential create, µs: min | median | p90 | p99 | 32 in flight, creates/s | connections |",
       "|---|---:|---:|---:|---:|---:|---:|"]
for p in ("http/1.1", "http/2"):
    rs = [r for r in rows if r["protocol"] == p]
    med = lambda k: statistics.median(r[k] for r in rs)
    out.append(f"| {p} ({len(rs)} runs of {rs[0]['count']}, medians) | {med('seq_us_min'):.0f} | "
               f"{med('seq_us_median'):.0f} | {med('seq_us_p90'):.0f} | {med('seq_us_p99'):.0f} | "
               f"{med('concurrent32_per_s'):.0f} | {med('connects'):.0f} |")
text = "\n".join(out) + "\n"
(work / "calls.md").write_text(text)
print(text)
PYEOF
	exit 0
fi

# --- creates: the client's limits against the server's own rate, rounds rotating the order ---
if [[ ${MODE:-informer} == creates ]]; then
	n="${CREATES:-1500}"
	: >"$work/creates.json"
	order=(bare old default)
	for r in $(seq "${ROUNDS:-3}"); do
		for l in "${order[@]}"; do
			log "creates: round $r, limits $l"
			"$work/kube_bench" creates --namespace "creates-$r-$l" --count "$n" --limits "$l" \
				--inflight "${INFLIGHT:-64}" >>"$work/creates.json"
		done
		order=("${order[@]:1}" "${order[0]}")
	done
	"$py" - "$work" <<'PYEOF'
import json, pathlib, statistics, sys
work = pathlib.Path(sys.argv[1])
rows = [json.loads(l) for l in (work / "creates.json").read_text().splitlines() if l.strip()]
bare = statistics.median(r["creates_per_s"] for r in rows if r["limits"] == "bare")
out = ["| client limits | runs | creates/s (median) | of bare | throttled waits |", "|---|---:|---:|---:|---:|"]
for l in ("bare", "old", "default"):
    rs = [r for r in rows if r["limits"] == l]
    m = statistics.median(r["creates_per_s"] for r in rs)
    out.append(f"| {l} | {len(rs)} | {m:.0f} | {m / bare:.2f} | {statistics.median(r['throttled'] for r in rs):.0f} |")
text = "\n".join(out) + "\n"
(work / "creates.md").write_text(text)
print(text)
PYEOF
	exit 0
fi

# --- lists: the streaming list (WatchList) against pages of 500, growing collections ---------
if [[ ${MODE:-informer} == lists ]]; then
	: >"$work/lists.json"
	for n in ${COUNTS:-10000 50000}; do
		log "lists: $n pods"
		"$work/kube_bench" create --namespace bench --count "$n"
		for l in stream paged stream paged; do
			"$work/kube_bench" informer --namespace bench --repeat "$repeat" --list "$l" \
				>>"$work/lists.json"
		done
	done
	"$py" - "$work" <<'PYEOF'
import json, pathlib, statistics, sys
work = pathlib.Path(sys.argv[1])
rows = [json.loads(l) for l in (work / "lists.json").read_text().splitlines() if l.strip()]
out = ["| pods | list | first list ms | list ms min / median | client CPU ms per list | RSS after (MiB) | peak RSS (MiB) |",
       "|---:|---|---:|---:|---:|---:|---:|"]
for n in sorted({r["objects"] for r in rows}):
    for l in ("stream", "paged"):
        rs = [r for r in rows if r["objects"] == n and r["list"] == l]
        if not rs:
            continue
        med = lambda k: statistics.median(r[k] for r in rs)
        out.append(f"| {n} | {l} | {med('first_list_ms'):.0f} | {min(r['list_ms_min'] for r in rs)} / {med('list_ms_median'):.0f} "
                   f"| {med('list_cpu_ms'):.0f} | {med('rss_after_kb')/1024:.1f} | {max(r['peak_rss_kb'] for r in rs)/1024:.1f} |")
text = "\n".join(out) + "\n"
(work / "lists.md").write_text(text)
print(text)
PYEOF
	exit 0
fi

# --- the peer: client-go from the Go module proxy, pinned by go.mod/go.sum -------------------
peer_src="$root/bench/peers/client-go-informer"
hash="$(cat "$peer_src/go.mod" "$peer_src/go.sum" "$peer_src/main.go" | sha256sum | cut -c1-16)"
peer="$cache/tools/client-go-informer-$hash"
if [[ ! -x "$peer" ]]; then
	log "building the client-go peer into $peer"
	mkdir -p "$cache/tools"
	(cd "$peer_src" && GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=0 \
		go build -trimpath -o "$peer.tmp" . && mv "$peer.tmp" "$peer")
fi

# --- $count running pods --------------------------------------------------------------------
log "creating $count pods"
"$work/kube_bench" create --namespace bench --count "$count"

# --- memory: both informers watch the same pods at the same time -----------------------------
log "memory: flyteplugd and client-go informers side by side (hold ${hold}s, 1000 updates)"
"$work/kube_bench" informer --namespace bench --repeat 0 --hold "$hold" >"$work/c-mem.json" &
c_pid=$!
"$peer" -namespace bench -repeat 0 -hold "$hold" >"$work/go-mem.json" &
go_pid=$!
"$peer" -namespace bench -repeat 0 -hold "$hold" -transform strip-managed-fields \
	>"$work/go-strip-mem.json" &
go2_pid=$!
sleep $(( hold / 2 ))
"$work/kube_bench" touch --namespace bench --count 1000
wait $c_pid $go_pid $go2_pid

# --- list time: one client at a time, against the same URL -----------------------------------
log "list time: raw GET (curl), flyteplugd, client-go; $repeat lists each"
url="$FPD_TEST_KUBE_SERVER/api/v1/namespaces/bench/pods?labelSelector=bench%3Dkube&limit=500&resourceVersion=0"
: >"$work/curl.txt"
: >"$work/curl-proto.txt"
for _ in $(seq "$repeat"); do
	# time_total minus the TLS handshake: the informers reuse their connection.
	curl -sS --http2 -o /dev/null -w '%{time_total} %{time_appconnect} %{size_download}\n' \
		--cacert "$FPD_TEST_KUBE_CA_FILE" --cert "$FPD_TEST_KUBE_CLIENT_CERT" \
		--key "$FPD_TEST_KUBE_CLIENT_KEY" "$url" >>"$work/curl.txt"
	# The same list as protobuf, which client-go's typed clients negotiate by default.
	curl -sS --http2 -o /dev/null -w '%{time_total} %{time_appconnect} %{size_download}\n' \
		-H 'Accept: application/vnd.kubernetes.protobuf' \
		--cacert "$FPD_TEST_KUBE_CA_FILE" --cert "$FPD_TEST_KUBE_CLIENT_CERT" \
		--key "$FPD_TEST_KUBE_CLIENT_KEY" "$url" >>"$work/curl-proto.txt"
done
"$work/kube_bench" informer --namespace bench --repeat "$repeat" >"$work/c-list.json"
"$peer" -namespace bench -repeat "$repeat" >"$work/go-list.json"

"$py" - "$work" "$count" <<'PYEOF'
import json, pathlib, statistics, sys
work, count = pathlib.Path(sys.argv[1]), int(sys.argv[2])
load = lambda n: json.loads((work / n).read_text())
c, g, gs = load("c-mem.json"), load("go-mem.json"), load("go-strip-mem.json")
cl, gl = load("c-list.json"), load("go-list.json")

def curl(name):
    rows = [l.split() for l in (work / name).read_text().splitlines() if l.strip()]
    ms = [(float(t) - float(a)) * 1000 for t, a, _ in rows]
    return min(ms), statistics.median(ms), int(rows[0][2])

jmin, jmed, jsize = curl("curl.txt")
pmin, pmed, psize = curl("curl-proto.txt")
runs = len((work / "curl.txt").read_text().splitlines())
out = [
    f"Memory, {count} running pods watched at the same time by both (RSS after the first list",
    "minus RSS before it, after malloc_trim / runtime.GC+FreeOSMemory):", "",
    "| client | objects | RSS before → after (MiB) | RSS per object | peak RSS (MiB) |",
    "|---|---:|---:|---:|---:|",
]
for name, d in (("flyteplugd kube informer", c), ("client-go informer", g),
                ("client-go, managedFields stripped", gs)):
    out.append(f"| {name} | {d['objects']} | {d['rss_before_kb']/1024:.1f} → {d['rss_after_kb']/1024:.1f} "
               f"| {d['rss_per_object_bytes']:.0f} B | {d['peak_rss_kb']/1024:.1f} |")
out += ["", f"client-go / flyteplugd, memory per object: {g['rss_per_object_bytes']/c['rss_per_object_bytes']:.0f}x "
        f"({gs['rss_per_object_bytes']/c['rss_per_object_bytes']:.0f}x with managedFields stripped). "
        f"flyteplugd's own cache accounting: {c['cache_bytes_per_object']:.0f} B/object.", "",
        f"Full list of the {count} pods, one client at a time, ms (min / median of {runs}):", "",
        "| | encoding | wall min | wall median | client CPU per list |", "|---|---|---:|---:|---:|",
        f"| raw GET (curl, body discarded, TLS handshake excluded) | JSON, {jsize/1e6:.1f} MB | {jmin:.0f} | {jmed:.0f} | |",
        f"| flyteplugd informer: list → synced cache | JSON | {cl['list_ms_min']} | {cl['list_ms_median']} | {cl['list_cpu_ms']} |",
        f"| raw GET (curl, body discarded, TLS handshake excluded) | protobuf, {psize/1e6:.1f} MB | {pmin:.0f} | {pmed:.0f} | |",
        f"| client-go informer: list → synced cache | protobuf | {gl['list_ms_min']} | {gl['list_ms_median']} | {gl['list_cpu_ms']} |"]
text = "\n".join(out) + "\n"
(work / "results.md").write_text(text)
print(text)
PYEOF
