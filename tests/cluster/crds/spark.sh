#!/bin/sh
# Prints the path of the spark-operator's own SparkApplication CRD
# (sparkoperator.k8s.io_sparkapplications.yaml), taken from the operator's Go module, cached
# under ${FPD_CACHE_DIR:-$HOME/.cache/flyteplugd}/crds/spark-<version>/.
#
# Version: Flyte's flyteplugins/go.mod pins the pseudo-version
# v0.0.0-20250325114751-1905be6e1dbd of github.com/kubeflow/spark-operator (tag v2.1.1), which
# the Go module proxy refuses (the tag lacks the /v2 suffix its go.mod declares). The release
# the proxy serves under the right path is github.com/kubeflow/spark-operator/v2 v2.3.0; its
# v1beta2 SparkApplication schema is v2.1.1's plus three optional fields (memoryLimit of the
# driver and executor, dynamicAllocation.shuffleTrackingEnabled), so an object it accepts is
# one v2.1.1 accepts too, as far as the fields flyteplugd sets are concerned.
set -eu

MODULE=github.com/kubeflow/spark-operator/v2
VERSION=${FPD_SPARK_OPERATOR_VERSION:-v2.3.0}
CRD=config/crd/bases/sparkoperator.k8s.io_sparkapplications.yaml

cache=${FPD_CACHE_DIR:-$HOME/.cache/flyteplugd}/crds/spark-$VERSION
out=$cache/sparkoperator.k8s.io_sparkapplications.yaml
if [ -s "$out" ]; then
	echo "$out"
	exit 0
fi

go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A throwaway module so that `go mod download` may resolve the version; the module cache is
# the user's (GOMODCACHE), shared with every other download.
dir=
if (cd "$tmp" && "$go" mod init fpd-crd-fetch >/dev/null 2>&1 &&
	GOFLAGS=-mod=mod "$go" mod download -json "$MODULE@$VERSION" >info.json 2>&1); then
	dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p' "$tmp/info.json")
fi
if [ -z "$dir" ] || [ ! -s "$dir/$CRD" ]; then
	echo "spark.sh: cannot obtain $CRD of $MODULE@$VERSION:" >&2
	cat "$tmp/info.json" >&2 2>/dev/null || true
	exit 1
fi
mkdir -p "$cache"
cp "$dir/$CRD" "$out.tmp"
chmod 644 "$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
