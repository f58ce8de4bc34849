//go:build tools

// Keeps kubectl's dependencies in go.sum so that build.sh can build kubectl from the same
// k8s.io/kubernetes pin (skip it with FPD_CLUSTER_KUBECTL=0).
package main

import _ "k8s.io/kubernetes/cmd/kubectl"
