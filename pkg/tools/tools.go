//go:build tools

// Package tools pins the versions of the tools the build and the demo run
// with `go run` / `go build`: libovsdb's modelgen, cnitool (the demo's
// runtime) and the reference bridge + host-local plugins (the benchmark's
// peer). No binary imports it.
package tools

import (
	_ "github.com/containernetworking/cni/cnitool"
	_ "github.com/containernetworking/plugins/plugins/ipam/host-local"
	_ "github.com/containernetworking/plugins/plugins/main/bridge"
	_ "github.com/ovn-kubernetes/libovsdb/cmd/modelgen"
)
