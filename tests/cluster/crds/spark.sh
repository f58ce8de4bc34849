#!/bin/sh
# Prints the path of the spark-operator's own SparkApplication CRD
# (sparkoperator.k8s.io_sparkapplications.yaml), taken from the operator's Go module at the
# version Flyte's flyteplugins/go.mod pins, so that tests see the schema the operator ships.
# The file is cached under ${FPD_CACHE_DIR:-$HOME/.cache/flyteplugd}/crds/spark-<version>/.
# The first run needs Go (GO, default /usr/local/go/bin/go, else `go` on PATH) and a Go module
# proxy that serves the module. Where the proxy refuses it (some mirrors do: the module's
# go.mod lacks the /v2 suffix its tags need, so only pseudo-versions resolve), set
# FPD_SPARK_OPERATOR_GIT to a clone of github.com/kubeflow/spark-operator holding COMMIT:
# the file is then read from that commit, which is the same tree the module version names.
set -eu

MODULE=github.com/kubeflow/spark-operator
# flyteorg/flyte master, flyteplugins/go.mod
VERSION=${FPD_SPARK_OPERATOR_VERSION:-v0.0.0-20250325114751-1905be6e1dbd}
COMMIT=1905be6e1dbd0917168ad5cf4054e081014f84f8 # the pseudo-version's commit: tag v2.1.1
CRD=config/crd/bases/sparkoperator.k8s.io_sparkapplications.yaml

cache=${FPD_CACHE_DIR:-$HOME/.cache/flyteplugd}/crds/spark-$VERSION
out=$cache/sparkoperator.k8s.io_sparkapplications.yaml
if [ -s "$out" ]; then
	echo "$out"
	exit 0
fi

go=${GO:-/usr/local/go/bin/go}
[ -x "$go" ] || go=go
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$cache"
# A throwaway module so that `go mod download` may resolve the version; the module cache is
# the user's (GOMODCACHE), shared with every other download.
dir=
if (cd "$tmp" && "$go" mod init fpd-crd-fetch >/dev/null 2>&1 &&
	GOFLAGS=-mod=mod "$go" mod download -json "$MODULE@$VERSION" >info.json 2>&1); then
	dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p' "$tmp/info.json")
fi
if [ -n "$dir" ] && [ -s "$dir/$CRD" ]; then
	cp "$dir/$CRD" "$out.tmp"
elif [ -n "${FPD_SPARK_OPERATOR_GIT:-}" ] &&
	git --git-dir="$FPD_SPARK_OPERATOR_GIT" show "$COMMIT:$CRD" >"$out.tmp" 2>/dev/null; then
	:
else
	rm -f "$out.tmp"
	echo "spark.sh: cannot obtain $CRD of $MODULE@$VERSION:" >&2
	cat "$tmp/info.json" >&2 2>/dev/null || true
	echo "spark.sh: set FPD_SPARK_OPERATOR_GIT to a clone holding commit $COMMIT" >&2
	exit 1
fi
chmod 644 "$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
