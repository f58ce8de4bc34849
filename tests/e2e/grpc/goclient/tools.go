//go:build tools

// Package goclient pins the Go gRPC client the interop tests drive: grpcurl, built on
// google.golang.org/grpc (the same transport FlytePropeller uses). The tests build it with
//
//	go build -o "$FPD_CACHE_DIR/tools/grpcurl" github.com/fullstorydev/grpcurl/cmd/grpcurl
//
// from this module, so go.sum fixes every dependency.
package goclient

import _ "github.com/fullstorydev/grpcurl/cmd/grpcurl"
