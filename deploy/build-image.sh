#!/usr/bin/env bash
# Builds the flyteplugd container image with podman, from Debian packages only.
#
#   deploy/build-image.sh                 build (or reuse) the image; print its reference on stdout
#   deploy/build-image.sh podman ARGS...  run podman with the same storage and flags
#
# Two caches, both under ${FPD_CACHE_DIR:-~/.cache/flyteplugd}/image:
#   - the builder rootfs: `debootstrap --variant=minbase` of $suite with the build dependencies,
#     kept as a tarball and imported into podman as localhost/flyteplugd-builder:<pins>, where
#     <pins> hashes the suite, the mirror and the package list (dpkg's list of what it got is
#     kept beside it as rootfs-<pins>.packages);
#   - the image: localhost/flyteplugd:<source>, where <source> hashes the staged build context
#     (the sources the daemon is built from, the Flyte IDL tarball), the Containerfile and the
#     builder's pins. An existing tag is reused without building.
# Progress and the image size go to stderr. podman runs on a private storage root in the cache
# (overlay driver, runc, cgroupfs: no systemd here, and crun fails on this kernel's hybrid
# cgroups), with a containers.conf of its own; no global configuration is changed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cache=${FPD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flyteplugd}
dir=$cache/image
log() { printf 'build-image.sh: %s\n' "$*" >&2; }

suite=${FPD_IMAGE_SUITE:-bookworm}
mirror=${FPD_IMAGE_MIRROR:-http://deb.debian.org/debian}
builder_packages=(
	gcc libc6-dev binutils cmake ninja-build pkg-config ca-certificates openssl
	libev-dev libcurl4-openssl-dev libnghttp2-dev libssl-dev libjansson-dev libyaml-dev
	libprotobuf-c-dev protobuf-c-compiler libprotobuf-dev protobuf-compiler libmicrohttpd-dev
	python3 libjq-dev libmimalloc-dev
)

mkdir -p "$dir"
cat >"$dir/containers.conf" <<'CONF'
[containers]
# The default nofile/nproc ulimits cannot be set by an unprivileged-looking runtime here.
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
CONF

pm() {
	CONTAINERS_CONF=$dir/containers.conf podman --root "$dir/storage" --runroot "$dir/run" \
		--storage-driver "${FPD_IMAGE_STORAGE_DRIVER:-overlay}" --cgroup-manager cgroupfs \
		--runtime runc --events-backend file "$@"
}

if [[ ${1:-} == podman ]]; then
	shift
	pm "$@"
	exit
fi

command -v podman >/dev/null || { log "podman missing: run scripts/install-deps.sh"; exit 1; }

# One build at a time (tests, several shells).
exec 9>"$dir/.lock"
flock 9

sha() { sha256sum | cut -c1-16; }
pins=$(printf '%s\n' "$suite" "$mirror" "${builder_packages[@]}" | sha)
builder=localhost/flyteplugd-builder:$pins

if ! pm image exists "$builder"; then
	tarball=$dir/rootfs-$pins.tar
	if [[ ! -s $tarball ]]; then
		command -v debootstrap >/dev/null || { log "debootstrap missing: run scripts/install-deps.sh"; exit 1; }
		log "debootstrap $suite with ${#builder_packages[@]} build packages (first build only)"
		tmp=$(mktemp -d "$dir/rootfs.XXXXXX")
		# debootstrap mounts /proc and /sys inside the tree: never delete through a mount.
		cleanup_rootfs() {
			findmnt -rn -o TARGET | grep -F "$tmp/" | sort -r | xargs -r umount -l || true
			rm -rf --one-file-system "$tmp"
		}
		trap cleanup_rootfs EXIT
		include=$(IFS=,; echo "${builder_packages[*]}")
		debootstrap --variant=minbase --include="$include" "$suite" "$tmp/root" "$mirror" \
			>"$tmp/debootstrap.log" 2>&1 || { tail -30 "$tmp/debootstrap.log" >&2; exit 1; }
		chroot "$tmp/root" dpkg-query -W -f '${Package} ${Version}\n' >"$dir/rootfs-$pins.packages"
		rm -rf "$tmp/root/var/cache/apt/archives"/*.deb "$tmp/root/var/lib/apt/lists"/*
		tar -C "$tmp/root" --one-file-system --numeric-owner --sort=name -cf "$tarball.part" .
		mv "$tarball.part" "$tarball"
		cleanup_rootfs
		trap - EXIT
	fi
	log "importing the builder rootfs as $builder"
	pm import --quiet "$tarball" "$builder" >/dev/null
fi

# The build context: the files the daemon is built from, as they are in the work tree
# (tracked or new, not ignored), plus the pinned Flyte IDL tarball and flyteidl2 wheel from the
# build cache (python3 and protoc in the builder read the wheel's descriptors; no network).
ctx=$(mktemp -d "$dir/ctx.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
(cd "$root" && git ls-files -z --cached --others --exclude-standard -- \
	CMakeLists.txt proto daemon plugins plugin-api deploy/collect-runtime.sh |
	xargs -0 -r sh -c 'for f; do [ -f "$f" ] && printf "%s\0" "$f"; done' sh |
	tar --null -T - -cf - | tar -C "$ctx" -xf -)
idl_version=$(sed -n 's/^set(FPD_FLYTEIDL_VERSION \([0-9.]*\))$/\1/p' "$root/proto/CMakeLists.txt")
idl=$cache/flyteidl/flyteorg-flyteidl-$idl_version.tgz
if [[ ! -s $idl ]]; then
	# The normal build fetches and verifies it; do the same here.
	integrity=$(sed -n 's/^ *"\(sha512-[^"]*\)")$/\1/p' "$root/proto/CMakeLists.txt")
	bash "$root/proto/fetch-idl.sh" "$idl_version" "$integrity" "$cache/flyteidl" "$ctx/.idl-check" \
		"$ctx/.idl-stamp" >&2
	rm -rf "$ctx/.idl-check" "$ctx/.idl-stamp"
fi
idl2_version=$(sed -n 's/^set(FPD_FLYTEIDL2_VERSION \([0-9.]*\))$/\1/p' "$root/proto/CMakeLists.txt")
idl2_sha=$(sed -n 's/^set(FPD_FLYTEIDL2_SHA256 \([0-9a-f]*\))$/\1/p' "$root/proto/CMakeLists.txt")
idl2=$cache/flyteidl/flyteidl2-$idl2_version-py3-none-any.whl
if [[ ! -s $idl2 ]]; then
	bash "$root/proto/fetch-idl2.sh" "$idl2_version" "$idl2_sha" "$cache/flyteidl" "$ctx/.idl2-check" \
		"$ctx/.idl2-stamp" python3 flyteidl2/connector/connector.proto >&2
	rm -rf "$ctx/.idl2-check" "$ctx/.idl2-stamp"
fi
mkdir -p "$ctx/.cache/flyteidl"
cp "$idl" "$idl2" "$ctx/.cache/flyteidl/"
# The Kubernetes API modules' zips, fetched (with Go) and checked against their pins here, so
# that the image build checks them again and needs neither Go nor the network.
k8s_version=$(sed -n "s/^VERSION = '\(.*\)'$/\1/p" "$root/proto/k8s/fetch-k8s.py")
python3 "$root/proto/k8s/fetch-k8s.py" "$cache/k8s-api" "$ctx/.k8s-check" "$ctx/.k8s-stamp" >&2
rm -rf "$ctx/.k8s-check" "$ctx/.k8s-stamp"
mkdir -p "$ctx/.cache/k8s-api"
cp "$cache"/k8s-api/*@"$k8s_version".zip "$ctx/.cache/k8s-api/"

source_hash=$( (cd "$ctx" && tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - .
	cat "$here/Containerfile"; echo "$pins") | sha)
image=localhost/flyteplugd:$source_hash

if pm image exists "$image"; then
	log "$image exists (source unchanged): nothing to build"
else
	log "building $image"
	start=$SECONDS
	pm build --quiet --pull=never --network=host --layers=false \
		--build-arg BUILDER="$builder" -f "$here/Containerfile" -t "$image" "$ctx" >/dev/null
	log "built $image in $((SECONDS - start)) s"
fi
pm tag "$image" localhost/flyteplugd:latest
size=$(pm image inspect --format '{{.Size}}' "$image")
log "$image: $size bytes ($(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1e6 }') MB)"
printf '%s\n' "$image"
