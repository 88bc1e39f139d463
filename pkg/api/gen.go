// Package api is the contract between quantumnetd and its clients: the gRPC
// API (generated from quantumnet.proto), the go-plugin adapter it is served
// and dispensed through, the versioned handshake and the socket's path.
// Both sides link it; how a client dials lives in pkg/rpcclient, how the
// daemon listens in pkg/api/apiserver.
package api

//go:generate sh -c "PATH=$(go env GOPATH)/bin:$PATH protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative quantumnet.proto"
