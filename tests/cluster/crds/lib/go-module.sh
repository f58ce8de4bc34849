# Sourced by tests/cluster/crds/*.sh: an operator's own CRD files taken from its released Go
# module at a pinned version (the module zip, fetched with `go mod download` through the Go
# module proxy, checksummed by sum.golang.org), cached under
# ${FPD_CACHE_DIR:-$HOME/.cache/flyteplugd}/crds/<key>-<version>/. Prints one YAML path a line.
#
#   fpd_module_crds KEY VERSION MODULE DIR FILE...
#
# DIR is the folder of the files inside the module. A cache folder holding every file is used
# as it is; otherwise it is filled in a .partial folder and moved into place, so an interrupted
# fetch leaves nothing half-made. (A folder, not a *.sh beside the scripts: the crds fixture
# runs every one of those.)

fpd_module_crds() {
	local key=$1 version=$2 module=$3 dir=$4
	shift 4
	local go="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
	local cache="${FPD_CACHE_DIR:-$HOME/.cache/flyteplugd}/crds/${key}-${version}"
	local f missing=0
	for f in "$@"; do [[ -s "$cache/$f" ]] || missing=1; done
	if ((missing)); then
		local tmp
		tmp="$(mktemp -d)"
		# Module files are read-only: make them writable to remove them.
		trap "chmod -R u+w '$tmp' 2>/dev/null; rm -rf '$tmp'" EXIT
		(
			cd "$tmp"
			export GOPATH="$tmp/gopath" GOMODCACHE="$tmp/gopath/pkg/mod" GOFLAGS=-mod=mod
			"$go" mod init fpd-crds >/dev/null 2>&1
			"$go" mod download -json "$module@$version" >download.json
		)
		local src
		src="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Dir"])' "$tmp/download.json")"
		mkdir -p "$cache.partial"
		for f in "$@"; do
			cp "$src/$dir/$f" "$cache.partial/$f"
		done
		echo "$module@$version $dir" >"$cache.partial/SOURCE"
		rm -rf "$cache"
		mv "$cache.partial" "$cache"
	fi
	for f in "$@"; do echo "$cache/$f"; done
}
