#!/usr/bin/env bash
# Build the real Kubernetes controllers used by flyteplugd's e2e controller tests, from
# their upstream Go modules pinned in tests/cluster/controllers/<name>/go.mod + go.sum.
#
#   tests/cluster/controllers/build.sh [COMPONENT...]   -> prints the bin dir on stdout
#
# COMPONENT: kwok kueue kuberay kube-scheduler kube-controller-manager (default: all).
# Each module's go.mod carries a `tool` directive naming the upstream command's main
# package; that package is built as is (nothing is copied). kube-scheduler and
# kube-controller-manager come from kube/, which pins the same k8s.io/kubernetes
# (and staging replaces) as tests/cluster/apiserver.
#
# Binaries are cached per component and version in
#   ${FPD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flyteplugd}/cluster/<component>-<version>/
# (tests/cluster/.bin/ if that cannot be written) and symlinked into
#   <root>/controllers-<versions>/, which is what is printed.
# With a warm cache nothing is built, no lock is taken and go is not run.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cluster="$(dirname "$here")"
log() { printf 'controllers/build.sh: %s\n' "$*" >&2; }

modver() { # modver <go.mod> <module path>: the required version (// comments ignored)
	awk -v m="$2" '{ sub(/[ \t]*\/\/.*/, "") } ($1 == m || ($1 == "require" && $2 == m)) { print $NF; exit }' "$1"
}
toolpkg() { awk '$1 == "tool" { print $2; exit }' "$1"; }

# component -> module dir, package, pinned module, cache name
declare -A moddir pkg modpath
moddir[kwok]="$here/kwok"
modpath[kwok]=sigs.k8s.io/kwok
moddir[kueue]="$here/kueue"
modpath[kueue]=sigs.k8s.io/kueue
moddir[kuberay]="$here/kuberay"
modpath[kuberay]=github.com/ray-project/kuberay/ray-operator
moddir[kube-scheduler]="$here/kube"
modpath[kube-scheduler]=k8s.io/kubernetes
pkg[kube-scheduler]=k8s.io/kubernetes/cmd/kube-scheduler
moddir[kube-controller-manager]="$here/kube"
modpath[kube-controller-manager]=k8s.io/kubernetes
pkg[kube-controller-manager]=k8s.io/kubernetes/cmd/kube-controller-manager
for c in kwok kueue kuberay; do pkg[$c]="$(toolpkg "${moddir[$c]}/go.mod")"; done
all=(kwok kube-scheduler kube-controller-manager kueue kuberay)

comps=("$@")
[[ ${#comps[@]} -gt 0 ]] || comps=("${all[@]}")

writable_dir() { mkdir -p "$1" 2>/dev/null && [[ -w "$1" ]] && touch "$1/.probe" 2>/dev/null && rm -f "$1/.probe"; }
root="${FPD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flyteplugd}/cluster"
if ! writable_dir "$root"; then
	log "cache dir $root is not writable; using $cluster/.bin"
	root="$cluster/.bin"
	writable_dir "$root" || { log "cannot write $root either"; exit 1; }
fi
declare -A ver out
for c in "${comps[@]}"; do
	[[ -n "${moddir[$c]:-}" ]] || { log "unknown component $c (known: ${all[*]})"; exit 2; }
done
for c in "${all[@]}"; do
	ver[$c]="$(modver "${moddir[$c]}/go.mod" "${modpath[$c]}")"
	[[ -n "${ver[$c]}" && -n "${pkg[$c]}" ]] || { log "cannot read the pin of $c from ${moddir[$c]}/go.mod"; exit 1; }
	out[$c]="$root/$c-${ver[$c]}"
done
# One bin dir per set of pins, so that checkouts with other pins never swap a binary under a
# running test: controllers-<kwok ver>-<kube ver>-<kueue ver>-<kuberay ver>.
bindir="$root/controllers-${ver[kwok]}-${ver[kube-scheduler]}-${ver[kueue]}-${ver[kuberay]}"

# Files the tests take from the same module as the binary, so that binary and CRDs (or
# kwok's stages) always match: <module dir>/<glob> is copied to <cache>/<component>-<version>/<subdir>/.
declare -A asset_glob asset_dir
asset_glob[kwok]="kustomize/stage/node/fast/node-*.yaml kustomize/stage/node/heartbeat-with-lease/node-*.yaml kustomize/stage/pod/fast/pod-*.yaml"
asset_dir[kwok]=stages
asset_glob[kueue]="config/components/crd/bases/*.yaml config/components/webhook/manifests.yaml"
asset_dir[kueue]=crds
asset_glob[kuberay]="config/crd/bases/*.yaml"
asset_dir[kuberay]=crds

ready() {
	local c
	for c in "${comps[@]}"; do
		[[ -x "${out[$c]}/$c" && "$(readlink "$bindir/$c" 2>/dev/null)" == "${out[$c]}/$c" ]] || return 1
		[[ -z "${asset_dir[$c]:-}" || "$(cat "${out[$c]}/${asset_dir[$c]}/.complete" 2>/dev/null)" == "${asset_glob[$c]}" ]] || return 1
	done
}
if ready; then
	printf '%s\n' "$bindir"
	exit 0
fi

GO="${GO:-$(command -v go || true)}"
[[ -n "$GO" ]] || GO=/usr/local/go/bin/go
[[ -x "$GO" ]] || { log "no go toolchain (set GO=/path/to/go)"; exit 1; }

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=readonly GOWORK=off

ldflags_for() { # kube-* get the same version stamp as tests/cluster/build.sh gives kube-apiserver
	local c="$1" v="${ver[$1]}" vp=k8s.io/component-base/version date minor
	case "$c" in
	kube-*)
		date="$(git -C "$cluster" log -1 --format=%cI -- apiserver/go.mod 2>/dev/null || true)"
		date="$(date -u -d "${date:-1970-01-01T00:00:00Z}" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo 1970-01-01T00:00:00Z)"
		minor="${v#v1.}"; minor="${minor%%.*}"
		printf '%s' "-s -w -X $vp.gitVersion=$v -X $vp.gitMajor=1 -X $vp.gitMinor=$minor -X $vp.gitTreeState=clean -X $vp.buildDate=$date"
		;;
	*)
		printf '%s' "-s -w"
		;;
	esac
}

mkdir -p "$bindir"
for c in "${comps[@]}"; do
	# One builder per component (parallel test sessions, several shells); others wait.
	exec 9>"$root/.lock-$c"
	if command -v flock >/dev/null && ! flock -n 9; then
		log "another build of $c is running; waiting for $root/.lock-$c"
		flock 9
	fi
	if [[ ! -x "${out[$c]}/$c" ]]; then
		log "building $c ${ver[$c]} (${pkg[$c]}); first build takes minutes, later runs use ${out[$c]}"
		start=$SECONDS
		tmp="$(mktemp -d "$root/.tmp-$c.XXXXXX")"
		if ! (cd "${moddir[$c]}" && "$GO" build -trimpath -ldflags "$(ldflags_for "$c")" -o "$tmp/$c" "${pkg[$c]}") >&2; then
			rm -rf "$tmp"
			log "FAILED to build $c ${ver[$c]}"
			exit 1
		fi
		mkdir -p "${out[$c]}"
		mv -f "$tmp/$c" "${out[$c]}/$c"
		rm -rf "$tmp"
		log "built $c ${ver[$c]} in $((SECONDS - start))s"
	fi
	if [[ -n "${asset_dir[$c]:-}" && "$(cat "${out[$c]}/${asset_dir[$c]}/.complete" 2>/dev/null)" != "${asset_glob[$c]}" ]]; then
		mdir="$(cd "${moddir[$c]}" && "$GO" list -m -f '{{.Dir}}' "${modpath[$c]}")"
		[[ -d "$mdir" ]] || { log "cannot locate module ${modpath[$c]} ${ver[$c]}"; exit 1; }
		tmp="$(mktemp -d "$root/.tmp-$c-${asset_dir[$c]}.XXXXXX")"
		n=0
		for g in ${asset_glob[$c]}; do
			for f in "$mdir"/$g; do
				[[ -f "$f" ]] || continue
				cp "$f" "$tmp/"; n=$((n + 1))
			done
		done
		[[ $n -gt 0 ]] || { rm -rf "$tmp"; log "no ${asset_dir[$c]} found in $mdir"; exit 1; }
		chmod 0755 "$tmp"; chmod 0644 "$tmp"/*
		printf '%s\n' "${asset_glob[$c]}" >"$tmp/.complete"  # which files: a changed list recopies
		rm -rf "${out[$c]:?}/${asset_dir[$c]}"
		mkdir -p "${out[$c]}"
		mv "$tmp" "${out[$c]}/${asset_dir[$c]}"
		log "copied $n ${asset_dir[$c]} files of ${modpath[$c]} ${ver[$c]}"
	fi
	ln -sfn "${out[$c]}/$c" "$bindir/$c"
	[[ -z "${asset_dir[$c]:-}" ]] || ln -sfn "${out[$c]}/${asset_dir[$c]}" "$bindir/$c.${asset_dir[$c]}"
	printf '%s\n' "${ver[$c]}" >"$bindir/.$c.version.tmp" && mv -f "$bindir/.$c.version.tmp" "$bindir/$c.version"
	exec 9>&-
done

ready || { log "build finished but binaries are missing in $bindir"; exit 1; }
printf '%s\n' "$bindir"
