// Package api holds the daemon's gRPC API (generated from quantumnet.proto),
// the go-plugin adapters that serve and dispense it over a unix socket, and
// the versioned handshake both sides check.
package api

//go:generate sh -c "PATH=$(go env GOPATH)/bin:$PATH protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative quantumnet.proto"
