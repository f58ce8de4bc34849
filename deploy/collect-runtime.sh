#!/bin/sh
# Copies what the executable needs at run time into a root directory for a scratch image:
# the stripped executable, every shared library the dynamic loader resolves for it (with the
# loader itself), the CA bundle, and passwd/group entries for the numeric user it runs as.
# Each MODULE (a plugin module, e.g. trainer.so) goes to /usr/lib/flyteplugd/ with the
# libraries it needs beyond the executable's (plugins.modules names them there).
#
#   collect-runtime.sh EXECUTABLE OUT_DIR UID [MODULE...]
#
# Runs in the image's builder stage (Debian), where ldd answers for the very libraries that
# end up in the image.
set -eu
exe=$1 out=$2 uid=$3
shift 3

mkdir -p "$out/usr/bin" "$out/usr/lib/flyteplugd" "$out/etc/ssl/certs" "$out/tmp"
chmod 1777 "$out/tmp"
cp "$exe" "$out/usr/bin/flyteplugd"
strip --strip-unneeded "$out/usr/bin/flyteplugd"
for mod in "$@"; do
	cp "$mod" "$out/usr/lib/flyteplugd/"
	strip --strip-unneeded "$out/usr/lib/flyteplugd/$(basename "$mod")"
done

# ldd prints "libx.so.N => /path (0x...)" for libraries and "/lib64/ld-linux... (0x...)" for
# the loader; a "not found" line means the builder stage is incomplete.
# A module's symbols from the executable are not libraries: ldd lists only its DT_NEEDED ones.
for f in "$exe" "$@"; do
	if ldd "$f" | grep -q 'not found'; then
		ldd "$f" >&2
		echo "collect-runtime.sh: unresolved libraries of $f" >&2
		exit 1
	fi
done
for f in "$exe" "$@"; do ldd "$f"; done | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u |
	while read -r lib; do
		dir=$(dirname "$lib")
		mkdir -p "$out$dir"
		# The file under the name the loader asks for (symlinks resolved); the loader
		# searches /lib/<triplet> by default, so no ld.so.cache is needed.
		cp -L "$lib" "$out$lib"
		strip --strip-unneeded "$out$lib" 2>/dev/null || true
	done
cp -L /etc/ssl/certs/ca-certificates.crt "$out/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\nflyteplugd:x:%s:%s:flyteplugd:/nonexistent:/sbin/nologin\n' \
	"$uid" "$uid" >"$out/etc/passwd"
printf 'root:x:0:\nflyteplugd:x:%s:\n' "$uid" >"$out/etc/group"
# Name resolution from files then DNS (the pod's /etc/hosts and resolv.conf are mounted by
# the kubelet); glibc has DNS built in since 2.34, so no NSS module is needed.
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$out/etc/nsswitch.conf"
