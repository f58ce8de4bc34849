#!/usr/bin/env bash
# Build the real kube-apiserver and etcd used by flyteplugd's tests, from their
# upstream Go modules pinned in tests/cluster/{apiserver,etcd}/go.mod + go.sum.
#
#   tests/cluster/build.sh            -> prints the bin dir (kube-apiserver, etcd) on stdout
#
# Binaries are cached per component and version in
#   ${FPD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flyteplugd}/cluster/<component>-<version>/
# and, if that directory cannot be written, in tests/cluster/.bin/ instead.
# With a warm cache the script builds nothing and returns at once. Progress goes to stderr.
#
# Environment:
#   GO                     go command (default: go on PATH, else /usr/local/go/bin/go)
#   FPD_CACHE_DIR          cache root (see above)
#   FPD_CLUSTER_KUBECTL=0  skip kubectl (built by default from the same k8s.io/kubernetes pin: +20 s)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { printf 'cluster/build.sh: %s\n' "$*" >&2; }

# --- versions: the go.mod files are the single source of truth -------------------
modver() { # modver <go.mod> <module path>
	awk -v m="$2" '($1 == m || ($1 == "require" && $2 == m)) { print $NF; exit }' "$1"
}
k8s_version="$(modver "$here/apiserver/go.mod" k8s.io/kubernetes)"
etcd_version="$(modver "$here/etcd/go.mod" go.etcd.io/etcd/server/v3)"
[[ -n "$k8s_version" && -n "$etcd_version" ]] || { log "cannot read pinned versions from go.mod"; exit 1; }

# --- cache dir (optional: fall back to a build-local dir) ------------------------
writable_dir() { mkdir -p "$1" 2>/dev/null && [[ -w "$1" ]] && touch "$1/.probe" 2>/dev/null && rm -f "$1/.probe"; }
root="${FPD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flyteplugd}/cluster"
if ! writable_dir "$root"; then
	log "cache dir $root is not writable; using $here/.bin"
	root="$here/.bin"
	writable_dir "$root" || { log "cannot write $root either"; exit 1; }
fi

apiserver_dir="$root/kube-apiserver-$k8s_version"
etcd_dir="$root/etcd-$etcd_version"
kubectl_dir="$root/kubectl-$k8s_version"
bindir="$root/bin-k8s-$k8s_version-etcd-$etcd_version"

want_kubectl="${FPD_CLUSTER_KUBECTL:-1}"
ready() {
	[[ -x "$apiserver_dir/kube-apiserver" && -x "$etcd_dir/etcd" && -x "$bindir/kube-apiserver" && -x "$bindir/etcd" ]] || return 1
	[[ "$want_kubectl" != 1 ]] || [[ -x "$kubectl_dir/kubectl" && -x "$bindir/kubectl" ]]
}

# Fast path: nothing to do, no lock, no go.
if ready; then
	printf '%s\n' "$bindir"
	exit 0
fi

# --- build ---------------------------------------------------------------------
GO="${GO:-$(command -v go || true)}"
[[ -n "$GO" ]] || GO=/usr/local/go/bin/go
[[ -x "$GO" ]] || { log "no go toolchain (set GO=/path/to/go)"; exit 1; }

# One builder at a time (parallel ctest fixtures, several shells).
exec 9>"$root/.lock"
if command -v flock >/dev/null && ! flock -n 9; then
	log "another build is running; waiting for $root/.lock"
	flock 9
fi

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=readonly GOWORK=off
ver_pkg=k8s.io/component-base/version
build_date="$(git -C "$here" log -1 --format=%cI -- apiserver/go.mod 2>/dev/null || true)"
build_date="${build_date:-1970-01-01T00:00:00Z}"
build_date="$(date -u -d "$build_date" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo 1970-01-01T00:00:00Z)"
k8s_minor="${k8s_version#v1.}"; k8s_minor="${k8s_minor%%.*}"
k8s_ldflags="-s -w -X $ver_pkg.gitVersion=$k8s_version -X $ver_pkg.gitMajor=1 -X $ver_pkg.gitMinor=$k8s_minor \
-X $ver_pkg.gitTreeState=clean -X $ver_pkg.buildDate=$build_date"

build() { # build <module dir> <package> <output dir> <binary name> <ldflags> <label>
	local mod="$1" pkg="$2" out="$3" name="$4" ldflags="$5" label="$6" tmp start
	if [[ -x "$out/$name" ]]; then return 0; fi
	log "building $label (first build takes minutes; later runs use $out)"
	start=$SECONDS
	tmp="$(mktemp -d "$root/.tmp-$name.XXXXXX")"
	if ! (cd "$mod" && "$GO" build -trimpath -ldflags "$ldflags" -o "$tmp/$name" "$pkg") >&2; then
		rm -rf "$tmp"
		log "FAILED to build $label"
		return 1
	fi
	mkdir -p "$out"
	mv -f "$tmp/$name" "$out/$name"
	rm -rf "$tmp"
	log "built $label in $((SECONDS - start))s"
}

build "$here/etcd" . "$etcd_dir" etcd "-s -w" "etcd $etcd_version"
build "$here/apiserver" . "$apiserver_dir" kube-apiserver "$k8s_ldflags" "kube-apiserver $k8s_version"
if [[ "$want_kubectl" == 1 ]]; then
	build "$here/apiserver" k8s.io/kubernetes/cmd/kubectl "$kubectl_dir" kubectl "$k8s_ldflags" "kubectl $k8s_version"
fi

mkdir -p "$bindir"
ln -sfn "$apiserver_dir/kube-apiserver" "$bindir/kube-apiserver"
ln -sfn "$etcd_dir/etcd" "$bindir/etcd"
if [[ -x "$kubectl_dir/kubectl" ]]; then ln -sfn "$kubectl_dir/kubectl" "$bindir/kubectl"; fi
printf '%s\n' "$k8s_version" >"$bindir/KUBERNETES_VERSION"
printf '%s\n' "$etcd_version" >"$bindir/ETCD_VERSION"

ready || { log "build finished but binaries are missing in $bindir"; exit 1; }
printf '%s\n' "$bindir"
