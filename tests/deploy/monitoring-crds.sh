#!/bin/sh
# Prints the paths of the prometheus-operator's own ServiceMonitor and PrometheusRule CRDs
# (example/prometheus-operator-crd/ of its Go module, fetched through the Go module proxy),
# cached under ${FPD_CACHE_DIR:-$HOME/.cache/flyteplugd}/crds/prometheus-operator-<version>/.
set -eu

MODULE=github.com/prometheus-operator/prometheus-operator
VERSION=${FPD_PROMETHEUS_OPERATOR_VERSION:-v0.85.0}
cache=${FPD_CACHE_DIR:-$HOME/.cache/flyteplugd}/crds/prometheus-operator-$VERSION
names="monitoring.coreos.com_servicemonitors.yaml monitoring.coreos.com_prometheusrules.yaml"

have=1
for n in $names; do [ -s "$cache/$n" ] || have=0; done
if [ $have = 0 ]; then
	go=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	dir=
	if (cd "$tmp" && "$go" mod init fpd-crd-fetch >/dev/null 2>&1 &&
		GOFLAGS=-mod=mod "$go" mod download -json "$MODULE@$VERSION" >info.json 2>&1); then
		dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p' "$tmp/info.json")
	fi
	mkdir -p "$cache"
	for n in $names; do
		if [ -z "$dir" ] || [ ! -s "$dir/example/prometheus-operator-crd/$n" ]; then
			echo "monitoring-crds.sh: cannot obtain $n of $MODULE@$VERSION:" >&2
			cat "$tmp/info.json" >&2 2>/dev/null || true
			exit 1
		fi
		cp "$dir/example/prometheus-operator-crd/$n" "$cache/$n.part"
		mv "$cache/$n.part" "$cache/$n"
	done
fi
for n in $names; do echo "$cache/$n"; done
