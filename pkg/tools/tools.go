//go:build tools

// Package tools pins the versions of the tools the build and the demo run
// with `go run` / `go build` (not imported by any binary).
package tools

import (
	_ "github.com/containernetworking/cni/cnitool"
	_ "github.com/ovn-kubernetes/libovsdb/cmd/modelgen"
)
